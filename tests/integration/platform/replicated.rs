//! Replicated instances: a master, replicas and three Sentinels that the local provisioner runs, followed by
//! the gateway across a failover.

use std::time::{Duration, Instant};

use redisgate_platform::provisioner::local::node_admin_urls;
use redisgate_test_support::TestPlatform;
use serde_json::{json, Value};

use super::{data, eventually};

/// Creates a replicated instance named `name` and waits until it runs; returns (id, token).
async fn replicated(platform: &TestPlatform, jwt: &str, org: &str, name: &str, topology: Value) -> (String, String) {
    let body = json!({"name": name, "max_memory": 16 << 20, "redis_version": "7.2", "topology": topology});
    let created = platform.create_running(jwt, org, body).await;
    let id = created["instance"]["id"].as_str().unwrap().to_owned();
    (id, created["credentials"]["token"].as_str().unwrap().to_owned())
}

/// The instance's nodes with `role`, as (address, healthy, lag) tuples.
async fn nodes(platform: &TestPlatform, jwt: &str, org: &str, id: &str, role: &str) -> Vec<(String, bool)> {
    let (status, instance) =
        platform.api("GET", &format!("/api/organizations/{org}/redis-instances/{id}"), Some(jwt), None).await;
    assert_eq!(status, 200, "{instance}");
    instance["nodes"]
        .as_array()
        .unwrap_or(&Vec::new())
        .iter()
        .filter(|n| n["role"] == role)
        .map(|n| (n["address"].as_str().unwrap().to_owned(), n["healthy"].as_bool().unwrap()))
        .collect()
}

/// The pid of the data node listening at `address`.
async fn pid_at(platform: &TestPlatform, id: &str, address: &str) -> i32 {
    let port: u16 = address.rsplit_once(':').unwrap().1.parse().unwrap();
    let urls = node_admin_urls(&platform.state_dir().join("instances").join(id));
    let url = &urls.iter().find(|(p, _)| *p == port).expect("the node is in the layout").1;
    let mut conn = redis::Client::open(url.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let info: String = redis::cmd("INFO").arg("server").query_async(&mut conn).await.unwrap();
    info.lines().find_map(|l| l.strip_prefix("process_id:")).unwrap().trim().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replicated_instance_survives_a_sigkill_of_its_master() {
    let platform = TestPlatform::start().await;
    let jwt = platform.user("ha@example.com").await;
    let org = platform.organization(&jwt, "ha-org").await;
    let topology = json!({"mode": "replicated", "replicas": 1, "min_replicas_to_write": 1});
    let (id, token) = replicated(&platform, &jwt, &org, "ha-db", topology).await;

    let masters = nodes(&platform, &jwt, &org, &id, "master").await;
    let replicas = nodes(&platform, &jwt, &org, &id, "replica").await;
    let sentinels = nodes(&platform, &jwt, &org, &id, "sentinel").await;
    assert_eq!((masters.len(), replicas.len(), sentinels.len()), (1, 1, 3));
    assert!(masters.iter().chain(&replicas).chain(&sentinels).all(|(_, healthy)| *healthy));
    let old_master = masters[0].0.clone();

    let mut acknowledged = Vec::new();
    for n in 0..100 {
        let (status, body) = data(&platform, "ha-db", &token, &format!("/set/w:{n}/{n}")).await;
        assert_eq!(status, 200, "{body}");
        acknowledged.push(n);
    }

    // SIGKILL: no shutdown, no last save; the Sentinels must notice and promote the replica.
    let pid = pid_at(&platform, &id, &old_master).await;
    let killed = Instant::now();
    rustix::process::kill_process(rustix::process::Pid::from_raw(pid).unwrap(), rustix::process::Signal::KILL).unwrap();
    let n = 100;
    let back = loop {
        let response = platform
            .http()
            .post(format!("{}/db/ha-db/set/w:{n}/{n}", platform.url()))
            .bearer_auth(&token)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .expect("a request during the failover gets an answer, not a hang");
        let status = response.status().as_u16();
        if status == 200 {
            acknowledged.push(n);
            break killed.elapsed();
        }
        assert_eq!(status, 503, "a request during the failover is a 503");
        assert!(response.headers().contains_key("retry-after"), "a 503 says when to retry");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].is_string(), "{body}");
        assert!(killed.elapsed() < Duration::from_secs(10), "writes did not come back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(back <= Duration::from_secs(5), "writes came back {back:?} after the kill");

    let new_master = nodes(&platform, &jwt, &org, &id, "master").await;
    assert_eq!(new_master.len(), 1);
    assert_ne!(new_master[0].0, old_master, "GET names the new master");

    // The old master is started again, as a replica of the new one.
    let rejoined = eventually(Duration::from_secs(30), || async {
        nodes(&platform, &jwt, &org, &id, "replica")
            .await
            .iter()
            .any(|(address, healthy)| *address == old_master && *healthy)
    })
    .await;
    assert!(rejoined, "the old master did not come back as a replica");

    for n in acknowledged {
        let (status, body) = data(&platform, "ha-db", &token, &format!("/get/w:{n}")).await;
        assert_eq!((status, body["result"].clone()), (200, json!(n.to_string())), "acknowledged write {n} was lost");
    }

    let (_, audit) = platform.api("GET", &format!("/api/organizations/{org}/audit-log"), Some(&jwt), None).await;
    let failover = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "instance.failover")
        .unwrap_or_else(|| panic!("no failover in the audit log: {audit}"))
        .clone();
    assert_eq!(failover["details"]["old_master"], json!(old_master));
    assert_eq!(failover["details"]["new_master"], json!(new_master[0].0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_are_added_and_removed_while_the_instance_serves() {
    let platform = TestPlatform::start().await;
    let jwt = platform.user("scale@example.com").await;
    let org = platform.organization(&jwt, "scale").await;
    let (id, token) = replicated(&platform, &jwt, &org, "scaled", json!({"mode": "replicated", "replicas": 1})).await;
    assert_eq!(data(&platform, "scaled", &token, "/set/kept/yes").await.0, 200);
    let path = format!("/api/organizations/{org}/redis-instances/{id}");

    let (status, body) = platform.api("PATCH", &path, Some(&jwt), Some(json!({"replicas": 2}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["topology"], json!({"mode": "replicated", "replicas": 2, "min_replicas_to_write": 0}));
    let synced = eventually(Duration::from_secs(20), || async {
        let replicas = nodes(&platform, &jwt, &org, &id, "replica").await;
        replicas.len() == 2 && replicas.iter().all(|(_, healthy)| *healthy)
    })
    .await;
    assert!(synced, "the new replica did not sync");

    // A replica that dies is started again and resyncs.
    let replica = nodes(&platform, &jwt, &org, &id, "replica").await[0].0.clone();
    let pid = pid_at(&platform, &id, &replica).await;
    rustix::process::kill_process(rustix::process::Pid::from_raw(pid).unwrap(), rustix::process::Signal::KILL).unwrap();
    let resynced = eventually(Duration::from_secs(20), || async {
        let replicas = nodes(&platform, &jwt, &org, &id, "replica").await;
        replicas.len() == 2
            && replicas.iter().all(|(_, healthy)| *healthy)
            && pid_at(&platform, &id, &replica).await != pid
    })
    .await;
    assert!(resynced, "the killed replica did not come back in sync");

    let (status, body) = platform.api("PATCH", &path, Some(&jwt), Some(json!({"replicas": 1}))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(nodes(&platform, &jwt, &org, &id, "replica").await.len(), 1);
    assert_eq!(data(&platform, "scaled", &token, "/get/kept").await.1["result"], "yes");

    // Out of bounds, or on a standalone instance: 422 naming the field.
    let (status, body) = platform.api("PATCH", &path, Some(&jwt), Some(json!({"replicas": 6}))).await;
    assert_eq!(status, 422, "{body}");
    let single = platform.running_instance(&jwt, &org, "single").await;
    let single_path =
        format!("/api/organizations/{org}/redis-instances/{}", single["instance"]["id"].as_str().unwrap());
    let (status, body) = platform.api("PATCH", &single_path, Some(&jwt), Some(json!({"replicas": 1}))).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("replicas"), "{body}");
    let bad = json!({"name": "bad", "max_memory": 16 << 20, "redis_version": "7.2", "topology": {"mode": "replicated", "replicas": 0}});
    let (status, body) =
        platform.api("POST", &format!("/api/organizations/{org}/redis-instances"), Some(&jwt), Some(bad)).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("topology"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replicated_instance_is_adopted_after_a_platform_restart_and_deleted_whole() {
    let platform = TestPlatform::start().await;
    let jwt = platform.user("adopt@example.com").await;
    let org = platform.organization(&jwt, "adopt").await;
    let (id, token) = replicated(&platform, &jwt, &org, "kept-ha", json!({"mode": "replicated", "replicas": 1})).await;
    assert_eq!(data(&platform, "kept-ha", &token, "/set/kept/yes").await.0, 200);

    let platform = platform.restart().await;
    let status = platform.wait_status(&jwt, &org, &id, "running").await;
    assert_eq!(status, "running");
    let back = eventually(Duration::from_secs(20), || async {
        data(&platform, "kept-ha", &token, "/get/kept").await.1["result"] == "yes"
    })
    .await;
    assert!(back, "the data did not survive the restart");
    let all = nodes(&platform, &jwt, &org, &id, "replica").await.len()
        + nodes(&platform, &jwt, &org, &id, "master").await.len();
    assert_eq!(all, 2);

    let dir = platform.state_dir().join("instances").join(&id);
    let ports: Vec<u16> = node_admin_urls(&dir).into_iter().map(|(port, _)| port).collect();
    let (status, _) =
        platform.api("DELETE", &format!("/api/organizations/{org}/redis-instances/{id}"), Some(&jwt), None).await;
    assert_eq!(status, 202);
    assert_eq!(platform.wait_status(&jwt, &org, &id, "gone").await, "gone");
    assert!(!dir.exists(), "the instance's files are removed");
    for port in ports {
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "node {port} still listens");
    }
}

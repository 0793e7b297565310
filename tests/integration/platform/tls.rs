//! The local provisioner's TLS-only instances: a CA of its own, `tls-auth-clients yes`, no plain port; the
//! gateway serves them with the CA's client certificate, across a restart and a resize.

use std::time::Duration;

use redisgate_test_support::TestPlatform;
use serde_json::json;

use super::data;

/// Whether a plain (non-TLS) client gets a PONG from `address`.
async fn plain_ping(address: &str) -> bool {
    let Ok(client) = redis::Client::open(format!("redis://{address}")) else { return false };
    let ping = async {
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    };
    matches!(tokio::time::timeout(Duration::from_secs(3), ping).await, Ok(Ok(_)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_tls_instances_listen_on_tls_only_and_the_gateway_serves_them() {
    let platform = TestPlatform::start_local_tls().await;
    let jwt = platform.user("tls@example.com").await;
    let org = platform.organization(&jwt, "tls-local").await;
    let created = platform.running_instance(&jwt, &org, "sealed").await;
    let id = created["instance"]["id"].as_str().unwrap().to_owned();
    let token = created["credentials"]["token"].as_str().unwrap().to_owned();
    assert_eq!(data(&platform, "sealed", &token, "/set/k/v").await, (200, json!({"result": "OK"})));

    let conf = std::fs::read_to_string(platform.state_dir().join("instances").join(&id).join("redis.conf")).unwrap();
    for line in ["port 0", "tls-auth-clients yes"] {
        assert!(conf.lines().any(|l| l == line), "{line} missing from:\n{conf}");
    }
    assert!(platform.state_dir().join("ca/ca.pem").exists());
    let base = format!("/api/organizations/{org}/redis-instances/{id}");
    let (_, status) = platform.api("GET", &format!("{base}/status"), Some(&jwt), None).await;
    let address = status["endpoint"].as_str().unwrap().to_owned();
    assert!(!plain_ping(&address).await, "the instance answers plain text on {address}");

    // A resize talks to the server over TLS as the admin user.
    let (code, resized) = platform.api("PATCH", &base, Some(&jwt), Some(json!({"max_memory": 32 << 20}))).await;
    assert_eq!(code, 200, "{resized}");

    // After a restart the instance is adopted with its TLS and its data.
    let platform = platform.restart().await;
    let jwt = {
        let credentials = json!({"email": "tls@example.com", "password": "correct horse 1"});
        platform.api("POST", "/api/auth/login", None, Some(credentials)).await.1["token"].as_str().unwrap().to_owned()
    };
    assert_eq!(platform.wait_status(&jwt, &org, &id, "running").await, "running");
    assert_eq!(data(&platform, "sealed", &token, "/get/k").await, (200, json!({"result": "v"})));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replicated_tls_instance_runs_every_link_on_tls_and_fails_over() {
    use redisgate_gateway::tls::RedisTls;
    use redisgate_platform::provisioner::local::node_admin_urls;

    let platform = TestPlatform::start_local_tls().await;
    let jwt = platform.user("tls-ha@example.com").await;
    let org = platform.organization(&jwt, "tls-ha").await;
    let body = json!({"name": "sealed-ha", "max_memory": 16 << 20, "redis_version": "7.2",
                      "topology": {"mode": "replicated", "replicas": 1}});
    let created = platform.create_running(&jwt, &org, body).await;
    let id = created["instance"]["id"].as_str().unwrap().to_owned();
    let token = created["credentials"]["token"].as_str().unwrap().to_owned();
    assert_eq!(data(&platform, "sealed-ha", &token, "/set/k/v").await, (200, json!({"result": "OK"})));

    // Every process answers on TLS only, and the control plane sees them all healthy over TLS.
    let path = format!("/api/organizations/{org}/redis-instances/{id}");
    let (_, instance) = platform.api("GET", &path, Some(&jwt), None).await;
    let nodes = instance["nodes"].as_array().unwrap().clone();
    assert_eq!(nodes.len(), 5, "{instance}");
    for node in &nodes {
        assert_eq!(node["healthy"], true, "{node}");
        let address = node["address"].as_str().unwrap();
        assert!(!plain_ping(address).await, "{} answers plain text on {address}", node["role"]);
    }
    let master = nodes.iter().find(|n| n["role"] == "master").unwrap()["address"].as_str().unwrap().to_owned();
    let dir = platform.state_dir().join("instances").join(&id);
    let port: u16 = master.rsplit_once(':').unwrap().1.parse().unwrap();
    let conf = std::fs::read_to_string(dir.join(format!("node-{port}/redis.conf"))).unwrap();
    for line in ["port 0", "tls-auth-clients yes", "tls-replication yes"] {
        assert!(conf.lines().any(|l| l == line), "{line} missing from:\n{conf}");
    }

    // A SIGKILL of the master: the Sentinels, speaking TLS, promote the replica and the gateway follows.
    let ca = platform.state_dir().join("ca");
    let tls = RedisTls::from_files(
        Some(&ca.join("ca.pem")),
        Some(&ca.join("gateway.pem")),
        Some(&ca.join("gateway-key.pem")),
    )
    .unwrap();
    let url = node_admin_urls(&dir).into_iter().find(|(p, _)| *p == port).unwrap().1;
    let client = redis::Client::build_with_tls(url, tls.certificates()).unwrap();
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query_async(&mut client.get_multiplexed_async_connection().await.unwrap())
        .await
        .unwrap();
    let pid: i32 = info.lines().find_map(|l| l.strip_prefix("process_id:")).unwrap().trim().parse().unwrap();
    let killed = std::time::Instant::now();
    rustix::process::kill_process(rustix::process::Pid::from_raw(pid).unwrap(), rustix::process::Signal::KILL).unwrap();
    let back = super::eventually(Duration::from_secs(10), || async {
        data(&platform, "sealed-ha", &token, "/set/after/1").await.0 == 200
    })
    .await;
    assert!(back, "writes did not come back");
    assert!(killed.elapsed() < Duration::from_secs(5), "writes came back after {:?}", killed.elapsed());
    assert_eq!(data(&platform, "sealed-ha", &token, "/get/k").await, (200, json!({"result": "v"})));
}

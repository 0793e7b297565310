//! Cluster instances: a Redis Cluster the local provisioner forms out of supervised servers, with the
//! instance's users on every node, served by the gateway and described shard by shard.

use redisgate_test_support::TestPlatform;
use serde_json::{json, Value};

use super::{data, eventually, post};

/// A user, an organization and a running cluster instance `name` of `topology` in it: (jwt, org, id, token).
async fn running_cluster(platform: &TestPlatform, name: &str, topology: &Value) -> (String, String, String, String) {
    let jwt = platform.user(&format!("{name}@example.com")).await;
    let org = platform.organization(&jwt, &format!("{name}-org")).await;
    let body = json!({"name": name, "max_memory": 16 << 20, "redis_version": "7.2", "topology": topology});
    let created = platform.create_running(&jwt, &org, body).await;
    assert_eq!(&created["instance"]["topology"], topology);
    let id = created["instance"]["id"].as_str().unwrap().to_owned();
    (jwt, org, id, created["credentials"]["token"].as_str().unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_instance_is_formed_served_and_described_shard_by_shard() {
    let platform = TestPlatform::start().await;
    let topology = json!({"mode": "cluster", "shards": 3, "replicas_per_shard": 1});
    let (jwt, org, id, token) = running_cluster(&platform, "sharded", &topology).await;

    // The data plane: keys spread over the shards, and a pipeline across them.
    for i in 0..20 {
        assert_eq!(
            data(&platform, "sharded", &token, &format!("/set/k{i}/v{i}")).await,
            (200, json!({"result": "OK"}))
        );
    }
    let pipeline: Vec<Value> = (0..20).map(|i| json!(["GET", format!("k{i}")])).collect();
    let (status, replies) = post(&platform, "/db/sharded/pipeline", &token, &Value::Array(pipeline).to_string()).await;
    assert_eq!(status, 200, "{replies}");
    let expected: Vec<Value> = (0..20).map(|i| json!({"result": format!("v{i}")})).collect();
    assert_eq!(replies, Value::Array(expected));
    assert_eq!(data(&platform, "sharded", &token, "/dbsize").await, (200, json!({"result": 20})));
    // Contained as every instance is: the gateway's user cannot reconfigure the cluster.
    let (status, refused) = post(&platform, "/db/sharded", &token, r#"["CLUSTER","FORGET","x"]"#).await;
    assert_eq!(status, 400, "{refused}");

    // GET shows each shard: its master's slots, its replica, all healthy once the nodes' gossip has spread
    // the replicas' replication offsets (a replica is "loading" to the others until then).
    let path = format!("/api/organizations/{org}/redis-instances/{id}");
    let described = std::cell::RefCell::new(Value::Null);
    let healthy = eventually(std::time::Duration::from_secs(10), || async {
        let (status, instance) = platform.api("GET", &path, Some(&jwt), None).await;
        assert_eq!(status, 200, "{instance}");
        let all = instance["nodes"].as_array().is_some_and(|n| n.len() == 6 && n.iter().all(|n| n["healthy"] == true));
        *described.borrow_mut() = instance;
        all
    })
    .await;
    let instance = described.into_inner();
    assert!(healthy, "six healthy nodes: {instance}");
    let nodes = instance["nodes"].as_array().unwrap();
    for shard in 0..3 {
        let in_shard: Vec<&Value> = nodes.iter().filter(|n| n["shard"] == shard).collect();
        let roles: Vec<&str> = in_shard.iter().map(|n| n["role"].as_str().unwrap()).collect();
        assert_eq!(roles.iter().filter(|r| **r == "master").count(), 1, "shard {shard}: {instance}");
        assert_eq!(roles.iter().filter(|r| **r == "replica").count(), 1, "shard {shard}: {instance}");
    }
    let slots: Vec<&str> =
        nodes.iter().flat_map(|n| n["slots"].as_array().into_iter().flatten()).map(|s| s.as_str().unwrap()).collect();
    assert_eq!(slots, ["0-5460", "5461-10921", "10922-16383"]);

    // Backups cannot hold a cluster yet: refused up front, nothing recorded, and no schedule accepted (a
    // backup accepted and then failed, or failing on every tick of a schedule, would say less, later).
    let (status, refused) = platform.api("POST", &format!("{path}/backups"), Some(&jwt), None).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"], "backups of Redis Cluster instances are not supported yet");
    let (status, backups) = platform.api("GET", &format!("{path}/backups"), Some(&jwt), None).await;
    assert_eq!((status, backups["items"].as_array().map(Vec::len)), (200, Some(0)), "{backups}");
    let schedule = json!({"every_hours": 6});
    let (status, refused) = platform.api("PUT", &format!("{path}/backup-policy"), Some(&jwt), Some(schedule)).await;
    assert_eq!(status, 422, "{refused}");
    let retention = json!({"keep_last": 3});
    let (status, kept) = platform.api("PUT", &format!("{path}/backup-policy"), Some(&jwt), Some(retention)).await;
    assert_eq!(status, 200, "a retention alone is harmless: {kept}");
    // Nor a restore: an upload is refused before it is read (this one, past the 64 MiB an import of the
    // instance may take, would otherwise be read to its limit and refused as too large).
    let upload = platform
        .http()
        .put(format!("{}{path}/rdb", platform.url()))
        .bearer_auth(&jwt)
        .header("content-type", "application/octet-stream")
        .body(vec![0_u8; (64 << 20) + 1])
        .send()
        .await
        .unwrap();
    let status = upload.status().as_u16();
    let refused: Value = upload.json().await.unwrap();
    assert_eq!((status, &refused["error"]), (422, &json!("restoring into a Cluster instance is not supported yet")));

    // Deleting stops every server and removes the files.
    let ports: Vec<u16> =
        nodes.iter().map(|n| n["address"].as_str().unwrap().rsplit_once(':').unwrap().1.parse().unwrap()).collect();
    let (status, _) = platform.api("DELETE", &path, Some(&jwt), None).await;
    assert_eq!(status, 202);
    assert_eq!(platform.wait_status(&jwt, &org, &id, "gone").await, "gone");
    assert!(!platform.state_dir().join("instances").join(&id).exists(), "the instance's files are removed");
    for port in ports {
        assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err(), "node {port} still listens");
    }
}

#[tokio::test]
async fn a_cluster_needs_three_to_sixteen_shards() {
    let platform = TestPlatform::start().await;
    let jwt = platform.user("few@example.com").await;
    let org = platform.organization(&jwt, "few-org").await;
    let topology = json!({"mode": "cluster", "shards": 2});
    let body = json!({"name": "two", "max_memory": 16 << 20, "redis_version": "7.2", "topology": topology});
    let (status, answer) =
        platform.api("POST", &format!("/api/organizations/{org}/redis-instances"), Some(&jwt), Some(body)).await;
    assert_eq!(status, 422, "{answer}");
    assert!(answer.to_string().contains("shards must be between 3 and 16"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patching_shards_grows_the_cluster_while_it_serves() {
    let platform = TestPlatform::start().await;
    let topology = json!({"mode": "cluster", "shards": 3, "replicas_per_shard": 0});
    let (jwt, org, id, token) = running_cluster(&platform, "growing", &topology).await;
    for i in 0..500 {
        assert_eq!(data(&platform, "growing", &token, &format!("/set/k{i}/{i}")).await.0, 200);
    }
    let path = format!("/api/organizations/{org}/redis-instances/{id}");
    let (status, answer) = platform.api("PATCH", &path, Some(&jwt), Some(json!({"shards": 2}))).await;
    assert_eq!(status, 422, "{answer}");
    assert!(answer.to_string().contains("only grow"), "{answer}");

    let (status, grown) = platform.api("PATCH", &path, Some(&jwt), Some(json!({"shards": 4}))).await;
    assert_eq!(status, 200, "{grown}");
    assert_eq!(grown["topology"], json!({"mode": "cluster", "shards": 4, "replicas_per_shard": 0}));
    for i in 0..500 {
        assert_eq!(
            data(&platform, "growing", &token, &format!("/get/k{i}")).await,
            (200, json!({"result": i.to_string()}))
        );
    }
    let (_, instance) = platform.api("GET", &path, Some(&jwt), None).await;
    let masters: Vec<&Value> = instance["nodes"].as_array().unwrap().iter().filter(|n| n["role"] == "master").collect();
    assert_eq!(masters.len(), 4, "{instance}");
    assert!(masters.iter().all(|m| m["slots"].as_array().is_some_and(|s| !s.is_empty())), "{instance}");

    // A platform restart starts every server again, the new shard's too, and they rejoin from nodes.conf.
    let platform = platform.restart().await;
    assert_eq!(platform.wait_status(&jwt, &org, &id, "running").await, "running");
    for i in (0..500).step_by(7) {
        assert_eq!(data(&platform, "growing", &token, &format!("/get/k{i}")).await.1, json!({"result": i.to_string()}));
    }
    let (_, instance) = platform.api("GET", &path, Some(&jwt), None).await;
    let masters = instance["nodes"].as_array().unwrap().iter().filter(|n| n["role"] == "master").count();
    assert_eq!(masters, 4, "{instance}");
}

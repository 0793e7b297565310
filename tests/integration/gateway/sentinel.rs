//! A Sentinel-managed master (`redis+sentinel://`): the gateway finds it, and follows a failover after the
//! master is killed, every request in the window answered with a JSON 503 (never a hang, never a 500).

use std::time::{Duration, Instant};

use redisgate_test_support::{eventually, TestGateway, TestSentinels};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_master_is_followed_to_the_replica_sentinel_promotes() {
    let mut cluster = TestSentinels::start().await;
    let gw = TestGateway::single(&cluster.url()).await;
    assert_eq!(gw.command(json!(["SET", "before", "kept"])).await, (200, json!({"result": "OK"})));
    // The write reached the replica before the master dies (replication is asynchronous).
    let replica = std::cell::RefCell::new(cluster.replica.connection());
    let reached = eventually(Duration::from_secs(5), || async {
        redis::cmd("GET").arg("before").query::<Option<String>>(&mut *replica.borrow_mut()).unwrap().is_some()
    })
    .await;
    assert!(reached, "the write never reached the replica");

    cluster.master.kill();
    let killed = Instant::now();
    let mut failures = std::collections::BTreeMap::<u16, usize>::new();
    let recovered = loop {
        let started = Instant::now();
        let response = gw
            .http()
            .post(format!("{}/incr/after", gw.url()))
            .bearer_auth(redisgate_test_support::TOKEN)
            .send()
            .await
            .unwrap();
        assert!(started.elapsed() < Duration::from_secs(3), "a request hung for {:?}", started.elapsed());
        let status = response.status().as_u16();
        let retry_after = response.headers().get("retry-after").is_some();
        let body: serde_json::Value = response.json().await.unwrap();
        if status == 200 {
            break killed.elapsed();
        }
        assert_eq!(status, 503, "{body}");
        assert!(retry_after, "a 503 says when to retry");
        assert!(body["error"].as_str().unwrap().contains("failing over"), "{body}");
        *failures.entry(status).or_default() += 1;
        assert!(killed.elapsed() < Duration::from_secs(20), "no new master after 20 s: {failures:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    println!("writes succeeded again {recovered:?} after the kill; failures meanwhile: {failures:?}");
    // The new master is the old replica, with the data written before the kill.
    assert_eq!(gw.command(json!(["GET", "before"])).await, (200, json!({"result": "kept"})));
    // (Sentinel disconnects the promoted replica's clients: a new connection.)
    let role: Vec<redis::Value> = redis::cmd("ROLE").query(&mut cluster.replica.connection()).unwrap();
    assert_eq!(role.first(), Some(&redis::Value::BulkString(b"master".to_vec())), "the replica was promoted");
}

#[tokio::test]
async fn a_sentinel_url_that_names_nothing_is_a_prompt_503() {
    // Sentinels that do not exist: the gateway starts, and each request says the master cannot be found.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let gw = TestGateway::single(&format!("redis+sentinel://127.0.0.1:{port}/mymaster")).await;
    let started = Instant::now();
    let (status, body) = gw.command(json!(["PING"])).await;
    assert_eq!(status, 503, "{body}");
    assert!(body["error"].as_str().unwrap().contains("failing over"), "{body}");
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_switchover_to_the_replica_is_followed_while_the_old_master_lives_on_as_a_replica() {
    let cluster = TestSentinels::start().await;
    let gw = TestGateway::single(&cluster.url()).await;
    assert_eq!(gw.command(json!(["SET", "k", "1"])).await.0, 200);
    // An operator's switchover: the old master stays up and becomes a read-only replica.
    let sentinel = cluster.url();
    let first = sentinel.trim_start_matches("redis+sentinel://").split(',').next().unwrap().to_owned();
    let mut connection = redis::Client::open(format!("redis://{first}")).unwrap().get_connection().unwrap();
    let () = redis::cmd("SENTINEL").arg("FAILOVER").arg(redisgate_test_support::MASTER).query(&mut connection).unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, body) = gw.command(json!(["INCR", "k"])).await;
        // Sentinel drops the clients of the nodes it reconfigures: a failed look is "not yet".
        let role: Vec<redis::Value> =
            cluster.replica.try_connection().and_then(|mut c| redis::cmd("ROLE").query(&mut c)).unwrap_or_default();
        let promoted = role.first() == Some(&redis::Value::BulkString(b"master".to_vec()));
        if status == 200 && promoted {
            break;
        }
        assert!(status == 200 || status == 503, "{status} {body}");
        assert!(Instant::now() < deadline, "the gateway did not follow the switchover: {status} {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Until Sentinel demotes the old master both accept writes (Redis's own window: such writes are lost);
    // then the old master answers READONLY, or drops its clients, and the gateway moves to the new one.
    for i in 0.. {
        let (status, body) = gw.command(json!(["SET", "after", i.to_string()])).await;
        assert!(status == 200 || status == 503, "{status} {body}");
        let on_new: Option<String> = cluster
            .replica
            .try_connection()
            .and_then(|mut c| redis::cmd("GET").arg("after").query(&mut c))
            .unwrap_or(None);
        if status == 200 && on_new == Some(i.to_string()) {
            break;
        }
        assert!(Instant::now() < deadline, "writes never reached the new master: {status} {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let old: Vec<redis::Value> = redis::cmd("ROLE").query(&mut cluster.master.connection()).unwrap();
    assert_eq!(old.first(), Some(&redis::Value::BulkString(b"slave".to_vec())), "the old master lives on as a replica");
}

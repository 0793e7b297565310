//! A Redis Cluster behind the gateway (`redis+cluster://`): commands go to their slot's master, pipelines
//! spread over the masters and keep their order, transactions need one slot, keyless commands answer for
//! the whole cluster, and SCAN walks every master.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use redisgate_test_support::{eventually, TestCluster, TestGateway, TOKEN};
use serde_json::{json, Value};

async fn setup() -> (TestCluster, TestGateway) {
    let cluster = TestCluster::start(3).await;
    let gateway = TestGateway::single(&cluster.url()).await;
    (cluster, gateway)
}

/// Each master's own DBSIZE.
fn sizes(cluster: &TestCluster) -> Vec<i64> {
    cluster.masters.iter().map(|m| redis::cmd("DBSIZE").query(&mut m.connection()).unwrap()).collect()
}

#[tokio::test]
async fn commands_go_to_their_slots_master_and_keyless_ones_answer_for_the_cluster() {
    let (cluster, gw) = setup().await;
    for i in 0..30 {
        assert_eq!(gw.command(json!(["SET", format!("key:{i}"), i])).await, (200, json!({"result": "OK"})));
    }
    for i in 0..30 {
        assert_eq!(gw.command(json!(["GET", format!("key:{i}")])).await, (200, json!({"result": i.to_string()})));
    }
    let sizes = sizes(&cluster);
    assert!(sizes.iter().all(|&n| n > 0), "every master holds some of the keys: {sizes:?}");
    assert_eq!(sizes.iter().sum::<i64>(), 30);

    assert_eq!(gw.command(json!(["DBSIZE"])).await, (200, json!({"result": 30})), "summed over the masters");
    let (status, keys) = gw.command(json!(["KEYS", "key:*"])).await;
    assert_eq!(status, 200);
    let keys: BTreeSet<&str> = keys["result"].as_array().unwrap().iter().map(|k| k.as_str().unwrap()).collect();
    assert_eq!(keys, (0..30).map(|i| format!("key:{i}")).collect::<BTreeSet<_>>().iter().map(String::as_str).collect());
    let (_, random) = gw.command(json!(["RANDOMKEY"])).await;
    assert!(random["result"].as_str().unwrap().starts_with("key:"), "{random}");

    assert_eq!(gw.command(json!(["FLUSHDB"])).await, (200, json!({"result": "OK"})));
    assert_eq!(self::sizes(&cluster), [0, 0, 0], "FLUSHDB empties every master");
}

#[tokio::test]
async fn a_pipeline_spreads_over_the_masters_and_keeps_its_order() {
    let (cluster, gw) = setup().await;
    let commands = json!([
        ["SET", "a", "1"],
        ["SET", "b", "x"],
        ["INCR", "a"],
        ["SET", "c", "y"],
        ["GET", "a"],
        ["GET", "b"],
        ["DBSIZE"],
        ["DEL", "a"],
        ["GET", "a"],
        ["APPEND", "c", "z"],
        ["GET", "c"]
    ]);
    let (status, body) = gw.post("/pipeline", &commands.to_string(), TOKEN).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!([
            {"result": "OK"}, {"result": "OK"}, {"result": 2}, {"result": "OK"}, {"result": "2"}, {"result": "x"},
            {"result": 3},
            {"result": 1}, {"result": null}, {"result": 2}, {"result": "yz"}
        ])
    );
    assert_eq!(sizes(&cluster).iter().filter(|&&n| n > 0).count(), 2, "b and c live on two masters");
}

#[tokio::test]
async fn a_multi_key_command_across_slots_gets_crossslot_and_a_hash_tag_makes_it_work() {
    let (_cluster, gw) = setup().await;
    let (status, body) = gw.command(json!(["MSET", "a", "1", "b", "2"])).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().starts_with("CROSSSLOT"), "{body}");
    assert_eq!(gw.command(json!(["GET", "a"])).await, (200, json!({"result": null})), "nothing was written");

    assert_eq!(gw.command(json!(["MSET", "{u1}a", "1", "{u1}b", "2"])).await, (200, json!({"result": "OK"})));
    assert_eq!(gw.command(json!(["MGET", "{u1}a", "{u1}b"])).await, (200, json!({"result": ["1", "2"]})));
}

#[tokio::test]
async fn a_transaction_runs_on_one_slot_and_is_refused_across_slots() {
    let (_cluster, gw) = setup().await;
    let (status, body) =
        gw.post("/multi-exec", r#"[["SET","{cart}:n","1"],["INCR","{cart}:n"],["GET","{cart}:n"]]"#, TOKEN).await;
    assert_eq!((status, body), (200, json!([{"result": "OK"}, {"result": 2}, {"result": "2"}])));

    let (status, body) = gw.post("/multi-exec", r#"[["SET","a","1"],["SET","b","2"]]"#, TOKEN).await;
    assert_eq!(status, 400, "{body}");
    let error = body["error"].as_str().unwrap();
    assert!(error.starts_with("CROSSSLOT") && error.contains("hash tag"), "says why and what to do: {error}");
    assert_eq!(gw.command(json!(["EXISTS", "a"])).await, (200, json!({"result": 0})), "nothing was written");
}

#[tokio::test]
async fn scan_walks_every_master_in_one_loop_of_cursors() {
    let (cluster, gw) = setup().await;
    let written: BTreeSet<String> = (0..200).map(|i| format!("s:{i}")).collect();
    let sets: Vec<Value> = written.iter().map(|k| json!(["SET", k, "v"])).collect();
    let (status, _) = gw.post("/pipeline", &Value::Array(sets).to_string(), TOKEN).await;
    assert_eq!(status, 200);
    assert!(sizes(&cluster).iter().all(|&n| n > 0));

    let (mut cursor, mut seen, mut rounds) = ("0".to_owned(), Vec::new(), 0);
    loop {
        let (status, body) = gw.command(json!(["SCAN", cursor, "MATCH", "s:*", "COUNT", 25])).await;
        assert_eq!(status, 200, "{body}");
        cursor = body["result"][0].as_str().unwrap().to_owned();
        seen.extend(body["result"][1].as_array().unwrap().iter().map(|k| k.as_str().unwrap().to_owned()));
        rounds += 1;
        if cursor == "0" {
            break;
        }
        assert!(rounds < 100, "the scan never ends");
    }
    assert_eq!(seen.len(), 200, "no key twice");
    assert_eq!(seen.into_iter().collect::<BTreeSet<_>>(), written);

    let (status, body) = gw.command(json!(["SCAN", "1023"])).await;
    assert_eq!(status, 400);
    assert_eq!(body, json!({"error": "ERR invalid cursor"}), "a cursor naming a master that does not exist");
}

#[tokio::test]
async fn scripts_run_on_the_master_of_their_keys() {
    let (cluster, gw) = setup().await;
    let script = "return redis.call('SET', KEYS[1], ARGV[1])";
    for key in ["a", "b", "c", "d"] {
        assert_eq!(gw.command(json!(["EVAL", script, 1, key, key])).await, (200, json!({"result": "OK"})));
    }
    for key in ["a", "b", "c", "d"] {
        assert_eq!(gw.command(json!(["GET", key])).await, (200, json!({"result": key})));
    }
    assert!(sizes(&cluster).iter().filter(|&&n| n > 0).count() >= 2, "the keys are on more than one master");
}

#[tokio::test]
async fn subscribers_get_what_is_published_through_the_gateway() {
    let (_cluster, gw) = setup().await;
    let mut events = super::sse::Events::open(&gw, "/subscribe/news").await;
    assert_eq!(events.next_data().await.unwrap(), "data: subscribe,news,1");
    assert_eq!(gw.post("/publish/news/hello", "", TOKEN).await, (200, json!({"result": 1})), "counts the subscriber");
    assert_eq!(events.next_data().await.unwrap(), "data: message,news,hello");
}

/// Sharded pub/sub: SPUBLISH goes to the master of its channel's slot, where shard subscribers listen.
#[tokio::test]
async fn spublish_reaches_the_subscribers_of_the_channels_shard() {
    let (cluster, gw) = setup().await;
    // SSUBSCRIBE on the master that owns the channel (the others answer MOVED).
    let mut subscriber = cluster
        .masters
        .iter()
        .map(|m| m.connection())
        .find_map(|mut c| redis::cmd("SSUBSCRIBE").arg("orders").query::<redis::Value>(&mut c).ok().map(|_| c))
        .expect("no master took the shard subscription");
    assert_eq!(gw.post("/spublish/orders/shipped", "", TOKEN).await, (200, json!({"result": 1})));
    let message: Vec<String> = redis::from_redis_value(subscriber.recv_response().unwrap()).unwrap();
    assert_eq!(message, ["smessage", "orders", "shipped"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_master_is_followed_to_the_replica_the_cluster_promotes() {
    let mut cluster = TestCluster::start_replicated(3, 1).await;
    let gw = TestGateway::single(&cluster.url()).await;
    // "b" is in slot 3300, the first master's.
    assert_eq!(gw.command(json!(["SET", "b", "kept"])).await, (200, json!({"result": "OK"})));
    let replica = std::cell::RefCell::new(cluster.replicas[0][0].connection());
    let reached = eventually(Duration::from_secs(5), || async {
        redis::cmd("READONLY").exec(&mut *replica.borrow_mut()).unwrap();
        redis::cmd("GET").arg("b").query::<Option<String>>(&mut *replica.borrow_mut()).unwrap().is_some()
    })
    .await;
    assert!(reached, "the write never reached the replica");

    cluster.masters[0].kill();
    let killed = Instant::now();
    let mut failures = 0;
    loop {
        let started = Instant::now();
        let response =
            gw.http().post(format!("{}/incr/b-counter{{b}}", gw.url())).bearer_auth(TOKEN).send().await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(3), "a request hung for {:?}", started.elapsed());
        let status = response.status().as_u16();
        let retry_after = response.headers().get("retry-after").is_some();
        let body: Value = response.json().await.unwrap();
        if status == 200 {
            break;
        }
        assert_eq!(status, 503, "{body}");
        assert!(retry_after, "a 503 says when to retry");
        assert!(body["error"].as_str().unwrap().contains("failing over"), "{body}");
        failures += 1;
        assert!(killed.elapsed() < Duration::from_secs(20), "no new master after 20 s ({failures} failures)");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("writes succeeded again {:?} after the kill; {failures} failures meanwhile", killed.elapsed());
    assert_eq!(gw.command(json!(["GET", "b"])).await, (200, json!({"result": "kept"})), "the replica had it");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adding_a_shard_under_load_fails_no_request_and_keeps_every_key() {
    let mut cluster = TestCluster::start(3).await;
    let gw = std::sync::Arc::new(TestGateway::single(&cluster.url()).await);
    for i in 0..2000 {
        if i % 100 == 0 {
            let sets: Vec<Value> = (i..i + 100).map(|k| json!(["SET", format!("seed:{k}"), k])).collect();
            assert_eq!(gw.post("/pipeline", &Value::Array(sets).to_string(), TOKEN).await.0, 200);
        }
    }
    // Writers: single commands, and pipelines of INCRs (a pipeline sent twice would count twice).
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let (gw, stop) = (std::sync::Arc::clone(&gw), std::sync::Arc::clone(&stop));
            tokio::spawn(async move {
                let (mut sent, mut failed) = (0u64, Vec::new());
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let (status, body) = gw.command(json!(["SET", format!("w{w}:{sent}"), sent])).await;
                    if status != 200 {
                        failed.push(body);
                    }
                    let incrs: Vec<Value> = (0..5).map(|c| json!(["INCR", format!("count:{w}:{c}")])).collect();
                    let (status, body) = gw.post("/pipeline", &Value::Array(incrs).to_string(), TOKEN).await;
                    if status != 200 || body.as_array().is_none_or(|r| r.iter().any(|r| r.get("error").is_some())) {
                        failed.push(body);
                    }
                    sent += 1;
                }
                (sent, failed)
            })
        })
        .collect();
    // A reader: pipelines of GETs over many slots (one pipeline per master, from a slot map that the move
    // makes stale).
    let reader = {
        let (gw, stop) = (std::sync::Arc::clone(&gw), std::sync::Arc::clone(&stop));
        tokio::spawn(async move {
            let (mut rounds, mut wrong) = (0u64, Vec::new());
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let first = (rounds * 10) % 1990;
                let gets: Vec<Value> = (first..first + 10).map(|k| json!(["GET", format!("seed:{k}")])).collect();
                let (status, body) = gw.post("/pipeline", &Value::Array(gets).to_string(), TOKEN).await;
                let expected: Vec<Value> = (first..first + 10).map(|k| json!({"result": k.to_string()})).collect();
                if status != 200 || body != Value::Array(expected) {
                    wrong.push(body);
                }
                rounds += 1;
            }
            (rounds, wrong)
        })
    };
    cluster.add_shard().await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (reads, wrong) = reader.await.unwrap();
    assert!(wrong.is_empty(), "{} of {reads} read pipelines went wrong, the first: {}", wrong.len(), wrong[0]);
    assert!(reads > 0);
    let mut total = 0;
    for (w, writer) in writers.into_iter().enumerate() {
        let (sent, failed) = writer.await.unwrap();
        assert!(failed.is_empty(), "writer {w}: {} failed requests, the first: {}", failed.len(), failed[0]);
        total += sent;
        for i in 0..sent {
            assert_eq!(gw.command(json!(["GET", format!("w{w}:{i}")])).await.1, json!({"result": i.to_string()}));
        }
        for c in 0..5 {
            let (_, count) = gw.command(json!(["GET", format!("count:{w}:{c}")])).await;
            assert_eq!(count, json!({"result": sent.to_string()}), "each INCR ran exactly once");
        }
    }
    println!("{total} rounds of writes during the move");
    assert!(total > 0);
    for k in 0..2000 {
        assert_eq!(gw.command(json!(["GET", format!("seed:{k}")])).await.1, json!({"result": k.to_string()}));
    }
    let new_master = cluster.masters.last().unwrap();
    let owned: i64 = redis::cmd("DBSIZE").query(&mut new_master.connection()).unwrap();
    assert!(owned > 0, "the new shard holds keys");
    let slots: Vec<Vec<redis::Value>> = redis::cmd("CLUSTER").arg("SLOTS").query(&mut new_master.connection()).unwrap();
    let port = i64::from(new_master.port());
    let mine: i64 = slots
        .iter()
        .filter(|r| matches!(r.get(2), Some(redis::Value::Array(m)) if m.get(1) == Some(&redis::Value::Int(port))))
        .map(|r| match (&r[0], &r[1]) {
            (redis::Value::Int(a), redis::Value::Int(b)) => b - a + 1,
            _ => 0,
        })
        .sum();
    assert_eq!(mine, 4096, "the new shard owns a quarter of the slots");
}

#[tokio::test]
async fn a_tls_cluster_is_served_over_rediss_cluster_and_an_unknown_ca_is_a_prompt_502() {
    use redisgate_gateway::directory::StaticDirectory;
    use redisgate_gateway::tls::RedisTls;
    use redisgate_gateway::upstream::UpstreamOptions;
    use redisgate_test_support::{instance, TestCa};

    let ca = TestCa::new("cluster-ca");
    let cluster = TestCluster::start_tls(3, &ca).await;
    assert!(cluster.url().starts_with("rediss+cluster://"));
    let tls = RedisTls::from_files(Some(&ca.cert()), None, None).unwrap();
    let options = UpstreamOptions { tls, ..UpstreamOptions::default() };
    let directory =
        StaticDirectory::new(vec![instance("default", &cluster.url(), TOKEN, None, options)], Some("default"), None);
    let gw = TestGateway::with_directory(std::sync::Arc::new(directory)).await;
    for key in ["a", "b", "c"] {
        assert_eq!(gw.command(json!(["SET", key, key])).await, (200, json!({"result": "OK"})));
    }
    let (status, body) = gw.post("/pipeline", r#"[["GET","a"],["GET","b"],["GET","c"]]"#, TOKEN).await;
    assert_eq!((status, body), (200, json!([{"result": "a"}, {"result": "b"}, {"result": "c"}])));

    // The system's roots do not know the private CA: a prompt JSON 502, never served in plain text.
    // (redis-rs's cluster client does not keep the handshake's error, so the text cannot say it is TLS.)
    let untrusting = TestGateway::single(&cluster.url()).await;
    let started = std::time::Instant::now();
    let (status, body) = untrusting.command(json!(["GET", "a"])).await;
    assert_eq!((status, body), (502, json!({"error": "ERR redis unavailable"})));
    assert!(started.elapsed() < Duration::from_secs(5), "answered in {:?}", started.elapsed());
}

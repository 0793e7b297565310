//! Per-instance limits on the data plane (from the config file): each refusal carries Upstash's error text
//! and the right status, loses nothing, and the gateway keeps serving.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use redisgate_gateway::config::DirectoryConfig;
use redisgate_gateway::quota::Meters;
use redisgate_gateway::upstream::UpstreamOptions;
use redisgate_test_support::{eventually, TestGateway, TestRedis, TOKEN};
use serde_json::json;

/// A gateway whose only instance has `limits` (TOML `key = value` lines).
async fn limited(limits: &str) -> (TestRedis, TestGateway) {
    let redis = TestRedis::start();
    let config = format!(
        "[[instance]]\nname = \"limited\"\nredis_url = \"{}\"\ntoken = \"{TOKEN}\"\n[instance.limits]\n{limits}\n",
        redis.url()
    );
    let directory =
        DirectoryConfig::from_toml(&config, &UpstreamOptions::default()).unwrap().build(&Meters::default()).unwrap();
    (redis, TestGateway::with_directory(Arc::new(directory)).await)
}

#[tokio::test]
async fn the_rate_limit_refuses_with_429_and_counts_pipeline_commands() {
    let (_redis, gw) = limited("max_requests_per_second = 5").await;
    let (status, body) = gw.post("/pipeline", r#"[["set","a","1"],["incr","a"],["incr","a"]]"#, TOKEN).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(gw.command(json!(["incr", "a"])).await.0, 200);
    assert_eq!(gw.command(json!(["incr", "a"])).await.0, 200);
    let refused = gw.http().post(gw.url()).bearer_auth(TOKEN).body(r#"["incr","a"]"#).send().await.unwrap();
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], "1");
    assert_eq!(refused.text().await.unwrap(), r#"{"error":"ERR max requests limit exceeded"}"#);
    // The refused command did not run; after a moment the rate allows more.
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let (status, body) = gw.command(json!(["get", "a"])).await;
        if status == 200 {
            assert_eq!(body, json!({"result": "5"}));
            break;
        }
        assert!(Instant::now() < deadline, "the rate never recovered");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // More commands than one second's worth can never pass: no Retry-After invites a retry that cannot work.
    let six: Vec<_> = (0..6).map(|_| json!(["get", "a"])).collect();
    let too_big = gw.http().post(format!("{}/pipeline", gw.url())).bearer_auth(TOKEN).json(&six).send().await.unwrap();
    assert_eq!(too_big.status(), 429);
    assert!(too_big.headers().get("retry-after").is_none());
    let metrics = gw.metrics().encode();
    let refusals = metrics
        .lines()
        .find_map(|l| l.strip_prefix(r#"redisgate_limited_requests_total{instance="limited",limit="rate"} "#))
        .and_then(|n| n.parse::<u64>().ok());
    assert!(refusals.is_some_and(|n| n >= 1), "{metrics}");
}

#[tokio::test]
async fn the_daily_quota_refuses_the_request_that_would_exceed_it() {
    let (_redis, gw) = limited("max_daily_requests = 10").await;
    let nine: Vec<_> = (0..9).map(|i| json!(["set", format!("k{i}"), "v"])).collect();
    assert_eq!(gw.post("/pipeline", &json!(nine).to_string(), TOKEN).await.0, 200);
    let two = json!([["set", "x", "1"], ["set", "y", "1"]]).to_string();
    assert_eq!(
        gw.post("/multi-exec", &two, TOKEN).await,
        (429, json!({"error": "ERR max daily request limit exceeded. Limit: 10, Usage: 9"}))
    );
    assert_eq!(gw.command(json!(["exists", "x"])).await, (200, json!({"result": 0})), "the transaction ran");
    assert_eq!(gw.command(json!(["ping"])).await.0, 429);
}

#[tokio::test]
async fn concurrent_requests_are_bounded_by_open_streams_too() {
    let (_redis, gw) = limited("max_concurrent_connections = 1").await;
    let stream = gw.http().get(format!("{}/subscribe/chat", gw.url())).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(stream.status(), 200);
    let mut events = stream.bytes_stream();
    let first = events.next().await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&first).contains("subscribe,chat,1"));
    assert_eq!(gw.command(json!(["ping"])).await, (429, json!({"error": "ERR max concurrent connections exceeded"})));
    // Closing the stream frees its place.
    drop(events);
    let held = eventually(Duration::from_secs(5), || async { gw.command(json!(["ping"])).await.0 == 200 }).await;
    assert!(held, "the stream's place was never freed");
}

#[tokio::test]
async fn sizes_are_checked_per_request_per_argument_and_per_key() {
    let (_redis, gw) = limited("max_request_size = 200\nmax_record_size = 8\nmax_key_size = 4").await;
    let big = json!(["set", "k", "v".repeat(300)]).to_string();
    assert_eq!(gw.post("/", &big, TOKEN).await, (413, json!({"error": "ERR max request size exceeded"})));
    assert_eq!(
        gw.command(json!(["set", "k", "123456789"])).await,
        (400, json!({"error": "ERR max single record size exceeded"}))
    );
    assert_eq!(
        gw.command(json!(["mset", "k", "1", "toolong", "2"])).await,
        (400, json!({"error": "ERR max key size exceeded. Limit: 4 bytes, Actual: 7 bytes"}))
    );
    // In a pipeline the refused command gets its error in place and the others run.
    let (status, body) =
        gw.post("/pipeline", r#"[["set","k","12345678"],["set","long-key","1"],["get","k"]]"#, TOKEN).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!([{"result": "OK"}, {"error": "ERR max key size exceeded. Limit: 4 bytes, Actual: 8 bytes"}, {"result": "12345678"}])
    );
    // In a transaction it discards the whole transaction.
    let (status, _) = gw.post("/multi-exec", r#"[["set","k","new"],["set","long-key","1"]]"#, TOKEN).await;
    assert_eq!(status, 400);
    assert_eq!(gw.command(json!(["get", "k"])).await, (200, json!({"result": "12345678"})));
}

/// A script is charged by the time it keeps the instance busy (issue 27, item 9): one command per
/// millisecond, after it ran, so a loop of ten million additions (tens of milliseconds) uses up a rate of 10
/// per second, which one command would not. Right after it, only what the rate refills gets through (one per
/// 100 ms); uncharged, the nine left of the burst of ten would pass at once. (Counting against the time taken
/// keeps a loaded machine, whose requests may take over 100 ms, from failing the test.)
#[tokio::test]
async fn a_script_is_charged_by_its_time() {
    let (_redis, gw) = limited("max_requests_per_second = 10").await;
    let busy_loop = "local x = 0 for i = 1, 10000000 do x = x + i end return 1";
    assert_eq!(gw.command(json!(["eval", busy_loop, "0"])).await, (200, json!({"result": 1})));
    let started = std::time::Instant::now();
    let mut passed = 0;
    for _ in 0..9 {
        match gw.command(json!(["ping"])).await {
            (200, _) => passed += 1,
            refused => assert_eq!(refused, (429, json!({"error": "ERR max requests limit exceeded"}))),
        }
    }
    let elapsed = started.elapsed();
    // What refilled while the nine were sent, and one more for the moment between the charge and the first.
    let refilled = (elapsed.as_secs_f64() * 10.0).ceil() as usize + 1;
    assert!(passed <= refilled, "{passed} of 9 requests passed in {elapsed:?} after the script");
}

/// A script that never ends is stopped: after 1 s the gateway sends SCRIPT KILL on a connection of its own
/// (Redis takes it once the script passes its `busy-reply-threshold`), and the requests queued behind the
/// script on the shared connection are answered (issue 27, item 10).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_that_never_ends_is_stopped() {
    let redis = TestRedis::start();
    let mut direct = redis::Client::open(redis.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let () =
        redis::cmd("CONFIG").arg("SET").arg("busy-reply-threshold").arg(200).query_async(&mut direct).await.unwrap();
    let gw = TestGateway::single(&redis.url()).await;
    let looping = gw.command(json!(["eval", "while true do end", "0"]));
    let pinging = async {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let (status, body) = gw.command(json!(["ping"])).await;
            if status == 200 {
                return body;
            }
            assert!(Instant::now() < deadline, "the instance stayed busy: {body}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    let ((status, stopped), pong) = tokio::join!(looping, pinging);
    assert_eq!(pong, json!({"result": "PONG"}));
    assert_eq!(status, 400);
    assert!(stopped["error"].as_str().unwrap().contains("killed"), "{stopped}");
}

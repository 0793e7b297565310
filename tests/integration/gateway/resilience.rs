//! Redis going away: prompt JSON errors, no hang, and service resuming by itself.

use std::time::{Duration, Instant};

use redisgate_gateway::upstream::UpstreamOptions;
use redisgate_gateway::ServerLimits;
use redisgate_test_support::{eventually, TestGateway, TestRedis};
use serde_json::json;

#[tokio::test]
async fn redis_down_is_a_prompt_502_and_service_resumes_when_it_returns() {
    let mut redis = TestRedis::start();
    let gw = TestGateway::single(&redis.url()).await;
    assert_eq!(gw.command(json!(["set", "k", "v"])).await.0, 200);
    redis.kill();
    for _ in 0..3 {
        let started = Instant::now();
        // The request that finds the connection closed says so; later ones find Redis unreachable.
        let (status, body) = gw.command(json!(["get", "k"])).await;
        assert_eq!(status, 502, "{body}");
        let error = body["error"].as_str().unwrap();
        assert!(error == "ERR redis unavailable" || error.starts_with("ERR redis closed the connection"), "{body}");
        assert!(started.elapsed() < Duration::from_secs(2), "no hang while Redis is down");
    }
    let ready = gw.http().get(format!("{}/-/ready", gw.url())).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    assert!(ready.json::<serde_json::Value>().await.unwrap()["error"].is_string());
    redis.restart();
    let back = eventually(Duration::from_secs(5), || async { gw.command(json!(["ping"])).await.0 == 200 }).await;
    assert!(back, "the gateway reconnects by itself");
    let metrics = gw.metrics().encode();
    assert!(
        metrics.lines().any(|l| l.starts_with(r#"redisgate_upstream_reconnects_total{instance="default"} "#)),
        "the broken connection is counted: {metrics}"
    );
}

/// A listener that writes `greeting` to every connection it accepts and closes it, counting them.
fn closing_listener(greeting: &'static [u8]) -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::Write as _;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&accepted);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = stream.and_then(|mut stream| stream.write_all(greeting));
        }
    });
    (port, accepted)
}

/// Sends 100 requests, each of which must fail, and checks the attempts to connect `accepted` counted: at
/// most one, then one after each back-off (50, 100, 200, 400, 800 ms, then 1 s) that has passed.
async fn hundred_requests_back_off(gw: &TestGateway, accepted: &std::sync::atomic::AtomicUsize) {
    let started = Instant::now();
    for _ in 0..100 {
        let (status, body) = gw.command(json!(["get", "k"])).await;
        assert!(status == 502 || status == 400, "{status} {body}");
    }
    let (attempts, elapsed) = (accepted.load(std::sync::atomic::Ordering::SeqCst), started.elapsed());
    let mut allowed = 1;
    let mut waited = Duration::ZERO;
    for backoff in [50, 100, 200, 400, 800].into_iter().chain(std::iter::repeat(1000)).map(Duration::from_millis) {
        waited += backoff;
        if waited > elapsed {
            break;
        }
        allowed += 1;
    }
    assert!(attempts <= allowed, "{attempts} attempts in {elapsed:?} for 100 requests (at most {allowed})");
}

/// While Redis cannot be reached, requests fail at once and do not each make an attempt to connect: a
/// failed attempt is waited out (50 ms, doubling to 1 s) and answers the requests meanwhile.
#[tokio::test]
async fn attempts_to_reach_a_redis_that_cannot_be_reached_back_off() {
    // The gateway's AUTH gets no answer: the attempt to connect fails.
    let (port, accepted) = closing_listener(b"");
    let gw = TestGateway::single(&format!("redis://:secret@127.0.0.1:{port}")).await;
    hundred_requests_back_off(&gw, &accepted).await;
}

/// A Redis that closes each connection as soon as it is made (at `maxclients` it answers an error, then
/// closes) is retried with the same back-off, not once per request.
#[tokio::test]
async fn a_redis_that_closes_each_connection_at_once_is_retried_with_back_off() {
    let (port, accepted) = closing_listener(b"-ERR max number of clients reached\r\n");
    let gw = TestGateway::single(&format!("redis://127.0.0.1:{port}")).await;
    hundred_requests_back_off(&gw, &accepted).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_under_load_fails_requests_cleanly() {
    let mut redis = TestRedis::start();
    let gw = std::sync::Arc::new(TestGateway::single(&redis.url()).await);
    let mut tasks = Vec::new();
    for i in 0..200 {
        let gw = gw.clone();
        tasks.push(tokio::spawn(async move { gw.command(json!(["set", format!("k{i}"), "v"])).await.0 }));
        if i == 100 {
            redis.kill();
        }
    }
    for task in tasks {
        let status = task.await.unwrap();
        assert!(status == 200 || status == 502, "status {status}");
    }
    redis.restart();
    let back = eventually(Duration::from_secs(5), || async { gw.command(json!(["ping"])).await.0 == 200 }).await;
    assert!(back);
}

#[tokio::test]
async fn a_redis_that_does_not_answer_is_a_504() {
    let redis = TestRedis::start();
    let options = UpstreamOptions { response_timeout: Duration::from_millis(300), ..UpstreamOptions::default() };
    let gw = TestGateway::single_with(&redis.url(), ServerLimits::default(), options).await;
    assert_eq!(gw.command(json!(["ping"])).await.0, 200);
    let mut admin = redis.connection();
    let () = redis::cmd("CLIENT").arg("PAUSE").arg(1500).arg("ALL").query(&mut admin).unwrap();
    let started = Instant::now();
    let (status, body) = gw.command(json!(["get", "k"])).await;
    assert_eq!((status, body), (504, json!({"error": "ERR redis timed out"})));
    assert!(started.elapsed() < Duration::from_secs(1));
    let () = redis::cmd("CLIENT").arg("UNPAUSE").query(&mut admin).unwrap();
    let back = eventually(Duration::from_secs(5), || async { gw.command(json!(["ping"])).await.0 == 200 }).await;
    assert!(back);
}

//! Request ids and metrics.

use std::time::Duration;

use redisgate_test_support::{eventually, TestGateway, TestRedis, TOKEN};
use serde_json::json;
use tower::ServiceExt as _;

/// `/metrics` of the gateway's admin router.
async fn metrics(gw: &TestGateway) -> String {
    let request = axum::http::Request::get("/metrics").body(axum::body::Body::empty()).unwrap();
    let response = redisgate_gateway::admin_router(gw.metrics()).oneshot(request).await.unwrap();
    assert_eq!(response.status(), 200);
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// The value of the sample line starting with `prefix`.
fn sample(text: &str, prefix: &str) -> Option<f64> {
    text.lines().find(|l| l.starts_with(prefix)).and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_a_sane_one_is_echoed() {
    let redis = TestRedis::start();
    let gw = TestGateway::single(&redis.url()).await;
    let url = format!("{}/ping", gw.url());
    let fresh = gw.http().get(&url).bearer_auth(TOKEN).send().await.unwrap();
    let id = fresh.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 32);
    let echoed = gw.http().get(&url).header("x-request-id", "trace-42.a_b").send().await.unwrap();
    assert_eq!(echoed.status(), 401);
    assert_eq!(echoed.headers()["x-request-id"], "trace-42.a_b");
    let odd = gw.http().get(&url).header("x-request-id", "has spaces and {braces}").send().await.unwrap();
    assert_ne!(odd.headers()["x-request-id"], "has spaces and {braces}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_failures_connections_and_streams() {
    let mut redis = TestRedis::start();
    let gw = TestGateway::single(&redis.url()).await;
    for _ in 0..3 {
        assert_eq!(gw.command(json!(["incr", "n"])).await.0, 200);
    }
    assert_eq!(gw.post("/pipeline", r#"[["ping"]]"#, TOKEN).await.0, 200);
    assert_eq!(gw.post("/ping", "", "wrong").await.0, 401);
    let stream = gw.http().post(format!("{}/subscribe/c", gw.url())).bearer_auth(TOKEN).send().await.unwrap();
    let text = metrics(&gw).await;
    assert_eq!(
        sample(&text, r#"redisgate_requests_total{kind="command",status="2xx",instance="default"}"#),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, r#"redisgate_requests_total{kind="pipeline",status="2xx",instance="default"}"#),
        Some(1.0)
    );
    assert_eq!(sample(&text, "redisgate_auth_failures_total"), Some(1.0));
    assert_eq!(sample(&text, "redisgate_sse_streams"), Some(1.0));
    assert!(sample(&text, "redisgate_open_connections").unwrap() >= 1.0);
    assert!(text.contains(r#"redisgate_request_duration_seconds_count{kind="command"} 4"#), "{text}");
    drop(stream);
    let closed = eventually(Duration::from_secs(20), || async {
        sample(&metrics(&gw).await, "redisgate_sse_streams") == Some(0.0)
    });
    assert!(closed.await, "the SSE gauge never went back to 0");
    redis.kill();
    assert_eq!(gw.command(json!(["ping"])).await.0, 502);
    let text = metrics(&gw).await;
    assert_eq!(sample(&text, r#"redisgate_upstream_errors_total{instance="default",error="unavailable"}"#), Some(1.0));
    assert_eq!(sample(&text, r#"redisgate_requests_total{kind="command",status="5xx",instance="default"}"#), Some(1.0));
}

//! Bad input gets a clear JSON error, the right status, and loses nothing: the gateway keeps serving.

use std::time::{Duration, Instant};

use bytes::Bytes;
use redisgate_gateway::upstream::UpstreamOptions;
use redisgate_gateway::ServerLimits;
use redisgate_test_support::{TestGateway, TestRedis, TOKEN};
use serde_json::json;

use super::setup;

#[tokio::test]
async fn malformed_bodies_are_400_with_a_reason() {
    let (_redis, gw) = setup().await;
    for (path, body) in [
        ("/", "not json"),
        ("/", "[]"),
        ("/", r#"["set","k",null]"#),
        ("/", r#"["set","k",{"a":1}]"#),
        ("/", r#"["set","k",["nested"]]"#),
        ("/", r#"[1,"k"]"#),
        ("/", r#"["get","k"] trailing"#),
        ("/", ""),
        ("/pipeline", "[]"),
        ("/pipeline", r#"["get","k"]"#),
        ("/pipeline", r#"{"a":1}"#),
        ("/multi-exec", "[[]]"),
    ] {
        let (status, body) = gw.post(path, body, TOKEN).await;
        assert_eq!(status, 400, "{path} {body}");
        assert!(body["error"].as_str().unwrap().starts_with("ERR "), "{body}");
    }
    let invalid_utf8 = gw.http().post(gw.url()).bearer_auth(TOKEN).body(vec![b'[', b'"', 0xff, b'"', b']']).send();
    assert_eq!(invalid_utf8.await.unwrap().status(), 400);
    assert_eq!(gw.command(json!(["ping"])).await, (200, json!({"result": "PONG"})));
}

#[tokio::test]
async fn unknown_and_refused_commands_are_400_at_once() {
    let (_redis, gw) = setup().await;
    let (status, body) = gw.command(json!(["foo", "bar"])).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().starts_with("ERR unknown command 'foo'"), "{body}");
    let started = Instant::now();
    for command in [json!(["blpop", "q", 0]), json!(["subscribe", "c"]), json!(["select", 1]), json!(["multi"])] {
        let (status, body) = gw.command(command).await;
        assert_eq!(status, 400);
        assert!(body["error"].as_str().unwrap().contains("is not supported over REST"));
    }
    assert!(started.elapsed() < Duration::from_secs(2), "refusals must not wait on Redis");
    // The shared connection was not blocked or switched to another database.
    gw.command(json!(["set", "k", "v"])).await;
    assert_eq!(gw.command(json!(["get", "k"])).await.1, json!({"result": "v"}));
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_declared_or_streamed() {
    let redis = TestRedis::start();
    let limits = ServerLimits { max_body_bytes: 1024, ..ServerLimits::default() };
    let gw = TestGateway::single_with(&redis.url(), limits, UpstreamOptions::default()).await;
    let big = "x".repeat(2048);
    let expected = json!({"error": "ERR max request size exceeded"});
    assert_eq!(gw.post("/set/k", &big, TOKEN).await, (413, expected.clone()));
    // Without a Content-Length (chunked), the limit applies while reading.
    let chunks = futures_util::stream::iter((0..8).map(|_| Ok::<_, std::io::Error>(Bytes::from(vec![b'y'; 512]))));
    let response = gw
        .http()
        .post(format!("{}/set/k", gw.url()))
        .bearer_auth(TOKEN)
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(response.json::<serde_json::Value>().await.unwrap(), expected);
    assert_eq!(gw.post("/set/k", "small", TOKEN).await, (200, json!({"result": "OK"})));
}

#[tokio::test]
async fn the_default_limit_is_ten_mebibytes() {
    let (_redis, gw) = setup().await;
    let just_under = "v".repeat(10 * 1024 * 1024 - 64);
    assert_eq!(gw.post("/set/big", &just_under, TOKEN).await.0, 200);
    let over = "v".repeat(10 * 1024 * 1024 + 1);
    assert_eq!(gw.post("/set/big", &over, TOKEN).await.0, 413);
}

#[tokio::test]
async fn other_methods_are_405_json() {
    let (_redis, gw) = setup().await;
    for method in [reqwest::Method::DELETE, reqwest::Method::PATCH] {
        let response =
            gw.http().request(method, format!("{}/get/k", gw.url())).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(response.status(), 405);
        assert!(response.headers().contains_key("upstash-sync-token"));
        let body: serde_json::Value = response.json().await.unwrap();
        assert!(body["error"].as_str().is_some());
    }
    let response = gw.http().post(format!("{}/-/health", gw.url())).send().await.unwrap();
    assert_eq!(response.status(), 405);
    assert!(response.json::<serde_json::Value>().await.unwrap()["error"].is_string());
}

#[tokio::test]
async fn every_response_carries_a_fresh_sync_token_and_stale_ones_are_accepted() {
    let (_redis, gw) = setup().await;
    let mut seen = std::collections::HashSet::new();
    for token in ["", "stale-token-from-elsewhere", "0"] {
        let response = gw
            .http()
            .post(gw.url())
            .bearer_auth(TOKEN)
            .header("upstash-sync-token", token)
            .body(r#"["set","k","v"]"#)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let sync = response.headers()["upstash-sync-token"].to_str().unwrap().to_owned();
        assert!(seen.insert(sync), "each response gets a new token");
    }
    let unauthorized = gw.http().get(format!("{}/ping", gw.url())).send().await.unwrap();
    assert!(unauthorized.headers().contains_key("upstash-sync-token"));
}

#[tokio::test]
async fn cors_preflight_allows_the_upstash_headers() {
    let (_redis, gw) = setup().await;
    let response = gw
        .http()
        .request(reqwest::Method::OPTIONS, format!("{}/pipeline", gw.url()))
        .header("Origin", "https://app.example")
        .header("Access-Control-Request-Method", "POST")
        .header(
            "Access-Control-Request-Headers",
            "authorization,content-type,upstash-encoding,upstash-sync-token,upstash-telemetry-retry",
        )
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let headers = response.headers();
    assert_eq!(headers["access-control-allow-origin"], "*");
    let allowed = headers["access-control-allow-headers"].to_str().unwrap();
    for header in ["authorization", "upstash-encoding", "upstash-sync-token", "upstash-telemetry-retry"] {
        assert!(allowed.contains(header), "{header} missing from {allowed}");
    }
    let actual = gw
        .http()
        .post(gw.url())
        .header("Origin", "https://app.example")
        .bearer_auth(TOKEN)
        .body(r#"["ping"]"#)
        .send()
        .await
        .unwrap();
    let exposed = actual.headers()["access-control-expose-headers"].to_str().unwrap();
    assert!(exposed.contains("upstash-sync-token"));
    // A request without Origin (a server, curl) takes no part in CORS and gets none of its headers.
    let server = gw.http().post(gw.url()).bearer_auth(TOKEN).body(r#"["ping"]"#).send().await.unwrap();
    assert_eq!(server.status(), 200);
    assert!(!server.headers().contains_key("access-control-allow-origin"));
}

#[tokio::test]
async fn health_endpoints_never_shadow_commands() {
    let (_redis, gw) = setup().await;
    let health = gw.http().get(format!("{}/-/health", gw.url())).send().await.unwrap();
    assert_eq!(health.json::<serde_json::Value>().await.unwrap(), json!({"status": "ok"}));
    let ready = gw.http().get(format!("{}/-/ready", gw.url())).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    // A command that happens to be called like a health check still reaches Redis.
    let (status, body) = gw.post("/health", "", TOKEN).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().starts_with("ERR unknown command 'health'"));
}

#[tokio::test]
async fn a_stalled_body_is_a_408_and_the_gateway_keeps_serving() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let redis = TestRedis::start();
    let limits = ServerLimits { body_timeout: Duration::from_millis(200), ..ServerLimits::default() };
    let gw = TestGateway::single_with(&redis.url(), limits, UpstreamOptions::default()).await;
    let mut socket = tokio::net::TcpStream::connect(gw.address()).await.unwrap();
    let head =
        format!("POST /set/k HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: 100\r\n\r\nabc");
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut response)).await.unwrap().unwrap();
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 408"), "{response}");
    assert!(response.contains(r#"{"error":"ERR timed out reading the request body"}"#), "{response}");
    assert_eq!(gw.command(json!(["ping"])).await, (200, json!({"result": "PONG"})));
}

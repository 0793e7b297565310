//! Tokens: header or query, read-only access, and isolation between instances.

use std::sync::Arc;

use redisgate_gateway::directory::StaticDirectory;
use redisgate_gateway::upstream::UpstreamOptions;
use redisgate_test_support::{instance, TestGateway, TestRedis, READONLY_TOKEN, TOKEN};
use serde_json::json;

use super::setup;

const UNAUTHORIZED: &str = "WRONGPASS invalid or missing auth token";

#[tokio::test]
async fn missing_wrong_or_malformed_tokens_are_401_json() {
    let (_redis, gw) = setup().await;
    let url = format!("{}/ping", gw.url());
    let http = gw.http();
    for request in [
        http.get(&url),
        http.get(&url).bearer_auth("wrong"),
        http.get(&url).header("Authorization", format!("Basic {TOKEN}")),
        // A malformed header wins over a valid query token: no fallback.
        http.get(format!("{url}?_token={TOKEN}")).header("Authorization", "Token x"),
        http.get(&url).header("Authorization", "Bearer "),
    ] {
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401);
        assert_eq!(response.json::<serde_json::Value>().await.unwrap(), json!({"error": UNAUTHORIZED}));
    }
    let ok = http.get(format!("{url}?_token={TOKEN}")).send().await.unwrap();
    assert_eq!(ok.text().await.unwrap(), r#"{"result":"PONG"}"#);
    let lower = http.get(&url).header("authorization", format!("bearer {TOKEN}")).send().await.unwrap();
    assert_eq!(lower.status(), 200);
}

#[tokio::test]
async fn read_only_token_reads_but_never_writes() {
    let (redis, gw) = setup().await;
    gw.command(json!(["set", "k", "v"])).await;
    assert_eq!(gw.post("/", r#"["get","k"]"#, READONLY_TOKEN).await, (200, json!({"result": "v"})));
    let (status, body) = gw.post("/", r#"["set","k","changed"]"#, READONLY_TOKEN).await;
    assert_eq!((status, body), (400, json!({"error": "NOPERM this user has no permissions to run the 'set' command"})));
    let (status, body) = gw.post("/pipeline", r#"[["get","k"],["del","k"]]"#, READONLY_TOKEN).await;
    assert_eq!(status, 200);
    assert_eq!(body[0], json!({"result": "v"}));
    assert!(body[1]["error"].as_str().unwrap().starts_with("NOPERM"));
    let (status, _) = gw.post("/multi-exec", r#"[["get","k"],["del","k"]]"#, READONLY_TOKEN).await;
    assert_eq!(status, 400);
    let (status, _) = gw.post("/monitor", "", READONLY_TOKEN).await;
    assert_eq!(status, 400);
    let value: String = redis::cmd("GET").arg("k").query(&mut redis.connection()).unwrap();
    assert_eq!(value, "v", "no write of the read-only token reached Redis");
}

#[tokio::test]
async fn a_token_of_one_instance_never_opens_another() {
    let (a, b) = (TestRedis::start(), TestRedis::start());
    let options = UpstreamOptions::default();
    let directory = StaticDirectory::new(
        vec![
            instance("alpha", &a.url(), "token-a", None, options.clone()),
            instance("beta", &b.url(), "token-b", None, options),
        ],
        None,
        Some("redis.test".into()),
    );
    let gw = TestGateway::with_directory(Arc::new(directory)).await;
    assert_eq!(gw.post("/db/alpha/set/k/in-alpha", "", "token-a").await.0, 200);
    assert_eq!(gw.post("/db/beta/get/k", "", "token-a").await, (401, json!({"error": UNAUTHORIZED})));
    assert_eq!(gw.post("/db/beta/get/k", "", "token-b").await, (200, json!({"result": null})));
    // Host-header routing: <name>.<domain>, with or without a port.
    let by_host = gw
        .http()
        .post(format!("{}/get/k", gw.url()))
        .header("Host", "alpha.redis.test:8080")
        .bearer_auth("token-a")
        .send()
        .await
        .unwrap();
    assert_eq!(by_host.text().await.unwrap(), r#"{"result":"in-alpha"}"#);
    // An unknown instance answers as a wrong token does, so names cannot be probed without a token of
    // theirs; a request that names none is a 404 when there is no default.
    let known = gw.post("/db/beta/get/k", "", "wrong").await;
    for unknown in ["/db/gamma/get/k", "/db/gamma"] {
        assert_eq!(gw.post(unknown, "", "token-a").await, known, "{unknown}");
        assert_eq!(gw.post(unknown, "", "wrong").await, (401, json!({"error": UNAUTHORIZED})), "{unknown}");
    }
    assert_eq!(gw.post("/get/k", "", "token-a").await.0, 404);
}

//! Upstash-only behaviour emulated on plain Redis (protocol.md §M).

use redisgate_core::protocol::compat::sha1_hex;
use redisgate_test_support::TOKEN;
use serde_json::json;

use super::setup;

#[tokio::test]
async fn scan_withtype_answers_keys_with_their_types() {
    let (_redis, gw) = setup().await;
    gw.command(json!(["set", "s:1", "v"])).await;
    gw.command(json!(["hset", "s:2", "f", "v"])).await;
    gw.command(json!(["set", "other", "v"])).await;
    let (status, body) = gw.command(json!(["scan", "0", "MATCH", "s:*", "COUNT", 100, "WITHTYPE"])).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"][0], json!("0"));
    let flat: Vec<String> =
        body["result"][1].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect();
    let mut pairs: Vec<(String, String)> = flat.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect();
    pairs.sort();
    assert_eq!(pairs, [("s:1".into(), "string".into()), ("s:2".into(), "hash".into())]);
}

#[tokio::test]
async fn key_locking_scripts_run_and_their_sha_keeps_working() {
    let (_redis, gw) = setup().await;
    let script = "#!lua flags=allow-key-locking\nreturn redis.call('INCR', KEYS[1])";
    let sha = sha1_hex(script.as_bytes());
    let (status, body) = gw.command(json!(["evalsha", sha, 1, "n"])).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().starts_with("NOSCRIPT"), "clients fall back to EVAL on this");
    assert_eq!(gw.command(json!(["eval", script, 1, "n"])).await, (200, json!({"result": 1})));
    assert_eq!(gw.command(json!(["evalsha", sha, 1, "n"])).await, (200, json!({"result": 2})));
    let (_, exists) = gw.command(json!(["script", "exists", sha])).await;
    assert_eq!(exists, json!({"result": [1]}));
    let (status, body) = gw.post("/pipeline", &json!([["evalsha", sha, 1, "n"]]).to_string(), TOKEN).await;
    assert_eq!((status, body), (200, json!([{"result": 3}])));
}

#[tokio::test]
async fn unlink_without_keys_is_zero_everywhere() {
    let (_redis, gw) = setup().await;
    assert_eq!(gw.command(json!(["unlink"])).await, (200, json!({"result": 0})));
    let (status, body) = gw.post("/multi-exec", r#"[["unlink"],["set","k","v"]]"#, TOKEN).await;
    assert_eq!((status, body), (200, json!([{"result": 0}, {"result": "OK"}])));
}

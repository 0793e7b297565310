//! Request forms (path, body, query, JSON), pipelines, encodings.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use redisgate_test_support::{READONLY_TOKEN, TOKEN};
use serde_json::json;

use super::setup;

#[tokio::test]
async fn path_commands_over_every_method() {
    let (_redis, gw) = setup().await;
    let http = gw.http();
    let get = http.get(format!("{}/SET/k%2F1/hello%20world", gw.url())).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(get.status(), 200);
    assert_eq!(get.text().await.unwrap(), r#"{"result":"OK"}"#);
    let put = http.put(format!("{}/append/k%2F1", gw.url())).bearer_auth(TOKEN).body("!").send().await.unwrap();
    assert_eq!(put.text().await.unwrap(), r#"{"result":12}"#);
    let head = http.head(format!("{}/get/k%2F1", gw.url())).bearer_auth(TOKEN).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert!(head.headers().contains_key("upstash-sync-token"));
    assert_eq!(head.bytes().await.unwrap().len(), 0);
    assert_eq!(gw.command(json!(["GET", "k/1"])).await, (200, json!({"result": "hello world!"})));
}

#[tokio::test]
async fn post_body_is_the_last_argument_and_query_follows() {
    let (redis, gw) = setup().await;
    let binary: Vec<u8> = (0..=255u8).collect();
    let response = gw
        .http()
        .post(format!("{}/set/bin?EX=100&_token={TOKEN}", gw.url()))
        .body(binary.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.text().await.unwrap(), r#"{"result":"OK"}"#);
    let mut conn = redis.connection();
    let stored: Vec<u8> = redis::cmd("GET").arg("bin").query(&mut conn).unwrap();
    assert_eq!(stored, binary, "the raw body must be stored byte for byte");
    let ttl: i64 = redis::cmd("TTL").arg("bin").query(&mut conn).unwrap();
    assert!((1..=100).contains(&ttl), "EX 100 from the query applies, ttl = {ttl}");
    // Reading it back with base64 gives the exact bytes.
    let response = gw
        .http()
        .get(format!("{}/get/bin", gw.url()))
        .bearer_auth(TOKEN)
        .header("Upstash-Encoding", "base64")
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(STANDARD.decode(body["result"].as_str().unwrap()).unwrap(), binary);
}

#[tokio::test]
async fn json_numbers_and_booleans_keep_their_text() {
    let (_redis, gw) = setup().await;
    gw.command(json!(["set", "n", 1.50])).await;
    let (status, body) = gw.post("/", r#"["rpush","l",1.50,1e-7,-0,true,false,10]"#, TOKEN).await;
    assert_eq!((status, body), (200, json!({"result": 6})));
    let (_, body) = gw.command(json!(["lrange", "l", 0, -1])).await;
    assert_eq!(body, json!({"result": ["1.50", "1e-7", "-0", "true", "false", "10"]}));
}

#[tokio::test]
async fn replies_have_resp2_shapes() {
    let (_redis, gw) = setup().await;
    assert_eq!(gw.command(json!(["hgetall", "none"])).await.1, json!({"result": []}));
    gw.command(json!(["hset", "h", "f", "v"])).await;
    assert_eq!(gw.command(json!(["hgetall", "h"])).await.1, json!({"result": ["f", "v"]}));
    gw.command(json!(["zadd", "z", 1.5, "m"])).await;
    assert_eq!(gw.command(json!(["zscore", "z", "m"])).await.1, json!({"result": "1.5"}));
    assert_eq!(gw.command(json!(["get", "missing"])).await.1, json!({"result": null}));
    assert_eq!(gw.command(json!(["ping"])).await.1, json!({"result": "PONG"}));
}

#[tokio::test]
async fn invalid_utf8_becomes_replacement_characters_without_base64() {
    let (redis, gw) = setup().await;
    let mut conn = redis.connection();
    let () = redis::cmd("SET").arg("raw").arg(b"a\xffb".as_slice()).query(&mut conn).unwrap();
    assert_eq!(gw.command(json!(["get", "raw"])).await.1, json!({"result": "a\u{fffd}b"}));
}

#[tokio::test]
async fn base64_encoding_follows_the_upstash_rules() {
    let (_redis, gw) = setup().await;
    let call = |body: &'static str, path: &'static str| {
        let request = gw
            .http()
            .post(format!("{}{path}", gw.url()))
            .bearer_auth(TOKEN)
            .header("Upstash-Encoding", "base64")
            .body(body);
        async move { request.send().await.unwrap().json::<serde_json::Value>().await.unwrap() }
    };
    assert_eq!(call(r#"["set","k","test"]"#, "/").await, json!({"result": "OK"}));
    assert_eq!(call(r#"["get","k"]"#, "/").await, json!({"result": "dGVzdA=="}));
    assert_eq!(call(r#"["incr","c"]"#, "/").await, json!({"result": 1}));
    assert_eq!(call(r#"["get","none"]"#, "/").await, json!({"result": null}));
    assert_eq!(
        call(r#"[["set","a","x"],["mget","a","none"],["ping"],["incr","k"]]"#, "/pipeline").await,
        json!([{"result": "OK"}, {"result": ["eA==", null]}, {"result": "UE9ORw=="},
               {"error": "ERR value is not an integer or out of range"}])
    );
}

#[tokio::test]
async fn resp2_format_returns_raw_replies() {
    let (_redis, gw) = setup().await;
    gw.command(json!(["set", "k", "bar"])).await;
    let get = |path: &'static str, encoding: Option<&'static str>| {
        let mut request =
            gw.http().get(format!("{}{path}", gw.url())).bearer_auth(TOKEN).header("Upstash-Response-Format", "resp2");
        if let Some(encoding) = encoding {
            request = request.header("Upstash-Encoding", encoding);
        }
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            let kind = response.headers()["content-type"].to_str().unwrap().to_owned();
            (status, kind, response.bytes().await.unwrap())
        }
    };
    let (status, kind, body) = get("/get/k", None).await;
    assert_eq!((status, kind.as_str(), &body[..]), (200, "application/octet-stream", &b"$3\r\nbar\r\n"[..]));
    let (status, kind, _) = get("/get/k", Some("base64")).await;
    assert_eq!((status, kind.as_str()), (400, "application/json"));
    let response =
        gw.http().get(format!("{}/get/k", gw.url())).bearer_auth(TOKEN).header("Upstash-Response-Format", "xml");
    assert_eq!(response.send().await.unwrap().status(), 400);
    // A failing command answers the raw error reply, 400, as a TCP client would read it: Redis's own
    // errors and the gateway's refusals alike.
    let (status, kind, body) = get("/incr/k", None).await;
    assert_eq!(
        (status, kind.as_str(), &body[..]),
        (400, "application/octet-stream", &b"-ERR value is not an integer or out of range\r\n"[..])
    );
    let (status, kind, body) = get("/blpop/k/0", None).await;
    assert_eq!((status, kind.as_str()), (400, "application/octet-stream"));
    assert!(body.starts_with(b"-ERR ") && body.ends_with(b"\r\n"), "{}", String::from_utf8_lossy(&body));
    let (status, _, body) = get("/nosuchcommand", None).await;
    assert_eq!(status, 400);
    assert!(body.starts_with(b"-ERR unknown command") && body.ends_with(b"\r\n"), "{}", String::from_utf8_lossy(&body));
    // The token is checked before any command: a wrong one is still the JSON 401.
    let wrong =
        gw.http().get(format!("{}/get/k", gw.url())).bearer_auth("wrong").header("Upstash-Response-Format", "resp2");
    let wrong = wrong.send().await.unwrap();
    assert_eq!((wrong.status().as_u16(), wrong.headers()["content-type"].to_str().unwrap()), (401, "application/json"));
}

#[tokio::test]
async fn multi_exec_ignores_the_resp2_format() {
    let (_redis, gw) = setup().await;
    let send = |encoding: Option<&'static str>| {
        let mut request = gw
            .http()
            .post(format!("{}/multi-exec", gw.url()))
            .bearer_auth(TOKEN)
            .header("Upstash-Response-Format", "resp2")
            .body(r#"[["set","t","1"],["incr","t"]]"#);
        if let Some(encoding) = encoding {
            request = request.header("Upstash-Encoding", encoding);
        }
        async move {
            let response = request.send().await.unwrap();
            let kind = response.headers()["content-type"].to_str().unwrap().to_owned();
            (response.status().as_u16(), kind, response.json::<serde_json::Value>().await.unwrap())
        }
    };
    let (status, kind, body) = send(None).await;
    assert_eq!((status, kind.as_str(), body), (200, "application/json", json!([{"result": "OK"}, {"result": 2}])));
    // base64 with resp2 stays a 400, as the product description writes, and nothing runs.
    let (status, _, body) = send(Some("base64")).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(gw.command(json!(["get", "t"])).await.1, json!({"result": "2"}));
}

#[tokio::test]
async fn pipeline_runs_in_order_with_errors_in_place() {
    let (_redis, gw) = setup().await;
    let body = r#"[["set","p","1"],["incr","p"],["lpush","p","x"],["blpop","q",0],["get","p"],["unknowncmd"]]"#;
    let (status, body) = gw.post("/pipeline", body, TOKEN).await;
    assert_eq!(status, 200);
    let results = body.as_array().unwrap();
    assert_eq!(results.len(), 6);
    assert_eq!(results[0], json!({"result": "OK"}));
    assert_eq!(results[1], json!({"result": 2}));
    assert!(results[2]["error"].as_str().unwrap().starts_with("WRONGTYPE"));
    assert!(results[3]["error"].as_str().unwrap().contains("blocking commands are not supported"));
    assert_eq!(results[4], json!({"result": "2"}));
    assert!(results[5]["error"].as_str().unwrap().starts_with("ERR unknown command"));
}

#[tokio::test]
async fn publish_is_an_ordinary_command() {
    let (_redis, gw) = setup().await;
    assert_eq!(gw.post("/publish/chan/hello", "", TOKEN).await, (200, json!({"result": 0})));
}

#[tokio::test]
async fn a_base_url_with_a_trailing_slash_still_reaches_the_pipeline() {
    let (_redis, gw) = setup().await;
    assert_eq!(gw.post("//pipeline", r#"[["ping"]]"#, TOKEN).await, (200, json!([{"result": "PONG"}])));
    assert_eq!(gw.post("/db/default/pipeline", r#"[["ping"]]"#, TOKEN).await, (200, json!([{"result": "PONG"}])));
    assert_eq!(gw.post("/db/default", r#"["ping"]"#, TOKEN).await, (200, json!({"result": "PONG"})));
}

#[tokio::test]
async fn info_tells_nothing_about_the_host() {
    let (_redis, gw) = setup().await;
    let hidden = ["executable:", "config_file:", "process_id:", "\nos:", "tcp_port:", "listener0:"];
    let (status, body) = gw.command(json!(["info"])).await;
    assert_eq!(status, 200);
    let text = body["result"].as_str().unwrap();
    assert!(text.contains("redis_version:") && text.contains("# Keyspace"), "{text}");
    for field in hidden {
        assert!(!text.contains(field), "INFO shows {field}");
    }
    // The same in a pipeline and in a transaction.
    for path in ["/pipeline", "/multi-exec"] {
        let (status, body) = gw.post(path, r#"[["info","server"]]"#, TOKEN).await;
        assert_eq!(status, 200, "{body}");
        let text = body[0]["result"].as_str().unwrap();
        assert!(text.contains("redis_version:"));
        for field in hidden {
            assert!(!text.contains(field), "INFO in {path} shows {field}");
        }
    }
}

#[tokio::test]
async fn a_read_only_token_cannot_list_keys_by_randomkey_nor_run_lcs() {
    let (_redis, gw) = setup().await;
    gw.command(json!(["mset", "a", "abc", "b", "abd"])).await;
    for command in [json!(["randomkey"]), json!(["lcs", "a", "b"])] {
        let (status, body) = gw.post("/", &command.to_string(), READONLY_TOKEN).await;
        assert_eq!(status, 400, "{command}: {body}");
        assert!(body["error"].as_str().unwrap().starts_with("NOPERM"), "{body}");
    }
    assert_eq!(gw.command(json!(["lcs", "a", "b"])).await, (200, json!({"result": "ab"})));
}

#[tokio::test]
async fn every_instance_has_a_record_size_offsets_included() {
    let (_redis, gw) = setup().await;
    let too_large = (400, json!({"error": "ERR max single record size exceeded"}));
    // The server's default (100 MiB) applies to an instance whose limits set none.
    assert_eq!(gw.command(json!(["setrange", "k", 100 * 1024 * 1024, "x"])).await, too_large);
    assert_eq!(gw.command(json!(["bitfield", "k", "SET", "u8", "#104857600", "1"])).await, too_large);
    assert_eq!(gw.command(json!(["bitfield", "k", "INCRBY", "u32", "838860800", "1"])).await, too_large);
    assert_eq!(gw.command(json!(["bitfield", "k", "SET", "u8", "#1", "255"])).await, (200, json!({"result": [0]})));
    assert_eq!(gw.command(json!(["strlen", "k"])).await, (200, json!({"result": 2})));
}

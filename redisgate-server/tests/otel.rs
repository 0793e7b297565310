//! Feature `otel`: the real binary exports its spans over OTLP/HTTP to a collector stand-in, and flushes the
//! last batch when it stops on SIGTERM. Without the feature this test binary is empty.
#![cfg(feature = "otel")]
#![allow(missing_docs)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use redisgate_test_support::TestRedis;

/// The request bodies POSTed to `/v1/traces`.
type Received = Arc<Mutex<Vec<Bytes>>>;

/// A stand-in OTLP/HTTP collector on a free port: records every export and answers 200 (an empty
/// `ExportTraceServiceResponse`). Returns its base URL.
async fn collector(received: Received) -> String {
    let app = axum::Router::new()
        .route(
            "/v1/traces",
            post(|State(received): State<Received>, body: Bytes| async move {
                received.lock().unwrap().push(body);
                [("content-type", "application/x-protobuf")]
            }),
        )
        .with_state(received);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{address}")
}

/// `needle` as protobuf field `field` of wire type 2 (length-delimited), for a needle under 128 bytes.
fn field(field: u8, needle: &str) -> Vec<u8> {
    let mut bytes = vec![field << 3 | 2, u8::try_from(needle.len()).unwrap()];
    bytes.extend_from_slice(needle.as_bytes());
    bytes
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_exports_request_spans_over_otlp_http_and_flushes_them_on_sigterm() {
    let password = "redis-password-never-exported";
    let redis = TestRedis::start_with_password(password);
    let token = "otel-token-never-exported";
    let received = Received::default();
    let endpoint = collector(received.clone()).await;

    let mut command = Command::new(env!("CARGO_BIN_EXE_redisgate-gateway"));
    for var in ["REDISGATE_CONFIG", "REDISGATE_DATABASE_URL", "REDISGATE_READONLY_TOKEN", "REDISGATE_OTEL_FILTER"] {
        command.env_remove(var);
    }
    for var in
        ["OTEL_SERVICE_NAME", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_TRACES_SAMPLER"]
    {
        command.env_remove(var);
    }
    let mut child = command
        .args(["--redis-url", &redis.url(), "--token", token, "--listen", "127.0.0.1:0", "--log-format", "json"])
        .args(["--workers", "1"])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        // No scheduled export before the test stops the gateway: whatever arrives was flushed at exit.
        .env("OTEL_BSP_SCHEDULE_DELAY", "600000")
        // The log filter leaves the debug-level spans disabled for the logs; the export filter still wants them.
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let url = loop {
        let mut line = String::new();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "the gateway exited before listening");
        if let Some(address) = serde_json::from_str::<serde_json::Value>(&line)
            .ok()
            .and_then(|e| e["fields"]["address"].as_str().map(str::to_owned))
        {
            break format!("http://{address}");
        }
    };

    let http = reqwest::Client::new();
    let request_id = "otel-test-request-1";
    let set = http.post(format!("{url}/set/k/v")).bearer_auth(token).header("x-request-id", request_id);
    assert_eq!(set.send().await.unwrap().text().await.unwrap(), r#"{"result":"OK"}"#);
    let get = http.get(format!("{url}/get/k?_token={token}")).send().await.unwrap();
    assert_eq!(get.text().await.unwrap(), r#"{"result":"v"}"#);
    let pipeline = http.post(format!("{url}/pipeline")).bearer_auth(token).body(r#"[["INCR","n"],["GET","k"]]"#);
    assert_eq!(pipeline.send().await.unwrap().status(), 200);
    assert!(received.lock().unwrap().is_empty(), "exported before the batch was due");

    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let exit = tokio::time::timeout(Duration::from_secs(20), tokio::task::spawn_blocking(move || child.wait()))
        .await
        .expect("the gateway did not exit within 20 s of SIGTERM")
        .unwrap()
        .unwrap();
    let logs: String = stderr.lines().map_while(Result::ok).collect::<Vec<_>>().join("\n");
    assert!(exit.success(), "{exit:?}\n{logs}");

    // The exporter waits for the collector's answer before the process exits: everything has arrived.
    let exports = received.lock().unwrap().clone();
    assert!(!exports.is_empty(), "nothing was exported\n{logs}");
    let all: Vec<u8> = exports.concat();
    // Span.name is field 5; the resource's service.name value is AnyValue.string_value, field 1.
    assert!(contains(&all, &field(5, "request")), "no span named \"request\" was exported");
    assert!(contains(&all, &field(5, "redis")), "no span named \"redis\" (the upstream call) was exported");
    assert!(contains(&all, b"service.name") && contains(&all, &field(1, "redisgate-gateway")), "no service name");
    assert!(contains(&all, request_id.as_bytes()), "the request span lacks its request id");
    for secret in [token, password] {
        assert!(!contains(&all, secret.as_bytes()), "{secret} was exported");
    }
    assert!(!logs.contains(token), "a token leaked into the logs");
}

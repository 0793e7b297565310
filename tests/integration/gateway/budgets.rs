//! The gateway's own budgets (issue 27, items 1 and 5): a reply larger than a request may receive fails
//! that request alone; replies held at once are bounded for the process (503 beyond); a client that stops
//! reading, or a connection left idle, is closed. Each attack is on loopback and bounded, and the process's
//! RSS is sampled while it runs.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redisgate_gateway::upstream::UpstreamOptions;
use redisgate_gateway::ServerLimits;
use redisgate_test_support::{TestGateway, TestRedis, TOKEN};
use serde_json::json;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

use super::abuse::closed_within;

const MIB: usize = 1024 * 1024;

/// The process's resident memory in bytes.
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split(' ').nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// Samples the RSS every 5 ms on a thread of its own until dropped; [`Peak::above`] is the highest sample
/// above the RSS when it started.
struct Peak {
    idle: u64,
    peak: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl Peak {
    fn start() -> Self {
        let (idle, peak, stop) = (rss(), Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
        let (p, s) = (Arc::clone(&peak), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(rss(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        Self { idle, peak, stop }
    }

    fn above(&self) -> u64 {
        self.peak.load(Ordering::Relaxed).saturating_sub(self.idle)
    }
}

impl Drop for Peak {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// A client that sends `GET <path>` and never reads: a small receive buffer, so the reply stays on the
/// gateway's side.
async fn stalled_reader(gw: &TestGateway, path: &str) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(gw.address()).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: g\r\nAuthorization: Bearer {TOKEN}\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

#[tokio::test]
async fn a_reply_over_the_response_limit_fails_only_its_request() {
    let redis = TestRedis::start();
    let limits = ServerLimits { max_response_bytes: 4 * MIB, ..ServerLimits::default() };
    let gw = TestGateway::single_with(&redis.url(), limits, UpstreamOptions::default()).await;
    let too_large = json!({"error": "ERR max response size exceeded. Limit: 4194304 bytes"});
    // 5 MiB: over the limit as it is.
    assert_eq!(gw.command(json!(["setrange", "z", 5 * MIB - 1, "x"])).await.0, 200);
    assert_eq!(gw.command(json!(["get", "z"])).await, (400, too_large.clone()));
    // 1 MiB of NULs is 6 MiB of JSON escapes: over; in base64 it is 1.3 MiB: within.
    assert_eq!(gw.command(json!(["setrange", "n", MIB - 1, "\u{0}"])).await.0, 200);
    assert_eq!(gw.command(json!(["get", "n"])).await, (400, too_large.clone()));
    let base64 = gw.http().get(format!("{}/get/n", gw.url())).bearer_auth(TOKEN).header("Upstash-Encoding", "base64");
    let base64 = base64.send().await.unwrap();
    assert_eq!(base64.status(), 200);
    assert!(base64.text().await.unwrap().len() > 4 * MIB / 3);
    // A pipeline's answer counts in all: three values of 1.5 MiB are over, two are within.
    assert_eq!(gw.command(json!(["set", "m", "x".repeat(3 * MIB / 2)])).await.0, 200);
    assert_eq!(gw.post("/pipeline", r#"[["get","m"],["get","m"],["get","m"]]"#, TOKEN).await, (400, too_large));
    assert_eq!(gw.post("/pipeline", r#"[["get","m"],["get","m"]]"#, TOKEN).await.0, 200);
    // In resp2 it is the command's failure, raw.
    let raw =
        gw.http().get(format!("{}/get/z", gw.url())).bearer_auth(TOKEN).header("Upstash-Response-Format", "resp2");
    let raw = raw.send().await.unwrap();
    assert_eq!(raw.status(), 400);
    assert_eq!(raw.bytes().await.unwrap(), &b"-ERR max response size exceeded. Limit: 4194304 bytes\r\n"[..]);
    assert_eq!(gw.command(json!(["strlen", "z"])).await, (200, json!({"result": 5 * MIB})));
}

/// A reply far over the limit is dropped as the gateway reads it, never held whole: a 96 MiB value from a
/// Redis with no output limit of its own (as one attached in standalone mode is) raises the RSS by less than
/// 32 MiB, fails its request alone with the usual 400, and the shared connection carries on (Redis counts
/// no new connection).
#[tokio::test]
async fn a_reply_far_over_the_limit_is_never_held_whole() {
    let redis = TestRedis::start();
    let limits = ServerLimits { max_response_bytes: 4 * MIB, ..ServerLimits::default() };
    let gw = TestGateway::single_with(&redis.url(), limits, UpstreamOptions::default()).await;
    assert_eq!(gw.command(json!(["setrange", "huge", 96 * MIB - 1, "x"])).await.0, 200);
    let mut admin = redis.connection();
    let mut connections = || -> u64 {
        let info: String = redis::cmd("INFO").arg("stats").query(&mut admin).unwrap();
        let line = info.lines().find_map(|l| l.strip_prefix("total_connections_received:")).unwrap();
        line.trim().parse().unwrap()
    };
    let before = connections();
    let peak = Peak::start();
    let too_large = json!({"error": "ERR max response size exceeded. Limit: 4194304 bytes"});
    assert_eq!(gw.command(json!(["get", "huge"])).await, (400, too_large.clone()));
    assert_eq!(gw.post("/pipeline", r#"[["strlen","huge"],["get","huge"]]"#, TOKEN).await, (400, too_large));
    assert!(peak.above() < 32 * MIB as u64, "the RSS rose by {} MiB", peak.above() >> 20);
    assert_eq!(gw.command(json!(["strlen", "huge"])).await, (200, json!({"result": 96 * MIB})));
    assert_eq!(connections(), before, "the shared connection was not replaced");
}

/// Clients that ask for large replies and never read them: the replies held at once stay within the
/// process's budget (503 with `Retry-After` beyond), another client's pings stay fast, the RSS stays under
/// 300 MiB above idle, and each stalled client is closed after the write timeout, which frees the budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_held_past_the_budget_answer_503_and_readers_that_stop_are_closed() {
    let redis = TestRedis::start();
    // Long enough for the five replies to be built (a debug build encodes 24 MiB slowly), then it closes them.
    let limits = ServerLimits { write_timeout: Duration::from_secs(10), ..ServerLimits::default() };
    let gw = TestGateway::single_with(&redis.url(), limits.clone(), UpstreamOptions::default()).await;
    assert_eq!(gw.command(json!(["set", "z", "x".repeat(8 * MIB)])).await.0, 200);
    let peak = Peak::start();

    // Each asks for 24 MiB (three GETs of 8 MiB) and reads nothing: five fit in the 128 MiB budget.
    let mut stalled = Vec::new();
    for i in 1..=5 {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(4096).unwrap();
        let mut stream = socket.connect(gw.address()).await.unwrap();
        let body = r#"[["get","z"],["get","z"],["get","z"]]"#;
        let request = format!(
            "POST /pipeline HTTP/1.1\r\nHost: g\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        // Wait until the gateway holds the reply (an event the budget shows).
        let deadline = Instant::now() + Duration::from_secs(10);
        while gw_held(&gw) < i * 24 * MIB {
            if Instant::now() > deadline {
                let mut head = vec![0_u8; 200];
                let n = stream.read(&mut head).await.unwrap_or(0);
                panic!("reply {i} was never held ({} held): {}", gw_held(&gw), String::from_utf8_lossy(&head[..n]));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        stalled.push(stream);
    }
    let refused =
        gw.http().post(format!("{}/pipeline", gw.url())).bearer_auth(TOKEN).body(r#"[["get","z"],["get","z"]]"#);
    let refused = refused.send().await.unwrap();
    assert_eq!(refused.status(), 503);
    assert_eq!(refused.headers()["retry-after"], "1");
    let body: serde_json::Value = refused.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().starts_with("ERR busy"), "{body}");

    // Another client's small requests are still served, and quickly.
    let mut pings = Vec::new();
    for _ in 0..100 {
        let started = Instant::now();
        assert_eq!(gw.command(json!(["ping"])).await.0, 200);
        pings.push(started.elapsed());
    }
    pings.sort();
    assert!(pings[98] < Duration::from_millis(100), "p99 {:?}", pings[98]);
    assert!(peak.above() < 300 * MIB as u64, "RSS peaked {} MiB above idle", peak.above() >> 20);

    // The stalled clients are closed by the write timeout; the budget is free again.
    for stream in &mut stalled {
        assert!(
            closed_within(stream, limits.write_timeout + Duration::from_secs(5)).await,
            "a stalled reader was not closed"
        );
    }
    assert_eq!(gw.post("/pipeline", r#"[["strlen","z"]]"#, TOKEN).await, (200, json!([{"result": 8 * MIB}])));
    assert!(gw_held(&gw) < MIB);
}

/// The bytes of replies the gateway holds now.
fn gw_held(gw: &TestGateway) -> usize {
    gw.replies().held()
}

#[tokio::test]
async fn idle_connections_are_closed_and_busy_streams_are_not() {
    let redis = TestRedis::start();
    let limits = ServerLimits {
        idle_timeout: Duration::from_secs(1),
        sse_keepalive: Duration::from_millis(200),
        ..ServerLimits::default()
    };
    let gw = TestGateway::single_with(&redis.url(), limits, UpstreamOptions::default()).await;
    // A keep-alive connection that asked once and then says nothing.
    let mut idle = stalled_reader(&gw, "/ping").await;
    let started = Instant::now();
    assert!(closed_within(&mut idle, Duration::from_secs(5)).await);
    assert!(started.elapsed() >= Duration::from_millis(900), "closed after {:?}", started.elapsed());
    // An SSE stream is busy with its keepalives: still open after three idle timeouts.
    let mut stream = stalled_reader(&gw, "/subscribe/news").await;
    let mut buf = vec![0_u8; 4096];
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        let n = tokio::time::timeout(Duration::from_secs(1), stream.read(&mut buf)).await.unwrap().unwrap();
        assert!(n > 0, "the stream ended");
    }
}

/// A 10 MiB body of 1.7 million one-argument commands (`[["x"],["x"],…]`; `[[0],…]` is refused at its first
/// command, whose name must be a string), and one command of a million and a half arguments
/// (issue 27, item 3): each is refused (400, JSON) after parsing a bounded part of it, and the process's RSS,
/// sampled while eight of them arrive at once, stays far below the 220 MB one of them used to take.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_that_parse_into_millions_of_commands_are_refused_early() {
    let redis = TestRedis::start();
    let gw = TestGateway::single(&redis.url()).await;
    let commands = format!("[{}[\"x\"]]", "[\"x\"],".repeat(1700 * 1024));
    let arguments = format!("[\"del\"{}]", ",0".repeat(1536 * 1024));
    assert!(commands.len() < 10 * MIB && arguments.len() < 10 * MIB);
    let peak = Peak::start();
    let sends = (0..8).map(|i| {
        let (path, body) = if i % 2 == 0 { ("/pipeline", commands.clone()) } else { ("/", arguments.clone()) };
        let request = gw.http().post(format!("{}{path}", gw.url())).bearer_auth(TOKEN).body(body);
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<serde_json::Value>().await.unwrap())
        }
    });
    for (status, body) in futures_util::future::join_all(sends).await {
        assert_eq!(status, 400, "{body}");
        let error = body["error"].as_str().unwrap();
        assert!(error.contains("at most 10000 commands") || error.contains("at most 250000 arguments"), "{error}");
    }
    // The bodies themselves (8 × 10 MiB read before parsing) are most of what remains.
    assert!(peak.above() < 150 * MIB as u64, "RSS peaked {} MiB above idle", peak.above() >> 20);
    assert_eq!(gw.command(json!(["ping"])).await.0, 200);
}

/// A management request whose handler takes longer than the idle timeout (a restore, a reshard) keeps its
/// connection: the answer arrives. The connection is idle again once answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_being_handled_keeps_its_connection_past_the_idle_timeout() {
    use redisgate_gateway::directory::StaticDirectory;
    use redisgate_gateway::AppState;

    let limits = ServerLimits { idle_timeout: Duration::from_millis(400), ..ServerLimits::default() };
    let state = AppState::new(Arc::new(StaticDirectory::new(vec![], None, None))).with_limits(limits);
    let slow = axum::Router::new().route(
        "/api/slow",
        axum::routing::get(|| async {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            "done"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(async move {
        redisgate_gateway::serve_router(listener, slow, &state, async move { drop(stopped.await) }).await
    });
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(b"GET /api/slow HTTP/1.1\r\nhost: x\r\n\r\n").await.unwrap();
    let mut answer = vec![0_u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer)).await.unwrap().unwrap();
    let text = String::from_utf8_lossy(&answer[..n]);
    assert!(text.starts_with("HTTP/1.1 200") && text.ends_with("done"), "{text}");
    // Answered, it is idle: closed within a few idle timeouts.
    assert!(closed_within(&mut stream, Duration::from_secs(3)).await);
    let _ = stop.send(());
    let _ = serving.await;
}

//! Attacks on the shared gateway by callers without a token (issue 18, item 2): connections that never
//! finish their headers, and floods of idle connections. Each is bounded and on loopback; another client's
//! requests keep being served during it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use redisgate_gateway::directory::StaticDirectory;
use redisgate_gateway::upstream::UpstreamOptions;
use redisgate_gateway::{AppState, ServerLimits};
use redisgate_test_support::{instance, TestGateway, TestRedis, TOKEN};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpSocket, TcpStream};

async fn gateway(redis: &TestRedis, limits: ServerLimits) -> (TestGateway, SocketAddr) {
    let directory = StaticDirectory::new(
        vec![instance("default", &redis.url(), TOKEN, None, UpstreamOptions::default())],
        Some("default"),
        None,
    );
    let gw = TestGateway::start(AppState::new(Arc::new(directory)).with_limits(limits)).await;
    let address = gw.url().trim_start_matches("http://").parse().unwrap();
    (gw, address)
}

/// A TCP connection to `to` from the loopback address `from` (127.0.0.x: another client, as far as the
/// gateway can tell).
async fn connect_from(from: Ipv4Addr, to: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(IpAddr::V4(from), 0)).unwrap();
    socket.connect(to).await.unwrap()
}

/// Whether the server closes `stream` within `within` (a read returns end of file or an error).
pub(super) async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0_u8; 256];
    let deadline = Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline.into(), stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

/// How fast another client's pings must be during an attack: far under the 500 ms header timeout of the
/// trickle test, so that a ping that waited behind the attackers fails; far over a ping's few milliseconds,
/// so that a busy machine does not (100 ms failed once while the test ran beside a package install).
const PROMPTLY: Duration = Duration::from_millis(250);

/// The slowest of `n` pings by another client (from `from`), in sequence.
async fn slowest_ping(address: SocketAddr, from: Ipv4Addr, n: usize) -> Duration {
    let client = reqwest::Client::builder().local_address(IpAddr::V4(from)).build().unwrap();
    let mut slowest = Duration::ZERO;
    for _ in 0..n {
        let started = Instant::now();
        let response = client.get(format!("http://{address}/ping")).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(response.status(), 200);
        slowest = slowest.max(started.elapsed());
    }
    slowest
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_that_trickle_or_withhold_their_headers_are_closed() {
    let redis = TestRedis::start();
    let limits = ServerLimits { header_timeout: Duration::from_millis(500), ..ServerLimits::default() };
    let (_gw, address) = gateway(&redis, limits).await;
    let mut slow = Vec::new();
    for i in 0..200 {
        let mut stream = connect_from(Ipv4Addr::new(127, 0, 0, 2), address).await;
        if i % 2 == 0 {
            // Half send part of a request and stop; the other half send nothing at all.
            stream.write_all(b"GET /ping HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        }
        slow.push(stream);
    }
    assert!(slowest_ping(address, Ipv4Addr::new(127, 0, 0, 3), 20).await < PROMPTLY);
    for (i, stream) in slow.iter_mut().enumerate() {
        assert!(closed_within(stream, Duration::from_secs(3)).await, "connection {i} is still open");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_connection_limits_new_connections_are_closed_at_once() {
    let redis = TestRedis::start();
    let limits = ServerLimits { max_connections: 40, max_connections_per_address: 20, ..ServerLimits::default() };
    let (gw, address) = gateway(&redis, limits).await;
    let flooder = Ipv4Addr::new(127, 0, 0, 2);
    let mut idle = Vec::new();
    for _ in 0..20 {
        idle.push(connect_from(flooder, address).await);
    }
    let mut refused = connect_from(flooder, address).await;
    assert!(closed_within(&mut refused, Duration::from_secs(1)).await, "the 21st from one address is refused");
    assert!(slowest_ping(address, Ipv4Addr::new(127, 0, 0, 3), 20).await < PROMPTLY);

    // Another 20 from elsewhere fill the server: a new client is refused until some go.
    for _ in 0..20 {
        idle.push(connect_from(Ipv4Addr::new(127, 0, 0, 4), address).await);
    }
    let mut full = connect_from(Ipv4Addr::new(127, 0, 0, 5), address).await;
    assert!(closed_within(&mut full, Duration::from_secs(1)).await, "the 41st connection is refused");
    idle.truncate(10);
    let back = async {
        loop {
            let client = reqwest::Client::builder().local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 5))).build();
            let ok = client.unwrap().get(format!("http://{address}/ping")).bearer_auth(TOKEN).send().await;
            if ok.is_ok_and(|r| r.status() == 200) {
                return;
            }
            tokio::task::yield_now().await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), back).await.expect("places freed by closed connections are reused");
    let metrics = gw.metrics().encode();
    for reason in ["total", "address"] {
        let line = format!("redisgate_refused_connections_total{{reason=\"{reason}\"}} ");
        assert!(metrics.lines().any(|l| l.starts_with(&line)), "{reason} refusals are counted: {metrics}");
    }
}

#[tokio::test]
async fn replies_too_large_to_hold_are_refused_before_redis_builds_them() {
    let redis = TestRedis::start();
    let gw = TestGateway::single(&redis.url()).await;
    assert_eq!(gw.command(serde_json::json!(["sadd", "s", "only"])).await.0, 200);
    let (status, body) =
        gw.post("/", r#"["SRANDMEMBER", "s", "-20000000"]"#, redisgate_test_support::READONLY_TOKEN).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("too large to hold"), "{body}");
    let (status, body) = gw.command(serde_json::json!(["srandmember", "s", "-3"])).await;
    assert_eq!((status, body), (200, serde_json::json!({"result": ["only", "only", "only"]})));
    let pings = format!("[{}]", vec![r#"["ping"]"#; 10_001].join(","));
    let (status, body) = gw.post("/pipeline", &pings, TOKEN).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"].as_str().unwrap().contains("at most 10000 commands"), "{body}");
}

//! Attacks on the account routes by callers without an account (issue 18, item 1): a flood of logins for
//! random emails must neither grow memory (one argon2 hash is 19 MiB) nor keep other tenants waiting.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use redisgate_test_support::TestPlatform;
use serde_json::json;

/// This process's resident memory in MiB (the platform runs in it).
fn rss_mib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse::<u64>().unwrap() / 1024
}

/// A client whose connections come from the loopback address `from`.
fn client_from(from: Ipv4Addr) -> reqwest::Client {
    reqwest::Client::builder().local_address(IpAddr::V4(from)).build().unwrap()
}

async fn login(
    client: &reqwest::Client,
    platform: &TestPlatform,
    email: &str,
) -> (u16, serde_json::Value, Option<String>) {
    let body = json!({"email": email, "password": "wrong horse 1"});
    let response = client.post(format!("{}/api/auth/login", platform.url())).json(&body).send().await.unwrap();
    let retry = response.headers().get("retry-after").map(|v| v.to_str().unwrap().to_owned());
    (response.status().as_u16(), response.json().await.unwrap(), retry)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_flood_stays_bounded_and_other_tenants_are_served() {
    let platform = TestPlatform::start().await;
    let jwt = platform.user("calm@example.com").await;
    let org = platform.organization(&jwt, "calm").await;
    let created = platform.running_instance(&jwt, &org, "calm-db").await;
    let token = created["credentials"]["token"].as_str().unwrap().to_owned();
    let before = rss_mib();

    // Another tenant's connection is open before the flood, as a serving client's would be.
    let data = client_from(Ipv4Addr::new(127, 0, 2, 1));
    let ping =
        |data: &reqwest::Client| data.post(format!("{}/db/calm-db/ping", platform.url())).bearer_auth(&token).send();
    assert_eq!(ping(&data).await.unwrap().status(), 200);

    // 300 logins at once for random emails, from 30 addresses (10 each: within one address's burst; past the
    // global 200 a second, 429). The attacker runs on a runtime of its own, as another process would, so its
    // work does not queue in the platform's.
    let url = platform.url();
    let attacker = std::thread::spawn(move || flood(&url));
    // Meanwhile another tenant's data plane answers promptly.
    let mut latencies = Vec::new();
    while !attacker.is_finished() {
        let started = Instant::now();
        assert_eq!(ping(&data).await.unwrap().status(), 200);
        latencies.push(started.elapsed());
    }
    let statuses = attacker.join().unwrap();
    let grown = rss_mib().saturating_sub(before);
    latencies.sort();
    let p99 = latencies[latencies.len() * 99 / 100];
    println!("login flood: {statuses:?}, memory +{grown} MiB, {} data-plane pings, p99 {p99:?}", latencies.len());
    assert!(statuses.get(&503).is_some_and(|n| *n > 0), "hashing is bounded: {statuses:?}");
    assert!(grown < 300, "memory grew by {grown} MiB during the flood ({statuses:?})");
    assert!(p99 < Duration::from_millis(100), "data-plane pings during the flood: p99 {p99:?}");
}

/// Sends 300 logins for random emails at once from 30 loopback addresses; the count of each status.
fn flood(url: &str) -> std::collections::BTreeMap<u16, usize> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        // The clients are built first: building one reads the system's roots, slow enough to space logins out.
        let clients: Vec<_> = (1..=30).map(|host| client_from(Ipv4Addr::new(127, 0, 1, host))).collect();
        let mut flood = tokio::task::JoinSet::new();
        for i in 0..300_usize {
            let (client, url) = (clients[i % clients.len()].clone(), url.to_owned());
            flood.spawn(async move {
                let body = json!({"email": format!("nobody-{i}@example.com"), "password": "wrong horse 1"});
                let response = client.post(format!("{url}/api/auth/login")).json(&body).send().await.unwrap();
                (response.status().as_u16(), response.json::<serde_json::Value>().await.unwrap())
            });
        }
        let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
        while let Some(answer) = flood.join_next().await {
            let (status, body) = answer.unwrap();
            assert!(matches!(status, 401 | 429 | 503), "{status} {body}");
            assert!(body["error"].is_string(), "{body}");
            *statuses.entry(status).or_default() += 1;
        }
        statuses
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_is_throttled_and_others_are_not() {
    let platform = TestPlatform::start().await;
    let noisy = client_from(Ipv4Addr::new(127, 0, 3, 1));
    let mut throttled = None;
    for i in 0..40 {
        // One at a time: the hashing bound never refuses, only the address's budget does.
        let (status, body, retry) = login(&noisy, &platform, &format!("guess-{i}@example.com")).await;
        if status == 429 {
            throttled = Some((i, body, retry));
            break;
        }
        assert_eq!(status, 401, "{body}");
    }
    let (at, body, retry) = throttled.expect("40 attempts from one address in a row are throttled");
    assert!(at >= 29, "throttled after {at} attempts");
    assert!(body["error"].as_str().unwrap().contains("from this address"), "{body}");
    assert!(retry.is_some_and(|s| s.parse::<u64>().is_ok_and(|s| s >= 1)));
    let (status, body, _) = login(&client_from(Ipv4Addr::new(127, 0, 3, 2)), &platform, "other@example.com").await;
    assert_eq!(status, 401, "another address is not throttled: {body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_too_large_to_hold_closes_only_the_connection_that_asked_for_it() {
    let platform = TestPlatform::start().await;
    let jwt = platform.user("greedy@example.com").await;
    let org = platform.organization(&jwt, "greedy").await;
    let greedy = platform.running_instance(&jwt, &org, "greedy-db").await;
    let greedy = greedy["credentials"]["token"].as_str().unwrap().to_owned();
    let calm = platform.running_instance(&jwt, &org, "calm-db").await;
    let calm = calm["credentials"]["token"].as_str().unwrap().to_owned();
    let http = platform.http();
    let run = async |db: &str, token: &str, command: serde_json::Value| {
        let response =
            http.post(format!("{}/db/{db}", platform.url())).bearer_auth(token).json(&command).send().await.unwrap();
        (response.status().as_u16(), response.json::<serde_json::Value>().await.unwrap())
    };
    let before = rss_mib();

    // An 8 MB value made by one small command, then asked for 50 times in one MGET (a 400 MB reply).
    assert_eq!(run("greedy-db", &greedy, json!(["SETRANGE", "big", "8000000", "x"])).await.0, 200);
    let mget: Vec<&str> = std::iter::once("MGET").chain(std::iter::repeat_n("big", 50)).collect();
    let (status, body) = run("greedy-db", &greedy, json!(mget)).await;
    assert_eq!(status, 502, "{body}");
    assert!(body["error"].as_str().unwrap().contains("64 MiB"), "the error says why: {body}");

    // The instance reconnects and serves; the other instance never noticed; nothing of the reply was held.
    assert_eq!(run("greedy-db", &greedy, json!(["STRLEN", "big"])).await, (200, json!({"result": 8_000_001})));
    assert_eq!(run("calm-db", &calm, json!(["PING"])).await, (200, json!({"result": "PONG"})));
    let grown = rss_mib().saturating_sub(before);
    assert!(grown < 100, "memory grew by {grown} MiB for a refused 400 MB reply");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_management_body_that_never_arrives_is_answered_408() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let platform = TestPlatform::start().await;
    let address = platform.url().trim_start_matches("http://").to_owned();
    let mut stalled = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head =
        "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n";
    stalled.write_all(format!("{head}{{\"email\"").as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), async {
        let mut buffer = [0u8; 4096];
        loop {
            let n = stalled.read(&mut buffer).await.unwrap_or(0);
            answer.extend_from_slice(&buffer[..n]);
            if n == 0 || answer.windows(4).any(|w| w == b"\r\n\r\n") && answer.ends_with(b"}") {
                break;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer within 20 s");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains(r#"{"error":"ERR timed out reading the request body"}"#), "{answer}");
    assert!(started.elapsed() >= Duration::from_secs(9), "answered after {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_private_postgresql_wants_its_password() {
    use diesel_async::AsyncConnection as _;

    // The harness's PostgreSQL is made as `redisgate dev` makes its own (LocalPostgres).
    let platform = TestPlatform::start().await;
    let url = platform.database().url().to_owned();
    let (scheme_user, rest) = url.split_once(':').map(|(s, r)| (s.to_owned(), r.to_owned())).unwrap();
    let (_, rest) = rest.trim_start_matches("//").split_once(':').unwrap();
    assert!(rest.contains('@'), "the URL carries a password: {}", url.replace(|c: char| c.is_ascii_hexdigit(), "x"));
    let (_, host) = rest.split_once('@').unwrap();
    let without = format!("{scheme_user}://redisgate@{host}");
    let wrong = format!("{scheme_user}://redisgate:guess@{host}");
    for url in [without, wrong] {
        let refused = diesel_async::AsyncPgConnection::establish(&url).await;
        assert!(refused.is_err(), "{url} was let in");
    }
    assert!(diesel_async::AsyncPgConnection::establish(platform.database().url()).await.is_ok());
}

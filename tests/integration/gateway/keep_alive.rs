//! Answers given before the body is read (issue 26): a keep-alive client that sends its headers and its
//! body in two writes, as httpx and undici do, gets every refusal as JSON, and either its next request on
//! the same connection is answered, or the refusal said `Connection: close`. No connection closes without a
//! word, and a refused 11 MiB upload reads its 413 instead of a reset.

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use redisgate_gateway::config::DirectoryConfig;
use redisgate_gateway::quota::Meters;
use redisgate_gateway::upstream::UpstreamOptions;
use redisgate_gateway::{AppState, ServerLimits};
use redisgate_test_support::{TestGateway, TestRedis, TOKEN};

use crate::raw_http::{two_writes as raw_two_writes, Answer};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// The token of the instance `limited`.
const LIMITED: &str = "limited-token";

/// A gateway with a 16 KiB body limit (so a 413 by `Content-Length` can come with a small body) whose
/// instance `limited` allows one request per second.
async fn gateway(redis: &TestRedis) -> TestGateway {
    let config = format!(
        "[[instance]]\nname = \"open\"\nredis_url = \"{url}\"\ntoken = \"{TOKEN}\"\n\
         [[instance]]\nname = \"limited\"\nredis_url = \"{url}\"\ntoken = \"{LIMITED}\"\n\
         [instance.limits]\nmax_requests_per_second = 1\n",
        url = redis.url()
    );
    let directory =
        DirectoryConfig::from_toml(&config, &UpstreamOptions::default()).unwrap().build(&Meters::default()).unwrap();
    let limits = ServerLimits { max_body_bytes: 16 * 1024, ..ServerLimits::default() };
    TestGateway::start(AppState::new(Arc::new(directory)).with_limits(limits)).await
}

/// [`raw_two_writes`] followed by `GET /db/open/ping`.
async fn two_writes(address: SocketAddr, head: &str, body: &[u8]) -> (Answer, Option<Answer>) {
    let ping = format!("GET /db/open/ping HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer {TOKEN}\r\n\r\n");
    raw_two_writes(address, head, body, &ping).await
}

/// The connection stays usable after `first`: the next request is answered, `first` did not say close.
fn kept(first: &Answer, second: Option<Answer>) {
    assert!(!first.close, "a small unread body is drained, not a reason to close: {first:?}");
    let second = second.unwrap_or_else(|| panic!("the connection ended after {first:?} without saying so"));
    assert_eq!((second.status, &second.body[..]), (200, &br#"{"result":"PONG"}"#[..]));
}

#[tokio::test]
async fn refusals_before_the_body_keep_the_connection() {
    let redis = TestRedis::start();
    let gw = gateway(&redis).await;
    let body = br#"["set","k","v"]"#;

    let (first, second) =
        two_writes(gw.address(), "POST /db/open HTTP/1.1\r\nAuthorization: Bearer wrong\r\n", body).await;
    assert_eq!((first.status, first.error().as_str()), (401, "WRONGPASS invalid or missing auth token"));
    kept(&first, second);

    let (first, second) = two_writes(gw.address(), "POST /db/nobody HTTP/1.1\r\n", body).await;
    assert_eq!(first.status, 401);
    kept(&first, second);

    let auth = format!("Authorization: Bearer {TOKEN}\r\n");
    let (first, second) = two_writes(gw.address(), &format!("DELETE /db/open HTTP/1.1\r\n{auth}"), body).await;
    assert_eq!(first.status, 405, "{}", first.error());
    kept(&first, second);

    // 32 KiB, over the 16 KiB limit: refused by its Content-Length, drained, the connection kept.
    let big = format!(r#"["set","k","{}"]"#, "x".repeat(32 * 1024));
    let (first, second) = two_writes(gw.address(), &format!("POST /db/open HTTP/1.1\r\n{auth}"), big.as_bytes()).await;
    assert_eq!((first.status, first.error().as_str()), (413, "ERR max request size exceeded"));
    kept(&first, second);

    // The limited instance allows one request a second: the second of two is a 429.
    let limited = format!("POST /db/limited HTTP/1.1\r\nAuthorization: Bearer {LIMITED}\r\n");
    let _ = two_writes(gw.address(), &limited, body).await;
    let (first, second) = two_writes(gw.address(), &limited, body).await;
    assert_eq!((first.status, first.error().as_str()), (429, "ERR max requests limit exceeded"));
    kept(&first, second);
    // Nothing refused ran.
    assert_eq!(gw.post("/db/open", r#"["exists","k"]"#, TOKEN).await.1["result"], 1, "the rate-limited set ran once");
    assert_eq!(gw.post("/db/open", r#"["del","k"]"#, TOKEN).await.1["result"], 1);
}

#[tokio::test]
async fn a_body_too_big_to_drain_gets_its_answer_and_connection_close() {
    let redis = TestRedis::start();
    let gw = gateway(&redis).await;
    // 256 KiB by Content-Length, over the drain limit: not read, the answer says close, and the client,
    // still writing, reads it.
    let body = vec![b'x'; 256 * 1024];
    let (first, second) =
        two_writes(gw.address(), "POST /db/open HTTP/1.1\r\nAuthorization: Bearer wrong\r\n", &body).await;
    assert_eq!(first.status, 401);
    assert!(first.close, "an undrained connection must say close: {first:?}");
    assert!(second.is_none(), "the connection was closed");

    // A chunked body (no Content-Length) that goes on past the limit: read up to the limit, then 413 and close.
    let mut stream = TcpStream::connect(gw.address()).await.unwrap();
    let head = format!(
        "POST /db/open HTTP/1.1\r\nHost: g\r\nAuthorization: Bearer {TOKEN}\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("8000\r\n{}\r\n", "y".repeat(0x8000));
    let (mut reader, mut writer) = stream.into_split();
    let writing = tokio::spawn(async move {
        // 40 chunks of 32 KiB (1.25 MiB), never finished: the gateway must not wait for the end.
        for _ in 0..40 {
            if writer.write_all(chunk.as_bytes()).await.is_err() {
                return;
            }
        }
        let _ = writer.flush().await;
        std::future::pending::<()>().await;
    });
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), reader.read_to_end(&mut answer)).await;
    writing.abort();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
    assert!(answer.ends_with(r#"{"error":"ERR max request size exceeded"}"#), "{answer}");
}

/// An 11 MiB upload to a gateway with the default 10 MiB limit, as a raw client: the 413 arrives whole, as
/// JSON, with `Connection: close`. A client that writes its whole body before it reads (Python's
/// `http.client`) gets it because the gateway reads and discards the rest before it closes (a close with
/// unread data would be a reset, and the client's write would fail); one that sends slow chunks and reads
/// meanwhile (curl) gets it at once.
#[tokio::test]
async fn an_11_mib_upload_reads_its_413() {
    let redis = TestRedis::start();
    let gw = TestGateway::single(&redis.url()).await;
    let size = 11 << 20;
    let head = format!("POST / HTTP/1.1\r\nHost: g\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: {size}\r\n\r\n");
    let check = |answer: &[u8]| {
        let answer = String::from_utf8_lossy(answer);
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
        assert!(answer.to_ascii_lowercase().contains("connection: close"), "{answer}");
        assert!(answer.ends_with(r#"{"error":"ERR max request size exceeded"}"#), "{answer}");
    };

    // Everything written first, then the answer read.
    let mut stream = TcpStream::connect(gw.address()).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&vec![b'['; size]).await.expect("the gateway takes the whole body in before it closes");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await.unwrap().unwrap();
    check(&answer);

    // Slow chunks (64 KiB every 20 ms), the answer read meanwhile.
    let stream = TcpStream::connect(gw.address()).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    let writing = tokio::spawn(async move {
        writer.write_all(head.as_bytes()).await?;
        let chunk = vec![b'['; 64 * 1024];
        for _ in 0..size / chunk.len() {
            writer.write_all(&chunk).await?;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok::<_, std::io::Error>(())
    });
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), reader.read_to_end(&mut answer)).await;
    writing.abort();
    check(&answer);
}

/// The same with curl, the way a user tries it: `curl --data-binary @11MiB.json` prints the JSON 413, with
/// curl's `Expect: 100-continue`, without it (the body sent at once), and rate-limited (in slow chunks).
#[tokio::test]
async fn curl_prints_the_413_of_an_11_mib_upload() {
    let redis = TestRedis::start();
    let gw = TestGateway::single(&redis.url()).await;
    let dir = std::env::temp_dir().join(format!("redisgate-keep-alive-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("11MiB.json");
    std::fs::write(&file, format!(r#"["set","k","{}"]"#, "x".repeat(11 << 20))).unwrap();
    let url = gw.url();
    let ways: [&[&str]; 3] = [&[], &["-H", "Expect:"], &["-H", "Expect:", "--limit-rate", "4M"]];
    for extra in ways {
        let output = tokio::task::spawn_blocking({
            let (file, url) = (file.clone(), url.clone());
            let extra: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
            move || {
                Command::new("curl")
                    .args(["-sS", "--max-time", "20", "-H", &format!("Authorization: Bearer {TOKEN}"), "--data-binary"])
                    .arg(format!("@{}", file.display()))
                    .args(&extra)
                    .arg(&url)
                    .output()
                    .expect("curl is installed (scripts/deps.sh)")
            }
        })
        .await
        .unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert_eq!(stdout, r#"{"error":"ERR max request size exceeded"}"#, "curl {extra:?}: stderr {stderr}");
        assert!(output.status.success(), "curl {extra:?}: {stderr}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// HTTP/2 (h2c): a refusal given before the body is read reaches the client, and the connection serves the
/// next request.
#[tokio::test]
async fn http2_refusals_reach_the_client() {
    let redis = TestRedis::start();
    let gw = gateway(&redis).await;
    let client = reqwest::Client::builder().http2_prior_knowledge().build().unwrap();
    let url = format!("{}/db/open", gw.url());
    for _ in 0..3 {
        let refused = client.post(&url).bearer_auth("wrong").body(vec![b'x'; 48 * 1024]).send().await.unwrap();
        assert_eq!(refused.version(), reqwest::Version::HTTP_2);
        assert_eq!(refused.status(), 401);
        assert_eq!(refused.text().await.unwrap(), r#"{"error":"WRONGPASS invalid or missing auth token"}"#);
        let too_big = client.post(&url).bearer_auth(TOKEN).body(vec![b'x'; 1 << 20]).send().await.unwrap();
        assert_eq!(too_big.status(), 413);
        assert_eq!(too_big.text().await.unwrap(), r#"{"error":"ERR max request size exceeded"}"#);
        let ping = client.post(&url).bearer_auth(TOKEN).body(r#"["ping"]"#).send().await.unwrap();
        assert_eq!(ping.text().await.unwrap(), r#"{"result":"PONG"}"#);
    }
}

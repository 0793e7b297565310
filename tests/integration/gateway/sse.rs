//! Server-Sent Events: `/subscribe`, `/psubscribe`, `/monitor`.

use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use redisgate_gateway::upstream::UpstreamOptions;
use redisgate_gateway::ServerLimits;
use redisgate_test_support::{TestGateway, TestRedis, TOKEN};
use serde_json::json;

type ByteStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// An open SSE response, read block by block (`\n\n`-terminated).
struct Events {
    stream: ByteStream,
    buffer: String,
}

impl Events {
    async fn open(gw: &TestGateway, path: &str) -> Self {
        let response = gw
            .http()
            .post(format!("{}{path}", gw.url()))
            .bearer_auth(TOKEN)
            .header("Accept", "text/event-stream")
            .body("[]")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Self { stream: Box::pin(response.bytes_stream()), buffer: String::new() }
    }

    /// The next block, or `None` when the stream ends. Fails the test after 5 s.
    async fn next(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block = self.buffer[..end].to_owned();
                self.buffer.drain(..end + 2);
                return Some(block);
            }
            let chunk =
                tokio::time::timeout(Duration::from_secs(5), self.stream.next()).await.expect("no event in 5 s");
            match chunk {
                Some(Ok(bytes)) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                _ => return None,
            }
        }
    }

    /// The next block that is not a keepalive comment.
    async fn next_data(&mut self) -> Option<String> {
        loop {
            let block = self.next().await?;
            if !block.starts_with(':') {
                return Some(block);
            }
        }
    }
}

async fn gateway(keepalive: Duration) -> (TestRedis, TestGateway) {
    let redis = TestRedis::start();
    let limits = ServerLimits { sse_keepalive: keepalive, ..ServerLimits::default() };
    let gw = TestGateway::single_with(&redis.url(), limits, UpstreamOptions::default()).await;
    (redis, gw)
}

async fn numsub(gw: &TestGateway, channel: &str) -> i64 {
    let (_, body) = gw.command(json!(["pubsub", "numsub", channel])).await;
    body["result"][1].as_i64().unwrap()
}

#[tokio::test]
async fn subscribe_streams_messages_and_releases_the_subscription_on_disconnect() {
    let (_redis, gw) = gateway(Duration::from_millis(100)).await;
    let mut first = Events::open(&gw, "/subscribe/chat").await;
    assert_eq!(first.next_data().await.unwrap(), "data: subscribe,chat,1");
    let mut second = Events::open(&gw, "/subscribe/chat").await;
    assert_eq!(second.next_data().await.unwrap(), "data: subscribe,chat,1", "each stream counts alone");
    // Both streams share one Redis subscription: PUBLISH counts one receiver.
    assert_eq!(numsub(&gw, "chat").await, 1);
    assert_eq!(gw.post("/publish/chat/hello%2C%20world", "", TOKEN).await.1, json!({"result": 1}));
    assert_eq!(first.next_data().await.unwrap(), "data: message,chat,hello, world");
    assert_eq!(second.next_data().await.unwrap(), "data: message,chat,hello, world");
    drop(first);
    drop(second);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while numsub(&gw, "chat").await > 0 {
        assert!(tokio::time::Instant::now() < deadline, "the Redis subscription outlived its client");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn psubscribe_streams_pattern_messages() {
    let (_redis, gw) = gateway(Duration::from_secs(15)).await;
    let mut events = Events::open(&gw, "/psubscribe/news.*").await;
    assert_eq!(events.next_data().await.unwrap(), "data: psubscribe,news.*,1");
    gw.post("/publish/news.sport/goal", "", TOKEN).await;
    assert_eq!(events.next_data().await.unwrap(), "data: pmessage,news.*,news.sport,goal");
}

#[tokio::test]
async fn line_breaks_in_payloads_cannot_forge_events() {
    let (_redis, gw) = gateway(Duration::from_secs(15)).await;
    let mut events = Events::open(&gw, "/subscribe/c").await;
    events.next_data().await.unwrap();
    gw.post("/publish/c", "one\r\n\r\ndata: forged\nthree", TOKEN).await;
    assert_eq!(events.next_data().await.unwrap(), "data: message,c,one\ndata: \ndata: data: forged\ndata: three");
    let (status, body) = gw.post("/subscribe/bad%0Aname", "", TOKEN).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("CR or LF"));
}

#[tokio::test]
async fn idle_streams_get_keepalive_comments() {
    let (_redis, gw) = gateway(Duration::from_millis(50)).await;
    let mut events = Events::open(&gw, "/subscribe/quiet").await;
    events.next().await.unwrap();
    assert_eq!(events.next().await.unwrap(), ": keepalive");
}

#[tokio::test]
async fn monitor_streams_every_command() {
    let (_redis, gw) = gateway(Duration::from_secs(15)).await;
    let mut events = Events::open(&gw, "/monitor").await;
    assert_eq!(events.next_data().await.unwrap(), "data: \"OK\"");
    gw.command(json!(["set", "watched", "1"])).await;
    // The gateway's own connection set-up (CLIENT SETINFO on Redis 7.2+) may come first.
    loop {
        let line = events.next_data().await.expect("the stream ended before the SET was reported");
        assert!(line.starts_with("data: ") && line.contains(" ["), "not a MONITOR line: {line}");
        if line.contains(r#""set" "watched" "1""#) {
            break;
        }
    }
}

#[tokio::test]
async fn shutdown_ends_open_streams() {
    let (_redis, gw) = gateway(Duration::from_secs(15)).await;
    let mut events = Events::open(&gw, "/subscribe/c").await;
    events.next_data().await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), gw.shutdown()).await.expect("shutdown waited on an SSE stream");
    assert_eq!(events.next().await, None, "the stream ends cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_subscribers_share_one_redis_subscription() {
    let (_redis, gw) = gateway(Duration::from_secs(15)).await;
    let mut streams = Vec::new();
    for _ in 0..300 {
        let mut events = Events::open(&gw, "/subscribe/fan").await;
        assert_eq!(events.next_data().await.unwrap(), "data: subscribe,fan,1");
        streams.push(events);
    }
    let mut pattern = Events::open(&gw, "/psubscribe/fa*").await;
    pattern.next_data().await.unwrap();
    assert_eq!(numsub(&gw, "fan").await, 1, "300 streams, one Redis subscription");
    assert_eq!(
        gw.post("/publish/fan/out", "", TOKEN).await.1,
        json!({"result": 2}),
        "one channel and one pattern subscription"
    );
    for events in &mut streams {
        assert_eq!(events.next_data().await.unwrap(), "data: message,fan,out");
    }
    assert_eq!(pattern.next_data().await.unwrap(), "data: pmessage,fa*,fan,out");
    drop(streams);
    drop(pattern);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while numsub(&gw, "fan").await > 0 {
        assert!(tokio::time::Instant::now() < deadline, "the shared subscription outlived its last subscriber");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

//! Server-Sent Events: `/subscribe`, `/psubscribe`, `/monitor`.

use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use redisgate_gateway::upstream::UpstreamOptions;
use redisgate_gateway::ServerLimits;
use redisgate_test_support::{eventually, TestGateway, TestRedis, TOKEN};
use serde_json::json;

type ByteStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;

/// An open SSE response, read block by block (`\n\n`-terminated).
pub(super) struct Events {
    stream: ByteStream,
    buffer: String,
}

impl Events {
    pub(super) async fn open(gw: &TestGateway, path: &str) -> Self {
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
    pub(super) async fn next_data(&mut self) -> Option<String> {
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
    let held = eventually(Duration::from_secs(5), || async { numsub(&gw, "chat").await == 0 }).await;
    assert!(held, "the Redis subscription outlived its client");
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
    let held = eventually(Duration::from_secs(20), || async { numsub(&gw, "fan").await == 0 }).await;
    assert!(held, "the shared subscription outlived its last subscriber");
}

/// The clients of `redis` in MONITOR mode (`CLIENT LIST`'s `cmd=monitor`; REST does not offer CLIENT).
async fn monitors(redis: &TestRedis) -> usize {
    let mut connection = redis::Client::open(redis.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let list: String = redis::cmd("CLIENT").arg("LIST").query_async(&mut connection).await.unwrap();
    list.lines().filter(|line| line.contains("cmd=monitor")).count()
}

#[tokio::test]
async fn monitor_streams_share_one_redis_connection() {
    let (redis, gw) = gateway(Duration::from_secs(15)).await;
    let mut streams = Vec::new();
    for _ in 0..5 {
        let mut events = Events::open(&gw, "/monitor").await;
        assert_eq!(events.next_data().await.unwrap(), "data: \"OK\"");
        streams.push(events);
    }
    assert_eq!(monitors(&redis).await, 1, "five streams, one MONITOR connection");
    gw.command(json!(["set", "seen-by", "all"])).await;
    for events in &mut streams {
        while !events.next_data().await.unwrap().contains(r#""set" "seen-by" "all""#) {}
    }
    // The last one to leave closes it (the next command wakes nobody: the stream's end does).
    drop(streams);
    let held = eventually(Duration::from_secs(5), || async { monitors(&redis).await == 0 }).await;
    assert!(held, "the MONITOR connection outlived its last stream");
    let mut again = Events::open(&gw, "/monitor").await;
    assert_eq!(again.next_data().await.unwrap(), "data: \"OK\"");
    assert_eq!(monitors(&redis).await, 1);
}

/// A subscriber that never reads while 40 messages of 1 MiB of newlines (7 MiB each as SSE) are published:
/// every publish is answered without waiting for the stalled subscriber, which is dropped with an error
/// event once 1 MiB is queued for it, a subscriber that reads gets the small messages that follow, and the
/// process's RSS stays far below the 280 MiB that the old ring of 1024 events pinned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_subscriber_is_dropped_and_pins_little() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    let (_redis, gw) = gateway(Duration::from_secs(15)).await;
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stalled = socket.connect(gw.address()).await.unwrap();
    let request = format!("GET /subscribe/flood HTTP/1.1\r\nHost: g\r\nAuthorization: Bearer {TOKEN}\r\n\r\n");
    stalled.write_all(request.as_bytes()).await.unwrap();
    let mut reader = Events::open(&gw, "/subscribe/flood").await;
    assert_eq!(reader.next_data().await.unwrap(), "data: subscribe,flood,1");
    assert!(eventually(Duration::from_secs(10), || async { numsub(&gw, "flood").await >= 1 }).await);

    let rss = || {
        std::fs::read_to_string("/proc/self/statm").unwrap().split(' ').nth(1).unwrap().parse::<u64>().unwrap() * 4096
    };
    let (idle, peak, stop) = (rss(), Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
    let sampler = {
        let (peak, stop) = (Arc::clone(&peak), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(rss(), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let newlines = "\n".repeat(1024 * 1024);
    let mut slowest = Duration::ZERO;
    for _ in 0..40 {
        let started = std::time::Instant::now();
        let (status, _) = gw.command(json!(["publish", "flood", newlines])).await;
        assert_eq!(status, 200);
        slowest = slowest.max(started.elapsed());
    }
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let above = peak.load(Ordering::Relaxed).saturating_sub(idle);
    assert!(above < 150 * 1024 * 1024, "RSS peaked {} MiB above idle", above >> 20);
    // The bound leaves room for a loaded 2-core machine (1.03 s was seen with two builds running); a gateway
    // whose serve loop waited on the stalled subscriber would not answer within it.
    assert!(slowest < Duration::from_secs(5), "a publish waited {slowest:?}");

    gw.command(json!(["publish", "flood", "small"])).await;
    // Messages of the flood still on their way from Redis may come first (and a reader as slow as this
    // one at 7 MiB events falls behind them): the hub serves another channel meanwhile.
    let mut calm = Events::open(&gw, "/subscribe/calm").await;
    assert_eq!(calm.next_data().await.unwrap(), "data: subscribe,calm,1");
    gw.command(json!(["publish", "calm", "small"])).await;
    assert_eq!(calm.next_data().await.unwrap(), "data: message,calm,small");

    // What the stalled subscriber reads when it finally does ends with the error event.
    let error = "event: error\ndata: ERR this subscriber fell more than 1 MiB behind";
    let mut tail = Vec::new();
    let mut chunk = vec![0_u8; 64 * 1024];
    let read = tokio::time::timeout(Duration::from_secs(20), async {
        while !String::from_utf8_lossy(&tail).contains(error) {
            let n = stalled.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the stream ended without the error event");
            tail.extend_from_slice(&chunk[..n]);
            tail.drain(..tail.len().saturating_sub(1024));
        }
    });
    read.await.expect("no error event within 20 s");
    drop(reader);
}

/// The last event of a stream whose Redis connection closed under it.
const CLOSED: &str =
    "event: error\ndata: ERR the connection to Redis closed (it stopped, or the master moved); subscribe again";

/// Reads blocks until an `event: error` (skipping data and keepalives); returns it, after checking that the
/// stream then ends.
async fn last_error(events: &mut Events) -> String {
    loop {
        let block = events.next().await.expect("the stream ended without an error event");
        if block.starts_with("event: error") {
            assert_eq!(events.next().await, None, "the stream goes on after its error event");
            return block;
        }
    }
}

#[tokio::test]
async fn streams_end_with_an_error_event_when_redis_goes_away() {
    let (redis, gw) = gateway(Duration::from_secs(15)).await;
    let mut subscribed = Events::open(&gw, "/subscribe/gone").await;
    subscribed.next_data().await.unwrap();
    let mut monitor = Events::open(&gw, "/monitor").await;
    assert_eq!(monitor.next_data().await.unwrap(), "data: \"OK\"");
    drop(redis);
    assert_eq!(last_error(&mut subscribed).await, CLOSED);
    assert_eq!(last_error(&mut monitor).await, CLOSED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_end_with_an_error_event_when_the_master_moves() {
    use redisgate_test_support::{TestSentinels, MASTER};
    let cluster = TestSentinels::start().await;
    let gw = TestGateway::single(&cluster.url()).await;
    assert_eq!(gw.command(json!(["SET", "k", "1"])).await.0, 200);
    let mut subscribed = Events::open(&gw, "/subscribe/news").await;
    assert_eq!(subscribed.next_data().await.unwrap(), "data: subscribe,news,1");
    let mut monitor = Events::open(&gw, "/monitor").await;
    assert_eq!(monitor.next_data().await.unwrap(), "data: \"OK\"");

    // A switchover: the old master lives on as a replica, so its connections stay up; only the gateway's
    // move can end the streams.
    let first = cluster.url().trim_start_matches("redis+sentinel://").split(',').next().unwrap().to_owned();
    let mut sentinel = redis::Client::open(format!("redis://{first}")).unwrap().get_connection().unwrap();
    let () = redis::cmd("SENTINEL").arg("FAILOVER").arg(MASTER).query(&mut sentinel).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    for i in 0.. {
        // Once the old master is a replica, a write that succeeds went to the new one: the gateway moved.
        // Sentinel drops the clients of the nodes it reconfigures: a failed look is "not yet".
        let role: Vec<redis::Value> =
            cluster.master.try_connection().and_then(|mut c| redis::cmd("ROLE").query(&mut c)).unwrap_or_default();
        let demoted = role.first() == Some(&redis::Value::BulkString(b"slave".to_vec()));
        let (status, body) = gw.command(json!(["SET", "after", i.to_string()])).await;
        let on_new: Option<String> = cluster
            .replica
            .try_connection()
            .and_then(|mut c| redis::cmd("GET").arg("after").query(&mut c))
            .unwrap_or(None);
        if demoted && status == 200 && on_new == Some(i.to_string()) {
            break;
        }
        assert!(status == 200 || status == 503, "{status} {body}");
        assert!(tokio::time::Instant::now() < deadline, "writes never reached the new master");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Sentinel kills the demoted master's clients (the connection closed), or the gateway's move ends the
    // streams first (the master moved): either way with an error event that says to subscribe again.
    let moved = "event: error\ndata: ERR the master moved (failover); subscribe again";
    for events in [&mut subscribed, &mut monitor] {
        let last = last_error(events).await;
        assert!(last == moved || last == CLOSED, "{last}");
    }
    // A new stream follows the new master.
    let mut again = Events::open(&gw, "/subscribe/news").await;
    assert_eq!(again.next_data().await.unwrap(), "data: subscribe,news,1");
    gw.post("/publish/news/fresh", "", TOKEN).await;
    assert_eq!(again.next_data().await.unwrap(), "data: message,news,fresh");
}

#[tokio::test]
async fn a_hub_whose_master_moved_ends_its_streams_saying_so() {
    use redisgate_gateway::fanout::{Hub, Topic};
    let redis = TestRedis::start();
    let hub = std::sync::Arc::new(Hub::new(redis::Client::open(redis.url()).unwrap()));
    let subscribed: Pin<Box<dyn Stream<Item = Bytes> + Send>> =
        Box::pin(hub.subscribe(Topic::Channel(b"c".to_vec())).await.unwrap());
    let monitor: Pin<Box<dyn Stream<Item = Bytes> + Send>> = Box::pin(hub.monitor().await.unwrap());
    hub.moved().await;
    let moved = Bytes::from_static(b"event: error\ndata: ERR the master moved (failover); subscribe again\n\n");
    for mut stream in [subscribed, monitor] {
        let mut last = None;
        while let Some(event) = tokio::time::timeout(Duration::from_secs(5), stream.next()).await.unwrap() {
            last = Some(event);
        }
        assert_eq!(last, Some(moved.clone()));
    }
}

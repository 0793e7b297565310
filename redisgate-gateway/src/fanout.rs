//! Pub/sub fan-out: every SSE subscriber of an instance shares one Redis pub/sub connection (per worker).
//!
//! The first subscriber of a channel (or pattern) makes the hub SUBSCRIBE; later ones just join its
//! broadcast; when the last one leaves, the hub UNSUBSCRIBEs. A message is rendered into its SSE event once,
//! then handed to every subscriber as a shared `Bytes`. So 10,000 subscribers cost Redis one connection and
//! one subscription per channel, and cost the gateway a broadcast receiver and an HTTP stream each
//! (docs/benchmarks.md measures the memory). A slow subscriber that falls more than [`BUFFER`] messages
//! behind skips the oldest (pub/sub is at-most-once anyway). If the shared connection breaks, every stream on
//! it ends and the next subscriber opens a new one.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use futures_util::stream::{self, Stream, StreamExt as _};
use redis::aio::PubSubSink;
use redis::RedisResult;
use tokio::sync::broadcast;

use crate::sse;

/// Messages a subscriber may fall behind before it skips some.
pub const BUFFER: usize = 1024;

/// What a stream subscribes to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Topic {
    /// `SUBSCRIBE channel`.
    Channel(Vec<u8>),
    /// `PSUBSCRIBE pattern`.
    Pattern(Vec<u8>),
}

type Topics = Arc<Mutex<HashMap<Topic, broadcast::Sender<Bytes>>>>;

/// The shared pub/sub connection of one Redis.
pub struct Hub {
    client: redis::Client,
    connection: tokio::sync::Mutex<Option<Shared>>,
}

struct Shared {
    sink: PubSubSink,
    topics: Topics,
    alive: Arc<AtomicBool>,
}

impl Hub {
    /// A hub for `client`'s Redis; it connects on the first subscription.
    pub fn new(client: redis::Client) -> Self {
        Self { client, connection: tokio::sync::Mutex::new(None) }
    }

    /// Joins `topic`, subscribing in Redis if nobody here has yet. The stream yields rendered SSE events and
    /// ends when the shared connection does.
    ///
    /// # Errors
    /// Connecting or subscribing failed.
    pub async fn subscribe(self: &Arc<Self>, topic: Topic) -> RedisResult<impl Stream<Item = Bytes> + Send + 'static> {
        let mut connection = self.connection.lock().await;
        if !connection.as_ref().is_some_and(|c| c.alive.load(Ordering::Acquire)) {
            *connection = Some(self.connect().await?);
        }
        let shared = connection
            .as_mut()
            .ok_or_else(|| redis::RedisError::from((redis::ErrorKind::Client, "no pub/sub connection")))?;
        let existing = lock(&shared.topics).get(&topic).map(broadcast::Sender::subscribe);
        let receiver = match existing {
            Some(receiver) => receiver,
            None => {
                match &topic {
                    Topic::Channel(name) => shared.sink.subscribe(&name[..]).await?,
                    Topic::Pattern(name) => shared.sink.psubscribe(&name[..]).await?,
                }
                let (sender, receiver) = broadcast::channel(BUFFER);
                lock(&shared.topics).insert(topic.clone(), sender);
                receiver
            }
        };
        let membership = Membership { hub: Arc::clone(self), topic: Some(topic) };
        Ok(stream::unfold((receiver, membership), |(mut receiver, membership)| async move {
            loop {
                match receiver.recv().await {
                    Ok(event) => return Some((event, (receiver, membership))),
                    Err(broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        })
        .boxed())
    }

    async fn connect(&self) -> RedisResult<Shared> {
        let (sink, mut messages) = self.client.get_async_pubsub().await?.split();
        let topics: Topics = Arc::default();
        let alive = Arc::new(AtomicBool::new(true));
        let (dispatch_topics, dispatch_alive) = (Arc::clone(&topics), Arc::clone(&alive));
        tokio::spawn(async move {
            while let Some(message) = messages.next().await {
                let channel = message.get_channel_name().as_bytes();
                let (topic, event) = if message.from_pattern() {
                    let pattern: Vec<u8> = message.get_pattern().unwrap_or_default();
                    let event = sse::event(&[b"pmessage", &pattern, channel, message.get_payload_bytes()]);
                    (Topic::Pattern(pattern), event)
                } else {
                    let event = sse::event(&[b"message", channel, message.get_payload_bytes()]);
                    (Topic::Channel(channel.to_vec()), event)
                };
                if let Some(sender) = lock(&dispatch_topics).get(&topic) {
                    let _ = sender.send(event);
                }
            }
            // The connection is gone: end every stream on it.
            dispatch_alive.store(false, Ordering::Release);
            lock(&dispatch_topics).clear();
        });
        Ok(Shared { sink, topics, alive })
    }

    /// Unsubscribes `topic` in Redis if its last subscriber here has left.
    async fn release(&self, topic: Topic) {
        let mut connection = self.connection.lock().await;
        let Some(shared) = connection.as_mut() else { return };
        let unused = {
            let mut topics = lock(&shared.topics);
            let unused = topics.get(&topic).is_some_and(|sender| sender.receiver_count() == 0);
            if unused {
                topics.remove(&topic);
            }
            unused
        };
        if unused {
            let _ = match &topic {
                Topic::Channel(name) => shared.sink.unsubscribe(&name[..]).await,
                Topic::Pattern(name) => shared.sink.punsubscribe(&name[..]).await,
            };
        }
    }
}

/// Leaves the topic when the stream is dropped (the client went away or the server shut down).
struct Membership {
    hub: Arc<Hub>,
    topic: Option<Topic>,
}

impl Drop for Membership {
    fn drop(&mut self) {
        if let (Some(topic), Ok(runtime)) = (self.topic.take(), tokio::runtime::Handle::try_current()) {
            let hub = Arc::clone(&self.hub);
            runtime.spawn(async move { hub.release(topic).await });
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

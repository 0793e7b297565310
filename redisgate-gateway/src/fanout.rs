//! Pub/sub and MONITOR fan-out: every SSE subscriber of an instance shares one Redis pub/sub connection,
//! and every `/monitor` stream one MONITOR connection (per worker).
//!
//! The first subscriber of a channel (or pattern) makes the hub SUBSCRIBE; later ones just join its
//! subscribers; when the last one leaves, the hub UNSUBSCRIBEs. The first `/monitor` stream opens the
//! MONITOR connection and the last one's leaving closes it. A message is rendered into its SSE event once,
//! then handed to every subscriber as a shared `Bytes`. So 10,000 subscribers cost Redis one connection and
//! one subscription per channel, and cost the gateway a queue and an HTTP stream each (docs/benchmarks.md
//! measures the memory), and HTTP/2 streams cannot multiply connections to Redis. A publish never waits: a
//! subscriber that falls more than [`subscribers::LAG_BYTES`] behind gets an error event and is dropped
//! ([`subscribers`]). If a shared connection breaks, or the upstream follows a new master ([`Hub::moved`]),
//! every stream on it gets a last `event: error` saying so and ends; the next subscriber opens a new one.

mod subscribers;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use futures_util::stream::{Stream, StreamExt as _};
use redis::aio::PubSubSink;
use redis::RedisResult;
use tokio::sync::Notify;

use self::subscribers::Subscribers;
pub use self::subscribers::LAG_BYTES;
use crate::sse;

/// What a stream subscribes to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Topic {
    /// `SUBSCRIBE channel`.
    Channel(Vec<u8>),
    /// `PSUBSCRIBE pattern`.
    Pattern(Vec<u8>),
}

type Topics = Arc<Mutex<HashMap<Topic, Subscribers>>>;

/// Why the streams on a shared connection ended.
#[derive(Debug, Clone, Copy)]
enum Ended {
    /// The connection broke (Redis stopped, the master died).
    Broke,
    /// The upstream follows another master now.
    Moved,
}

impl Ended {
    /// The last event of every stream on the connection.
    fn event(self) -> Bytes {
        Bytes::from_static(match self {
            Self::Broke => b"event: error\ndata: ERR the connection to Redis closed (it stopped, or the master moved); subscribe again\n\n",
            Self::Moved => b"event: error\ndata: ERR the master moved (failover); subscribe again\n\n",
        })
    }
}

/// The shared pub/sub and MONITOR connections of one Redis.
pub struct Hub {
    client: redis::Client,
    connection: tokio::sync::Mutex<Option<Shared>>,
    monitor: tokio::sync::Mutex<Option<SharedMonitor>>,
}

/// The MONITOR connection's subscribers; its task ends when the last one leaves (`left` wakes it).
struct SharedMonitor {
    subscribers: Arc<Mutex<Subscribers>>,
    alive: Arc<AtomicBool>,
    left: Arc<Notify>,
}

struct Shared {
    sink: PubSubSink,
    topics: Topics,
    alive: Arc<AtomicBool>,
    /// Ends the connection (the master moved).
    stop: Arc<Notify>,
}

impl Hub {
    /// A hub for `client`'s Redis; it connects on the first subscription.
    pub fn new(client: redis::Client) -> Self {
        Self { client, connection: tokio::sync::Mutex::new(None), monitor: tokio::sync::Mutex::new(None) }
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
        let existing = lock(&shared.topics).get_mut(&topic).map(Subscribers::join);
        let events = match existing {
            Some(events) => events,
            None => {
                match &topic {
                    Topic::Channel(name) => shared.sink.subscribe(&name[..]).await?,
                    Topic::Pattern(name) => shared.sink.psubscribe(&name[..]).await?,
                }
                let mut subscribers = Subscribers::default();
                let events = subscribers.join();
                lock(&shared.topics).insert(topic.clone(), subscribers);
                events
            }
        };
        let membership = Membership { hub: Arc::clone(self), left: Some(Left::Topic(topic)) };
        Ok(events.map(move |event| {
            let _held = &membership;
            event
        }))
    }

    /// Joins the instance's MONITOR connection, opening it if nobody here has. The stream yields rendered
    /// SSE events, one per command Redis runs, and ends when the connection does.
    ///
    /// # Errors
    /// Connecting failed.
    pub async fn monitor(self: &Arc<Self>) -> RedisResult<impl Stream<Item = Bytes> + Send + 'static> {
        let mut monitor = self.monitor.lock().await;
        // Joined under the subscribers' lock, where the task decides to stop: a stream never joins a
        // MONITOR that is closing.
        let joined = monitor.as_ref().and_then(|shared| {
            let mut subscribers = lock(&shared.subscribers);
            shared.alive.load(Ordering::Acquire).then(|| (subscribers.join(), Arc::clone(&shared.left)))
        });
        let (events, left) = match joined {
            Some(joined) => joined,
            None => {
                let shared = self.open_monitor().await?;
                let joined = (lock(&shared.subscribers).join(), Arc::clone(&shared.left));
                *monitor = Some(shared);
                joined
            }
        };
        let membership = Membership { hub: Arc::clone(self), left: Some(Left::Monitor(left)) };
        Ok(events.map(move |event| {
            let _held = &membership;
            event
        }))
    }

    async fn open_monitor(&self) -> RedisResult<SharedMonitor> {
        let mut lines = self.client.get_async_monitor().await?.into_on_message::<String>();
        let subscribers: Arc<Mutex<Subscribers>> = Arc::default();
        let (alive, left) = (Arc::new(AtomicBool::new(true)), Arc::new(Notify::new()));
        let (task_subscribers, task_alive, task_left) =
            (Arc::clone(&subscribers), Arc::clone(&alive), Arc::clone(&left));
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    line = lines.next() => {
                        let Some(line) = line else { break };
                        lock(&task_subscribers).publish(&sse::event(&[line.as_bytes()]));
                    }
                    () = task_left.notified() => {}
                }
                let mut subscribers = lock(&task_subscribers);
                if subscribers.is_empty() {
                    task_alive.store(false, Ordering::Release);
                    return;
                }
            }
            // The connection broke: end every stream on it. (Dropping the connection ends MONITOR.)
            let mut subscribers = lock(&task_subscribers);
            task_alive.store(false, Ordering::Release);
            subscribers.close(&Ended::Broke.event());
        });
        Ok(SharedMonitor { subscribers, alive, left })
    }

    async fn connect(&self) -> RedisResult<Shared> {
        let (sink, mut messages) = self.client.get_async_pubsub().await?.split();
        let topics: Topics = Arc::default();
        let (alive, stop) = (Arc::new(AtomicBool::new(true)), Arc::new(Notify::new()));
        let (dispatch_topics, dispatch_alive, dispatch_stop) =
            (Arc::clone(&topics), Arc::clone(&alive), Arc::clone(&stop));
        tokio::spawn(async move {
            let ended = loop {
                let message = tokio::select! {
                    message = messages.next() => message,
                    () = dispatch_stop.notified() => break Ended::Moved,
                };
                let Some(message) = message else { break Ended::Broke };
                let channel = message.get_channel_name().as_bytes();
                let (topic, event) = if message.from_pattern() {
                    let pattern: Vec<u8> = message.get_pattern().unwrap_or_default();
                    let event = sse::event(&[b"pmessage", &pattern, channel, message.get_payload_bytes()]);
                    (Topic::Pattern(pattern), event)
                } else {
                    let event = sse::event(&[b"message", channel, message.get_payload_bytes()]);
                    (Topic::Channel(channel.to_vec()), event)
                };
                if let Some(subscribers) = lock(&dispatch_topics).get_mut(&topic) {
                    subscribers.publish(&event);
                }
            };
            // The connection is gone (or is being dropped): end every stream on it, saying why.
            dispatch_alive.store(false, Ordering::Release);
            let last = ended.event();
            for (_, mut subscribers) in lock(&dispatch_topics).drain() {
                subscribers.close(&last);
            }
        });
        Ok(Shared { sink, topics, alive, stop })
    }

    /// The upstream follows another master now: every stream of this hub gets a last error event saying so
    /// and ends, and its connections close (the old master may live on as a replica, where messages would
    /// stop arriving without a word).
    pub async fn moved(&self) {
        if let Some(shared) = self.connection.lock().await.take() {
            shared.stop.notify_one();
        }
        if let Some(monitor) = self.monitor.lock().await.take() {
            lock(&monitor.subscribers).close(&Ended::Moved.event());
            // The task finds nobody left and closes the MONITOR connection.
            monitor.left.notify_one();
        }
    }

    /// Unsubscribes `topic` in Redis if its last subscriber here has left.
    async fn release(&self, topic: Topic) {
        let mut connection = self.connection.lock().await;
        let Some(shared) = connection.as_mut() else { return };
        let unused = {
            let mut topics = lock(&shared.topics);
            let unused = topics.get_mut(&topic).is_some_and(Subscribers::is_empty);
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

/// Leaves the topic or the MONITOR when the stream is dropped (the client went away or the server shut
/// down).
struct Membership {
    hub: Arc<Hub>,
    left: Option<Left>,
}

enum Left {
    Topic(Topic),
    /// Wakes the MONITOR task, which closes the connection if nobody is left.
    Monitor(Arc<Notify>),
}

impl Drop for Membership {
    fn drop(&mut self) {
        match self.left.take() {
            Some(Left::Topic(topic)) => {
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    let hub = Arc::clone(&self.hub);
                    runtime.spawn(async move { hub.release(topic).await });
                }
            }
            Some(Left::Monitor(left)) => left.notify_one(),
            None => {}
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

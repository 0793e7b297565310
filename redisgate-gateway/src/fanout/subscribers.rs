//! The subscribers of one topic, each with a queue bounded in bytes.
//!
//! A publish hands the rendered event (one shared `Bytes`) to every subscriber's queue and never waits. A
//! subscriber whose queue would hold more than [`LAG_BYTES`] has fallen behind: it gets a last
//! `event: error` and is dropped, so one stalled reader pins at most that much (plus one event, which is
//! always let into an empty queue however large it is, so that a large message still reaches readers that
//! keep up).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::{self, Stream};
use tokio::sync::mpsc;

/// Most bytes of events a subscriber may have queued and not yet sent.
pub const LAG_BYTES: usize = 1024 * 1024;

/// The last event of a subscriber that fell behind (made only then; it states [`LAG_BYTES`]).
fn fell_behind() -> Bytes {
    let mib = LAG_BYTES >> 20;
    Bytes::from(format!(
        "event: error\ndata: ERR this subscriber fell more than {mib} MiB behind the messages and was dropped\n\n"
    ))
}

/// The subscribers of one topic.
#[derive(Default)]
pub struct Subscribers(Vec<Subscriber>);

struct Subscriber {
    events: mpsc::UnboundedSender<Bytes>,
    /// Bytes queued and not yet taken by the stream.
    queued: Arc<AtomicUsize>,
}

impl Subscribers {
    /// A new subscriber: the stream of the events published from now on. It ends when the subscriber is
    /// dropped for falling behind (after the error event) or when the topic is closed.
    pub fn join(&mut self) -> impl Stream<Item = Bytes> + Send + 'static {
        let (events, receiver) = mpsc::unbounded_channel();
        let queued = Arc::new(AtomicUsize::new(0));
        self.0.push(Subscriber { events, queued: Arc::clone(&queued) });
        stream::unfold((receiver, queued), |(mut receiver, queued)| async move {
            let event = receiver.recv().await?;
            queued.fetch_sub(event.len(), Ordering::Relaxed);
            Some((event, (receiver, queued)))
        })
    }

    /// Queues `event` for every subscriber; drops those that fell behind, and those that left.
    pub fn publish(&mut self, event: &Bytes) {
        self.0.retain(|subscriber| {
            let before = subscriber.queued.fetch_add(event.len(), Ordering::Relaxed);
            if before > 0 && before + event.len() > LAG_BYTES {
                let last = fell_behind();
                subscriber.queued.fetch_add(last.len(), Ordering::Relaxed);
                let _ = subscriber.events.send(last);
                return false;
            }
            subscriber.events.send(event.clone()).is_ok()
        });
    }

    /// Ends every subscriber's stream after `last` (an error event saying why).
    pub fn close(&mut self, last: &Bytes) {
        for subscriber in self.0.drain(..) {
            let _ = subscriber.events.send(last.clone());
        }
    }

    /// Whether every subscriber has left.
    pub fn is_empty(&mut self) -> bool {
        self.0.retain(|subscriber| !subscriber.events.is_closed());
        self.0.is_empty()
    }
}

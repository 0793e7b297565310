//! One connection to a Redis server shared by every request of a worker, pipelined: each request appends its
//! commands to one outgoing buffer and waits for its replies, which come back in the order the commands were
//! written. The connection's task sends whatever has gathered in one write, so the commands of many
//! concurrent requests reach Redis in one batch, and reads the replies ([`super::resp`]), handing each
//! request its own.
//!
//! This is what redis-rs's multiplexed connection does, without its channel, its per-command packing into a
//! vector of its own, and its parser-combinator reader: a command goes from the request's arguments straight
//! into the outgoing buffer.
//!
//! A request says how much its replies may weigh in all ([`Read`]): its response limit. The reader drops any
//! one reply heavier than the largest limit a request on the link has given, as it comes, and a request
//! whose replies pass its own limit gets [`Failed::TooLarge`] instead of them, so a reply too large to answer
//! is never held whole.
//!
//! A link is one connection's life. It is made at once and connects in the background (requests queue behind
//! the connection attempt); when the connection fails or closes, every waiting request gets the error and
//! the link stays failed: the upstream then makes a new one ([`Link::is_failed`]). A link nobody holds any
//! more (replaced after a timeout, and its last request answered) closes its connection.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use bytes::BytesMut;
use redis::{ErrorKind, RedisError, RedisResult, Value};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::sync::{oneshot, Notify};

use super::dial::Target;
use super::resp::{Read, Reader};

/// A shared, pipelined connection (see the module's documentation).
pub struct Link {
    shared: Arc<Shared>,
    task: tokio::task::AbortHandle,
}

struct Shared {
    queue: Mutex<Queue>,
    /// Whether `queue.failed` is set (read without the lock by every request).
    failed: AtomicBool,
    /// The largest response limit a request has given: the heaviest reply the reader keeps.
    max_reply: AtomicUsize,
    /// Wakes the writer: commands were queued.
    wake_writer: Notify,
}

#[derive(Default)]
struct Queue {
    /// Commands not written yet.
    out: Vec<u8>,
    /// The requests waiting for replies, in the order their commands were queued.
    waiting: VecDeque<Waiter>,
    /// Why the connection ended, once it has, and when.
    failed: Option<(RedisError, Instant)>,
    /// Whether Redis has answered a command other than with an error: until then, a link that fails was a
    /// failed attempt to connect ([`Link::failed_unproven`]).
    proven: bool,
}

struct Waiter {
    /// How many replies the request's commands still get.
    missing: usize,
    /// Those it got, while they weigh no more than `limit`.
    replies: Vec<Value>,
    /// What the replies weigh so far ([`Read::Value`]; a dropped one weighs `usize::MAX`). Past `limit`, the
    /// request gets [`Failed::TooLarge`].
    weight: usize,
    /// The most they may weigh in all.
    limit: usize,
    answer: oneshot::Sender<Result<Vec<Value>, Failed>>,
}

/// Why a request got no replies.
#[derive(Debug)]
pub enum Failed {
    /// The connection failed, or closed, before they came.
    Redis(RedisError),
    /// They weighed more than the request's limit, which this is; they were dropped as they came.
    TooLarge(usize),
}

impl From<RedisError> for Failed {
    fn from(error: RedisError) -> Self {
        Self::Redis(error)
    }
}

impl Link {
    /// Starts connecting to `target` in the background.
    pub fn new(target: Arc<Target>) -> Self {
        let shared = Arc::new(Shared {
            queue: Mutex::default(),
            failed: AtomicBool::new(false),
            max_reply: AtomicUsize::new(0),
            wake_writer: Notify::new(),
        });
        let task = tokio::spawn(run(target, Arc::clone(&shared))).abort_handle();
        Self { shared, task }
    }

    /// Whether the connection has ended: a request should make a new link.
    pub fn is_failed(&self) -> bool {
        self.shared.failed.load(Ordering::Relaxed)
    }

    /// When this link failed, if it failed before Redis answered any command other than with an error: it
    /// could not connect, or Redis closed it at once (as a Redis at `maxclients` does, after an error).
    /// `None` while it works, or if it failed after serving.
    pub fn failed_unproven(&self) -> Option<Instant> {
        if !self.is_failed() {
            return None;
        }
        let queue = self.shared.lock();
        queue.failed.as_ref().filter(|_| !queue.proven).map(|(_, at)| *at)
    }

    /// Queues the commands `write` encodes (RESP, as redis-rs's `write_packed_command` writes), which get
    /// `expected` replies weighing at most `limit` in all, and waits for those replies.
    ///
    /// # Errors
    /// The connection failed before the replies came; they weighed more than `limit`.
    pub async fn send(
        &self,
        expected: usize,
        limit: usize,
        write: impl FnOnce(&mut Vec<u8>),
    ) -> Result<Vec<Value>, Failed> {
        let (answer, replies) = oneshot::channel();
        {
            let mut queue = self.shared.lock();
            if let Some((failed, _)) = &queue.failed {
                return Err(failed.clone().into());
            }
            write(&mut queue.out);
            self.shared.max_reply.fetch_max(limit, Ordering::Relaxed);
            let waiter = Waiter { missing: expected, replies: Vec::with_capacity(expected), weight: 0, limit, answer };
            queue.waiting.push_back(waiter);
        }
        self.shared.wake_writer.notify_one();
        replies.await.unwrap_or_else(|_| Err(closed().into()))
    }
}

impl Drop for Link {
    fn drop(&mut self) {
        self.shared.fail(closed());
        self.task.abort();
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Ends the link: every waiting request gets `error`, and so does every later one.
    fn fail(&self, error: RedisError) {
        let waiting = {
            let mut queue = self.lock();
            if queue.failed.is_none() {
                queue.failed = Some((error.clone(), Instant::now()));
                self.failed.store(true, Ordering::Relaxed);
            }
            queue.out = Vec::new();
            std::mem::take(&mut queue.waiting)
        };
        for waiter in waiting {
            let _ = waiter.answer.send(Err(error.clone().into()));
        }
        self.wake_writer.notify_one();
    }

    /// Hands `reads` (replies in order) to the requests waiting for them.
    fn deliver(&self, reads: &mut Vec<Read>) -> RedisResult<()> {
        let mut done = Vec::new();
        {
            let mut queue = self.lock();
            let mut proven = false;
            for read in reads.drain(..) {
                let Some(first) = queue.waiting.front_mut() else {
                    return Err(RedisError::from((ErrorKind::Client, "redis sent a reply nobody asked for")));
                };
                first.missing -= 1;
                proven |= matches!(&read, Read::Value(value, _) if !matches!(value, Value::ServerError(_)));
                let (value, weight) = match read {
                    Read::Value(value, weight) => (Some(value), weight),
                    Read::TooLarge => (None, usize::MAX),
                };
                first.weight = first.weight.saturating_add(weight);
                if first.weight > first.limit {
                    first.replies = Vec::new();
                } else {
                    first.replies.extend(value);
                }
                if first.missing == 0 {
                    done.extend(queue.waiting.pop_front());
                }
            }
            queue.proven |= proven;
        }
        for waiter in done {
            let too_large = waiter.weight > waiter.limit;
            let answer = if too_large { Err(Failed::TooLarge(waiter.limit)) } else { Ok(waiter.replies) };
            let _ = waiter.answer.send(answer);
        }
        Ok(())
    }
}

/// Connects, then writes and reads until the connection fails or the link is dropped.
async fn run(target: Arc<Target>, shared: Arc<Shared>) {
    let (mut read, mut write) = match target.dial().await {
        Ok(halves) => halves,
        Err(e) => return shared.fail(e),
    };
    let writer = async {
        let mut batch = Vec::new();
        loop {
            shared.wake_writer.notified().await;
            // One more turn of the worker first: the requests whose bytes arrived meanwhile queue their
            // commands too, and go in the same write. Redis, on the same machine, then wakes half as often
            // under load (its CPU per GET fell by a third; bench/ab.py), for one more poll of the sockets.
            tokio::task::yield_now().await;
            {
                let mut queue = shared.lock();
                if queue.failed.is_some() {
                    return Ok::<(), std::io::Error>(());
                }
                std::mem::swap(&mut batch, &mut queue.out);
            }
            if !batch.is_empty() {
                write.write_all(&batch).await?;
                write.flush().await?;
                batch.clear();
                release(&mut batch);
            }
        }
    };
    let reader = async {
        let (mut reader, mut buf, mut reads) = (Reader::new(0), BytesMut::with_capacity(READ_CHUNK), Vec::new());
        loop {
            if buf.capacity() - buf.len() < 4096 {
                buf.reserve(READ_CHUNK);
            }
            if read.read_buf(&mut buf).await? == 0 {
                return Err::<(), RedisError>(closed());
            }
            // What was read answers requests that have given their limits already.
            reader.raise_limit(shared.max_reply.load(Ordering::Relaxed));
            while let Some(reply) = reader
                .next(&mut buf)
                .map_err(|e| RedisError::from((ErrorKind::Parse, "malformed reply from redis", e.to_string())))?
            {
                reads.push(reply);
            }
            shared.deliver(&mut reads)?;
            release_read(&mut buf);
        }
    };
    let ended: RedisResult<()> = tokio::select! {
        written = writer => written.map_err(RedisError::from),
        read = reader => read,
    };
    shared.fail(ended.err().unwrap_or_else(closed));
}

/// How much the read buffer grows by.
const READ_CHUNK: usize = 16 * 1024;

/// The most buffer capacity a connection keeps between a large request or reply and the next: a tenant who
/// reads a 64 MiB value once does not leave 64 MiB allocated for the connection's life.
const RETAINED_BUFFER: usize = 1024 * 1024;

/// Gives back the capacity of an empty `batch` over [`RETAINED_BUFFER`].
fn release(batch: &mut Vec<u8>) {
    if batch.is_empty() && batch.capacity() > RETAINED_BUFFER {
        *batch = Vec::new();
    }
}

/// Gives back the capacity of an empty read buffer over [`RETAINED_BUFFER`].
fn release_read(buf: &mut BytesMut) {
    if buf.is_empty() && buf.capacity() > RETAINED_BUFFER {
        *buf = BytesMut::with_capacity(READ_CHUNK);
    }
}

/// The error of a request whose connection closed before its reply (a broken pipe, as redis-rs reports it).
fn closed() -> RedisError {
    RedisError::from(std::io::Error::from(std::io::ErrorKind::BrokenPipe))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_large_buffer_is_given_back_once_empty() {
        let mut large = Vec::with_capacity(8 * RETAINED_BUFFER);
        large.push(1);
        release(&mut large);
        assert!(large.capacity() >= 8 * RETAINED_BUFFER, "a buffer in use is kept");
        large.clear();
        release(&mut large);
        assert_eq!(large.capacity(), 0);
        let mut small = Vec::with_capacity(RETAINED_BUFFER);
        release(&mut small);
        assert_eq!(small.capacity(), RETAINED_BUFFER);

        let mut read = BytesMut::with_capacity(8 * RETAINED_BUFFER);
        read.extend_from_slice(b"+OK");
        release_read(&mut read);
        assert!(read.capacity() >= 8 * RETAINED_BUFFER, "a buffer holding a partial reply is kept");
        read.clear();
        release_read(&mut read);
        assert!(read.capacity() < RETAINED_BUFFER);
    }
}

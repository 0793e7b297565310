//! The bytes of replies the process holds, built or being written, against one budget
//! ([`crate::ServerLimits::max_reply_bytes_in_flight`]). Each request may hold at most
//! [`crate::ServerLimits::max_response_bytes`] (or its instance's `max_response_size`); this bounds them
//! all together, so that many large replies at once, or clients that read them slowly, answer 503 with
//! `Retry-After` instead of growing the gateway until the kernel kills it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;

use crate::ApiError;

/// The reply bytes a process holds (shared by its workers).
#[derive(Debug, Default)]
pub struct ReplyBytes(AtomicUsize);

impl ReplyBytes {
    /// Takes `bytes` of the budget of `max`, for as long as the returned [`Held`] lives.
    ///
    /// # Errors
    /// [`ApiError::Busy`] when the budget has no room for them.
    pub fn hold(self: &Arc<Self>, bytes: usize, max: usize) -> Result<Held, ApiError> {
        let before = self.0.fetch_add(bytes, Ordering::Relaxed);
        if before.saturating_add(bytes) > max {
            self.0.fetch_sub(bytes, Ordering::Relaxed);
            return Err(ApiError::Busy("the gateway holds as many replies as it may"));
        }
        Ok(Held { budget: Arc::clone(self), bytes })
    }

    /// The bytes held now.
    #[must_use]
    pub fn held(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }
}

/// A part of the budget, given back when dropped.
#[derive(Debug)]
pub struct Held {
    budget: Arc<ReplyBytes>,
    bytes: usize,
}

impl Held {
    /// Holds `bytes` in all (a reply came out larger than its estimate). Not refused: the estimate was
    /// admitted, and the reply is bounded by the per-request limit.
    pub fn resize(&mut self, bytes: usize) {
        if bytes > self.bytes {
            self.budget.0.fetch_add(bytes - self.bytes, Ordering::Relaxed);
        } else {
            self.budget.0.fetch_sub(self.bytes - bytes, Ordering::Relaxed);
        }
        self.bytes = bytes;
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.budget.0.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

/// A reply's bytes, holding their part of the budget for as long as they exist: until hyper has written
/// them to the socket, however slowly the client reads (or until the connection is dropped).
struct HeldReply {
    data: Vec<u8>,
    _held: Held,
}

impl AsRef<[u8]> for HeldReply {
    fn as_ref(&self) -> &[u8] {
        &self.data
    }
}

/// `data` as a body's bytes that hold `held` (resized to their length) while they exist.
pub fn held_bytes(data: Vec<u8>, mut held: Held) -> Bytes {
    held.resize(data.len());
    Bytes::from_owner(HeldReply { data, _held: held })
}

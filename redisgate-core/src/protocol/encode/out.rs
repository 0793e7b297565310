//! [`Out`]: the buffer a reply is encoded into, with a ceiling.

use crate::{Error, Result};

/// A reply being written, at most `limit` bytes long. A write that would pass the limit is dropped, and so is
/// every later one, and [`Out::finish`] fails with [`Error::ResponseTooLarge`]: the limit holds whatever the
/// reply's shape, escapes included (a NUL is six bytes of JSON, base64 is four bytes for three).
pub struct Out {
    buf: Vec<u8>,
    limit: usize,
    over: bool,
}

impl Out {
    /// An empty reply expected to take about `hint` bytes, refused at once if the hint (a lower bound of
    /// the encoded size) is already over `limit`.
    ///
    /// # Errors
    /// [`Error::ResponseTooLarge`] when `hint > limit`.
    pub fn new(hint: usize, limit: usize) -> Result<Self> {
        if hint > limit {
            return Err(Error::ResponseTooLarge(limit as u64));
        }
        Ok(Self { buf: Vec::with_capacity(hint), limit, over: false })
    }

    /// The encoded reply.
    ///
    /// # Errors
    /// [`Error::ResponseTooLarge`] when a write passed the limit.
    pub fn finish(self) -> Result<Vec<u8>> {
        if self.over {
            return Err(Error::ResponseTooLarge(self.limit as u64));
        }
        Ok(self.buf)
    }

    /// Whether `n` more bytes fit; marks the reply as over the limit when they do not.
    fn fits(&mut self, n: usize) -> bool {
        if self.over || self.buf.len().saturating_add(n) > self.limit {
            self.over = true;
            return false;
        }
        true
    }

    pub(super) fn push(&mut self, byte: u8) {
        if self.fits(1) {
            self.buf.push(byte);
        }
    }

    pub(super) fn extend_from_slice(&mut self, bytes: &[u8]) {
        if self.fits(bytes.len()) {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// Appends exactly `n` bytes that `fill` writes at the end of the buffer (no zeroing first).
    pub(super) fn append_exactly(&mut self, n: usize, fill: impl FnOnce(&mut Vec<u8>)) {
        if self.fits(n) {
            let start = self.buf.len();
            fill(&mut self.buf);
            debug_assert_eq!(self.buf.len(), start + n);
        }
    }
}

/// For `serde_json`'s string escaping: a write past the limit is an error, which stops the serializer
/// before it escapes the rest of a long string.
impl std::io::Write for Out {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        if !self.fits(bytes.len()) {
            return Err(std::io::ErrorKind::OutOfMemory.into());
        }
        self.buf.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

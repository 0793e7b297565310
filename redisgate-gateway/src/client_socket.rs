//! The socket of one client connection, as the server reads and writes it.
//!
//! - **Counted**: it holds its place among the admitted connections ([`crate::connections`]) and in the
//!   open-connections gauge until it is gone.
//! - **Timed**: a connection that makes no progress either way for [`Timeouts::idle`] is closed (an idle
//!   keep-alive HTTP/1 connection, an HTTP/2 connection with nothing to do, a peer that vanished), unless a
//!   management request of it is being handled ([`InFlight`]: a restore, a reshard, which answer when done); and so is
//!   one whose write makes no progress for [`Timeouts::write`]: a client that stops reading cannot make the
//!   gateway hold its reply for as long as it likes.
//! - **Lingering**: dropped before the client closed its side, it shuts its write side and reads (and
//!   discards) what the client still sends for up to [`LINGER`] (see [`linger`]).

use std::future::Future as _;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use crate::connections::Admitted;
use crate::metrics::GaugeGuard;

/// How long a connection the server closes keeps reading (and discarding) what the client still sends.
pub const LINGER: Duration = Duration::from_secs(2);

/// The requests of one connection being handled now: while any is, the connection is not idle.
#[derive(Debug, Clone, Default)]
pub struct InFlight(Arc<AtomicUsize>);

impl InFlight {
    /// Counts a request until the guard is dropped (its handler answered, or was dropped).
    #[must_use]
    pub fn enter(&self) -> InFlightGuard {
        self.0.fetch_add(1, Ordering::Relaxed);
        InFlightGuard(self.clone())
    }

    fn any(&self) -> bool {
        self.0.load(Ordering::Relaxed) > 0
    }
}

/// One request being handled ([`InFlight::enter`]).
#[derive(Debug)]
pub struct InFlightGuard(InFlight);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        self.0 .0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A connection whose requests can be counted while they are handled.
pub trait HasInFlight {
    /// Its counter.
    fn in_flight(&self) -> InFlight;
}

impl HasInFlight for ClientSocket {
    fn in_flight(&self) -> InFlight {
        self.in_flight.clone()
    }
}

impl HasInFlight for tokio_rustls::server::TlsStream<ClientSocket> {
    fn in_flight(&self) -> InFlight {
        self.get_ref().0.in_flight.clone()
    }
}

/// When a connection is closed for making no progress.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// No byte read or written for this long.
    pub idle: Duration,
    /// A write that has waited this long for the client to read.
    pub write: Duration,
}

/// A client's TCP connection: counted, timed, lingering on close.
///
/// The timing costs a counter per read or write on the hot path, not a clock reading: a watch wakes the
/// connection every quarter of the shorter timeout, and it is closed when its counters have not moved for
/// the timeout (so within a quarter more of it).
pub struct ClientSocket {
    /// `None` only once dropped.
    open: Option<Open>,
    /// Whether a read saw the client's end of file.
    read_eof: bool,
    timeouts: Timeouts,
    /// Reads and writes that moved bytes.
    moved: u64,
    /// Writes that moved bytes.
    written: u64,
    /// Whether the last write waited for the client.
    write_waiting: bool,
    /// Made on the first wait.
    watch: Option<Watch>,
    /// Its requests being handled.
    in_flight: InFlight,
}

/// What the watch saw at its last tick.
struct Watch {
    timer: Pin<Box<Sleep>>,
    moved: u64,
    written: u64,
    /// How long nothing moved, and how long a write has waited without moving, as of the last tick.
    quiet: Duration,
    write_quiet: Duration,
}

struct Open {
    stream: TcpStream,
    _gauge: GaugeGuard,
    _admitted: Admitted,
}

impl ClientSocket {
    /// `stream`, holding `gauge` and `admitted` while it is open.
    pub(crate) fn new(stream: TcpStream, gauge: GaugeGuard, admitted: Admitted, timeouts: Timeouts) -> Self {
        Self {
            open: Some(Open { stream, _gauge: gauge, _admitted: admitted }),
            read_eof: false,
            timeouts,
            moved: 0,
            written: 0,
            write_waiting: false,
            watch: None,
            in_flight: InFlight::default(),
        }
    }

    fn stream(&mut self) -> io::Result<Pin<&mut TcpStream>> {
        match self.open.as_mut() {
            Some(open) => Ok(Pin::new(&mut open.stream)),
            None => Err(io::ErrorKind::NotConnected.into()),
        }
    }

    /// After a read or write that waits: an error once the connection is past a timeout, else `Pending`
    /// (the watch wakes the connection at its next tick).
    fn waiting<T>(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<T>> {
        let tick = self.timeouts.idle.min(self.timeouts.write) / 4;
        let (moved, written, write_waiting) = (self.moved, self.written, self.write_waiting);
        let handling = self.in_flight.any();
        let mut armed = false;
        let watch = self.watch.get_or_insert_with(|| {
            armed = true;
            Watch {
                timer: Box::pin(tokio::time::sleep(tick)),
                moved,
                written,
                quiet: Duration::ZERO,
                write_quiet: Duration::ZERO,
            }
        });
        if watch.timer.is_elapsed() {
            watch.quiet = if watch.moved == moved && !handling { watch.quiet + tick } else { Duration::ZERO };
            watch.write_quiet =
                if write_waiting && watch.written == written { watch.write_quiet + tick } else { Duration::ZERO };
            (watch.moved, watch.written) = (moved, written);
            if watch.write_quiet >= self.timeouts.write {
                return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "the client stopped reading")));
            }
            if watch.quiet >= self.timeouts.idle {
                return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "the connection was idle")));
            }
            watch.timer.as_mut().reset(Instant::now() + tick);
            armed = true;
        }
        // The timer keeps the waker it was polled with: the connection's task polls its socket, always the
        // same task, so one registration per tick is enough.
        if armed && watch.timer.as_mut().poll(cx).is_ready() {
            cx.waker().wake_by_ref();
        }
        Poll::Pending
    }
}

impl AsyncRead for ClientSocket {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match self.stream()?.poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.moved += 1;
                } else if buf.remaining() > 0 {
                    self.read_eof = true;
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => self.waiting(cx),
        }
    }
}

impl ClientSocket {
    /// Notes the outcome of a write: progress, or a write that waits for the client.
    fn wrote<T>(&mut self, cx: &mut Context<'_>, result: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        match result {
            Poll::Ready(Ok(n)) => {
                self.moved += 1;
                self.written += 1;
                self.write_waiting = false;
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                self.write_waiting = true;
                self.waiting(cx)
            }
        }
    }
}

impl AsyncWrite for ClientSocket {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let result = self.stream()?.poll_write(cx, buf);
        self.wrote(cx, result)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = self.stream()?.poll_write_vectored(cx, bufs);
        self.wrote(cx, result)
    }

    fn is_write_vectored(&self) -> bool {
        self.open.as_ref().is_some_and(|open| open.stream.is_write_vectored())
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stream()?.poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stream()?.poll_shutdown(cx)
    }
}

impl Drop for ClientSocket {
    fn drop(&mut self) {
        let Some(open) = self.open.take() else { return };
        if self.read_eof {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(linger(open));
        }
    }
}

/// Closing a socket with unread data in it makes the kernel send a reset instead of a FIN, and a reset makes
/// the client's kernel discard the answer it has not read yet: the client of a refused 10 MiB upload would
/// see "connection reset" instead of its 413. So the write side is shut (the answer was flushed before),
/// and what arrives is read and discarded until the client closes or [`LINGER`] passes, as nginx's
/// `lingering_close` does. The connection keeps its place among the admitted ones meanwhile.
async fn linger(mut open: Open) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let _ = open.stream.shutdown().await;
    let mut sink = vec![0_u8; 16 * 1024];
    let _ = tokio::time::timeout(LINGER, async { while let Ok(1..) = open.stream.read(&mut sink).await {} }).await;
}

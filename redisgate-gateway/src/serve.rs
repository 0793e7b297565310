//! Serving until shutdown, over plain TCP or TLS, and the signals that start the shutdown.
//!
//! Each connection is admitted at accept, before any TLS handshake, against
//! [`ServerLimits::max_connections`] and [`ServerLimits::max_connections_per_address`]
//! ([`crate::connections`], shared by the workers of a process): beyond them it is closed at once, so a flood of idle connections can
//! neither exhaust the file descriptors nor crowd out other clients. Headers must arrive within
//! [`ServerLimits::header_timeout`]. hyper serves HTTP/1 and HTTP/2 (by ALPN or preface); on shutdown the
//! loop stops accepting, SSE streams end and in-flight requests finish.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::serve::Listener;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

use crate::connections::{Admitted, Connections, Refusal};
use crate::metrics::Metrics;
use crate::{router, AppState, ServerLimits};

/// Requests under this path carry their client's address (`ConnectInfo<SocketAddr>`): the management API.
pub const PEER_ADDRESS_PREFIX: &str = "/api/";

/// How long a client may take to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves the gateway on `listener` until `shutdown` resolves, then stops accepting, ends SSE streams and
/// waits for in-flight requests. Bound the wait from outside (the binary gives up after `--drain-secs`).
///
/// # Errors
/// I/O errors of the listener.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = router(state.clone());
    serve_router(listener, app, &state, shutdown).await
}

/// As [`serve`], for a router already built over `state` (platform mode: `redisgate_platform`'s router):
/// the state's shutdown token is cancelled when `shutdown` resolves, its metrics count the connections, and
/// with [`AppState::tls`] the listener speaks HTTPS.
///
/// # Errors
/// I/O errors of the listener.
pub async fn serve_router(
    listener: TcpListener,
    app: axum::Router,
    state: &AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = CountingListener {
        listener,
        metrics: Arc::clone(&state.metrics),
        connections: Arc::clone(&state.connections),
        limits: state.limits.clone(),
    };
    match &state.tls {
        None => run(listener, app, state, shutdown).await,
        Some(config) => {
            run(TlsListener::new(listener, TlsAcceptor::from(Arc::clone(config)))?, app, state, shutdown).await
        }
    }
}

/// Accepts from `listener` and serves each connection with `app` until `shutdown`, then drains.
async fn run<L>(
    mut listener: L,
    app: axum::Router,
    state: &AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: Listener<Addr = SocketAddr>,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(state.limits.header_timeout);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    let mut shutdown = pin!(shutdown);
    loop {
        let (io, address) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        // The management API's handlers limit by client address (the platform's account routes) and read it
        // from here; the data plane does not, and is spared the extension map this would allocate.
        let service = TowerToHyperService::new(app.clone().map_request(move |mut request: axum::http::Request<_>| {
            if request.uri().path().starts_with(PEER_ADDRESS_PREFIX) {
                request.extensions_mut().insert(ConnectInfo(address));
            }
            request
        }));
        let io = FirstByte::within(io, state.limits.header_timeout);
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service).into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::trace!(error = %e, "connection ended with an error");
            }
        });
    }
    // Stop accepting (a TLS listener stops its handshakes), end the SSE streams, let requests finish.
    drop(listener);
    state.shutdown.cancel();
    graceful.shutdown().await;
    Ok(())
}

/// Closes a connection that sends nothing within its deadline. hyper's header timeout starts with the first
/// byte of a request, and its choice between HTTP/1 and HTTP/2 waits for that byte without a timeout, so
/// without this a client could hold a connection (a file descriptor) by connecting and staying silent.
struct FirstByte<I> {
    io: I,
    /// Until the first byte arrives.
    deadline: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl<I> FirstByte<I> {
    fn within(io: I, timeout: Duration) -> Self {
        Self { io, deadline: Some(Box::pin(tokio::time::sleep(timeout))) }
    }
}

impl<I: tokio::io::AsyncRead + Unpin> tokio::io::AsyncRead for FirstByte<I> {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let this = &mut *self;
        let read = std::pin::Pin::new(&mut this.io).poll_read(cx, buf);
        if read.is_ready() {
            if buf.filled().len() > before {
                this.deadline = None;
            }
            return read;
        }
        if this.deadline.as_mut().is_some_and(|deadline| deadline.as_mut().poll(cx).is_ready()) {
            let silent = std::io::Error::new(std::io::ErrorKind::TimedOut, "the client sent no request");
            return std::task::Poll::Ready(Err(silent));
        }
        std::task::Poll::Pending
    }
}

impl<I: tokio::io::AsyncWrite + Unpin> tokio::io::AsyncWrite for FirstByte<I> {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

/// Connections that finished their TLS handshake. Handshakes run in tasks of their own (bounded by
/// [`HANDSHAKE_TIMEOUT`]), so a slow or silent client never holds up the next one's.
struct TlsListener {
    handshaken: mpsc::Receiver<(TlsStream<Counted>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    fn new(mut tcp: CountingListener, acceptor: TlsAcceptor) -> std::io::Result<Self> {
        let local = tcp.listener.local_addr()?;
        let (done, handshaken) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                // Ends when the server stops accepting (the receiver is dropped).
                let (stream, address) = tokio::select! {
                    () = done.closed() => return,
                    accepted = tcp.accept() => accepted,
                };
                let (acceptor, done) = (acceptor.clone(), done.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = done.send((tls, address)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%address, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%address, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(Self { handshaken, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<Counted>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.handshaken.recv().await {
            Some(connection) => connection,
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// Accepts connections within the limits (closing the others at once), turns Nagle's algorithm off (small
/// JSON replies must not wait) and counts open connections in the metrics.
struct CountingListener {
    listener: TcpListener,
    metrics: Arc<Metrics>,
    connections: Arc<Connections>,
    limits: ServerLimits,
}

impl axum::serve::Listener for CountingListener {
    type Io = Counted;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.listener.accept().await {
                Ok((stream, address)) => {
                    let (max, per_address) = (self.limits.max_connections, self.limits.max_connections_per_address);
                    let admitted = match self.connections.admit(address.ip(), max, per_address) {
                        Ok(admitted) => admitted,
                        Err(refusal) => {
                            self.metrics.connection_refused(if refusal == Refusal::Full { "total" } else { "address" });
                            drop(stream);
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let open = Open { stream, _gauge: self.metrics.connection(), _admitted: admitted };
                    return (Counted { open: Some(open), read_eof: false }, address);
                }
                // Out of file descriptors and the like: wait a moment instead of spinning.
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}

/// A connection that leaves the open-connections gauge, and frees its place, when dropped. Dropped before
/// the client closed its side, it lingers: see [`linger`].
struct Counted {
    /// `None` only once dropped.
    open: Option<Open>,
    /// Whether a read saw the client's end of file.
    read_eof: bool,
}

struct Open {
    stream: tokio::net::TcpStream,
    _gauge: crate::metrics::GaugeGuard,
    _admitted: Admitted,
}

/// How long a connection the server closes keeps reading (and discarding) what the client still sends.
const LINGER: Duration = Duration::from_secs(2);

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

impl Drop for Counted {
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

impl Counted {
    fn stream(&mut self) -> std::io::Result<&mut tokio::net::TcpStream> {
        self.open.as_mut().map(|open| &mut open.stream).ok_or_else(|| std::io::ErrorKind::NotConnected.into())
    }
}

impl tokio::io::AsyncRead for Counted {
    fn poll_read(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let read = std::pin::Pin::new(self.stream()?).poll_read(cx, buf);
        if matches!(read, std::task::Poll::Ready(Ok(()))) && buf.filled().len() == before && buf.remaining() > 0 {
            self.read_eof = true;
        }
        read
    }
}

impl tokio::io::AsyncWrite for Counted {
    fn poll_write(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(self.stream()?).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        std::pin::Pin::new(self.stream()?).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.open.as_ref().is_some_and(|open| open.stream.is_write_vectored())
    }

    fn poll_flush(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(self.stream()?).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::pin::Pin::new(self.stream()?).poll_shutdown(cx)
    }
}

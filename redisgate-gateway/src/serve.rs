//! Serving until shutdown, over plain TCP or TLS, and the signals that start the shutdown.
//!
//! Each connection is admitted at accept, before any TLS handshake, against
//! [`ServerLimits::max_connections`] and [`ServerLimits::max_connections_per_address`]
//! ([`crate::connections`], shared by the workers of a process): beyond them it is closed at once, so a flood of idle connections can
//! neither exhaust the file descriptors nor crowd out other clients. Headers must arrive within
//! [`ServerLimits::header_timeout`]; a connection idle for [`ServerLimits::idle_timeout`], or whose write
//! waits [`ServerLimits::write_timeout`] for the client, is closed ([`crate::client_socket`]). hyper serves
//! HTTP/1 and HTTP/2 (by ALPN or preface), at most [`ServerLimits::max_streams_per_connection`] requests at
//! once on one HTTP/2 connection; on shutdown the loop stops accepting, SSE streams end and in-flight
//! requests finish.

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

use crate::client_socket::{ClientSocket, Timeouts};
use crate::coarse_timer::CoarseTimer;
use crate::connections::{Connections, Refusal};
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
    // hyper arms the header deadline for every request: a coarse timer of this loop's own keeps it cheap.
    let tick = (state.limits.header_timeout / 4).clamp(Duration::from_millis(10), Duration::from_millis(250));
    builder.http1().timer(CoarseTimer::start(tick)).header_read_timeout(state.limits.header_timeout);
    // A few concurrent streams per HTTP/2 connection, so that the connection caps bound the requests in
    // progress (hyper's default is 200 per connection). Idle connections are closed by their socket.
    builder.http2().timer(TokioTimer::new()).max_concurrent_streams(state.limits.max_streams_per_connection);
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
    handshaken: mpsc::Receiver<(TlsStream<ClientSocket>, SocketAddr)>,
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
    type Io = TlsStream<ClientSocket>;
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
/// JSON replies must not wait), and gives each its socket's timeouts and place in the metrics
/// ([`ClientSocket`]).
struct CountingListener {
    listener: TcpListener,
    metrics: Arc<Metrics>,
    connections: Arc<Connections>,
    limits: ServerLimits,
}

impl axum::serve::Listener for CountingListener {
    type Io = ClientSocket;
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
                    let timeouts = Timeouts { idle: self.limits.idle_timeout, write: self.limits.write_timeout };
                    return (ClientSocket::new(stream, self.metrics.connection(), admitted, timeouts), address);
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

//! Serving until shutdown, over plain TCP or TLS: the accept loop. The listeners it takes connections
//! from are in [`listeners`], the first-byte deadline in [`first_byte`], the shutdown signals in [`signals`].
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

mod first_byte;
mod listeners;
mod per_connection;
mod signals;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::response::Response;
use axum::serve::Listener;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::client_socket::HasInFlight;
use crate::coarse_timer::CoarseTimer;
use crate::{routes, AppState};

use first_byte::FirstByte;
use listeners::{CountingListener, TlsListener};
use per_connection::PerConnection;
pub use signals::shutdown_signal;

/// What [`serve_router`] serves: an axum `Router`, or any service like one (always ready, never failing).
pub trait App:
    tower::Service<Request, Response = Response, Error = Infallible, Future: Send + 'static> + Clone + Send + Sync + 'static
{
}

impl<S> App for S where
    S: tower::Service<Request, Response = Response, Error = Infallible, Future: Send + 'static>
        + Clone
        + Send
        + Sync
        + 'static
{
}

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
    serve_router(listener, routes::service(state.clone()), &state, shutdown).await
}

/// As [`serve`], for an app already built over `state` (platform mode: `redisgate_platform`'s router):
/// the state's shutdown token is cancelled when `shutdown` resolves, its metrics count the connections, and
/// with [`AppState::tls`] the listener speaks HTTPS.
///
/// # Errors
/// I/O errors of the listener.
pub async fn serve_router<S>(
    listener: TcpListener,
    app: S,
    state: &AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    S: App,
{
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
async fn run<L, S>(
    mut listener: L,
    app: S,
    state: &AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    S: App,
    L: Listener<Addr = SocketAddr>,
    L::Io: HasInFlight,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // hyper arms the header deadline for every request: a coarse timer of this loop's own keeps it cheap.
    let tick = (state.limits.header_timeout / 4).clamp(Duration::from_millis(10), Duration::from_millis(250));
    let timer = CoarseTimer::start(tick);
    // The upstreams' response timeouts on this thread use it too.
    timer.serve_this_thread();
    builder.http1().timer(timer).header_read_timeout(state.limits.header_timeout);
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
        let service = TowerToHyperService::new(PerConnection { app: app.clone(), address, in_flight: io.in_flight() });
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

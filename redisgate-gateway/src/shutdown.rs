//! Serving until shutdown, and the signals that start it.

use std::future::Future;
use std::sync::Arc;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;

use crate::{router, AppState};

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
    let token = Arc::clone(&state.shutdown);
    serve_router(listener, router(state), token, shutdown).await
}

/// As [`serve`], for a router already built (platform mode: [`crate::routes::platform_router`]); `token`
/// is the state's shutdown token, cancelled when `shutdown` resolves.
///
/// # Errors
/// I/O errors of the listener.
pub async fn serve_router(
    listener: TcpListener,
    app: axum::Router,
    token: Arc<tokio_util::sync::CancellationToken>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = listener.tap_io(|tcp| {
        // Small JSON replies must not wait for Nagle's algorithm.
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            token.cancel();
        })
        .await
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

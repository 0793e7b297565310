//! The shared application state: the instance directory and the limits, cheap to clone.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::directory::Directory;

/// Limits of the server, applied to every request (each instance and key may set stricter ones).
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// Largest accepted request body in bytes (Upstash's default is 10 MiB).
    pub max_body_bytes: usize,
    /// Interval of `: keepalive` comments on SSE streams.
    pub sse_keepalive: Duration,
    /// How long a client may take to send its request body (a stalled upload is a 408, not a held socket).
    pub body_timeout: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 10 * 1024 * 1024,
            sse_keepalive: Duration::from_secs(15),
            body_timeout: Duration::from_secs(30),
        }
    }
}

/// Everything a handler needs.
#[derive(Clone)]
pub struct AppState {
    /// Resolves a request to an instance.
    pub directory: Arc<dyn Directory>,
    /// Request limits.
    pub limits: ServerLimits,
    /// Cancelled when the server shuts down, so that endless SSE streams end and the drain can finish.
    /// (Behind an `Arc`: axum clones the state for every request, and cloning a token takes a lock.)
    pub shutdown: Arc<CancellationToken>,
}

impl AppState {
    /// State over a directory with default limits.
    pub fn new(directory: Arc<dyn Directory>) -> Self {
        Self { directory, limits: ServerLimits::default(), shutdown: Arc::new(CancellationToken::new()) }
    }

    /// Uses `token` as the shutdown signal (several servers can share one).
    #[must_use]
    pub fn with_shutdown(mut self, token: CancellationToken) -> Self {
        self.shutdown = Arc::new(token);
        self
    }

    /// Replaces the limits.
    #[must_use]
    pub fn with_limits(mut self, limits: ServerLimits) -> Self {
        self.limits = limits;
        self
    }
}

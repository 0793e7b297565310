//! The shared application state: the instance directory and the limits, cheap to clone.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::directory::Directory;
use crate::scripts::ScriptAliases;

/// Limits applied to every request.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest accepted request body in bytes (Upstash's default is 10 MiB).
    pub max_body_bytes: usize,
    /// Interval of `: keepalive` comments on SSE streams.
    pub sse_keepalive: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body_bytes: 10 * 1024 * 1024,
            sse_keepalive: Duration::from_secs(15),
        }
    }
}

/// Everything a handler needs.
#[derive(Clone)]
pub struct AppState {
    /// Resolves a request to an instance.
    pub directory: Arc<dyn Directory>,
    /// Request limits.
    pub limits: Limits,
    /// Script SHA aliases of the Upstash emulations.
    pub(crate) scripts: Arc<ScriptAliases>,
    /// Cancelled when the server shuts down, so that endless SSE streams end and the drain can finish.
    pub shutdown: CancellationToken,
}

impl AppState {
    /// State over a directory with default limits.
    pub fn new(directory: Arc<dyn Directory>) -> Self {
        Self {
            directory,
            limits: Limits::default(),
            scripts: Arc::default(),
            shutdown: CancellationToken::new(),
        }
    }

    /// Replaces the limits.
    #[must_use]
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }
}

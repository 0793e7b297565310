//! The shared application state: the instance directory, the limits, and what every worker of a process
//! shares (metrics, script aliases). Cheap to clone.

use std::sync::Arc;
use std::time::Duration;

use redisgate_core::protocol::compat::ScriptAliases;
use tokio_util::sync::CancellationToken;

use crate::connections::Connections;
use crate::directory::Directory;
use crate::metrics::Metrics;
use crate::replies::ReplyBytes;

/// Limits of the server, applied to every request (each instance and key may set stricter ones).
#[derive(Debug, Clone)]
pub struct ServerLimits {
    /// Largest accepted request body in bytes (Upstash's default is 10 MiB).
    pub max_body_bytes: usize,
    /// Interval of `: keepalive` comments on SSE streams.
    pub sse_keepalive: Duration,
    /// How long a client may take to send its request body (a stalled upload is a 408, not a held socket).
    pub body_timeout: Duration,
    /// How long a client may take to send a request's headers (HTTP/1; an idle keep-alive connection waits
    /// as long for its next request): a connection that trickles them is closed.
    pub header_timeout: Duration,
    /// Most client connections open at once (TLS handshakes included); beyond, new ones are closed at once.
    /// Default: the file-descriptor limit less a reserve for Redis, PostgreSQL and files.
    pub max_connections: usize,
    /// Most connections open at once from one IP address (0: no such limit). Behind a proxy every client
    /// shares the proxy's address: raise or disable it there.
    pub max_connections_per_address: usize,
    /// Largest answer to one request, in bytes as sent (each instance may set a smaller one); a larger one
    /// fails that request with a 400 `ERR max response size exceeded`.
    pub max_response_bytes: usize,
    /// Most bytes of replies the process holds at once, built or being written; beyond, requests answer
    /// 503 with `Retry-After: 1`. At least [`ServerLimits::max_response_bytes`].
    pub max_reply_bytes_in_flight: usize,
    /// A connection with no byte read or written for this long is closed (idle keep-alive connections
    /// included). Longer than [`ServerLimits::sse_keepalive`], which keeps open streams busy.
    pub idle_timeout: Duration,
    /// A connection whose write waits this long for the client to read is closed.
    pub write_timeout: Duration,
    /// Most requests in progress on one HTTP/2 connection (its concurrent streams).
    pub max_streams_per_connection: u32,
    /// The record size of instances whose limits set none: the largest value a command may write or grow
    /// (SETRANGE, SETBIT and BITFIELD offsets included); `None`: no such default.
    pub max_record_bytes: Option<std::num::NonZeroU64>,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 10 * 1024 * 1024,
            sse_keepalive: Duration::from_secs(15),
            body_timeout: Duration::from_secs(30),
            header_timeout: Duration::from_secs(10),
            max_connections: default_max_connections(),
            max_connections_per_address: 512,
            max_response_bytes: redisgate_core::limits::DEFAULT_MAX_RESPONSE_BYTES,
            max_reply_bytes_in_flight: 128 * 1024 * 1024,
            idle_timeout: Duration::from_secs(60),
            write_timeout: Duration::from_secs(30),
            max_streams_per_connection: 32,
            max_record_bytes: std::num::NonZeroU64::new(100 * 1024 * 1024),
        }
    }
}

/// File descriptors kept for what is not a client connection: Redis and PostgreSQL connections, pub/sub
/// and MONITOR connections, files, the admin listener.
const RESERVED_FDS: u64 = 256;

/// The open-file limit less [`RESERVED_FDS`] (at least 64).
fn default_max_connections() -> usize {
    let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile).current.unwrap_or(u64::MAX);
    usize::try_from(soft.saturating_sub(RESERVED_FDS).max(64)).unwrap_or(usize::MAX)
}

/// What the workers of one process share, so a counter or a script alias holds for the whole process
/// whatever runtime serves a request. Create one per process and give it to every worker's [`AppState`].
#[derive(Debug, Clone, Default)]
pub struct Shared {
    /// The metrics registry (served by [`crate::admin_router`]).
    pub metrics: Arc<Metrics>,
    /// Script aliases of the `allow-key-locking` emulation.
    pub scripts: Arc<ScriptAliases>,
    /// The client connections open (the limits hold for the process, not per worker).
    pub connections: Arc<Connections>,
    /// The bytes of replies held (the budget holds for the process).
    pub replies: Arc<ReplyBytes>,
}

/// Everything a handler needs, read through it as `state.limits`, `state.metrics`… Cheap to clone, which
/// axum does for every request: one reference count, however many parts the state has.
#[derive(Clone)]
pub struct AppState(Arc<StateParts>);

/// The parts of an [`AppState`].
#[derive(Clone)]
pub struct StateParts {
    /// Resolves a request to an instance.
    pub directory: Arc<dyn Directory>,
    /// Request limits.
    pub limits: ServerLimits,
    /// Cancelled when the server shuts down, so that endless SSE streams end and the drain can finish.
    /// (Behind an `Arc`: cloning a token takes a lock.)
    pub shutdown: Arc<CancellationToken>,
    /// The process's metrics (every worker records into the same registry).
    pub metrics: Arc<Metrics>,
    /// Script aliases of the `allow-key-locking` emulation (shared like the metrics).
    pub scripts: Arc<ScriptAliases>,
    /// Open client connections, against the connection limits (shared like the metrics).
    pub connections: Arc<Connections>,
    /// The bytes of replies held, against [`ServerLimits::max_reply_bytes_in_flight`] (shared like the
    /// metrics).
    pub replies: Arc<ReplyBytes>,
    /// HTTPS: the listener's TLS configuration (`None`: plain HTTP). See [`crate::tls::server_config`].
    pub tls: Option<Arc<rustls::ServerConfig>>,
}

impl std::ops::Deref for AppState {
    type Target = StateParts;

    fn deref(&self) -> &StateParts {
        &self.0
    }
}

impl AppState {
    /// State over a directory with default limits, its own metrics and script aliases.
    pub fn new(directory: Arc<dyn Directory>) -> Self {
        Self(Arc::new(StateParts {
            directory,
            limits: ServerLimits::default(),
            shutdown: Arc::new(CancellationToken::new()),
            metrics: Arc::default(),
            scripts: Arc::default(),
            connections: Arc::default(),
            replies: Arc::default(),
            tls: None,
        }))
    }

    /// The parts, to change while the state is being built (copied first if it is already shared).
    fn parts(&mut self) -> &mut StateParts {
        Arc::make_mut(&mut self.0)
    }

    /// Serves HTTPS with `config` (from [`crate::tls::server_config`]); `None` serves plain HTTP.
    #[must_use]
    pub fn with_tls(mut self, config: impl Into<Option<Arc<rustls::ServerConfig>>>) -> Self {
        self.parts().tls = config.into();
        self
    }

    /// Records into `shared`'s metrics and uses its script aliases (the workers of one process share them).
    #[must_use]
    pub fn with_shared(mut self, shared: &Shared) -> Self {
        let parts = self.parts();
        parts.metrics = Arc::clone(&shared.metrics);
        parts.scripts = Arc::clone(&shared.scripts);
        parts.connections = Arc::clone(&shared.connections);
        parts.replies = Arc::clone(&shared.replies);
        self
    }

    /// Uses `token` as the shutdown signal (several servers can share one).
    #[must_use]
    pub fn with_shutdown(mut self, token: CancellationToken) -> Self {
        self.parts().shutdown = Arc::new(token);
        self
    }

    /// Replaces the limits.
    #[must_use]
    pub fn with_limits(mut self, limits: ServerLimits) -> Self {
        self.parts().limits = limits;
        self
    }
}

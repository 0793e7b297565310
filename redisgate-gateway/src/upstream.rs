//! The connection to one Redis.
//!
//! Ordinary commands, pipelines and transactions share one multiplexed connection (redis-rs's
//! `ConnectionManager`): many concurrent HTTP requests are written to Redis in batches on one socket, and a
//! broken connection is replaced in the background. A `/multi-exec` transaction is safe on the shared
//! connection because MULTI, its commands and EXEC are written as one contiguous block and Redis runs a
//! connection's commands in order; WATCH (which would need a connection of its own) is not offered.
//! Subscriptions share one pub/sub connection per instance ([`crate::fanout`]); MONITOR takes over a
//! connection, so each `/monitor` stream opens a dedicated one. A reply that finds the connection broken
//! becomes an `ApiError` the metrics count (`redisgate_upstream_reconnects`).

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig, Monitor};
use redis::{Client, Pipeline, RedisResult, Value};
use redisgate_core::protocol::Command;
use tracing::Instrument as _;

use crate::fanout::{Hub, Topic};
use crate::tls::{tls_problem, RedisTls};

/// Timeouts and TLS certificates for one upstream.
#[derive(Debug, Clone)]
pub struct UpstreamOptions {
    /// How long to wait for a TCP connection (and its handshake) to Redis.
    pub connect_timeout: Duration,
    /// How long to wait for a reply before answering 504.
    pub response_timeout: Duration,
    /// For `rediss://` URLs: a private CA and a client certificate (default: the system's roots, none).
    pub tls: RedisTls,
}

impl Default for UpstreamOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(1),
            response_timeout: Duration::from_secs(10),
            tls: RedisTls::default(),
        }
    }
}

/// A Redis server reached through a shared multiplexed connection.
#[derive(Clone)]
pub struct Upstream {
    name: Arc<str>,
    client: Client,
    shared: ConnectionManager,
    hub: Arc<Hub>,
    /// The last TLS failure logged, so a broken handshake is logged once, not once per request.
    tls_logged: Arc<std::sync::Mutex<Option<String>>>,
    /// Whether `tls_logged` holds a failure (read without the lock on every reply).
    tls_failing: Arc<std::sync::atomic::AtomicBool>,
}

impl Upstream {
    /// Prepares a connection to `url` without connecting: the first request connects, so the gateway
    /// starts (and answers 502) even while Redis is down.
    ///
    /// # Errors
    /// When `url` is not a valid Redis URL.
    pub fn new(name: &str, url: &str, options: UpstreamOptions) -> RedisResult<Self> {
        let client = if url.starts_with("rediss://") && !options.tls.is_default() {
            Client::build_with_tls(url, options.tls.certificates())?
        } else {
            Client::open(url)?
        };
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(options.connect_timeout))
            .set_response_timeout(Some(options.response_timeout))
            // Fail fast while Redis is down; the next request triggers the next attempt.
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(20))
            .set_max_delay(Duration::from_millis(100));
        let shared = ConnectionManager::new_lazy_with_config(client.clone(), config)?;
        let hub = Arc::new(Hub::new(client.clone()));
        Ok(Self { name: Arc::from(name), hub, client, shared, tls_logged: Arc::default(), tls_failing: Arc::default() })
    }

    /// Logs a TLS failure the first time it happens (and again when it changes or after a success).
    fn checked<T>(&self, result: RedisResult<T>) -> RedisResult<T> {
        use std::sync::atomic::Ordering::Relaxed;
        if result.is_ok() && !self.tls_failing.load(Relaxed) {
            return result;
        }
        let problem = result.as_ref().err().and_then(tls_problem);
        self.tls_failing.store(problem.is_some(), Relaxed);
        let mut logged = self.tls_logged.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if problem.is_some() && *logged != problem {
            tracing::error!(instance = %self.name, problem = problem.as_deref().unwrap_or_default(), "TLS to Redis failed");
        }
        if problem.is_some() || result.is_ok() {
            *logged = problem;
        }
        result
    }

    /// Runs one command. A Redis error reply comes back as `Ok(Value::ServerError)`.
    ///
    /// # Errors
    /// Connection failures and timeouts.
    pub async fn run(&self, command: &Command) -> RedisResult<Value> {
        let span = tracing::debug_span!("redis", instance = %self.name, command = %command.name_str());
        self.checked(self.shared.clone().send_packed_command(&command.to_cmd()).instrument(span).await)
    }

    /// Runs commands in order, not atomically; each reply (or error reply) in place.
    ///
    /// # Errors
    /// Connection failures and timeouts.
    pub async fn pipeline(&self, commands: &[Command]) -> RedisResult<Vec<Value>> {
        let mut pipe = Pipeline::with_capacity(commands.len());
        for command in commands {
            pipe.add_command(command.to_cmd());
        }
        let span = tracing::debug_span!("redis", instance = %self.name, pipeline = commands.len());
        self.checked(self.shared.clone().send_packed_commands(&pipe, 0, commands.len()).instrument(span).await)
    }

    /// Runs commands as one MULTI/EXEC transaction; per-command runtime errors are in place.
    ///
    /// # Errors
    /// A transaction Redis refused as a whole (EXECABORT) is an `Err` carrying the first queued error;
    /// connection failures and timeouts.
    pub async fn transaction(&self, commands: &[Command]) -> RedisResult<Vec<Value>> {
        let mut pipe = Pipeline::with_capacity(commands.len());
        pipe.atomic();
        for command in commands {
            pipe.add_command(command.to_cmd());
        }
        let span = tracing::debug_span!("redis", instance = %self.name, transaction = commands.len());
        let sent = self.shared.clone().send_packed_commands(&pipe, commands.len() + 1, 1).instrument(span).await;
        let mut replies = self.checked(sent)?;
        match replies.pop() {
            Some(Value::Array(results)) => Ok(results),
            Some(Value::ServerError(e)) => Err(e.into()),
            other => {
                Err(redis::RedisError::from((redis::ErrorKind::Client, "unexpected EXEC reply", format!("{other:?}"))))
            }
        }
    }

    /// Joins a channel or pattern on the instance's shared pub/sub connection; the stream yields rendered
    /// SSE events.
    ///
    /// # Errors
    /// Connecting or subscribing failed.
    pub async fn subscribe(
        &self,
        topic: Topic,
    ) -> RedisResult<impl futures_util::Stream<Item = bytes::Bytes> + Send + 'static> {
        self.hub.subscribe(topic).await
    }

    /// A dedicated connection in MONITOR mode.
    ///
    /// # Errors
    /// Connection failures.
    pub async fn monitor(&self) -> RedisResult<Monitor> {
        self.client.get_async_monitor().await
    }
}

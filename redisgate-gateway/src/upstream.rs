//! The connection to one Redis: a fixed server, the master Sentinel names ([`crate::sentinel`]), or a Redis
//! Cluster ([`cluster`]).
//!
//! Ordinary commands, pipelines and transactions share one pipelined connection ([`link`]): many concurrent
//! HTTP requests are written to Redis in batches on one socket, and a broken connection is replaced by the
//! next request. A `/multi-exec` transaction is safe on the shared
//! connection because MULTI, its commands and EXEC are written as one contiguous block and Redis runs a
//! connection's commands in order; WATCH (which would need a connection of its own) is not offered.
//! Subscriptions share one pub/sub connection per instance, and `/monitor` streams one MONITOR connection
//! ([`crate::fanout`]). A request that gets no reply fails with an [`UpstreamError`], classified once here;
//! one that found the connection broken is counted by the metrics (`redisgate_upstream_reconnects`).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwapOption;
use redis::{Client, RedisError, RedisResult, Value};
use redisgate_core::protocol::Command;
use tracing::Instrument as _;

use crate::fanout::{Hub, Topic};
use crate::sentinel::{self, Resolver, SentinelUrl};
use crate::tls::RedisTls;

mod cluster;
mod deadline;
mod dial;
mod error;
mod link;
mod resp;

use cluster::Cluster;
use deadline::Deadline;
use dial::Target;
use link::Link;

pub use error::UpstreamError;

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

/// A Redis server reached through a shared multiplexed connection: one fixed server, or the master a set of
/// Sentinels names ([`crate::sentinel`]), followed across failovers; or a Redis Cluster ([`cluster`]).
#[derive(Clone)]
pub struct Upstream {
    name: Arc<str>,
    /// For a Redis Cluster: the cluster, and no `node` nor `sentinel`.
    cluster: Option<Arc<Cluster>>,
    /// The server requests go to now (`None` until a Sentinel-managed master is first found).
    node: Arc<ArcSwapOption<Node>>,
    /// For a Sentinel-managed master: who to ask where it is.
    sentinel: Option<Arc<Resolver>>,
    options: Arc<UpstreamOptions>,
    /// The last TLS failure logged, so a broken handshake is logged once, not once per request.
    tls_logged: Arc<std::sync::Mutex<Option<String>>>,
    /// Whether `tls_logged` holds a failure (read without the lock on every reply).
    tls_failing: Arc<std::sync::atomic::AtomicBool>,
    /// When the last script was stopped (see [`Upstream::stop_long_script`]).
    last_kill: Arc<std::sync::Mutex<Option<std::time::Instant>>>,
}

/// One server: its client (for dedicated connections), the shared connection and the pub/sub hub.
struct Node {
    client: Client,
    target: Arc<Target>,
    /// The shared connection, made on first use; one that failed, or whose reply timed out, is replaced
    /// ([`Node::link`], [`Node::replace`]).
    link: ArcSwapOption<Link>,
    /// Attempts to connect that failed in a row: how long the next failed one is waited out
    /// ([`Node::backoff`]).
    failed_attempts: AtomicU32,
    hub: Arc<Hub>,
}

impl Node {
    fn new(client: Client, options: &UpstreamOptions) -> RedisResult<Self> {
        let target = Target::new(client.get_connection_info(), &options.tls, options.connect_timeout)?;
        Ok(Self {
            hub: Arc::new(Hub::new(client.clone())),
            client,
            target: Arc::new(target),
            link: ArcSwapOption::empty(),
            failed_attempts: AtomicU32::new(0),
        })
    }

    /// The shared connection; a new one when there is none yet or it has failed. While Redis cannot be
    /// reached (or closes each connection before serving), a failed attempt to connect answers every request with
    /// its error until its back-off has passed ([`Node::backoff`]): a burst of requests makes one attempt,
    /// not one each.
    fn link(&self) -> Arc<Link> {
        let current = self.link.load_full();
        match current {
            Some(link) if !link.is_failed() => link,
            Some(link) if link.failed_unproven().is_some_and(|at| at.elapsed() < self.backoff()) => link,
            _ => self.replace(current.as_ref()),
        }
    }

    /// How long a failed attempt to connect is waited out: 50 ms, doubling with each failed attempt in a row,
    /// at most 1 s (what redis-rs's connection manager waited).
    fn backoff(&self) -> Duration {
        let doublings = self.failed_attempts.load(Ordering::Relaxed).min(5);
        (Duration::from_millis(50) * (1 << doublings)).min(Duration::from_secs(1))
    }

    /// Replaces the shared connection `used` by a new one, unless another request did already (then that
    /// one is returned): a server that stopped answering without closing the socket (a host gone, a network
    /// cut) is reached again on a new connection.
    fn replace(&self, used: Option<&Arc<Link>>) -> Arc<Link> {
        let fresh = Arc::new(Link::new(Arc::clone(&self.target)));
        let previous = self.link.compare_and_swap(&used.cloned(), Some(Arc::clone(&fresh)));
        match (&*previous, used) {
            (Some(other), Some(used)) if !Arc::ptr_eq(other, used) => Arc::clone(other),
            (Some(other), None) => Arc::clone(other),
            _ => {
                if used.is_some_and(|used| used.failed_unproven().is_some()) {
                    self.failed_attempts.fetch_add(1, Ordering::Relaxed);
                } else {
                    self.failed_attempts.store(0, Ordering::Relaxed);
                }
                fresh
            }
        }
    }
}

/// The error of a reply that did not come within the response timeout (what redis-rs's own timeout gives).
fn timed_out() -> RedisError {
    RedisError::from(std::io::Error::from(std::io::ErrorKind::TimedOut))
}

/// What a connection is made for: the URL, and the instance's own TLS material if any.
pub type Made = (String, Option<redisgate_core::provisioning::ClientTls>);

impl Upstream {
    /// A directory's reload: the connection `previous` made for the same `url` and TLS material (the pair a
    /// snapshot keeps), else a new one, as [`Upstream::new`] (with `tls`, when the instance has its own).
    ///
    /// # Errors
    /// When a new `url` is not a valid Redis URL.
    pub fn kept_or_new(
        previous: Option<&(Made, Self)>,
        name: &str,
        made: &Made,
        options: &UpstreamOptions,
    ) -> RedisResult<Self> {
        match previous {
            Some((made_for, upstream)) if made_for == made => Ok(upstream.clone()),
            _ => {
                let mut options = options.clone();
                if let Some(tls) = &made.1 {
                    options.tls = RedisTls::of_instance(tls);
                }
                Self::new(name, &made.0, options)
            }
        }
    }

    /// Prepares a connection to `url` without connecting: the first request connects, so the gateway
    /// starts (and answers 502) even while Redis is down. `redis://` and `rediss://` name one server,
    /// `redis+sentinel://…/<master>` (or `rediss+sentinel://`, over TLS) a master that Sentinel manages.
    ///
    /// # Errors
    /// When `url` is not a valid Redis URL.
    pub fn new(name: &str, url: &str, options: UpstreamOptions) -> RedisResult<Self> {
        let (mut node, mut sentinel, mut cluster) = (None, None, None);
        if sentinel::is_sentinel_url(url) {
            sentinel = Some(Arc::new(SentinelUrl::parse(url)?.resolver(&options.tls)?));
        } else if cluster::is_cluster_url(url) {
            cluster = Some(Arc::new(Cluster::new(url, &options)?));
        } else {
            node = Some(Arc::new(Node::new(client(url, &options)?, &options)?));
        }
        Ok(Self {
            name: Arc::from(name),
            cluster,
            node: Arc::new(ArcSwapOption::new(node)),
            sentinel,
            options: Arc::new(options),
            tls_logged: Arc::default(),
            tls_failing: Arc::default(),
            last_kill: Arc::default(),
        })
    }

    /// Checks `url` and the certificates as [`Upstream::new`] reads them, without preparing a connection.
    ///
    /// # Errors
    /// When `url` is not a valid Redis URL, or redis-rs refuses the certificates.
    pub fn check(url: &str, options: &UpstreamOptions) -> RedisResult<()> {
        if sentinel::is_sentinel_url(url) {
            SentinelUrl::parse(url)?.resolver(&options.tls).map(drop)
        } else if cluster::is_cluster_url(url) {
            Cluster::check(url, options)
        } else {
            Target::new(client(url, options)?.get_connection_info(), &options.tls, options.connect_timeout).map(drop)
        }
    }

    /// The server to send to: the fixed one, or the master the sentinels name (asked on first use).
    async fn node(&self) -> Result<Arc<Node>, UpstreamError> {
        if let Some(node) = self.node.load_full() {
            return Ok(node);
        }
        // Boxed: asking the sentinels is a large future, awaited once; every request's future stays small.
        Box::pin(self.find_master(None)).await
    }

    /// Asks the sentinels for the master, unless another request did since `failed` stopped answering;
    /// replaces the node when the master moved.
    async fn find_master(&self, failed: Option<&Arc<Node>>) -> Result<Arc<Node>, UpstreamError> {
        let Some(resolver) = &self.sentinel else {
            return self.node.load_full().ok_or_else(|| UpstreamError::FailingOver("no server".to_owned()));
        };
        let current = self.node.load_full();
        if let Some(current) = &current {
            if failed.is_none_or(|failed| !Arc::ptr_eq(failed, current)) {
                return Ok(Arc::clone(current));
            }
        }
        let client = resolver.master(self.options.connect_timeout).await?;
        // Another request may have found it while this one waited for the resolver.
        let now = self.node.load_full();
        if let Some(now) = now.filter(|now| current.as_ref().is_none_or(|c| !Arc::ptr_eq(c, now))) {
            return Ok(now);
        }
        if let Some(current) =
            current.filter(|c| c.client.get_connection_info().addr() == client.get_connection_info().addr())
        {
            return Ok(current);
        }
        tracing::warn!(instance = %self.name, master = %client.get_connection_info().addr(), "following the master the sentinels name");
        let node = Arc::new(Node::new(client, &self.options)?);
        if let Some(old) = self.node.swap(Some(Arc::clone(&node))) {
            // Streams on the old master end with an error event instead of going quiet.
            tokio::spawn(async move { old.hub.moved().await });
        }
        Ok(node)
    }

    /// The outcome of a request to `node`, its failure classified once ([`UpstreamError`]): a TLS failure is
    /// logged once, and for a Sentinel-managed master that seems gone, the new one is looked for and the
    /// request answered as failing over (a transaction refused with READONLY keeps its refusal).
    fn finish<T, E: Into<UpstreamError>>(&self, node: &Arc<Node>, result: Result<T, E>) -> Result<T, UpstreamError> {
        let error = match result {
            Ok(value) => {
                if self.tls_failing.load(std::sync::atomic::Ordering::Relaxed) {
                    self.note_tls(None);
                }
                return Ok(value);
            }
            Err(error) => error.into(),
        };
        self.note_tls(Some(&error));
        if self.sentinel.is_none() || !error.lost_server() {
            return Err(error);
        }
        self.look_for_master(node);
        Err(match error {
            UpstreamError::Timeout(e) | UpstreamError::Closed(e) | UpstreamError::Unavailable(e) => {
                UpstreamError::FailingOver(e.to_string())
            }
            other => other,
        })
    }

    /// One look-up in the background, unless one runs or started less than [`sentinel::MIN_INTERVAL`] ago:
    /// a burst of failures during a failover costs one sentinel query per interval, not one per request.
    fn look_for_master(&self, node: &Arc<Node>) {
        let Some(resolver) = self.sentinel.as_ref().filter(|r| r.start_looking()) else {
            return;
        };
        let (this, node, resolver) = (self.clone(), Arc::clone(node), Arc::clone(resolver));
        tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            if let Err(e) = this.find_master(Some(&node)).await {
                tracing::debug!(instance = %this.name, error = %e, "no master yet");
            }
            tokio::time::sleep_until(started + sentinel::MIN_INTERVAL).await;
            resolver.done_looking();
        });
    }

    /// Logs a TLS failure the first time it happens (and again when it changes or after a success, which
    /// `failure` of `None` reports).
    fn note_tls(&self, failure: Option<&UpstreamError>) {
        use std::sync::atomic::Ordering::Relaxed;
        let problem = match failure {
            Some(UpstreamError::Tls(problem)) => Some(problem),
            _ => None,
        };
        if problem.is_none() && !self.tls_failing.load(Relaxed) {
            return;
        }
        self.tls_failing.store(problem.is_some(), Relaxed);
        let mut logged = self.tls_logged.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if problem.is_some() && logged.as_ref() != problem {
            tracing::error!(instance = %self.name, problem = problem.map(String::as_str).unwrap_or_default(), "TLS to Redis failed");
        }
        if problem.is_some() || failure.is_none() {
            *logged = problem.cloned();
        }
    }

    /// Runs one command, whose reply may weigh `limit` bytes (a response limit). A Redis error reply comes
    /// back as `Ok(Value::ServerError)`.
    ///
    /// # Errors
    /// Connection failures and timeouts; a READONLY reply from a Sentinel-managed master (it is a replica
    /// now) is [`UpstreamError::FailingOver`]; a reply heavier than `limit` is [`UpstreamError::TooLarge`].
    pub async fn run(&self, command: &Command, limit: usize) -> Result<Value, UpstreamError> {
        if let Some(cluster) = &self.cluster {
            return Box::pin(cluster.run(command)).await;
        }
        let node = self.node().await?;
        let span = tracing::debug_span!("redis", instance = %self.name, command = %command.name_str());
        let used = node.link();
        let reply = used.send(1, limit, |out| resp::write_command(out, command)).instrument(span);
        let reply = Deadline::new(reply, self.options.response_timeout)
            .stopping_scripts(SCRIPT_TIME_LIMIT, self.script_stop(&node, command.is_script()))
            .await;
        let reply = reply.map(|replies| replies.map(|mut one| one.pop().unwrap_or(Value::Nil)));
        let value = self.finish(&node, reply.unwrap_or_else(|| Self::too_late(&node, &used)))?;
        if is_busy(&value) {
            self.stop_long_script(&node);
        }
        if self.sentinel.is_some() && sentinel::is_readonly(&value) {
            self.look_for_master(&node);
            return Err(UpstreamError::FailingOver("the server answered READONLY: it is a replica now".to_owned()));
        }
        Ok(value)
    }

    /// The outcome of a request whose reply did not come in time; the shared connection `used` is replaced.
    fn too_late<T>(node: &Node, used: &Arc<Link>) -> Result<T, link::Failed> {
        node.replace(Some(used));
        Err(timed_out().into())
    }

    /// For a request that runs scripts (`scripted`): what stops them once they have run longer than
    /// [`SCRIPT_TIME_LIMIT`] ([`Upstream::stop_long_script`]); the reply (Redis's "killed" error) is awaited
    /// on.
    fn script_stop<'a>(&'a self, node: &'a Arc<Node>, scripted: bool) -> Option<Box<dyn FnOnce() + Send + 'a>> {
        scripted.then(|| Box::new(move || self.stop_long_script(node)) as Box<dyn FnOnce() + Send + 'a>)
    }

    /// Stops the script or function that keeps the instance busy (it ran past [`SCRIPT_TIME_LIMIT`], or Redis
    /// answered BUSY to a request of another connection): `SCRIPT KILL`, then `FUNCTION KILL`, on a
    /// connection of their own (the shared one waits behind the script), both allowed while Redis is busy.
    /// Redis handles them once the script has run for its `busy-reply-threshold` (1 s on the instances
    /// RedisGate provisions). At most once per [`KILL_INTERVAL`], in the background. A script that has
    /// already written cannot be killed (Redis refuses, to keep it atomic); it runs to its end.
    fn stop_long_script(&self, node: &Arc<Node>) {
        {
            let mut last = self.last_kill.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if last.is_some_and(|at| at.elapsed() < KILL_INTERVAL) {
                return;
            }
            *last = Some(std::time::Instant::now());
        }
        let (client, name, timeout) = (node.client.clone(), Arc::clone(&self.name), self.options.response_timeout);
        tokio::spawn(async move {
            let kill = async {
                let mut connection = client.get_multiplexed_async_connection().await?;
                for kind in ["SCRIPT", "FUNCTION"] {
                    let killed: RedisResult<Value> = redis::cmd(kind).arg("KILL").query_async(&mut connection).await;
                    if matches!(killed, Ok(Value::Okay)) {
                        tracing::warn!(instance = %name, kind, "stopped a script that kept the instance busy");
                        break;
                    }
                }
                Ok::<_, RedisError>(())
            };
            let _ = tokio::time::timeout(timeout, kill).await;
        });
    }

    /// Runs commands in order, not atomically; each reply (or error reply) in place. The replies may weigh
    /// `limit` bytes in all.
    ///
    /// # Errors
    /// Connection failures and timeouts; replies heavier than `limit` are [`UpstreamError::TooLarge`].
    pub async fn pipeline(&self, commands: &[Command], limit: usize) -> Result<Vec<Value>, UpstreamError> {
        if let Some(cluster) = &self.cluster {
            return Box::pin(cluster.pipeline(commands)).await;
        }
        let node = self.node().await?;
        let span = tracing::debug_span!("redis", instance = %self.name, pipeline = commands.len());
        let used = node.link();
        let replies = used
            .send(commands.len(), limit, |out| commands.iter().for_each(|command| resp::write_command(out, command)))
            .instrument(span);
        let scripted = commands.iter().any(Command::is_script);
        let replies = Deadline::new(replies, self.options.response_timeout)
            .stopping_scripts(SCRIPT_TIME_LIMIT, self.script_stop(&node, scripted))
            .await;
        let replies = self.finish(&node, replies.unwrap_or_else(|| Self::too_late(&node, &used)))?;
        // Replies stay in place (a READONLY among them included); a master that seems gone is looked for.
        if self.sentinel.is_some() && replies.iter().any(sentinel::is_readonly) {
            self.look_for_master(&node);
        }
        if replies.iter().any(is_busy) {
            self.stop_long_script(&node);
        }
        Ok(replies)
    }

    /// Runs commands as one MULTI/EXEC transaction; per-command runtime errors are in place. The replies
    /// may weigh `limit` bytes in all.
    ///
    /// # Errors
    /// A transaction Redis refused as a whole (EXECABORT) is [`UpstreamError::Refused`] with the first
    /// queued error; on a cluster, one whose keys span slots is [`UpstreamError::CrossSlot`]; connection
    /// failures and timeouts; replies heavier than `limit` are [`UpstreamError::TooLarge`].
    pub async fn transaction(&self, commands: &[Command], limit: usize) -> Result<Vec<Value>, UpstreamError> {
        if let Some(cluster) = &self.cluster {
            return Box::pin(cluster.transaction(commands)).await;
        }
        let node = self.node().await?;
        let span = tracing::debug_span!("redis", instance = %self.name, transaction = commands.len());
        let used = node.link();
        // MULTI's OK and each command's QUEUED weigh a few bytes that the answer does not carry.
        let limit = limit.saturating_add(8 * (commands.len() + 1));
        let sent = used
            .send(commands.len() + 2, limit, |out| {
                resp::write_args(out, &[b"MULTI"]);
                commands.iter().for_each(|command| resp::write_command(out, command));
                resp::write_args(out, &[b"EXEC"]);
            })
            .instrument(span);
        let scripted = commands.iter().any(Command::is_script);
        let sent = Deadline::new(sent, self.options.response_timeout)
            .stopping_scripts(SCRIPT_TIME_LIMIT, self.script_stop(&node, scripted))
            .await
            .unwrap_or_else(|| Self::too_late(&node, &used));
        // Refused as a whole: busy with a script (which is stopped), or queued on a replica, whose commands
        // were READONLY (the master is looked for).
        exec_reply(self.finish(&node, sent)?).inspect_err(|e| {
            if let UpstreamError::Refused(refusal) = e {
                match refusal.code() {
                    "BUSY" => self.stop_long_script(&node),
                    "READONLY" if self.sentinel.is_some() => self.look_for_master(&node),
                    _ => {}
                }
            }
        })
    }

    /// Joins a channel or pattern on the instance's shared pub/sub connection; the stream yields rendered
    /// SSE events.
    ///
    /// # Errors
    /// Connecting or subscribing failed.
    pub async fn subscribe(
        &self,
        topic: Topic,
    ) -> Result<impl futures_util::Stream<Item = bytes::Bytes> + Send + 'static, UpstreamError> {
        Ok(self.hub().await?.subscribe(topic).await?)
    }

    /// Joins the instance's shared MONITOR connection; the stream yields rendered SSE events.
    ///
    /// # Errors
    /// Connection failures.
    pub async fn monitor(
        &self,
    ) -> Result<impl futures_util::Stream<Item = bytes::Bytes> + Send + 'static, UpstreamError> {
        Ok(self.hub().await?.monitor().await?)
    }

    /// The pub/sub and MONITOR hub: the server's, or the first node's of a cluster.
    async fn hub(&self) -> Result<Arc<Hub>, UpstreamError> {
        match &self.cluster {
            Some(cluster) => Ok(Arc::clone(&cluster.hub)),
            None => Ok(Arc::clone(&self.node().await?.hub)),
        }
    }
}

/// The replies of a transaction sent as MULTI, its commands and EXEC: EXEC's, the commands' replies; or
/// when Redis refused the transaction as a whole, the first refusal (a queued command's error says what was
/// wrong better than EXECABORT).
fn exec_reply(mut replies: Vec<Value>) -> Result<Vec<Value>, UpstreamError> {
    match replies.pop() {
        Some(Value::Array(results)) => Ok(results),
        Some(Value::ServerError(aborted)) => {
            let first = replies.into_iter().find_map(|reply| match reply {
                Value::ServerError(refusal) => Some(refusal),
                _ => None,
            });
            Err(UpstreamError::Refused(first.unwrap_or(aborted)))
        }
        other => Err(UpstreamError::Unavailable(RedisError::from((
            redis::ErrorKind::Client,
            "unexpected EXEC reply",
            format!("{other:?}"),
        )))),
    }
}

/// The client of one fixed server: with the options' CA and client certificate for `rediss://`.
fn client(url: &str, options: &UpstreamOptions) -> RedisResult<Client> {
    if url.starts_with("rediss://") && !options.tls.is_default() {
        Client::build_with_tls(url, options.tls.certificates())
    } else {
        Client::open(url)
    }
}

/// How long a request's scripts may run before the gateway stops them: the `busy-reply-threshold` of the
/// instances RedisGate provisions.
const SCRIPT_TIME_LIMIT: Duration = Duration::from_millis(redisgate_core::provisioning::acl::SCRIPT_TIME_LIMIT_MS);

/// Least time between two attempts to stop a long script on one instance.
const KILL_INTERVAL: Duration = Duration::from_millis(100);

/// Whether Redis answered BUSY: a script or function has run past `busy-reply-threshold`.
fn is_busy(value: &Value) -> bool {
    matches!(value, Value::ServerError(e) if e.code() == "BUSY")
}

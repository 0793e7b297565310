//! The local provisioner's processes: start a `redis-server` (a data node or a Sentinel) and wait until it
//! says it is ready, keep it running, stop it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::memory_bound;
use super::BoxFuture;

/// How long a starting server may go without logging a line (while not loading its data) before it is
/// given up on.
const READY_TIMEOUT: Duration = Duration::from_secs(10);

/// What a data node logs once it serves.
pub const DATA_READY: &str = "Ready to accept connections";
/// What a Sentinel logs once it watches its master.
pub const SENTINEL_READY: &str = "+monitor master";

/// How to start one process: `binary conf args…`, ready once its log says `ready`.
#[derive(Debug, Clone)]
pub struct Launch {
    /// `redis-server`.
    pub binary: PathBuf,
    /// Its configuration file (re-read at every start: a resize changes it).
    pub conf: PathBuf,
    /// Arguments after the file (`--sentinel`, `--replicaof host port`).
    pub args: Vec<OsString>,
    /// The log line that says it is ready.
    pub ready: &'static str,
}

impl Launch {
    /// A data node running `conf`.
    #[must_use]
    pub fn data(binary: &Path, conf: PathBuf) -> Self {
        Self { binary: binary.to_owned(), conf, args: Vec::new(), ready: DATA_READY }
    }

    /// A Sentinel running `conf`.
    #[must_use]
    pub fn sentinel(binary: &Path, conf: PathBuf) -> Self {
        Self { binary: binary.to_owned(), conf, args: vec!["--sentinel".into()], ready: SENTINEL_READY }
    }

    /// Starting it again as it is, the way a supervisor restarts a process that needs nothing new.
    #[must_use]
    pub fn restart(&self) -> Restart {
        let launch = self.clone();
        Arc::new(move || {
            let launch = launch.clone();
            Box::pin(async move { launch.start(None).await })
        })
    }

    /// Starts it, bounds its memory ([`memory_bound`], when the file sets a `maxmemory`), and waits for its
    /// ready line; every log line after that goes to `log` (a Sentinel's events).
    ///
    /// # Errors
    /// It could not run, exited, or went quiet for [`READY_TIMEOUT`] before it was ready (it is killed).
    pub async fn start(&self, log: Option<LogSink>) -> Result<Child, String> {
        let max_memory =
            std::fs::read_to_string(&self.conf).map(|text| memory_bound::conf_max_memory(&text)).unwrap_or(0);
        let mut child = Command::new(&self.binary)
            .arg(&self.conf)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.binary.display()))?;
        if let Some(pid) = child.id().filter(|_| max_memory > 0) {
            if let Err(e) = memory_bound::limit(pid, max_memory) {
                tracing::warn!(error = %e, "the server's memory is bounded by its maxmemory only");
            }
        }
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        // Each log line must come within READY_TIMEOUT, except while the server says it is loading its data
        // (a large AOF or RDB can take minutes, and being killed for it would fail the instance for good).
        let ready = async {
            let mut last = String::new();
            loop {
                let next = lines.next_line();
                let line = if last.contains("Loading") {
                    next.await
                } else {
                    tokio::time::timeout(READY_TIMEOUT, next).await.map_err(|_| None)?
                };
                match line {
                    Ok(Some(line)) if line.contains(self.ready) => return Ok(()),
                    Ok(Some(line)) => last = line,
                    _ => return Err(Some(last)),
                }
            }
        }
        .await;
        match ready {
            Ok(()) => {
                // Keep draining its log so the server never blocks on a full pipe.
                tokio::spawn(async move {
                    while let Ok(Some(line)) = lines.next_line().await {
                        if let Some(log) = &log {
                            log(&line);
                        }
                    }
                });
                Ok(child)
            }
            Err(Some(last)) => {
                let _ = child.kill().await;
                Err(format!("redis-server exited before it was ready: {last}"))
            }
            Err(None) => {
                let _ = child.kill().await;
                Err(format!("redis-server logged nothing for {} s before it was ready", READY_TIMEOUT.as_secs()))
            }
        }
    }
}

/// Receives a process's log lines.
pub type LogSink = Arc<dyn Fn(&str) + Send + Sync>;

/// Starts a process again after it died (it may choose its arguments anew: a replica follows the current
/// master).
pub type Restart = Arc<dyn Fn() -> BoxFuture<'static, Result<Child, String>> + Send + Sync>;

/// One supervised process.
pub struct Supervised {
    /// The port it listens on.
    pub port: u16,
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Supervised {
    /// Keeps `child` running: `restart` brings it back whenever it dies.
    #[must_use]
    pub fn new(child: Child, port: u16, restart: Restart, id: Uuid) -> Self {
        let stop = CancellationToken::new();
        let task = tokio::spawn(supervise(child, restart, id, stop.clone()));
        Self { port, stop, task }
    }

    /// Stops it (SIGTERM: Redis flushes its AOF; SIGKILL after 5 s) and waits until it is gone.
    pub async fn stop(self) {
        self.stop.cancel();
        let _ = self.task.await;
    }
}

async fn supervise(mut child: Child, restart: Restart, id: Uuid, stop: CancellationToken) {
    let mut backoff = Duration::from_millis(100);
    loop {
        tokio::select! {
            () = stop.cancelled() => {
                terminate(&mut child).await;
                return;
            }
            status = child.wait() => {
                tracing::warn!(%id, ?status, "redis-server exited; restarting");
                loop {
                    tokio::select! {
                        () = stop.cancelled() => return,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    let started = tokio::select! {
                        () = stop.cancelled() => return,
                        started = restart() => started,
                    };
                    match started {
                        Ok(new) => {
                            child = new;
                            backoff = Duration::from_millis(100);
                            break;
                        }
                        Err(e) => {
                            tracing::warn!(%id, error = %e, "redis-server restart failed");
                            backoff = (backoff * 2).min(Duration::from_secs(5));
                        }
                    }
                }
            }
        }
    }
}

/// SIGTERM (Redis saves and exits), then SIGKILL after 5 s.
async fn terminate(child: &mut Child) {
    if let Some(pid) = child.id() {
        let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status().await;
        if tokio::time::timeout(Duration::from_secs(5), child.wait()).await.is_ok() {
            return;
        }
    }
    let _ = child.kill().await;
}

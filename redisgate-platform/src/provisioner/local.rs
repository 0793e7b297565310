//! The local provisioner: one supervised `redis-server` per instance, on a free loopback port (a replicated
//! instance's servers and Sentinels: [`replicated`]; a Redis Cluster's servers: [`cluster`]).
//!
//! Each instance gets `<state-dir>/instances/<id>/` holding its `redis.conf` (with the digests of its users'
//! passwords), `credentials.json` (mode 0600: the passwords of the gateway's and the admin user, see
//! [`redisgate_core::provisioning::acl`]), its append-only file and RDB snapshots. An instance made before
//! the users existed (a `requirepass` in its redis.conf) is migrated when it is adopted ([`previous`]): the old password
//! becomes the gateway user's, and a new admin password is generated. A supervisor task restarts the server if it
//! dies. On a platform restart [`LocalProvisioner::adopt`] starts the server again from its directory
//! (shutting down a server left running by a crashed platform first). All process work runs on the runtime
//! the provisioner was created on, whichever worker asks.
//!
//! With the state directory's CA ([`super::local_ca`]), instances can listen on TLS only: `port 0`,
//! `tls-port`, `tls-auth-clients yes`, a server certificate of their own; the gateway and the control plane
//! connect with the CA's client certificate. An instance keeps the way it was made (TLS or not) for life.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use redisgate_core::provisioning::{
    redis_conf, Credentials, Failover, InstanceSpec, Listen, Node, ProvisionError, Provisioned, Role, SnapshotSource,
};
use redisgate_gateway::tls::RedisTls;
use tokio::runtime::Handle;
use uuid::Uuid;

use super::local_ca::LocalCa;
use super::memory_bound;
use super::process::{Launch, Supervised};
use super::{BoxFuture, Endpoint, Provisioner, Target};
use crate::os::{create_private_dir, free_port, write_private};

mod cluster;
mod previous;
mod replicated;
mod restore;

use cluster::ClusterLayout;
use previous::Previous;
pub use previous::{admin_url, read_credentials, write_credentials, CREDENTIALS_FILE};
use replicated::Failovers;
pub use replicated::{node_admin_urls, Layout};

/// Supervised local `redis-server` processes.
#[derive(Clone)]
pub struct LocalProvisioner {
    inner: Arc<Inner>,
}

struct Inner {
    state_dir: PathBuf,
    redis_server: PathBuf,
    handle: Handle,
    running: Mutex<HashMap<Uuid, Running>>,
    tls: Option<Tls>,
    /// Masters the Sentinels of replicated instances moved.
    failovers: Arc<Failovers>,
}

/// TLS instances: the state directory's CA, the client certificate the control plane connects with, and
/// whether new instances are TLS-only.
struct Tls {
    ca: LocalCa,
    client: RedisTls,
    for_new: bool,
}

struct Running {
    endpoint: Endpoint,
    /// Its processes, in the order they started; stopped in the reverse order (a replicated instance's
    /// Sentinels first, so that stopping its master starts no failover).
    processes: Vec<Supervised>,
}

impl Running {
    async fn stop(self) {
        for process in self.processes.into_iter().rev() {
            process.stop().await;
        }
    }
}

impl LocalProvisioner {
    /// A provisioner keeping instances under `state_dir`, running `redis_server`; its processes are driven
    /// by the current runtime.
    ///
    /// # Errors
    /// When the state directory cannot be created.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub fn new(state_dir: &Path, redis_server: PathBuf) -> std::io::Result<Self> {
        Self::build(state_dir, redis_server, None)
    }

    /// As [`LocalProvisioner::new`], with the state directory's CA: instances made with TLS are adopted with
    /// it, and with `for_new` new instances listen on TLS only (`port 0`, `tls-auth-clients yes`).
    ///
    /// # Errors
    /// As [`LocalProvisioner::new`], or unreadable CA files.
    pub fn with_ca(state_dir: &Path, redis_server: PathBuf, ca: LocalCa, for_new: bool) -> std::io::Result<Self> {
        let client = ca.client_tls().map_err(std::io::Error::other)?;
        Self::build(state_dir, redis_server, Some(Tls { ca, client, for_new }))
    }

    fn build(state_dir: &Path, redis_server: PathBuf, tls: Option<Tls>) -> std::io::Result<Self> {
        create_private_dir(&state_dir.join("instances"))?;
        Ok(Self {
            inner: Arc::new(Inner {
                state_dir: state_dir.to_owned(),
                redis_server,
                handle: Handle::current(),
                running: Mutex::new(HashMap::new()),
                tls,
                failovers: Arc::default(),
            }),
        })
    }

    /// A client for `url` (`rediss://` ones with the CA and the client certificate).
    fn client(&self, url: &str) -> redis::RedisResult<redis::Client> {
        match &self.inner.tls {
            Some(tls) if url.starts_with("rediss://") => redis::Client::build_with_tls(url, tls.client.certificates()),
            _ => redis::Client::open(url),
        }
    }

    /// How an instance in `dir` listens on `port`: TLS when `tls` (a new server certificate each start).
    fn listen(&self, dir: &Path, port: u16, tls: bool) -> Provisioned<Listen> {
        match (&self.inner.tls, tls) {
            (_, false) => Ok(Listen::Plain(port)),
            (Some(config), true) => config.ca.listen(dir, port).map_err(invalid),
            (None, true) => {
                Err(invalid(format!("{} is a TLS instance but the state directory has no CA", dir.display())))
            }
        }
    }

    fn dir(&self, id: Uuid) -> PathBuf {
        self.inner.state_dir.join("instances").join(id.to_string())
    }

    /// Runs `work` on the provisioner's runtime and waits for it.
    fn on_runtime<T: Send + 'static>(
        &self,
        work: impl std::future::Future<Output = Provisioned<T>> + Send + 'static,
    ) -> BoxFuture<'_, Provisioned<T>> {
        let task = self.inner.handle.spawn(work);
        Box::pin(async move { task.await.map_err(|e| invalid(format!("provisioner task failed: {e}")))? })
    }
}

impl Provisioner for LocalProvisioner {
    fn create(&self, target: Target, spec: InstanceSpec) -> BoxFuture<'_, Provisioned<Endpoint>> {
        let (this, id) = (self.clone(), target.id);
        self.on_runtime(async move {
            let dir = this.dir(id);
            if dir.exists() {
                return Err(invalid(format!("instance directory {} already exists", dir.display())));
            }
            let tls = this.inner.tls.as_ref().is_some_and(|t| t.for_new);
            let result = if spec.topology.is_replicated() {
                this.create_replicated(id, &spec, tls).await
            } else if spec.topology.is_cluster() {
                this.create_cluster(id, &spec, tls).await
            } else {
                this.start(id, &spec, &Credentials::generate(), None, tls).await
            };
            if result.is_err() {
                // Leave nothing behind: no process (start() killed it) and no directory.
                let _ = tokio::fs::remove_dir_all(&dir).await;
            }
            result
        })
    }

    fn adopt(&self, target: Target, spec: InstanceSpec) -> BoxFuture<'_, Provisioned<Endpoint>> {
        let (this, id) = (self.clone(), target.id);
        self.on_runtime(async move {
            if let Some(running) = this.inner.running.lock().unwrap_or_else(PoisonError::into_inner).get(&id) {
                return Ok(running.endpoint.clone());
            }
            if spec.topology.is_replicated() {
                return this.adopt_replicated(id, &spec).await;
            }
            if spec.topology.is_cluster() {
                return this.adopt_cluster(id).await;
            }
            let previous =
                Previous::read(&this.dir(id)).map_err(|e| e.context(&format!("instance {id} cannot be adopted")))?;
            // A server left behind by a crashed platform still holds the port: ask it to save and exit.
            this.shutdown_orphan(&previous).await;
            this.start(id, &spec, &previous.credentials, Some(previous.port), previous.tls).await
        })
    }

    fn resize(&self, target: Target, spec: InstanceSpec) -> BoxFuture<'_, Provisioned<()>> {
        let (this, id) = (self.clone(), target.id);
        self.on_runtime(async move {
            if spec.topology.is_replicated() {
                return this.resize_replicated(id, &spec).await;
            }
            if let Some(layout) = ClusterLayout::read(&this.dir(id)) {
                return this.resize_cluster(id, &spec, &layout).await;
            }
            let dir = this.dir(id);
            let conf = dir.join("redis.conf");
            let previous = Previous::read(&dir).map_err(|e| e.context(&format!("instance {id} cannot be resized")))?;
            // The file first, so that a restart by the supervisor keeps the new size; then the live server,
            // over the admin user's connection (the gateway's user may not run CONFIG).
            let listen = this.listen(&dir, previous.port, previous.tls)?;
            write_private(
                &conf,
                redis_conf(&listen, &previous.credentials, spec.max_memory, &dir.to_string_lossy()).as_bytes(),
            )
            .map_err(|e| invalid(format!("cannot write {}: {e}", conf.display())))?;
            let url = previous.admin_url();
            let set = async {
                let client = this.client(&url)?;
                let mut redis = client.get_multiplexed_async_connection().await?;
                redis::cmd("CONFIG")
                    .arg("SET")
                    .arg("maxmemory")
                    .arg(spec.max_memory)
                    .query_async::<()>(&mut redis)
                    .await?;
                // The address-space bound follows the new size.
                let info: String = redis::cmd("INFO").arg("server").query_async(&mut redis).await?;
                let pid = redisgate_core::provisioning::info::process_id(&info);
                if let Some(Err(e)) = pid.map(|pid| memory_bound::limit(pid, spec.max_memory)) {
                    tracing::warn!(%id, error = %e, "the server's memory is bounded by its maxmemory only");
                }
                Ok::<_, redis::RedisError>(())
            };
            set.await.map_err(|e| {
                let message = format!("cannot set maxmemory: {e}");
                if e.is_io_error() || e.is_timeout() {
                    ProvisionError::Transient(message)
                } else {
                    invalid(message)
                }
            })
        })
    }

    fn delete(&self, target: Target) -> BoxFuture<'_, Provisioned<()>> {
        let (this, id) = (self.clone(), target.id);
        self.on_runtime(async move {
            let running = this.inner.running.lock().unwrap_or_else(PoisonError::into_inner).remove(&id);
            this.inner.failovers.forget(id);
            if let Some(running) = running {
                running.stop().await;
            } else if let Some(layout) = replicated::Layout::read(&this.dir(id)) {
                this.shutdown_replicated_orphans(id, &layout).await;
            } else if let Some(layout) = ClusterLayout::read(&this.dir(id)) {
                this.shutdown_cluster_orphans(id, &layout).await;
            } else if let Ok(previous) = Previous::read(&this.dir(id)) {
                this.shutdown_orphan(&previous).await;
            }
            match tokio::fs::remove_dir_all(this.dir(id)).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(invalid(format!("cannot remove the instance's data: {e}"))),
            }
        })
    }

    fn endpoint(&self, id: Uuid) -> Option<Endpoint> {
        self.inner.running.lock().unwrap_or_else(PoisonError::into_inner).get(&id).map(|r| r.endpoint.clone())
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        let this = self.clone();
        Box::pin(async move {
            let all: Vec<Running> =
                this.inner.running.lock().unwrap_or_else(PoisonError::into_inner).drain().map(|(_, r)| r).collect();
            for running in all {
                running.stop().await;
            }
        })
    }

    fn nodes(&self, target: Target) -> BoxFuture<'_, Provisioned<Vec<Node>>> {
        let (this, id) = (self.clone(), target.id);
        self.on_runtime(async move {
            if let Some(layout) = replicated::Layout::read(&this.dir(id)) {
                return Ok(this.replicated_nodes(id, &layout).await);
            }
            if let Some(layout) = ClusterLayout::read(&this.dir(id)) {
                return Ok(this.cluster_nodes(id, &layout).await);
            }
            let previous = Previous::read(&this.dir(id))?;
            let address = format!("127.0.0.1:{}", previous.port);
            let healthy = match this.client(&previous.admin_url()) {
                Ok(client) => replicated::ping(&client).await,
                Err(_) => false,
            };
            Ok(vec![Node { address, role: Role::Master, healthy, lag_bytes: None, shard: None, slots: Vec::new() }])
        })
    }

    fn next_failover(&self) -> BoxFuture<'_, Failover> {
        Box::pin(self.inner.failovers.next())
    }

    fn snapshot_source(&self, target: Target) -> BoxFuture<'_, Provisioned<SnapshotSource>> {
        let (this, id) = (self.clone(), target.id);
        self.on_runtime(async move { this.snapshot_source_of(id).await })
    }

    fn restore(&self, target: Target, _spec: InstanceSpec, rdb: PathBuf) -> BoxFuture<'_, Provisioned<u64>> {
        let (this, id) = (self.clone(), target.id);
        self.on_runtime(async move { this.restore_from(id, &rdb).await })
    }
}

impl LocalProvisioner {
    /// Writes the config, starts the server, waits until it is ready and hands it to a supervisor.
    async fn start(
        &self,
        id: Uuid,
        spec: &InstanceSpec,
        credentials: &Credentials,
        port: Option<u16>,
        tls: bool,
    ) -> Provisioned<Endpoint> {
        let dir = self.dir(id);
        write_credentials(&dir, credentials)?;
        let port = match port {
            Some(port) => port,
            None => free_port().map_err(|e| ProvisionError::Transient(format!("no free port: {e}")))?,
        };
        let conf = dir.join("redis.conf");
        let listen = self.listen(&dir, port, tls)?;
        write_private(&conf, redis_conf(&listen, credentials, spec.max_memory, &dir.to_string_lossy()).as_bytes())
            .map_err(|e| invalid(format!("cannot write {}: {e}", conf.display())))?;
        let launch = Launch::data(&self.inner.redis_server, conf);
        let child = launch.start(None).await.map_err(invalid)?;
        let address = format!("127.0.0.1:{port}");
        let endpoint = Endpoint { url: credentials.gateway_url_over(listen.scheme(), &address), address, tls: None };
        let processes = vec![Supervised::new(child, port, launch.restart(), id)];
        self.inner
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, Running { endpoint: endpoint.clone(), processes });
        tracing::info!(%id, address = %endpoint.address, tls, "redis-server running");
        Ok(endpoint)
    }

    /// Asks a server we no longer own (left by a crashed platform) to shut down, if one answers.
    async fn shutdown_orphan(&self, previous: &Previous) {
        let Ok(client) = self.client(&previous.admin_url()) else {
            return;
        };
        let connect = tokio::time::timeout(Duration::from_millis(500), client.get_multiplexed_async_connection());
        if let Ok(Ok(mut conn)) = connect.await {
            let _: redis::RedisResult<()> = redis::cmd("SHUTDOWN").query_async(&mut conn).await;
            // Wait until the port is free again.
            for _ in 0..50 {
                if tokio::net::TcpStream::connect(("127.0.0.1", previous.port)).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

fn invalid(message: impl Into<String>) -> ProvisionError {
    ProvisionError::Invalid(message.into())
}

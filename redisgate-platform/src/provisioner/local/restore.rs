//! Backups of local instances: which server a snapshot is read from, and a restore.
//!
//! A restore replaces a standalone instance's data whole or not at all:
//! 1. the file is checked first ([`crate::backup::rdb::check`]); a bad one is refused and nothing stops;
//! 2. the server stops (it saves its AOF), the file becomes its `dump.rdb`, and it starts again with
//!    `--appendonly no`, so that it loads that file rather than its AOF;
//! 3. `CONFIG SET appendonly yes` then writes a new AOF from the restored data. The old AOF stays the
//!    instance's data until that rewrite is committed: a server that dies or fails to load before then
//!    comes back (supervised, with its usual configuration) with its old data.
//!
//! The instance does not answer while its server restarts and loads (the gateway answers 503 meanwhile).
//!
//! A replicated instance is restored the same way on its current master, with its Sentinels and replicas
//! stopped; the replicas come back empty and copy the restored data from the master (a full sync), and the
//! Sentinels find the same master again. Cluster instances are refused before a provisioner is asked
//! (`crate::backup::supported`).

use std::path::Path;
use std::sync::PoisonError;
use std::time::Duration;

use redisgate_core::provisioning::{ClientTls, ProvisionError, Provisioned, SnapshotSource};
use redisgate_gateway::tls::RedisTls;
use uuid::Uuid;

use super::previous::Previous;
use super::replicated::{self, Layout};
use super::{invalid, LocalProvisioner};
use crate::backup::rdb;
use crate::provisioner::process::{Launch, Supervised};

/// How long the new AOF may take to be written after a restore.
const AOF_REWRITE_TIMEOUT: Duration = Duration::from_secs(600);

impl LocalProvisioner {
    /// A replica in sync when the instance has one, else its only server. (Cluster instances never get here:
    /// `crate::backup::supported` refuses them first.)
    pub(super) async fn snapshot_source_of(&self, id: Uuid) -> Provisioned<SnapshotSource> {
        let dir = self.dir(id);
        let url = match Layout::read(&dir) {
            Some(layout) => self.replica_or_master(&dir, &layout).await?,
            None => Previous::read(&dir)?.admin_url(),
        };
        let tls = match &self.inner.tls {
            Some(tls) if url.starts_with("rediss://") => Some(client_tls(&tls.client)),
            _ => None,
        };
        Ok(SnapshotSource { url, tls })
    }

    async fn replica_or_master(&self, dir: &Path, layout: &Layout) -> Provisioned<String> {
        let credentials =
            super::read_credentials(dir).ok_or_else(|| invalid("the instance's credentials are unreadable"))?;
        let admin = self.admin(&credentials, layout.tls)?;
        let urls = replicated::node_admin_urls(dir);
        let mut master = None;
        for (port, url) in urls {
            match replicated::replication(&admin, port).await {
                Some(info) if info.get("role").is_some_and(|r| r == "master") => master = Some(url),
                Some(info) if info.get("master_link_status").is_some_and(|s| s == "up") => return Ok(url),
                _ => {}
            }
        }
        master.ok_or_else(|| ProvisionError::Transient("no server of the instance answers".to_owned()))
    }

    /// Checks `rdb`, then makes it the data of standalone or replicated instance `id` (see the module's
    /// documentation; cluster instances never get here: `crate::backup::supported` refuses them first).
    pub(super) async fn restore_from(&self, id: Uuid, rdb: &Path) -> Provisioned<u64> {
        let dir = self.dir(id);
        let summary = rdb::check(&self.inner.redis_server, rdb)
            .await
            .map_err(|reason| refused(&format!("the RDB file cannot be loaded: {reason}")))?;
        if let Some(layout) = Layout::read(&dir) {
            return self.restore_replicated(id, &dir, &layout, rdb).await.map(|()| summary.keys);
        }
        let previous = Previous::read(&dir)?;
        let staged = self.stage_and_stop(id, rdb, &dir).await?;
        let switched = tokio::fs::rename(&staged, dir.join("dump.rdb")).await;
        let launch = Launch::data(&self.inner.redis_server, dir.join("redis.conf"));
        let mut from_rdb = launch.clone();
        from_rdb.args.extend(["--appendonly".into(), "no".into()]);
        let started = match switched {
            Ok(()) => from_rdb.start(None).await,
            Err(e) => Err(format!("cannot put the RDB file in place: {e}")),
        };
        let (child, outcome) = match started {
            Ok(child) => (child, Ok(())),
            // Its old AOF is still there: started as usual, it has its old data.
            Err(reason) => (launch.start(None).await.map_err(invalid)?, Err(reason)),
        };
        self.keep_running(id, Supervised::new(child, previous.port, launch.restart(), id));
        if let Err(reason) = outcome {
            return Err(refused(&format!("the RDB file did not load, the instance keeps its data: {reason}")));
        }
        self.append_only_again(&previous.admin_url()).await?;
        Ok(summary.keys)
    }

    /// Restores a replicated instance on its current master (see the module's documentation).
    async fn restore_replicated(&self, id: Uuid, dir: &Path, layout: &Layout, rdb: &Path) -> Provisioned<()> {
        let credentials =
            super::read_credentials(dir).ok_or_else(|| invalid("the instance's credentials are unreadable"))?;
        let admin = self.admin(&credentials, layout.tls)?;
        let mut master = None;
        for &port in &layout.nodes {
            let info = replicated::replication(&admin, port).await;
            if info.is_some_and(|info| info.get("role").is_some_and(|role| role == "master")) {
                master = Some(port);
            }
        }
        let master =
            master.ok_or_else(|| ProvisionError::Transient("no server of the instance is master".to_owned()))?;
        let master_dir = replicated::node_dir(dir, master);
        let staged = self.stage_and_stop(id, rdb, &master_dir).await?;
        tokio::fs::rename(&staged, master_dir.join("dump.rdb"))
            .await
            .map_err(|e| invalid(format!("cannot put the RDB file in place: {e}")))?;
        // The replicas come back empty and copy the master's data, whichever data that is.
        for &port in layout.nodes.iter().filter(|&&port| port != master) {
            let node = replicated::node_dir(dir, port);
            let _ = tokio::fs::remove_dir_all(node.join("appendonlydir")).await;
            let _ = tokio::fs::remove_file(node.join("dump.rdb")).await;
        }
        if let Err(e) = self.run_replicated(id, layout, &credentials, Some(master)).await {
            // The master's old AOF is still its data: started as usual, the instance has its old data.
            self.run_replicated(id, layout, &credentials, None).await?;
            return Err(refused(&format!("the RDB file did not load, the instance keeps its data: {e}")));
        }
        let scheme = if layout.tls { "rediss" } else { "redis" };
        self.append_only_again(&credentials.admin_url_over(scheme, &format!("127.0.0.1:{master}"))).await
    }

    /// Copies `rdb` into `dir` as `restore.rdb` (the switch is then a rename on one file system), then stops
    /// the instance's processes, the last started first (a replicated instance's Sentinels before its data
    /// nodes, so that stopping the master starts no failover); answers the staged file.
    async fn stage_and_stop(&self, id: Uuid, rdb: &Path, dir: &Path) -> Provisioned<std::path::PathBuf> {
        let staged = dir.join("restore.rdb");
        tokio::fs::copy(rdb, &staged).await.map_err(|e| invalid(format!("cannot stage the RDB file: {e}")))?;
        let processes = {
            let mut running = self.inner.running.lock().unwrap_or_else(PoisonError::into_inner);
            let running = running.get_mut(&id).ok_or_else(|| ProvisionError::Transient("not running".to_owned()))?;
            std::mem::take(&mut running.processes)
        };
        for process in processes.into_iter().rev() {
            process.stop().await;
        }
        Ok(staged)
    }

    fn keep_running(&self, id: Uuid, process: Supervised) {
        if let Some(running) = self.inner.running.lock().unwrap_or_else(PoisonError::into_inner).get_mut(&id) {
            running.processes.push(process);
        }
    }

    /// `CONFIG SET appendonly yes`, then waits until the AOF written from the loaded data is committed.
    async fn append_only_again(&self, admin_url: &str) -> Provisioned<()> {
        let failed = |e: redis::RedisError| invalid(format!("cannot write the restored data's AOF: {e}"));
        let client = self.client(admin_url).map_err(failed)?;
        let mut redis = client.get_multiplexed_async_connection().await.map_err(failed)?;
        redis::cmd("CONFIG")
            .arg("SET")
            .arg("appendonly")
            .arg("yes")
            .query_async::<()>(&mut redis)
            .await
            .map_err(failed)?;
        let deadline = tokio::time::Instant::now() + AOF_REWRITE_TIMEOUT;
        loop {
            let info: String = redis::cmd("INFO").arg("persistence").query_async(&mut redis).await.map_err(failed)?;
            let field = |name: &str| redisgate_core::provisioning::info::field(&info, name);
            let settled = field("aof_enabled") == Some("1")
                && field("aof_rewrite_in_progress") == Some("0")
                && field("aof_rewrite_scheduled") == Some("0");
            if settled {
                return match field("aof_last_bgrewrite_status") {
                    Some("ok") => Ok(()),
                    status => Err(invalid(format!("the restored data's AOF was not written ({status:?})"))),
                };
            }
            if tokio::time::Instant::now() > deadline {
                return Err(invalid("the restored data's AOF took too long to write"));
            }
            // The server offers no event for a finished rewrite: it is asked again shortly.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn client_tls(tls: &RedisTls) -> ClientTls {
    let (cert, key) = tls.client.clone().unwrap_or_default();
    ClientTls { ca: tls.ca_cert.as_deref().unwrap_or_default().to_vec(), cert: cert.to_vec(), key: key.to_vec() }
}

fn refused(message: &str) -> ProvisionError {
    ProvisionError::Refused(message.to_owned())
}

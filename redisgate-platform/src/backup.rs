//! Backups: RDB snapshots of instances in a backup store, taken on demand or on a schedule, pruned by a
//! retention policy, restored into the same instance or another of the organization, exported and imported.
//!
//! - **Taking one.** The provisioner says which server to read ([`Provisioner::snapshot_source`]: a replica
//!   when there is one); [`snapshot`] reads the RDB from it as a replica would (the server forks and saves,
//!   as `BGSAVE` does) into a scratch file under the state directory; [`rdb::check`] counts its keys and
//!   proves it loads; [`BackupStore::upload`] stores it in parts. Each backup records its size, key count
//!   and SHA-256. The work runs on the control plane's runtime: the request that asked for it gets `202`
//!   and the backup in state `running`.
//! - **Restoring one.** The file is downloaded, its SHA-256 compared with the recorded one, and handed to
//!   [`Provisioner::restore`], which checks it again and replaces the instance's data whole or not at all.
//! - **Importing a file.** The request body streams into a scratch file (bounded in size), then as a restore.
//! - **Files never sit in memory**: every transfer is a stream of chunks.
//!
//! [`Provisioner::snapshot_source`]: redisgate_core::provisioning::Provisioner::snapshot_source
//! [`Provisioner::restore`]: redisgate_core::provisioning::Provisioner::restore

pub mod one_shot;
pub mod rdb;
pub mod snapshot;
pub mod store;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};
use redisgate_core::api;
use redisgate_core::provisioning::{ProvisionError, Provisioner, Target, Topology};
use redisgate_core::store::{AuditEntry, Backup, BackupPolicyRow, Instance};
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt as _;
use tokio::runtime::Handle;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

pub use snapshot::snapshot;
pub use store::BackupStore;

use crate::{Error, Pool, Result};

/// How often the schedule is looked at.
const SCHEDULE_TICK: Duration = Duration::from_secs(60);

/// A SHA-256 digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digest(pub [u8; 32]);

impl std::fmt::Display for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|byte| write!(f, "{byte:02x}"))
    }
}

/// Takes, restores and prunes backups; one per control plane.
#[derive(Clone)]
pub struct Backups {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    store: BackupStore,
    provisioner: Arc<dyn Provisioner>,
    /// The instances' `redis-server`, run as `redis-check-rdb`.
    redis_server: PathBuf,
    /// Scratch files go under `<state_dir>/transfers`.
    state_dir: PathBuf,
    /// The control plane's runtime, where backups run.
    handle: Handle,
}

impl Backups {
    /// Backups into `store`, run on the current runtime.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    #[must_use]
    pub fn new(
        pool: Pool,
        store: BackupStore,
        provisioner: Arc<dyn Provisioner>,
        redis_server: PathBuf,
        state_dir: PathBuf,
    ) -> Self {
        Self { inner: Arc::new(Inner { pool, store, provisioner, redis_server, state_dir, handle: Handle::current() }) }
    }

    /// The backup store.
    #[must_use]
    pub fn store(&self) -> &BackupStore {
        &self.inner.store
    }

    /// Records a `running` backup of `instance` and takes it in the background.
    ///
    /// # Errors
    /// An instance no backup can hold yet ([`supported`]); database errors.
    pub async fn start(&self, instance: &Instance, trigger: &str) -> Result<Backup> {
        supported(instance, Action::Backup)?;
        let backup = Backup::start(instance.organization_id, instance.id, trigger);
        backup.insert(&mut *self.inner.pool.get().await?).await?;
        let (this, running, target) = (self.clone(), backup.clone(), instance.target());
        self.inner.handle.spawn(async move { this.take(running, target).await });
        Ok(backup)
    }

    async fn take(&self, backup: Backup, target: Target) {
        let outcome = self.snapshot_and_store(&backup, target).await;
        let recorded = async {
            let mut conn = self.inner.pool.get().await?;
            match &outcome {
                Ok((size, keys, sha)) => {
                    let (size, keys) = (i64::try_from(*size).unwrap_or(i64::MAX), i64::try_from(*keys).unwrap_or(0));
                    Backup::finish(&mut conn, backup.id, size, keys, &sha.to_string()).await?;
                }
                Err(e) => {
                    tracing::warn!(backup = %backup.id, instance = %target.id, error = ?e, "backup failed");
                    Backup::fail(&mut conn, backup.id, &public(e)).await?;
                }
            }
            Ok::<_, Error>(())
        };
        if let Err(e) = recorded.await {
            tracing::warn!(backup = %backup.id, error = %e, "cannot record how the backup ended");
        }
        if outcome.is_err() {
            let _ = self.inner.store.delete(&backup.object_key).await;
        }
        if let Err(e) = self.prune(target.id).await {
            tracing::warn!(instance = %target.id, error = %e, "cannot prune the instance's backups");
        }
    }

    async fn snapshot_and_store(&self, backup: &Backup, target: Target) -> Result<(u64, u64, Digest)> {
        let source = self.inner.provisioner.snapshot_source(target).await?;
        let file = self.scratch()?;
        let mut out = tokio::fs::File::create(file.path()).await.map_err(|e| scratch_failed(&e))?;
        let (size, sha) = snapshot(&source, &mut out, |_, _| {}).await?;
        drop(out);
        let summary = rdb::check(&self.inner.redis_server, file.path())
            .await
            .map_err(|reason| Error::Storage(format!("the snapshot does not check: {reason}")))?;
        self.inner.store.upload(&backup.object_key, file.path()).await?;
        Ok((size, summary.keys, sha))
    }

    /// Makes `backup` (done, of any instance of the organization) the data of `instance`.
    ///
    /// # Errors
    /// [`Error::Conflict`] for a backup not done; a download whose SHA-256 differs from the recorded one
    /// ([`Error::Storage`]); the provisioner's refusal (a file that does not load: the instance keeps its
    /// data).
    pub async fn restore(&self, backup: &Backup, instance: &Instance) -> Result<api::Restored> {
        supported(instance, Action::Restore)?;
        if backup.state != redisgate_core::store::models::backup::DONE {
            return Err(Error::Conflict(format!("backup {} is {}, not done", backup.id, backup.state)));
        }
        let file = self.scratch()?;
        let (size, sha) = self.inner.store.download(&backup.object_key, file.path()).await?;
        if backup.sha256.as_deref() != Some(sha.to_string().as_str()) {
            return Err(Error::Storage(format!("backup {} does not match its recorded SHA-256", backup.id)));
        }
        self.load(instance, file.path(), size).await
    }

    /// Makes the RDB file streamed in `body` (at most `max_bytes`) the data of `instance`.
    ///
    /// # Errors
    /// A body over `max_bytes` (413) or cut short; the provisioner's refusal, as [`Backups::restore`].
    pub async fn import(
        &self,
        instance: &Instance,
        body: impl Stream<Item = Result<Bytes>> + Unpin,
        max_bytes: u64,
    ) -> Result<api::Restored> {
        supported(instance, Action::Restore)?;
        let file = self.scratch()?;
        let (size, _) = write_file(body, file.path(), max_bytes).await?;
        self.load(instance, file.path(), size).await
    }

    async fn load(&self, instance: &Instance, file: &Path, size: u64) -> Result<api::Restored> {
        let restored = self.inner.provisioner.restore(instance.target(), instance.spec(), file.to_owned()).await;
        // Restored or not, the server may have restarted: the gateways' connections to it are closed.
        Instance::touch(&mut *self.inner.pool.get().await?, instance.id).await?;
        Ok(api::Restored { keys: restored?, size_bytes: size })
    }

    /// Deletes a backup's file and record.
    ///
    /// # Errors
    /// Storage or database errors (the record stays when the file could not be deleted).
    pub async fn delete(&self, backup: &Backup) -> Result<()> {
        self.inner.store.delete(&backup.object_key).await?;
        Backup::delete(&mut *self.inner.pool.get().await?, backup.id).await?;
        Ok(())
    }

    /// Deletes every backup of an instance being deleted.
    ///
    /// # Errors
    /// As [`Backups::delete`].
    pub async fn delete_all_of(&self, instance: Uuid) -> Result<()> {
        let all = Backup::all_of(&mut *self.inner.pool.get().await?, instance).await?;
        for backup in &all {
            self.delete(backup).await?;
        }
        Ok(())
    }

    /// Deletes the backups of `instance` that its policy no longer keeps.
    ///
    /// # Errors
    /// As [`Backups::delete`].
    pub async fn prune(&self, instance: Uuid) -> Result<()> {
        let mut conn = self.inner.pool.get().await?;
        let policy = BackupPolicyRow::of(&mut conn, instance).await?;
        for backup in Backup::expired(&mut conn, instance, &policy).await? {
            self.delete(&backup).await?;
        }
        Ok(())
    }

    /// Takes the scheduled backups that are due, every [`SCHEDULE_TICK`], until `stop`.
    pub async fn run_schedule(self, stop: CancellationToken) {
        loop {
            if let Err(e) = self.start_due().await {
                tracing::warn!(error = %e, "cannot start the scheduled backups");
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(SCHEDULE_TICK) => {}
            }
        }
    }

    /// Starts every scheduled backup that is due (each audited), answering how many.
    ///
    /// # Errors
    /// Database errors.
    pub async fn start_due(&self) -> Result<usize> {
        let mut conn = self.inner.pool.get().await?;
        let due = BackupPolicyRow::due(&mut conn).await?;
        let mut started = 0;
        for &(org, id) in &due {
            let Some(instance) = Instance::find_in(&mut conn, org, id).await? else { continue };
            if supported(&instance, Action::Backup).is_err() {
                continue;
            }
            let backup = self.start(&instance, "scheduled").await?;
            AuditEntry {
                organization_id: Some(org),
                actor_user_id: None,
                actor_api_key_id: None,
                action: "backup.create",
                target_type: "instance",
                target_id: Some(id),
                details: serde_json::json!({"backup_id": backup.id, "trigger": "scheduled"}),
            }
            .insert(&mut conn)
            .await?;
            started += 1;
        }
        Ok(started)
    }

    /// Marks the backups a stopped platform left `running` as failed.
    ///
    /// # Errors
    /// Database errors.
    pub async fn fail_interrupted(&self) -> Result<()> {
        Backup::fail_interrupted(&mut *self.inner.pool.get().await?).await?;
        Ok(())
    }

    fn scratch(&self) -> Result<tempfile::NamedTempFile> {
        let dir = self.inner.state_dir.join("transfers");
        crate::os::create_private_dir(&dir).map_err(|e| scratch_failed(&e))?;
        tempfile::Builder::new().prefix("rdb-").suffix(".rdb").tempfile_in(dir).map_err(|e| scratch_failed(&e))
    }
}

/// What is done to an instance's data through the backups.
#[derive(Debug, Clone, Copy)]
pub enum Action {
    /// Taking a backup, now or on a schedule.
    Backup,
    /// Replacing the data with a backup's or an uploaded file's.
    Restore,
}

/// Refuses `action` on an instance no backup can serve yet: a Redis Cluster, whose shards would each need
/// their own snapshot, restored together. Checked here, before anything is recorded, downloaded or uploaded
/// (a `422` at once, rather than a backup accepted and then failed, or a whole file read first); the
/// provisioners are not asked.
///
/// # Errors
/// [`ProvisionError::Refused`] for a cluster instance.
pub fn supported(instance: &Instance, action: Action) -> Result<()> {
    let message = match (instance.topology, action) {
        (Topology::Standalone | Topology::Replicated { .. }, _) => return Ok(()),
        (Topology::Cluster { .. }, Action::Backup) => "backups of Redis Cluster instances are not supported yet",
        (Topology::Cluster { .. }, Action::Restore) => "restoring into a Cluster instance is not supported yet",
    };
    Err(ProvisionError::Refused(message.to_owned()).into())
}

/// Writes `chunks` into the file at `file`, at most `max_bytes`; answers its size and SHA-256.
///
/// # Errors
/// A failed chunk, a write error, or more than `max_bytes` (413).
pub async fn write_file(
    mut chunks: impl Stream<Item = Result<Bytes>> + Unpin,
    file: &Path,
    max_bytes: u64,
) -> Result<(u64, Digest)> {
    let mut out = tokio::fs::File::create(file).await.map_err(|e| scratch_failed(&e))?;
    let (mut size, mut sha) = (0_u64, Sha256::new());
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk?;
        size += chunk.len() as u64;
        if size > max_bytes {
            return Err(redisgate_core::Error::RequestTooLarge.into());
        }
        sha.update(&chunk);
        out.write_all(&chunk).await.map_err(|e| scratch_failed(&e))?;
    }
    out.flush().await.map_err(|e| scratch_failed(&e))?;
    Ok((size, Digest(sha.finalize().into())))
}

fn scratch_failed(error: &std::io::Error) -> Error {
    Error::Storage(format!("cannot write a scratch file: {error}"))
}

/// What a failed backup says to its owner (a provisioner's message without host paths).
fn public(error: &Error) -> String {
    match error {
        Error::Provisioning(e) => e.public_message(),
        Error::Storage(message) => message.clone(),
        other => other.to_string(),
    }
}

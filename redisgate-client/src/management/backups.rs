//! Backups, the backup policy, restores, and RDB export and import. Exports and imports stream: a file of
//! any size moves in chunks, never whole in memory.

use std::path::Path;
use std::time::Duration;

use futures_util::{StreamExt as _, TryStreamExt as _};
pub use redisgate_core::api::{Backup, BackupPolicy, RestoreRequest, Restored};
use tokio::io::{AsyncWrite, AsyncWriteExt as _};
use uuid::Uuid;

use super::{body, checked, Items, Management};
use crate::{Error, Result};

/// How long a restore, an export or an import may take (the server answers a restore once the data is
/// loaded, and a transfer lasts as long as the file takes to move).
pub const TRANSFER_TIMEOUT: Duration = Duration::from_secs(3600);

fn instance_path(org: Uuid, id: Uuid) -> String {
    format!("/organizations/{org}/redis-instances/{id}")
}

impl Management {
    /// The instance's backups, newest first (the first 100).
    ///
    /// # Errors
    /// 404 as [`Error::Http`].
    pub async fn backups(&self, org: Uuid, id: Uuid) -> Result<Vec<Backup>> {
        let path = format!("{}/backups?limit=100", instance_path(org, id));
        Ok(self.call::<Items<Backup>>(reqwest::Method::GET, &path, None).await?.items)
    }

    /// Starts a backup; it is `running` until [`Management::wait_for_backup`] says otherwise.
    ///
    /// # Errors
    /// 403, 404, or 409 for an instance that is not running, as [`Error::Http`].
    pub async fn create_backup(&self, org: Uuid, id: Uuid) -> Result<Backup> {
        self.call(reqwest::Method::POST, &format!("{}/backups", instance_path(org, id)), None).await
    }

    /// One backup.
    ///
    /// # Errors
    /// 404 as [`Error::Http`].
    pub async fn backup(&self, org: Uuid, id: Uuid, backup: Uuid) -> Result<Backup> {
        self.call(reqwest::Method::GET, &format!("{}/backups/{backup}", instance_path(org, id)), None).await
    }

    /// Polls (every 250 ms) until the backup is no longer `running` (`done` or `failed`, with why), at most
    /// `timeout`.
    ///
    /// # Errors
    /// [`Error::Timeout`] when `timeout` passes first; 404 as [`Error::Http`].
    pub async fn wait_for_backup(&self, org: Uuid, id: Uuid, backup: Uuid, timeout: Duration) -> Result<Backup> {
        let started = tokio::time::Instant::now();
        loop {
            let current = self.backup(org, id, backup).await?;
            if current.state != "running" {
                return Ok(current);
            }
            if started.elapsed() > timeout {
                return Err(Error::Timeout);
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Deletes a backup and its file.
    ///
    /// # Errors
    /// 404, or 409 while it runs, as [`Error::Http`].
    pub async fn delete_backup(&self, org: Uuid, id: Uuid, backup: Uuid) -> Result<()> {
        self.call(reqwest::Method::DELETE, &format!("{}/backups/{backup}", instance_path(org, id)), None).await
    }

    /// The instance's backup schedule and retention.
    ///
    /// # Errors
    /// 404 as [`Error::Http`].
    pub async fn backup_policy(&self, org: Uuid, id: Uuid) -> Result<BackupPolicy> {
        self.call(reqwest::Method::GET, &format!("{}/backup-policy", instance_path(org, id)), None).await
    }

    /// Sets the schedule and retention (backups beyond it are deleted at once).
    ///
    /// # Errors
    /// [`Error::Validation`] for a value out of range; 403/404 as [`Error::Http`].
    pub async fn set_backup_policy(&self, org: Uuid, id: Uuid, policy: &BackupPolicy) -> Result<BackupPolicy> {
        let path = format!("{}/backup-policy", instance_path(org, id));
        self.call(reqwest::Method::PUT, &path, Some(body(policy)?)).await
    }

    /// Replaces all of the instance's data with `backup` (of it or of another instance of the organization);
    /// answers once it is loaded.
    ///
    /// # Errors
    /// 422 as [`Error::Http`] for a file that does not load (the instance keeps its data); 403/404/409.
    pub async fn restore(&self, org: Uuid, id: Uuid, backup: Uuid) -> Result<Restored> {
        let path = format!("{}/restore", instance_path(org, id));
        let request = body(&RestoreRequest { backup_id: backup })?;
        self.call_within(reqwest::Method::POST, &path, Some(request), Some(TRANSFER_TIMEOUT)).await
    }

    /// Downloads a backup's RDB file into `out`, calling `progress(bytes so far, total)` after each chunk;
    /// answers its size.
    ///
    /// # Errors
    /// 403/404/409 as [`Error::Http`], transport errors, or writing `out`.
    pub async fn export_backup(
        &self,
        org: Uuid,
        id: Uuid,
        backup: Uuid,
        out: &mut (impl AsyncWrite + Unpin),
        mut progress: impl FnMut(u64, Option<u64>),
    ) -> Result<u64> {
        let url = format!("{}/api{}/backups/{backup}/rdb", self.base, instance_path(org, id));
        let response = self.authorized(self.http.get(url)).timeout(TRANSFER_TIMEOUT).send().await?;
        let response = checked(response).await?;
        let total = response.content_length();
        let mut chunks = response.bytes_stream();
        let mut done = 0;
        while let Some(chunk) = chunks.next().await {
            let chunk = chunk?;
            out.write_all(&chunk).await.map_err(|e| Error::Config(format!("cannot write the file: {e}")))?;
            done += chunk.len() as u64;
            progress(done, total);
        }
        out.flush().await.map_err(|e| Error::Config(format!("cannot write the file: {e}")))?;
        Ok(done)
    }

    /// Replaces all of the instance's data with the RDB file at `file`, uploaded in chunks, calling
    /// `progress(bytes sent, total)` as it goes.
    ///
    /// # Errors
    /// 422 as [`Error::Http`] for a file that does not load (the instance keeps its data), 413 for one too
    /// large; an unreadable file ([`Error::Config`]).
    pub async fn import_rdb(
        &self,
        org: Uuid,
        id: Uuid,
        file: &Path,
        progress: impl FnMut(u64, u64) + Send + 'static,
    ) -> Result<Restored> {
        let opened = tokio::fs::File::open(file).await;
        let source = opened.map_err(|e| Error::Config(format!("cannot read {}: {e}", file.display())))?;
        let total = source.metadata().await.map(|m| m.len()).unwrap_or(0);
        let mut progress = progress;
        let mut sent = 0;
        let chunks = tokio_util::io::ReaderStream::with_capacity(source, 256 * 1024).inspect_ok(move |chunk| {
            sent += chunk.len() as u64;
            progress(sent, total);
        });
        let url = format!("{}/api{}/rdb", self.base, instance_path(org, id));
        let request = self
            .authorized(self.http.put(url))
            .timeout(TRANSFER_TIMEOUT)
            .header("content-type", "application/octet-stream")
            .header("content-length", total)
            .body(reqwest::Body::wrap_stream(chunks));
        let response = checked(request.send().await?).await?;
        let bytes = response.bytes().await?;
        serde_json::from_slice(&bytes).map_err(|e| Error::Decode(e.to_string()))
    }
}

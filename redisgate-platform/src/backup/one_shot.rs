//! One backup of one Redis server into a backup store, configured by environment variables: what
//! `redisgate-backup` runs in the operator's backup Jobs (the operator's tests run it too, with the very
//! environment of the Job they built).
//!
//! | variable | what |
//! |---|---|
//! | `REDISGATE_BACKUP_ADDRESS` | the server, `host:port` |
//! | `REDISGATE_BACKUP_USER` | the Redis user (default `redisgate-admin`) |
//! | `REDISGATE_BACKUP_PASSWORD` | its password |
//! | `REDISGATE_BACKUP_TLS_DIR` | a directory with `ca.crt`, `tls.crt`, `tls.key`: TLS with that client certificate |
//! | `REDISGATE_BACKUP_STORE` | `s3://bucket[/prefix]` (with the `AWS_*` variables) or an absolute directory |
//! | `REDISGATE_BACKUP_KEY` | the file's name in the store |
//! | `REDISGATE_BACKUP_RESULT` | a file to write the result to as well (`/dev/termination-log` in a Job) |
//!
//! The result is `{"object_key", "size_bytes", "sha256", "keys"}`, or `{"error"}`; `keys` is what the
//! server counted when the snapshot started (`INFO keyspace`).

use std::path::PathBuf;

use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use redisgate_core::provisioning::acl::ADMIN_USER;
use redisgate_core::provisioning::{ClientTls, SnapshotSource};
use redisgate_gateway::tls::RedisTls;
use serde_json::{json, Value};

use super::{snapshot, BackupStore};
use crate::{Error, Result};

/// What one backup needs.
#[derive(Clone)]
pub struct OneBackup {
    /// `host:port`.
    pub address: String,
    /// The Redis user.
    pub user: String,
    /// Its password.
    pub password: String,
    /// `ca.crt`, `tls.crt` and `tls.key`, for a TLS server.
    pub tls_dir: Option<PathBuf>,
    /// The backup store.
    pub store: String,
    /// The file's name in it.
    pub key: String,
    /// Where to write the result too.
    pub result: Option<PathBuf>,
}

impl std::fmt::Debug for OneBackup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OneBackup").field("address", &self.address).field("store", &self.store).finish_non_exhaustive()
    }
}

impl OneBackup {
    /// Reads the variables through `var` (`std::env::var`, or a Job's environment in a test).
    ///
    /// # Errors
    /// [`Error::Config`] naming a missing variable.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let required =
            |name: &str| var(name).filter(|v| !v.is_empty()).ok_or_else(|| Error::Config(format!("{name} is not set")));
        Ok(Self {
            address: required("REDISGATE_BACKUP_ADDRESS")?,
            user: var("REDISGATE_BACKUP_USER").unwrap_or_else(|| ADMIN_USER.to_owned()),
            password: required("REDISGATE_BACKUP_PASSWORD")?,
            tls_dir: var("REDISGATE_BACKUP_TLS_DIR").map(PathBuf::from),
            store: required("REDISGATE_BACKUP_STORE")?,
            key: required("REDISGATE_BACKUP_KEY")?,
            result: var("REDISGATE_BACKUP_RESULT").map(PathBuf::from),
        })
    }

    /// Takes the backup; the result (or the error, as `{"error"}`) is also written to `result`.
    ///
    /// # Errors
    /// Why it failed: the connection, the snapshot, the store.
    pub async fn run(&self) -> Result<Value> {
        let outcome = self.take().await;
        if let Some(path) = &self.result {
            let written = match &outcome {
                Ok(value) => value.clone(),
                Err(e) => json!({ "error": e.to_string() }),
            };
            if let Err(e) = std::fs::write(path, written.to_string()) {
                tracing::warn!(error = %e, path = %path.display(), "cannot write the result");
            }
        }
        outcome
    }

    async fn take(&self) -> Result<Value> {
        let tls = match &self.tls_dir {
            Some(dir) => {
                let read = |name: &str| {
                    std::fs::read(dir.join(name))
                        .map_err(|e| Error::Config(format!("cannot read {}: {e}", dir.join(name).display())))
                };
                Some(ClientTls { ca: read("ca.crt")?, cert: read("tls.crt")?, key: read("tls.key")? })
            }
            None => None,
        };
        let scheme = if tls.is_some() { "rediss" } else { "redis" };
        let encode = |value: &str| utf8_percent_encode(value, NON_ALPHANUMERIC).to_string();
        let url = format!("{scheme}://{}:{}@{}", encode(&self.user), encode(&self.password), self.address);
        let keys = count_keys(&url, tls.as_ref()).await?;
        let store = BackupStore::open(&self.store)?;
        let scratch = tempfile::Builder::new()
            .prefix("redisgate-backup-")
            .suffix(".rdb")
            .tempfile()
            .map_err(|e| Error::Storage(format!("cannot create a scratch file: {e}")))?;
        let mut out = tokio::fs::File::create(scratch.path())
            .await
            .map_err(|e| Error::Storage(format!("cannot create a scratch file: {e}")))?;
        let (size, sha256) = snapshot(&SnapshotSource { url, tls }, &mut out, |_, _| {}).await?;
        drop(out);
        store.upload(&self.key, scratch.path()).await?;
        Ok(json!({ "object_key": self.key, "size_bytes": size, "sha256": sha256.to_string(), "keys": keys }))
    }
}

/// The keys of every database, from `INFO keyspace` (`db0:keys=12,expires=3,…`).
async fn count_keys(url: &str, tls: Option<&ClientTls>) -> Result<u64> {
    let failed = |e: redis::RedisError| Error::Storage(format!("cannot count the keys: {e}"));
    let client = match tls {
        Some(tls) => redis::Client::build_with_tls(url, RedisTls::of_instance(tls).certificates()).map_err(failed)?,
        None => redis::Client::open(url).map_err(failed)?,
    };
    let mut connection = client.get_multiplexed_async_connection().await.map_err(failed)?;
    let info: String = redis::cmd("INFO").arg("keyspace").query_async(&mut connection).await.map_err(failed)?;
    Ok(redisgate_core::provisioning::info::keys(&info))
}

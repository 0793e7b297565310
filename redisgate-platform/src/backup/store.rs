//! Where backups are kept: a local directory (the default, under the state directory) or S3-compatible
//! object storage, through the `object_store` crate. Files move in chunks both ways (multipart uploads of
//! 8 MiB parts, a download stream), so a backup of any size never sits in memory.

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt as _, TryStreamExt as _};

use super::Digest;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, WriteMultipart};
use tokio::io::AsyncReadExt as _;

use crate::{Error, Result};

/// Size of each uploaded part (S3 needs at least 5 MiB but for the last).
const PART: usize = 8 * 1024 * 1024;
/// Parts uploaded at once.
const PARTS_IN_FLIGHT: usize = 4;

/// A place to keep backups.
#[derive(Clone)]
pub struct BackupStore {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    /// `file:///…` or `s3://bucket/prefix`, for logs and the configuration's reader.
    describe: String,
}

impl std::fmt::Debug for BackupStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe)
    }
}

impl BackupStore {
    /// `s3://bucket[/prefix]` (endpoint, region and credentials from the `AWS_*` environment:
    /// `AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP`), or
    /// an absolute directory (`/path` or `file:///path`), created if missing.
    ///
    /// # Errors
    /// [`Error::Config`]: another scheme, a relative path, an unusable directory or S3 configuration.
    pub fn open(location: &str) -> Result<Self> {
        if let Some(rest) = location.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let store = AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .build()
                .map_err(|e| Error::Config(format!("cannot use the backup store {location}: {e}")))?;
            return Ok(Self {
                store: Arc::new(store),
                prefix: ObjectPath::from(prefix),
                describe: location.trim_end_matches('/').to_owned(),
            });
        }
        let dir = Path::new(location.strip_prefix("file://").unwrap_or(location));
        if !dir.is_absolute() {
            return Err(Error::Config(format!("the backup store {location} is neither s3:// nor an absolute path")));
        }
        Self::local(dir)
    }

    /// The directory `dir`, created (private) if missing.
    ///
    /// # Errors
    /// [`Error::Config`] when it cannot be created or used.
    pub fn local(dir: &Path) -> Result<Self> {
        let unusable = |e: &dyn std::fmt::Display| Error::Config(format!("cannot use {}: {e}", dir.display()));
        crate::os::create_private_dir(dir).map_err(|e| unusable(&e))?;
        let store = LocalFileSystem::new_with_prefix(dir).map_err(|e| unusable(&e))?;
        Ok(Self {
            store: Arc::new(store),
            prefix: ObjectPath::default(),
            describe: format!("file://{}", dir.display()),
        })
    }

    /// Where the store is, for logs (no credentials).
    #[must_use]
    pub fn describe(&self) -> &str {
        &self.describe
    }

    fn path(&self, key: &str) -> ObjectPath {
        key.split('/').fold(self.prefix.clone(), |path, part| path.child(part))
    }

    /// Uploads the file at `file` as `key`, in parts.
    ///
    /// # Errors
    /// [`Error::Storage`]; a failed upload is aborted (no part is left behind).
    pub async fn upload(&self, key: &str, file: &Path) -> Result<()> {
        let mut source = tokio::fs::File::open(file).await.map_err(|e| failed("reading the snapshot", e))?;
        let upload = self.store.put_multipart(&self.path(key)).await.map_err(|e| failed("starting the upload", e))?;
        let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
        let mut buffer = vec![0; PART];
        loop {
            let read = match source.read(&mut buffer).await {
                Ok(0) => break,
                Ok(read) => read,
                Err(e) => {
                    let _ = writer.abort().await;
                    return Err(failed("reading the snapshot", e));
                }
            };
            if let Err(e) = writer.wait_for_capacity(PARTS_IN_FLIGHT).await {
                let _ = writer.abort().await;
                return Err(failed("uploading", e));
            }
            writer.write(&buffer[..read]);
        }
        writer.finish().await.map_err(|e| failed("finishing the upload", e))?;
        Ok(())
    }

    /// The object `key` as a stream of chunks, with its size.
    ///
    /// # Errors
    /// [`Error::Storage`], or [`Error::NotFound`] when there is no such object.
    pub async fn stream(&self, key: &str) -> Result<(u64, BoxStream<'static, Result<Bytes>>)> {
        let result = self.store.get(&self.path(key)).await.map_err(|e| match e {
            object_store::Error::NotFound { .. } => Error::NotFound("backup file"),
            e => failed("reading the backup", e),
        })?;
        let size = result.meta.size;
        Ok((size, result.into_stream().map_err(|e| failed("reading the backup", e)).boxed()))
    }

    /// Downloads `key` into the file at `file`, calling `progress(bytes so far, total)` after each chunk;
    /// answers its size and SHA-256.
    ///
    /// # Errors
    /// As [`BackupStore::stream`], or writing the file.
    pub async fn download(&self, key: &str, file: &Path) -> Result<(u64, Digest)> {
        let (_, chunks) = self.stream(key).await?;
        super::write_file(chunks, file, u64::MAX).await
    }

    /// Deletes `key`; one already gone is no error.
    ///
    /// # Errors
    /// [`Error::Storage`].
    pub async fn delete(&self, key: &str) -> Result<()> {
        match self.store.delete(&self.path(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(failed("deleting a backup", e)),
        }
    }
}

fn failed(what: &str, error: impl std::fmt::Display) -> Error {
    Error::Storage(format!("{what}: {error}"))
}

//! The `RedisHttpBackup` custom resource: one backup of one `RedisHttpInstance` of the same namespace into
//! a backup store, and what came of it. Its spec never changes (a CEL rule): to back up again, create
//! another. The operator runs it as a Job (`redisgate-backup` in the gateway's image) and reports the file's
//! size, key count and SHA-256 in the status.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use serde::{Deserialize, Serialize};

/// One backup of an instance.
#[derive(CustomResource, KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq)]
#[kube(
    group = "redisgate.io",
    version = "v1alpha1",
    kind = "RedisHttpBackup",
    namespaced,
    status = "RedisHttpBackupStatus",
    shortname = "rhb",
    category = "redisgate",
    printcolumn = r#"{"name":"Instance","type":"string","jsonPath":".spec.instance"}"#,
    printcolumn = r#"{"name":"Phase","type":"string","jsonPath":".status.phase"}"#,
    printcolumn = r#"{"name":"Size","type":"integer","jsonPath":".status.sizeBytes"}"#,
    printcolumn = r#"{"name":"Keys","type":"integer","jsonPath":".status.keys","priority":1}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#,
    doc = "A backup of a RedisHttpInstance (an RDB snapshot in a backup store), taken by redisgate-operator",
    validation = Rule::new("self.spec == oldSelf.spec").message("a backup's spec cannot change; create another backup"),
    validation = Rule::new("self.metadata.name.matches('^[a-z]([-a-z0-9]{0,48}[a-z0-9])?$')")
        .message("name must start with a letter, end with a letter or digit and have at most 50 characters")
)]
#[serde(rename_all = "camelCase")]
pub struct RedisHttpBackupSpec {
    /// The `RedisHttpInstance` to back up, in the same namespace.
    #[schemars(length(min = 1, max = 63))]
    pub instance: String,
    /// Where to keep it: `s3://bucket[/prefix]`, or an absolute directory on the Job's node (for tests).
    /// Default: the operator's `--backup-store`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    /// A Secret of the namespace whose keys become the Job's environment: `AWS_ENDPOINT_URL`, `AWS_REGION`,
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`. Default: the operator's `--backup-store-secret`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_secret: Option<String>,
}

/// What came of a backup.
#[derive(schemars::JsonSchema, Deserialize, Serialize, Clone, Debug, Default, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RedisHttpBackupStatus {
    /// `Pending` (waiting for the instance), `Running`, `Completed` or `Failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<BackupPhase>,
    /// `Complete`, with why while it is not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// The store it went to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    /// Its file in the store (`<namespace>/<instance>/<backup>.rdb`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub object_key: Option<String>,
    /// Size of the RDB file in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<u64>,
    /// Keys the server held when the snapshot started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<u64>,
    /// SHA-256 of the file, in hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Where a backup is.
#[derive(schemars::JsonSchema, Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackupPhase {
    /// Waiting for its instance to exist and be ready.
    Pending,
    /// Its Job runs.
    Running,
    /// Stored.
    Completed,
    /// It will not be retried: the reason is in `message`.
    Failed,
}

/// Backups of an instance on a schedule: the operator creates a `RedisHttpBackup` every `everyHours` and
/// deletes the finished ones beyond the newest `keepLast`.
#[derive(KubeSchema, Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct BackupSchedule {
    /// A backup every this many hours (1 to 720).
    #[schemars(range(min = 1, max = 720))]
    pub every_hours: u32,
    /// Keep the newest this many scheduled backups (1 to 1000); none: keep them all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 1000))]
    pub keep_last: Option<u32>,
    /// The store of each backup (default: the operator's `--backup-store`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<String>,
    /// The Secret with the store's `AWS_*` keys (default: the operator's `--backup-store-secret`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store_secret: Option<String>,
}

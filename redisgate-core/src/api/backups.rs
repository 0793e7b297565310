//! Backups of instances, their schedule and retention, and restores.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A backup: an RDB snapshot of an instance in the backup store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Backup {
    /// Identifier.
    pub id: Uuid,
    /// The instance it was taken of.
    pub instance_id: Uuid,
    /// `manual` (asked for) or `scheduled`.
    pub trigger: String,
    /// `running`, `done` or `failed`.
    pub state: String,
    /// Size of the RDB file in bytes, once done.
    pub size_bytes: Option<i64>,
    /// Keys it holds, once done.
    pub keys: Option<i64>,
    /// SHA-256 of the file (hex), once done.
    pub sha256: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// When it started.
    pub created_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
}

/// When an instance is backed up on its own and which backups are kept; absent fields: no schedule, no
/// limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct BackupPolicy {
    /// A backup every this many hours (1–720).
    #[serde(default)]
    pub every_hours: Option<i32>,
    /// Keep the newest this many backups (1–1000).
    #[serde(default)]
    pub keep_last: Option<i32>,
    /// Keep backups younger than this many days (1–3650).
    #[serde(default)]
    pub keep_days: Option<i32>,
}

impl BackupPolicy {
    /// Each field out of its range, with why.
    #[must_use]
    pub fn problems(&self) -> Vec<(&'static str, String)> {
        let fields = [
            ("every_hours", self.every_hours, 720),
            ("keep_last", self.keep_last, 1000),
            ("keep_days", self.keep_days, 3650),
        ];
        fields
            .into_iter()
            .filter(|(_, value, max)| value.is_some_and(|v| !(1..=*max).contains(&v)))
            .map(|(field, _, max)| (field, format!("must be between 1 and {max}")))
            .collect()
    }
}

/// A restore: which backup (of any instance of the organization) becomes the instance's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RestoreRequest {
    /// The backup.
    pub backup_id: Uuid,
}

/// What a restore or an import loaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Restored {
    /// Keys in the loaded file.
    pub keys: u64,
    /// Bytes of the loaded file.
    pub size_bytes: u64,
}

//! Backups of instances and their policies (schedule and retention).

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::api;
use crate::provisioning::InstanceStatus;
use crate::store::schema::{backup_policies, backups, redis_instances};
use crate::store::Page;

/// A backup as recorded.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = backups)]
pub struct Backup {
    /// Identifier.
    pub id: Uuid,
    /// The organization of the instance.
    pub organization_id: Uuid,
    /// The instance it was taken of.
    pub instance_id: Uuid,
    /// `manual` or `scheduled`.
    pub trigger: String,
    /// `running`, `done` or `failed`.
    pub state: String,
    /// Its file in the backup store.
    pub object_key: String,
    /// Size in bytes, once done.
    pub size_bytes: Option<i64>,
    /// Keys, once done.
    pub keys: Option<i64>,
    /// SHA-256 (hex), once done.
    pub sha256: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// When it started.
    pub created_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: Option<DateTime<Utc>>,
}

/// `running`.
pub const RUNNING: &str = "running";
/// `done`.
pub const DONE: &str = "done";
/// `failed`.
pub const FAILED: &str = "failed";

impl From<Backup> for api::Backup {
    fn from(b: Backup) -> Self {
        Self {
            id: b.id,
            instance_id: b.instance_id,
            trigger: b.trigger,
            state: b.state,
            size_bytes: b.size_bytes,
            keys: b.keys,
            sha256: b.sha256,
            error: b.error,
            created_at: b.created_at,
            finished_at: b.finished_at,
        }
    }
}

impl Backup {
    /// A new `running` backup of `instance` (in `org`), its file named `<org>/<instance>/<id>.rdb`.
    #[must_use]
    pub fn start(org: Uuid, instance: Uuid, trigger: &str) -> Self {
        let id = Uuid::new_v4();
        Self {
            id,
            organization_id: org,
            instance_id: instance,
            trigger: trigger.to_owned(),
            state: RUNNING.to_owned(),
            object_key: format!("{org}/{instance}/{id}.rdb"),
            size_bytes: None,
            keys: None,
            sha256: None,
            error: None,
            created_at: Utc::now(),
            finished_at: None,
        }
    }

    /// Records it.
    ///
    /// # Errors
    /// Database errors.
    pub async fn insert(&self, conn: &mut AsyncPgConnection) -> QueryResult<()> {
        diesel::insert_into(backups::table).values(self).execute(conn).await.map(drop)
    }

    /// Marks it done with what the file holds.
    ///
    /// # Errors
    /// Database errors.
    pub async fn finish(conn: &mut AsyncPgConnection, id: Uuid, size: i64, keys: i64, sha256: &str) -> QueryResult<()> {
        diesel::update(backups::table.find(id))
            .set((
                backups::state.eq(DONE),
                backups::size_bytes.eq(size),
                backups::keys.eq(keys),
                backups::sha256.eq(sha256),
                backups::finished_at.eq(Utc::now()),
            ))
            .execute(conn)
            .await
            .map(drop)
    }

    /// Marks it failed, with why.
    ///
    /// # Errors
    /// Database errors.
    pub async fn fail(conn: &mut AsyncPgConnection, id: Uuid, error: &str) -> QueryResult<()> {
        diesel::update(backups::table.find(id))
            .set((backups::state.eq(FAILED), backups::error.eq(error), backups::finished_at.eq(Utc::now())))
            .execute(conn)
            .await
            .map(drop)
    }

    /// Marks every `running` backup failed (the process that took them stopped).
    ///
    /// # Errors
    /// Database errors.
    pub async fn fail_interrupted(conn: &mut AsyncPgConnection) -> QueryResult<usize> {
        diesel::update(backups::table.filter(backups::state.eq(RUNNING)))
            .set((
                backups::state.eq(FAILED),
                backups::error.eq("interrupted: the platform stopped"),
                backups::finished_at.eq(Utc::now()),
            ))
            .execute(conn)
            .await
    }

    /// The instance's backups, newest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn list_of(conn: &mut AsyncPgConnection, instance: Uuid, page: Page) -> QueryResult<Vec<Self>> {
        backups::table
            .filter(backups::instance_id.eq(instance))
            .order((backups::created_at.desc(), backups::id))
            .limit(page.limit)
            .offset(page.offset)
            .select(Self::as_select())
            .load(conn)
            .await
    }

    /// Backup `id` of an instance of `org`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn find_in(conn: &mut AsyncPgConnection, org: Uuid, id: Uuid) -> QueryResult<Option<Self>> {
        backups::table
            .filter(backups::organization_id.eq(org))
            .filter(backups::id.eq(id))
            .select(Self::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// Every backup of the instance (to delete their files with it).
    ///
    /// # Errors
    /// Database errors.
    pub async fn all_of(conn: &mut AsyncPgConnection, instance: Uuid) -> QueryResult<Vec<Self>> {
        backups::table.filter(backups::instance_id.eq(instance)).select(Self::as_select()).load(conn).await
    }

    /// The instance's finished backups that `policy` no longer keeps: beyond the newest `keep_last` done
    /// ones, or older than `keep_days`. Failed ones go with them once past either bound.
    ///
    /// # Errors
    /// Database errors.
    pub async fn expired(
        conn: &mut AsyncPgConnection,
        instance: Uuid,
        policy: &api::BackupPolicy,
    ) -> QueryResult<Vec<Self>> {
        let finished: Vec<Self> = backups::table
            .filter(backups::instance_id.eq(instance))
            .filter(backups::state.ne(RUNNING))
            .order((backups::created_at.desc(), backups::id))
            .select(Self::as_select())
            .load(conn)
            .await?;
        let cutoff = policy.keep_days.map(|days| Utc::now() - Duration::days(i64::from(days)));
        let keep_last = policy.keep_last.and_then(|n| usize::try_from(n).ok());
        let mut done_seen = 0;
        Ok(finished
            .into_iter()
            .filter(|b| {
                if b.state == DONE {
                    done_seen += 1;
                }
                let beyond_last = keep_last.is_some_and(|n| b.state != DONE || done_seen > n);
                let too_old = cutoff.is_some_and(|c| b.created_at < c);
                beyond_last || too_old
            })
            .collect())
    }

    /// Forgets backup `id`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
        diesel::delete(backups::table.find(id)).execute(conn).await.map(drop)
    }
}

/// An instance's backup policy.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = backup_policies, treat_none_as_null = true)]
pub struct BackupPolicyRow {
    /// The instance.
    pub instance_id: Uuid,
    /// Hours between scheduled backups.
    pub every_hours: Option<i32>,
    /// Newest backups kept.
    pub keep_last: Option<i32>,
    /// Days backups are kept.
    pub keep_days: Option<i32>,
}

impl BackupPolicyRow {
    /// The policy of `instance` (none set: no schedule, keep everything).
    ///
    /// # Errors
    /// Database errors.
    pub async fn of(conn: &mut AsyncPgConnection, instance: Uuid) -> QueryResult<api::BackupPolicy> {
        let row: Option<Self> =
            backup_policies::table.find(instance).select(Self::as_select()).first(conn).await.optional()?;
        Ok(row.map(Into::into).unwrap_or_default())
    }

    /// Sets the policy of `instance`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn set(conn: &mut AsyncPgConnection, instance: Uuid, policy: &api::BackupPolicy) -> QueryResult<()> {
        let row = Self {
            instance_id: instance,
            every_hours: policy.every_hours,
            keep_last: policy.keep_last,
            keep_days: policy.keep_days,
        };
        diesel::insert_into(backup_policies::table)
            .values(&row)
            .on_conflict(backup_policies::instance_id)
            .do_update()
            .set((&row, backup_policies::updated_at.eq(Utc::now())))
            .execute(conn)
            .await
            .map(drop)
    }

    /// Running instances whose schedule says a backup is due: none started within `every_hours` (a failed
    /// one counts, so a failing instance is not retried in a loop), as `(organization, instance)`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn due(conn: &mut AsyncPgConnection) -> QueryResult<Vec<(Uuid, Uuid)>> {
        let scheduled: Vec<(Uuid, Uuid, i32)> = backup_policies::table
            .inner_join(redis_instances::table)
            .filter(redis_instances::status.eq(InstanceStatus::Running))
            .filter(backup_policies::every_hours.is_not_null())
            .select((
                redis_instances::organization_id,
                redis_instances::id,
                backup_policies::every_hours.assume_not_null(),
            ))
            .load(conn)
            .await?;
        let mut due = Vec::new();
        for (org, instance, hours) in scheduled {
            let since = Utc::now() - Duration::hours(i64::from(hours));
            let recent: i64 = backups::table
                .filter(backups::instance_id.eq(instance))
                .filter(backups::created_at.gt(since))
                .count()
                .get_result(conn)
                .await?;
            if recent == 0 {
                due.push((org, instance));
            }
        }
        Ok(due)
    }
}

impl From<BackupPolicyRow> for api::BackupPolicy {
    fn from(row: BackupPolicyRow) -> Self {
        Self { every_hours: row.every_hours, keep_last: row.keep_last, keep_days: row.keep_days }
    }
}

//! The audit log: one row per mutating call.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::store::schema::audit_log;
use crate::store::Page;

/// An entry as recorded.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log)]
pub struct AuditRecord {
    /// Position in the log.
    pub id: i64,
    /// The organization concerned, if any.
    pub organization_id: Option<Uuid>,
    /// The acting user, if a user acted.
    pub actor_user_id: Option<Uuid>,
    /// The acting API key, if a key acted.
    pub actor_api_key_id: Option<Uuid>,
    /// What happened.
    pub action: String,
    /// What kind of thing it happened to.
    pub target_type: String,
    /// Which one.
    pub target_id: Option<Uuid>,
    /// Extra facts.
    pub details: serde_json::Value,
    /// When.
    pub created_at: DateTime<Utc>,
}

impl From<AuditRecord> for crate::api::AuditEntry {
    fn from(record: AuditRecord) -> Self {
        Self {
            id: record.id,
            actor_user_id: record.actor_user_id,
            actor_api_key_id: record.actor_api_key_id,
            action: record.action,
            target_type: record.target_type,
            target_id: record.target_id,
            details: record.details,
            created_at: record.created_at,
        }
    }
}

impl AuditRecord {
    /// An organization's log, newest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn list(conn: &mut AsyncPgConnection, org: Uuid, page: Page) -> QueryResult<Vec<Self>> {
        audit_log::table
            .filter(audit_log::organization_id.eq(org))
            .order(audit_log::id.desc())
            .limit(page.limit)
            .offset(page.offset)
            .select(Self::as_select())
            .load(conn)
            .await
    }
}

/// One audited action.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = audit_log)]
pub struct AuditEntry<'a> {
    /// The organization concerned, if any.
    pub organization_id: Option<Uuid>,
    /// The acting user, if a user acted.
    pub actor_user_id: Option<Uuid>,
    /// The acting API key, if a key acted.
    pub actor_api_key_id: Option<Uuid>,
    /// What happened, e.g. `instance.create`.
    pub action: &'a str,
    /// What kind of thing it happened to.
    pub target_type: &'a str,
    /// Which one.
    pub target_id: Option<Uuid>,
    /// Extra facts (never secrets).
    pub details: serde_json::Value,
}

impl AuditEntry<'_> {
    /// Appends the entry.
    ///
    /// # Errors
    /// Database errors.
    pub async fn insert(&self, conn: &mut AsyncPgConnection) -> QueryResult<()> {
        diesel::insert_into(audit_log::table).values(self).execute(conn).await.map(|_| ())
    }
}

//! Redis instances and their access tokens.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::api;
use crate::limits::Limits;
use crate::provisioning::{InstanceStatus, Topology};
use crate::store::schema::{instance_tokens, organizations, plans, redis_instances};
use crate::store::Page;

/// A Redis instance as the control plane records it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = redis_instances)]
pub struct Instance {
    /// Identifier.
    pub id: Uuid,
    /// Owning organization.
    pub organization_id: Uuid,
    /// Globally unique DNS label: `<name>.<domain>` and `/db/<name>`.
    pub name: String,
    /// Unique within the organization.
    pub slug: String,
    /// `maxmemory` in bytes.
    pub max_memory: i64,
    /// Requested Redis version.
    pub redis_version: String,
    /// Where it is in its lifecycle.
    pub status: InstanceStatus,
    /// Why the status is what it is (failures).
    pub status_message: Option<String>,
    /// `host:port` reported by the provisioner, without credentials.
    pub endpoint: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Rates and sizes the gateway enforces.
    pub limits: Limits,
    /// One server, or a master with replicas.
    pub topology: Topology,
}

/// A new instance, inserted as `pending`.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = redis_instances)]
pub struct NewInstance<'a> {
    /// Identifier.
    pub id: Uuid,
    /// Owning organization.
    pub organization_id: Uuid,
    /// Globally unique name.
    pub name: &'a str,
    /// Slug, unique in the organization.
    pub slug: &'a str,
    /// `maxmemory` in bytes.
    pub max_memory: i64,
    /// Requested Redis version.
    pub redis_version: &'a str,
    /// Initial status.
    pub status: InstanceStatus,
    /// Rates and sizes the gateway enforces.
    pub limits: Limits,
    /// One server, or a master with replicas.
    pub topology: Topology,
}

/// What PATCH may change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, AsChangeset)]
#[diesel(table_name = redis_instances)]
pub struct InstanceChanges {
    /// New `maxmemory` in bytes.
    pub max_memory: Option<i64>,
    /// New limits (replacing the old ones).
    pub limits: Option<Limits>,
    /// New layout (another replica count).
    pub topology: Option<Topology>,
}

/// A token that opens an instance's data plane; only its digest is stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = instance_tokens)]
pub struct InstanceToken {
    /// Identifier.
    pub id: Uuid,
    /// The instance it opens.
    pub instance_id: Uuid,
    /// `full` or `readonly`.
    pub access: crate::protocol::Access,
    /// SHA-256 of the token.
    pub token_hash: Vec<u8>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// When it stops working: set when rotated away, or ahead of time for a temporary token.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl NewInstance<'_> {
    /// Inserts the instance.
    ///
    /// # Errors
    /// Database errors; a duplicate name or slug is a unique violation.
    pub async fn insert(&self, conn: &mut AsyncPgConnection) -> QueryResult<Instance> {
        diesel::insert_into(redis_instances::table)
            .values(self)
            .returning(Instance::as_returning())
            .get_result(conn)
            .await
    }
}

impl Instance {
    /// What the provisioner needs to run it.
    #[must_use]
    pub fn spec(&self) -> crate::provisioning::InstanceSpec {
        crate::provisioning::InstanceSpec {
            name: self.name.clone(),
            slug: self.slug.clone(),
            max_memory: self.max_memory,
            redis_version: self.redis_version.clone(),
            topology: self.topology,
        }
    }

    /// The instance as the management API shows it, reached at `rest_url`.
    #[must_use]
    pub fn into_api(self, rest_url: String) -> api::Instance {
        api::Instance {
            id: self.id,
            organization_id: self.organization_id,
            name: self.name,
            slug: self.slug,
            max_memory: self.max_memory,
            redis_version: self.redis_version,
            status: self.status,
            status_message: self.status_message,
            rest_url,
            created_at: self.created_at,
            updated_at: self.updated_at,
            limits: self.limits,
            topology: self.topology,
            nodes: Vec::new(),
        }
    }

    /// Where the provisioner runs it.
    #[must_use]
    pub fn target(&self) -> crate::provisioning::Target {
        crate::provisioning::Target { id: self.id, organization_id: self.organization_id }
    }

    /// The instance `id` of organization `org`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn find_in(conn: &mut AsyncPgConnection, org: Uuid, id: Uuid) -> QueryResult<Option<Self>> {
        redis_instances::table
            .filter(redis_instances::organization_id.eq(org))
            .filter(redis_instances::id.eq(id))
            .select(Self::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// The instance `id`, whatever its organization (internal use: provisioning, start-up).
    ///
    /// # Errors
    /// Database errors.
    pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Self>> {
        redis_instances::table.find(id).select(Self::as_select()).first(conn).await.optional()
    }

    /// An organization's instances, oldest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn list_in(conn: &mut AsyncPgConnection, org: Uuid, page: Page) -> QueryResult<Vec<Self>> {
        redis_instances::table
            .filter(redis_instances::organization_id.eq(org))
            .order((redis_instances::created_at.asc(), redis_instances::id.asc()))
            .limit(page.limit)
            .offset(page.offset)
            .select(Self::as_select())
            .load(conn)
            .await
    }

    /// Every instance (start-up re-adoption).
    ///
    /// # Errors
    /// Database errors.
    pub async fn all(conn: &mut AsyncPgConnection) -> QueryResult<Vec<Self>> {
        redis_instances::table.order(redis_instances::created_at.asc()).select(Self::as_select()).load(conn).await
    }

    /// Every running instance with the limits that apply to it: its own, clamped to its organization's plan
    /// (the gateway's directory).
    ///
    /// # Errors
    /// Database errors.
    pub async fn running(conn: &mut AsyncPgConnection) -> QueryResult<Vec<Self>> {
        let rows: Vec<(Self, Limits)> = redis_instances::table
            .inner_join(organizations::table.inner_join(plans::table))
            .filter(redis_instances::status.eq(InstanceStatus::Running))
            .order(redis_instances::created_at.asc())
            .select((Self::as_select(), plans::limits))
            .load(conn)
            .await?;
        Ok(rows
            .into_iter()
            .map(|(instance, plan)| Self { limits: instance.limits.strictest(&plan), ..instance })
            .collect())
    }

    /// Marks the instance changed (its `updated_at`), which tells every gateway to reload it and to make new
    /// connections to it (after its server restarted with other data).
    ///
    /// # Errors
    /// Database errors.
    pub async fn touch(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
        diesel::update(redis_instances::table.find(id))
            .set(redis_instances::updated_at.eq(Utc::now()))
            .execute(conn)
            .await
            .map(drop)
    }

    /// Moves the instance to `status`, if its current status may become that
    /// ([`InstanceStatus::can_become`]); `None` when it is gone or may not (a deleting instance does not become
    /// running because a provisioning that started before the deletion finished).
    ///
    /// # Errors
    /// Database errors.
    pub async fn set_status(
        conn: &mut AsyncPgConnection,
        id: Uuid,
        status: InstanceStatus,
        message: Option<&str>,
        endpoint: Option<&str>,
    ) -> QueryResult<Option<Self>> {
        let sources: Vec<InstanceStatus> = InstanceStatus::sources(status).collect();
        diesel::update(redis_instances::table.find(id).filter(redis_instances::status.eq_any(sources)))
            .set((
                redis_instances::status.eq(status),
                redis_instances::status_message.eq(message),
                redis_instances::endpoint.eq(endpoint),
                redis_instances::updated_at.eq(Utc::now()),
            ))
            .returning(Self::as_returning())
            .get_result(conn)
            .await
            .optional()
    }

    /// Applies what PATCH may change.
    ///
    /// # Errors
    /// Database errors.
    pub async fn update(conn: &mut AsyncPgConnection, id: Uuid, changes: &InstanceChanges) -> QueryResult<Self> {
        diesel::update(redis_instances::table.find(id))
            .set((changes, redis_instances::updated_at.eq(Utc::now())))
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    /// Deletes the row (its tokens go with it).
    ///
    /// # Errors
    /// Database errors.
    pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
        diesel::delete(redis_instances::table.find(id)).execute(conn).await
    }
}

impl From<Instance> for api::Status {
    fn from(i: Instance) -> Self {
        Self { status: i.status, message: i.status_message, endpoint: i.endpoint, updated_at: i.updated_at }
    }
}

impl From<InstanceToken> for api::TokenInfo {
    fn from(token: InstanceToken) -> Self {
        Self { access: token.access, created_at: token.created_at }
    }
}

impl InstanceToken {
    /// Revokes the instance's current tokens and stores new ones (digests), in one transaction.
    ///
    /// # Errors
    /// Database errors.
    pub async fn replace(
        conn: &mut AsyncPgConnection,
        instance: Uuid,
        tokens: Vec<(crate::protocol::Access, Vec<u8>)>,
    ) -> QueryResult<()> {
        use diesel_async::AsyncConnection as _;
        conn.transaction(async move |conn| {
            diesel::update(instance_tokens::table.filter(instance_tokens::instance_id.eq(instance)))
                .filter(instance_tokens::revoked_at.is_null().or(instance_tokens::revoked_at.gt(Utc::now())))
                .set(instance_tokens::revoked_at.eq(Some(Utc::now())))
                .execute(&mut *conn)
                .await?;
            let rows: Vec<Self> = tokens
                .into_iter()
                .map(|(access, token_hash)| Self {
                    id: Uuid::new_v4(),
                    instance_id: instance,
                    access,
                    token_hash,
                    created_at: Utc::now(),
                    revoked_at: None,
                })
                .collect();
            diesel::insert_into(instance_tokens::table).values(&rows).execute(&mut *conn).await?;
            Ok(())
        })
        .await
    }

    /// The tokens of one instance that are not revoked.
    ///
    /// # Errors
    /// Database errors.
    pub async fn active_for(conn: &mut AsyncPgConnection, instance: Uuid) -> QueryResult<Vec<Self>> {
        instance_tokens::table
            .filter(instance_tokens::instance_id.eq(instance))
            .filter(instance_tokens::revoked_at.is_null().or(instance_tokens::revoked_at.gt(Utc::now())))
            .order(instance_tokens::created_at.asc())
            .select(Self::as_select())
            .load(conn)
            .await
    }

    /// Every token that works now: not revoked, or revoked only later (the gateway's directory).
    ///
    /// # Errors
    /// Database errors.
    pub async fn all_active(conn: &mut AsyncPgConnection) -> QueryResult<Vec<Self>> {
        instance_tokens::table
            .filter(instance_tokens::revoked_at.is_null().or(instance_tokens::revoked_at.gt(Utc::now())))
            .select(Self::as_select())
            .load(conn)
            .await
    }

    /// Adds a token of `instance` with `access` that stops working at `until` (the console's: its
    /// `revoked_at` lies ahead), besides the instance's others. The instance's tokens that have stopped
    /// working (earlier console tokens, rotated tokens) are deleted first, so a page opened every day does not
    /// grow the table.
    ///
    /// # Errors
    /// Database errors.
    pub async fn issue_until(
        conn: &mut AsyncPgConnection,
        instance: Uuid,
        access: crate::protocol::Access,
        token_hash: Vec<u8>,
        until: DateTime<Utc>,
    ) -> QueryResult<()> {
        let row = Self {
            id: Uuid::new_v4(),
            instance_id: instance,
            access,
            token_hash,
            created_at: Utc::now(),
            revoked_at: Some(until),
        };
        let ended = instance_tokens::instance_id.eq(instance).and(instance_tokens::revoked_at.le(Utc::now()));
        diesel::delete(instance_tokens::table.filter(ended)).execute(conn).await?;
        diesel::insert_into(instance_tokens::table).values(row).execute(conn).await.map(|_| ())
    }
}

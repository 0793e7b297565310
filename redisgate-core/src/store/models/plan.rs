//! Plans: what an organization may have (instances, their memory in all, the ceilings of their limits), set
//! by the platform's operator. Tenants read their plan; only `redisgate admin plan` changes one.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::limits::Limits;
use crate::store::schema::{organizations, plans, redis_instances};

/// The plan new organizations get.
pub const DEFAULT_PLAN: &str = "default";

/// A plan.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = plans)]
pub struct Plan {
    /// Unique name (`a-z`, `0-9`, `-`).
    pub name: String,
    /// Most instances an organization may have.
    pub max_instances: i32,
    /// Most memory (bytes) an organization's instances may have in all.
    pub max_memory: i64,
    /// Ceilings of each instance's limits: an instance gets the stricter of its own and these.
    pub limits: Limits,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// What an organization has of its plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlanUse {
    /// Instances (deleting ones included, until they are gone).
    pub instances: i64,
    /// The sum of their `max_memory`, once per data node (a master with two replicas counts three times).
    pub memory: i64,
}

impl Plan {
    /// The plan called `name`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn find(conn: &mut AsyncPgConnection, name: &str) -> QueryResult<Option<Self>> {
        plans::table.find(name).select(Self::as_select()).first(conn).await.optional()
    }

    /// The plan of organization `org`.
    ///
    /// # Errors
    /// Database errors; `NotFound` when there is no such organization.
    pub async fn of(conn: &mut AsyncPgConnection, org: Uuid) -> QueryResult<Self> {
        organizations::table
            .inner_join(plans::table)
            .filter(organizations::id.eq(org))
            .select(Self::as_select())
            .first(conn)
            .await
    }

    /// The plan of organization `org`, with the organization's row locked until the transaction ends, and
    /// what the organization uses of it: changes that count against the plan call this first in their
    /// transaction, so two of them cannot both take the last place.
    ///
    /// # Errors
    /// Database errors; `NotFound` when there is no such organization.
    pub async fn lock_for(conn: &mut AsyncPgConnection, org: Uuid) -> QueryResult<(Self, PlanUse)> {
        let name: String = organizations::table.find(org).select(organizations::plan).for_update().first(conn).await?;
        let plan = plans::table.find(name).select(Self::as_select()).first(conn).await?;
        Ok((plan, Self::used_by(conn, org).await?))
    }

    /// What organization `org` uses: its instances and their memory (a replica's counts as much as its
    /// master's).
    ///
    /// # Errors
    /// Database errors.
    pub async fn used_by(conn: &mut AsyncPgConnection, org: Uuid) -> QueryResult<PlanUse> {
        use diesel::sql_types::BigInt;
        let (instances, memory) = redis_instances::table
            .filter(redis_instances::organization_id.eq(org))
            .select(diesel::dsl::sql::<(BigInt, BigInt)>(
                "count(*), coalesce(sum(max_memory * (1 + coalesce((topology->>'replicas')::bigint, 0))), 0)::bigint",
            ))
            .first::<(i64, i64)>(conn)
            .await?;
        Ok(PlanUse { instances, memory })
    }

    /// Every plan, by name.
    ///
    /// # Errors
    /// Database errors.
    pub async fn list(conn: &mut AsyncPgConnection) -> QueryResult<Vec<Self>> {
        plans::table.order(plans::name.asc()).select(Self::as_select()).load(conn).await
    }

    /// Creates the plan or replaces its values.
    ///
    /// # Errors
    /// Database errors (a name the table's check refuses).
    pub async fn upsert(&self, conn: &mut AsyncPgConnection) -> QueryResult<Self> {
        diesel::insert_into(plans::table)
            .values(self)
            .on_conflict(plans::name)
            .do_update()
            .set(self)
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    /// Puts organization `org` (by slug) on plan `name`; `false` when there is no such organization.
    ///
    /// # Errors
    /// Database errors; an unknown plan is a foreign-key violation.
    pub async fn assign(conn: &mut AsyncPgConnection, org_slug: &str, name: &str) -> QueryResult<bool> {
        let changed = diesel::update(organizations::table.filter(organizations::slug.eq(org_slug)))
            .set(organizations::plan.eq(name))
            .execute(conn)
            .await?;
        Ok(changed == 1)
    }
}

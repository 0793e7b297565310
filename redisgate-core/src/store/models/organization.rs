//! Organizations and their members.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::api::Role;
use crate::store::schema::{memberships, organizations, users};
use crate::store::Page;

/// An organization: the owner of instances and API keys.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = organizations)]
pub struct Organization {
    /// Identifier.
    pub id: Uuid,
    /// Display name.
    pub name: String,
    /// Unique slug.
    pub slug: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Its plan ([`crate::store::Plan`]).
    pub plan: String,
}

/// A user's role in an organization.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = memberships)]
pub struct Membership {
    /// The organization.
    pub organization_id: Uuid,
    /// The member.
    pub user_id: Uuid,
    /// `owner`, `admin` or `member`.
    pub role: Role,
    /// When the user joined.
    pub created_at: DateTime<Utc>,
}

impl Organization {
    /// The organization as the management API shows it to a caller with `role`.
    #[must_use]
    pub fn into_api(self, role: Option<Role>) -> crate::api::Organization {
        crate::api::Organization {
            id: self.id,
            name: self.name,
            slug: self.slug,
            role,
            plan: self.plan,
            created_at: self.created_at,
        }
    }
}

impl Organization {
    /// Creates an organization with `owner` as its first member, in one transaction, unless `owner` already
    /// owns `max_owned` organizations (`None` then). The owner's row is locked while counting, so concurrent
    /// creations cannot pass the bound together.
    ///
    /// # Errors
    /// Database errors; a duplicate slug is a unique violation.
    pub async fn create(
        conn: &mut AsyncPgConnection,
        name: &str,
        slug: &str,
        owner: Uuid,
        max_owned: i64,
    ) -> QueryResult<Option<Self>> {
        use diesel_async::AsyncConnection as _;
        let org = Self {
            id: Uuid::new_v4(),
            name: name.to_owned(),
            slug: slug.to_owned(),
            created_at: Utc::now(),
            plan: crate::store::DEFAULT_PLAN.to_owned(),
        };
        conn.transaction(async move |conn| {
            if !Self::may_own_another(conn, owner, max_owned).await? {
                return Ok(None);
            }
            let org: Self = diesel::insert_into(organizations::table)
                .values(&org)
                .returning(Self::as_returning())
                .get_result(&mut *conn)
                .await?;
            Membership::insert(conn, org.id, owner, Role::Owner).await?;
            Ok(Some(org))
        })
        .await
    }

    /// The organization `id` if `user` is a member, with the user's role.
    ///
    /// # Errors
    /// Database errors.
    pub async fn find_for_user(
        conn: &mut AsyncPgConnection,
        id: Uuid,
        user: Uuid,
    ) -> QueryResult<Option<(Self, Role)>> {
        organizations::table
            .inner_join(memberships::table)
            .filter(organizations::id.eq(id))
            .filter(memberships::user_id.eq(user))
            .select((Self::as_select(), memberships::role))
            .first(conn)
            .await
            .optional()
    }

    /// Whether `user` may own one more organization (owns fewer than `max_owned`), counted with the user's
    /// row locked until the caller's transaction ends: call it inside the transaction that makes the user an
    /// owner (an accepted invitation, a promotion).
    ///
    /// # Errors
    /// Database errors.
    pub async fn may_own_another(conn: &mut AsyncPgConnection, user: Uuid, max_owned: i64) -> QueryResult<bool> {
        users::table.find(user).select(users::id).for_update().first::<Uuid>(&mut *conn).await?;
        Ok(Self::count_owned_by(conn, user).await? < max_owned)
    }

    /// How many organizations `user` owns.
    ///
    /// # Errors
    /// Database errors.
    pub async fn count_owned_by(conn: &mut AsyncPgConnection, user: Uuid) -> QueryResult<i64> {
        memberships::table
            .filter(memberships::user_id.eq(user))
            .filter(memberships::role.eq(Role::Owner))
            .count()
            .get_result(conn)
            .await
    }

    /// The organization `id`.
    ///
    /// # Errors
    /// Database errors.
    pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Self>> {
        organizations::table.find(id).select(Self::as_select()).first(conn).await.optional()
    }

    /// The organizations `user` belongs to, with the user's role, oldest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn list_for_user(conn: &mut AsyncPgConnection, user: Uuid, page: Page) -> QueryResult<Vec<(Self, Role)>> {
        organizations::table
            .inner_join(memberships::table)
            .filter(memberships::user_id.eq(user))
            .order((organizations::created_at.asc(), organizations::id.asc()))
            .limit(page.limit)
            .offset(page.offset)
            .select((Self::as_select(), memberships::role))
            .load(conn)
            .await
    }

    /// Renames the organization.
    ///
    /// # Errors
    /// Database errors; a duplicate slug is a unique violation.
    pub async fn update(
        conn: &mut AsyncPgConnection,
        id: Uuid,
        name: Option<&str>,
        slug: Option<&str>,
    ) -> QueryResult<Self> {
        let current = organizations::table.find(id).select(Self::as_select()).first(conn).await?;
        diesel::update(organizations::table.find(id))
            .set((
                organizations::name.eq(name.unwrap_or(&current.name)),
                organizations::slug.eq(slug.unwrap_or(&current.slug)),
            ))
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    /// Deletes the organization (its members, keys and instance rows go with it).
    ///
    /// # Errors
    /// Database errors.
    pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
        diesel::delete(organizations::table.find(id)).execute(conn).await
    }
}

impl Membership {
    /// Adds a member.
    ///
    /// # Errors
    /// Database errors; an existing membership is a unique violation.
    pub async fn insert(conn: &mut AsyncPgConnection, org: Uuid, user: Uuid, role: Role) -> QueryResult<Self> {
        let membership = Self { organization_id: org, user_id: user, role, created_at: Utc::now() };
        diesel::insert_into(memberships::table)
            .values(&membership)
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    /// The members of an organization with their emails, oldest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn list(conn: &mut AsyncPgConnection, org: Uuid, page: Page) -> QueryResult<Vec<(Self, String)>> {
        memberships::table
            .inner_join(users::table)
            .filter(memberships::organization_id.eq(org))
            .order((memberships::created_at.asc(), memberships::user_id.asc()))
            .limit(page.limit)
            .offset(page.offset)
            .select((Self::as_select(), users::email))
            .load(conn)
            .await
    }

    /// One membership.
    ///
    /// # Errors
    /// Database errors.
    pub async fn find(conn: &mut AsyncPgConnection, org: Uuid, user: Uuid) -> QueryResult<Option<Self>> {
        memberships::table.find((org, user)).select(Self::as_select()).first(conn).await.optional()
    }

    /// Changes a member's role.
    ///
    /// # Errors
    /// Database errors.
    pub async fn set_role(conn: &mut AsyncPgConnection, org: Uuid, user: Uuid, role: Role) -> QueryResult<Self> {
        diesel::update(memberships::table.find((org, user)))
            .set(memberships::role.eq(role))
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    /// Removes a member.
    ///
    /// # Errors
    /// Database errors.
    pub async fn delete(conn: &mut AsyncPgConnection, org: Uuid, user: Uuid) -> QueryResult<usize> {
        diesel::delete(memberships::table.find((org, user))).execute(conn).await
    }

    /// How many owners the organization has, with their memberships locked until the transaction ends: a
    /// change that could remove the last owner counts with this first, so two such changes made at once
    /// cannot both pass.
    ///
    /// # Errors
    /// Database errors.
    pub async fn lock_owners(conn: &mut AsyncPgConnection, org: Uuid) -> QueryResult<usize> {
        let owners: Vec<Uuid> = memberships::table
            .filter(memberships::organization_id.eq(org))
            .filter(memberships::role.eq(Role::Owner))
            .select(memberships::user_id)
            .for_update()
            .load(conn)
            .await?;
        Ok(owners.len())
    }
}

//! Organization API keys: scoped, optionally limited to one instance, stored as digests.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::limits::Limits;
use crate::store::schema::{api_keys, organizations};
use crate::store::Page;

/// An API key as stored: its digest and a display prefix, never the key.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys)]
pub struct ApiKey {
    /// Identifier.
    pub id: Uuid,
    /// Owning organization.
    pub organization_id: Uuid,
    /// The one instance it is limited to, if any.
    pub instance_id: Option<Uuid>,
    /// A name for people.
    pub name: String,
    /// The first characters of the key, to recognise it in lists.
    pub key_prefix: String,
    /// SHA-256 of the key.
    pub key_hash: Vec<u8>,
    /// Granted scopes.
    pub scopes: Vec<crate::api::Scope>,
    /// The user who created it.
    pub created_by: Option<Uuid>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Set when revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Limits of requests made with this key (on top of the instance's).
    pub limits: Limits,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
}

/// A key to insert.
#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = api_keys)]
pub struct NewApiKey<'a> {
    /// Identifier.
    pub id: Uuid,
    /// Owning organization.
    pub organization_id: Uuid,
    /// Optional single instance.
    pub instance_id: Option<Uuid>,
    /// A name for people.
    pub name: &'a str,
    /// Display prefix.
    pub key_prefix: &'a str,
    /// SHA-256 of the key.
    pub key_hash: &'a [u8],
    /// Granted scopes.
    pub scopes: &'a [crate::api::Scope],
    /// The creating user.
    pub created_by: Option<Uuid>,
    /// Limits of requests made with this key.
    pub limits: Limits,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
}

impl From<ApiKey> for crate::api::ApiKey {
    fn from(key: ApiKey) -> Self {
        Self {
            id: key.id,
            name: key.name,
            prefix: key.key_prefix,
            scopes: key.scopes,
            instance_id: key.instance_id,
            created_by: key.created_by,
            created_at: key.created_at,
            expires_at: key.expires_at,
            limits: key.limits,
        }
    }
}

impl NewApiKey<'_> {
    /// Inserts the key.
    ///
    /// # Errors
    /// Database errors.
    pub async fn insert(&self, conn: &mut AsyncPgConnection) -> QueryResult<ApiKey> {
        diesel::insert_into(api_keys::table).values(self).returning(ApiKey::as_returning()).get_result(conn).await
    }

    /// Inserts the key if its organization has fewer than `max` active keys, counted with the organization's
    /// row locked (so keys made at once cannot pass the count together); `None` when it has as many.
    ///
    /// # Errors
    /// Database errors.
    pub async fn insert_within(&self, conn: &mut AsyncPgConnection, max: i64) -> QueryResult<Option<ApiKey>> {
        use diesel_async::AsyncConnection as _;
        conn.transaction(async |conn| {
            organizations::table
                .find(self.organization_id)
                .select(organizations::id)
                .for_update()
                .first::<Uuid>(&mut *conn)
                .await?;
            let active: i64 = api_keys::table
                .filter(api_keys::organization_id.eq(self.organization_id))
                .filter(active())
                .count()
                .get_result(&mut *conn)
                .await?;
            if active >= max {
                return Ok(None);
            }
            self.insert(conn).await.map(Some)
        })
        .await
    }
}

/// Keys neither revoked nor expired.
type Active = diesel::dsl::And<
    diesel::dsl::IsNull<api_keys::revoked_at>,
    diesel::dsl::Or<diesel::dsl::IsNull<api_keys::expires_at>, diesel::dsl::Gt<api_keys::expires_at, diesel::dsl::now>>,
>;

fn active() -> Active {
    api_keys::revoked_at.is_null().and(api_keys::expires_at.is_null().or(api_keys::expires_at.gt(diesel::dsl::now)))
}

impl ApiKey {
    /// The active key with this digest.
    ///
    /// # Errors
    /// Database errors.
    pub async fn find_active_by_hash(conn: &mut AsyncPgConnection, hash: &[u8]) -> QueryResult<Option<Self>> {
        api_keys::table
            .filter(api_keys::key_hash.eq(hash))
            .filter(active())
            .select(Self::as_select())
            .first(conn)
            .await
            .optional()
    }

    /// An organization's active keys, oldest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn list_in(conn: &mut AsyncPgConnection, org: Uuid, page: Page) -> QueryResult<Vec<Self>> {
        api_keys::table
            .filter(api_keys::organization_id.eq(org))
            .filter(active())
            .order((api_keys::created_at.asc(), api_keys::id.asc()))
            .limit(page.limit)
            .offset(page.offset)
            .select(Self::as_select())
            .load(conn)
            .await
    }

    /// Every active key (the gateway's directory picks those with data scopes).
    ///
    /// # Errors
    /// Database errors.
    pub async fn all_active(conn: &mut AsyncPgConnection) -> QueryResult<Vec<Self>> {
        api_keys::table.filter(active()).select(Self::as_select()).load(conn).await
    }

    /// Revokes every active key `user` made in organization `org` (when the user leaves it); how many.
    ///
    /// # Errors
    /// Database errors.
    pub async fn revoke_made_by(conn: &mut AsyncPgConnection, org: Uuid, user: Uuid) -> QueryResult<usize> {
        diesel::update(api_keys::table)
            .filter(api_keys::organization_id.eq(org))
            .filter(api_keys::created_by.eq(user))
            .filter(api_keys::revoked_at.is_null())
            .set(api_keys::revoked_at.eq(Some(Utc::now())))
            .execute(conn)
            .await
    }

    /// Revokes key `id` of organization `org`; `false` when there is no such active key.
    ///
    /// # Errors
    /// Database errors.
    pub async fn revoke(conn: &mut AsyncPgConnection, org: Uuid, id: Uuid) -> QueryResult<bool> {
        let changed = diesel::update(api_keys::table.find(id))
            .filter(api_keys::organization_id.eq(org))
            .filter(api_keys::revoked_at.is_null())
            .set(api_keys::revoked_at.eq(Some(Utc::now())))
            .execute(conn)
            .await?;
        Ok(changed == 1)
    }
}

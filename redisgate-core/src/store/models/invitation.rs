//! Invitations to join an organization: made by an admin for an email, accepted by the user with that email
//! and the invitation's code (stored as a SHA-256 digest).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::store::schema::invitations;
use crate::store::Page;

/// A pending invitation.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = invitations)]
pub struct Invitation {
    /// Identifier.
    pub id: Uuid,
    /// The organization to join.
    pub organization_id: Uuid,
    /// Who may accept it (lower-cased).
    pub email: String,
    /// The role the invitee gets.
    pub role: crate::api::Role,
    /// SHA-256 of the code.
    pub code_hash: Vec<u8>,
    /// The admin who made it.
    pub invited_by: Option<Uuid>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it lapses.
    pub expires_at: DateTime<Utc>,
}

impl From<Invitation> for crate::api::Invitation {
    fn from(invitation: Invitation) -> Self {
        Self {
            id: invitation.id,
            organization_id: invitation.organization_id,
            email: invitation.email,
            role: invitation.role,
            invited_by: invitation.invited_by,
            created_at: invitation.created_at,
            expires_at: invitation.expires_at,
        }
    }
}

impl Invitation {
    /// Records the invitation; one for the same email and organization is replaced (its old code stops
    /// working).
    ///
    /// # Errors
    /// Database errors.
    pub async fn upsert(&self, conn: &mut AsyncPgConnection) -> QueryResult<Self> {
        diesel::insert_into(invitations::table)
            .values(self)
            .on_conflict((invitations::organization_id, invitations::email))
            .do_update()
            .set((
                invitations::id.eq(self.id),
                invitations::role.eq(&self.role),
                invitations::code_hash.eq(&self.code_hash),
                invitations::invited_by.eq(self.invited_by),
                invitations::created_at.eq(self.created_at),
                invitations::expires_at.eq(self.expires_at),
            ))
            .returning(Self::as_returning())
            .get_result(conn)
            .await
    }

    /// An organization's invitations not yet lapsed, oldest first.
    ///
    /// # Errors
    /// Database errors.
    pub async fn list_in(conn: &mut AsyncPgConnection, org: Uuid, page: Page) -> QueryResult<Vec<Self>> {
        invitations::table
            .filter(invitations::organization_id.eq(org))
            .filter(invitations::expires_at.gt(diesel::dsl::now))
            .order((invitations::created_at.asc(), invitations::id.asc()))
            .limit(page.limit)
            .offset(page.offset)
            .select(Self::as_select())
            .load(conn)
            .await
    }

    /// Takes the invitation with this code for `email`, if it has not lapsed: it is deleted (in the caller's
    /// transaction) and returned.
    ///
    /// # Errors
    /// Database errors.
    pub async fn take(conn: &mut AsyncPgConnection, code_hash: &[u8], email: &str) -> QueryResult<Option<Self>> {
        diesel::delete(
            invitations::table
                .filter(invitations::code_hash.eq(code_hash))
                .filter(invitations::email.eq(email))
                .filter(invitations::expires_at.gt(diesel::dsl::now)),
        )
        .returning(Self::as_returning())
        .get_result(conn)
        .await
        .optional()
    }

    /// Withdraws invitation `id` of organization `org`; `false` when there is none.
    ///
    /// # Errors
    /// Database errors.
    pub async fn delete(conn: &mut AsyncPgConnection, org: Uuid, id: Uuid) -> QueryResult<bool> {
        let deleted = diesel::delete(invitations::table.find(id).filter(invitations::organization_id.eq(org)))
            .execute(conn)
            .await?;
        Ok(deleted == 1)
    }
}

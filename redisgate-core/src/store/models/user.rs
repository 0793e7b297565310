//! Users: an email and an argon2id password hash.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::store::schema::users;

/// A registered user.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = users)]
pub struct User {
    /// Identifier.
    pub id: Uuid,
    /// Lower-cased email, unique.
    pub email: String,
    /// argon2id PHC string; never serialised.
    pub password_hash: String,
    /// When the user registered.
    pub created_at: DateTime<Utc>,
    /// The version session tokens must carry; logging out and changing the password increase it, which
    /// ends every session issued before.
    pub session_version: i32,
}

impl From<&User> for crate::api::User {
    fn from(user: &User) -> Self {
        Self { id: user.id, email: user.email.clone(), created_at: user.created_at }
    }
}

impl User {
    /// Inserts a new user.
    ///
    /// # Errors
    /// Database errors; a duplicate email is a unique violation.
    pub async fn insert(conn: &mut AsyncPgConnection, email: &str, password_hash: &str) -> QueryResult<Self> {
        let user = Self {
            id: Uuid::new_v4(),
            email: email.to_owned(),
            password_hash: password_hash.to_owned(),
            created_at: Utc::now(),
            session_version: 0,
        };
        diesel::insert_into(users::table).values(&user).returning(Self::as_returning()).get_result(conn).await
    }

    /// The user with this (lower-cased) email.
    ///
    /// # Errors
    /// Database errors.
    pub async fn find_by_email(conn: &mut AsyncPgConnection, email: &str) -> QueryResult<Option<Self>> {
        users::table.filter(users::email.eq(email)).select(Self::as_select()).first(conn).await.optional()
    }

    /// The user with this id.
    ///
    /// # Errors
    /// Database errors.
    pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Self>> {
        users::table.find(id).select(Self::as_select()).first(conn).await.optional()
    }

    /// Ends every session of user `id` (and sets a new password hash, if given); the new session version.
    ///
    /// # Errors
    /// Database errors; `NotFound` when the user is gone.
    pub async fn end_sessions(conn: &mut AsyncPgConnection, id: Uuid, password_hash: Option<&str>) -> QueryResult<i32> {
        let bump = users::session_version.eq(users::session_version + 1);
        let query = diesel::update(users::table.find(id));
        match password_hash {
            Some(hash) => {
                query
                    .set((bump, users::password_hash.eq(hash)))
                    .returning(users::session_version)
                    .get_result(conn)
                    .await
            }
            None => query.set(bump).returning(users::session_version).get_result(conn).await,
        }
    }
}

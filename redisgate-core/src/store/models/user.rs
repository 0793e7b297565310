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
}

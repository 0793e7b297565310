//! The control plane's store: diesel models with their queries, and the embedded migrations.
//!
//! Queries live on the model types (`User::find_by_email`, `NewApiKey::insert`…), never in handlers.
//! Every query is async (diesel-async on PostgreSQL); callers hold a pooled connection.

pub mod models;
pub mod schema;

use diesel_migrations::{embed_migrations, EmbeddedMigrations};

pub use diesel_async::AsyncPgConnection;
pub use models::*;

/// The migrations under the workspace's `migrations/`, compiled in and run at start.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations");

/// Whether a diesel error is a unique-constraint violation (a duplicate name, slug or email).
#[must_use]
pub fn is_unique_violation(error: &diesel::result::Error) -> bool {
    matches!(error, diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _))
}

/// A page of results: `limit` items from `offset`.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    /// Most items to return (1–100).
    pub limit: i64,
    /// Items to skip.
    pub offset: i64,
}

impl Page {
    /// A page clamped to sane bounds.
    #[must_use]
    pub fn new(limit: Option<i64>, offset: Option<i64>) -> Self {
        Self { limit: limit.unwrap_or(50).clamp(1, 100), offset: offset.unwrap_or(0).max(0) }
    }

    /// The API's answer with the `items` of this page.
    #[must_use]
    pub fn answer<T>(self, items: Vec<T>) -> crate::api::Page<T> {
        crate::api::Page::new(items, self.limit, self.offset)
    }
}

/// `Limits` are stored as a JSON object (`jsonb`), absent fields meaning no limit.
mod limits_column {
    use diesel::deserialize::{self, FromSql};
    use diesel::pg::{Pg, PgValue};
    use diesel::serialize::{self, Output, ToSql};
    use diesel::sql_types::Jsonb;

    use crate::limits::Limits;

    impl FromSql<Jsonb, Pg> for Limits {
        fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
            let mut value = <serde_json::Value as FromSql<Jsonb, Pg>>::from_sql(bytes)?;
            // A newer gateway may have stored a limit this one does not know: ignore it rather than fail
            // every directory reload (input from the API and config files is still checked strictly).
            if let Some(fields) = value.as_object_mut() {
                fields.retain(|name, _| Self::FIELDS.contains(&name.as_str()));
            }
            Ok(serde_json::from_value(value)?)
        }
    }

    impl ToSql<Jsonb, Pg> for Limits {
        fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
            let value = serde_json::to_value(self)?;
            <serde_json::Value as ToSql<Jsonb, Pg>>::to_sql(&value, &mut out.reborrow())
        }
    }
}

/// A `Topology` is stored as its JSON form (`{"mode": "standalone"}`).
mod topology_column {
    use diesel::deserialize::{self, FromSql};
    use diesel::pg::{Pg, PgValue};
    use diesel::serialize::{self, Output, ToSql};
    use diesel::sql_types::Jsonb;

    use crate::provisioning::Topology;

    impl FromSql<Jsonb, Pg> for Topology {
        fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
            Ok(serde_json::from_value(<serde_json::Value as FromSql<Jsonb, Pg>>::from_sql(bytes)?)?)
        }
    }

    impl ToSql<Jsonb, Pg> for Topology {
        fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
            let value = serde_json::to_value(self)?;
            <serde_json::Value as ToSql<Jsonb, Pg>>::to_sql(&value, &mut out.reborrow())
        }
    }
}

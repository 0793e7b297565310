//! PostgreSQL connections: a deadpool of diesel-async connections, and the embedded migrations.

use diesel::Connection as _;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::pooled_connection::deadpool;
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::AsyncPgConnection;
use diesel_migrations::MigrationHarness as _;
use redisgate_core::store::MIGRATIONS;

use crate::{Error, Result};

/// A pool of connections.
pub type Pool = deadpool::Pool<AsyncPgConnection>;

/// A pool of at most `size` connections to `url` (connections open on first use).
///
/// # Errors
/// An invalid pool configuration.
pub fn pool(url: &str, size: usize) -> Result<Pool> {
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(url);
    deadpool::Pool::builder(manager)
        .max_size(size)
        .wait_timeout(Some(std::time::Duration::from_secs(5)))
        .create_timeout(Some(std::time::Duration::from_secs(5)))
        .runtime(::deadpool::Runtime::Tokio1)
        .build()
        .map_err(|e| Error::Config(format!("invalid database pool: {e}")))
}

/// Applies pending migrations (at start, before serving).
///
/// # Errors
/// The database is unreachable or a migration fails.
pub async fn migrate(url: &str) -> Result<()> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || migrate_blocking(&url))
        .await
        .map_err(|e| Error::database(format!("migration task failed: {e}")))?
}

/// Applies pending migrations on the calling thread, which must not be inside a tokio runtime (the
/// connection wrapper runs one of its own).
///
/// # Errors
/// The database is unreachable or a migration fails.
pub fn migrate_blocking(url: &str) -> Result<()> {
    let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(url)
        .map_err(|e| Error::database(format!("cannot connect to the database: {e}")))?;
    conn.run_pending_migrations(MIGRATIONS).map(|_| ()).map_err(|e| Error::database(format!("migration failed: {e}")))
}

/// The names of the embedded migrations, in order: what a migrated database's schema is made of.
#[must_use]
pub fn migration_names() -> Vec<String> {
    diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(&MIGRATIONS)
        .map(|all| all.iter().map(|m| m.name().to_string()).collect())
        .unwrap_or_default()
}

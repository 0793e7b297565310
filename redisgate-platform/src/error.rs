//! The one error type of the control plane.
//!
//! Handlers answer [`redisgate_gateway::ApiError`] (where HTTP status codes are decided); this is what the
//! rest of the platform returns: starting it, its database, its local PostgreSQL, its background work.
//! Provisioners answer [`redisgate_core::provisioning::ProvisionError`], which says whether retrying helps.

/// What can stop the platform from starting or from doing its background work.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// PostgreSQL is unreachable, refused a query, or a migration failed.
    #[error("{0}")]
    Database(String),
    /// The private PostgreSQL of `redisgate dev` and the tests could not be set up or started.
    #[error("{0}")]
    LocalPostgres(String),
    /// The configuration cannot work (a state directory, the JWT secret).
    #[error("{0}")]
    Config(String),
}

/// `Result` with the platform's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<diesel::result::Error> for Error {
    fn from(error: diesel::result::Error) -> Self {
        Self::Database(error.to_string())
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for Error {
    fn from(error: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        Self::Database(error.to_string())
    }
}

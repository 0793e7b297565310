//! The platform's one error type, and the one table of the management API's and the console's status codes.
//!
//! Handlers answer [`Error`]: a refusal the data plane shares (a validation failure, a body sent too slowly, a
//! busy server) is the data plane's [`ApiError`] inside it, with its status and body; the rest is the
//! management API's own. Every non-2xx response is JSON `{"error": "..."}` (validation failures add
//! `"fields"`); the details of a 5xx are logged with the request's id, never sent. The same type says what
//! stops the platform from starting or from doing its background work. Provisioners answer
//! [`ProvisionError`], which says whether retrying helps.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use redisgate_core::protocol::encode::json;
use redisgate_core::provisioning::ProvisionError;
use redisgate_gateway::{ApiError, ErrorDetail};

/// A failed request to the management API or the console, or a failure to start or to work in the
/// background.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A refusal the data plane shares; its status and body are the data plane's.
    #[error(transparent)]
    Gateway(#[from] ApiError),
    /// No valid session or key, or a failed login; the text says what to send instead.
    #[error("{0}")]
    BadCredentials(&'static str),
    /// Too many requests of a kind (login attempts for one account, account requests from one address or in
    /// all); the next one is allowed in this many seconds.
    #[error("too many {0}, try again in {1} s")]
    Throttled(&'static str, u64),
    /// The resource does not exist, or the caller may not learn that it does.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The caller is known but its role or scopes do not allow this.
    #[error("forbidden: {0}")]
    Forbidden(&'static str),
    /// The organization's plan does not allow this (more instances or memory); the text says which allowance.
    #[error("{0}")]
    PlanExceeded(String),
    /// The request conflicts with existing state (a duplicate name, the last owner...).
    #[error("{0}")]
    Conflict(String),
    /// PostgreSQL failed, is unreachable, or a migration failed.
    #[error("database unavailable: {0}")]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The provisioner could not do what was asked.
    #[error("provisioning failed: {0}")]
    Provisioning(#[from] ProvisionError),
    /// The backup store (a directory or S3-compatible storage) failed, or a snapshot could not be read.
    #[error("backup storage failed: {0}")]
    Storage(String),
    /// The private PostgreSQL of `redisgate dev` and the tests could not be set up or started.
    #[error("{0}")]
    LocalPostgres(String),
    /// The configuration cannot work (a state directory, the JWT secret).
    #[error("{0}")]
    Config(String),
}

/// `Result` with the platform's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A validation error for one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Gateway(ApiError::field(field, message))
    }

    /// A database failure described in words (where there is no error value to keep as the source).
    pub fn database(detail: impl Into<String>) -> Self {
        Self::Database(detail.into().into())
    }

    /// The HTTP status for this error: the management API's one table.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Gateway(refusal) => refusal.status(),
            Self::BadCredentials(_) => StatusCode::UNAUTHORIZED,
            Self::Throttled(..) => StatusCode::TOO_MANY_REQUESTS,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::Forbidden(_) | Self::PlanExceeded(_) => StatusCode::FORBIDDEN,
            Self::Conflict(_) | Self::Provisioning(ProvisionError::Gone(_)) => StatusCode::CONFLICT,
            Self::Database(_) | Self::Provisioning(ProvisionError::Transient(_)) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Provisioning(ProvisionError::Invalid(_)) | Self::Storage(_) => StatusCode::BAD_GATEWAY,
            Self::Provisioning(ProvisionError::Refused(_)) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::LocalPostgres(_) | Self::Config(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = match self {
            Self::Gateway(refusal) => return refusal.into_response(),
            Self::Database(_) => json::error("ERR database unavailable"),
            Self::Provisioning(ref e @ ProvisionError::Refused(_)) => json::error(&e.public_message()),
            Self::Provisioning(ref e) => json::error(&format!("provisioning failed: {}", e.public_message())),
            Self::Storage(_) => json::error("backup storage failed"),
            Self::LocalPostgres(_) | Self::Config(_) => json::error("ERR internal error"),
            _ => json::error(&self.to_string()),
        };
        let mut response = (status, body).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Self::Throttled(_, secs) = self {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        if status.is_server_error() {
            response.extensions_mut().insert(ErrorDetail(format!("{self:?}")));
        }
        response
    }
}

impl From<redisgate_core::Error> for Error {
    fn from(error: redisgate_core::Error) -> Self {
        Self::Gateway(ApiError::Protocol(error))
    }
}

impl From<diesel::result::Error> for Error {
    fn from(error: diesel::result::Error) -> Self {
        match error {
            diesel::result::Error::NotFound => Self::NotFound("resource"),
            other => Self::Database(Box::new(other)),
        }
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for Error {
    fn from(error: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        Self::Database(Box::new(error))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_has_its_status_and_a_json_body() {
        let cases = [
            (Error::BadCredentials("send a session"), StatusCode::UNAUTHORIZED),
            (Error::Throttled("login attempts", 3), StatusCode::TOO_MANY_REQUESTS),
            (Error::NotFound("instance"), StatusCode::NOT_FOUND),
            (Error::Forbidden("owners only"), StatusCode::FORBIDDEN),
            (Error::Conflict("exists".into()), StatusCode::CONFLICT),
            (Error::database("down"), StatusCode::SERVICE_UNAVAILABLE),
            (Error::field("name", "too long"), StatusCode::UNPROCESSABLE_ENTITY),
            (Error::Gateway(ApiError::Busy("hashing")), StatusCode::SERVICE_UNAVAILABLE),
        ];
        for (error, status) in cases {
            let response = error.into_response();
            assert_eq!(response.status(), status);
            assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        }
        let throttled = Error::Throttled("login attempts", 3).into_response();
        assert_eq!(throttled.headers()[header::RETRY_AFTER], "3");
        // A 5xx's detail is logged, never sent.
        let database = Error::database("password authentication failed").into_response();
        assert!(database.extensions().get::<ErrorDetail>().is_some_and(|d| d.0.contains("password")));
    }
}

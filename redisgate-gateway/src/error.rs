//! `ApiError`: every failure of the data plane, and the one place where its HTTP status codes are decided
//! (the management API's own errors, and their table, are the platform's).
//!
//! Every non-2xx response is JSON `{"error": "..."}` (`"fields"` is added for validation errors), because `@upstash/redis` parses the body of every response and reports anything else as an
//! unparseable body. Details of 5xx errors are logged, not sent.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use redisgate_core::protocol::encode::{json, resp2};

use crate::metrics::Incident;
use crate::upstream::UpstreamError;

/// The message Upstash sends for a missing or wrong token (clients and docs quote it).
pub const UNAUTHORIZED: &str = "WRONGPASS invalid or missing auth token";

/// A failed request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request or command was refused by the protocol layer (bad JSON, refused command, NOPERM...).
    #[error(transparent)]
    Protocol(#[from] redisgate_core::Error),
    /// Redis answered with an error reply; its text is passed through.
    #[error("{0}")]
    Redis(String),
    /// A command's failure (a [`Self::Protocol`] refusal or a [`Self::Redis`] error) asked for in
    /// `Upstash-Response-Format: resp2`: answered as the raw error reply a TCP client reads (`-ERR …\r\n`,
    /// `application/octet-stream`) with the status of the failure it wraps.
    #[error("{0}")]
    Resp2(Box<Self>),
    /// No token, a token that opens nothing here, or an instance name (Host header, `/db/<name>`) that
    /// names none: the same answer, so names cannot be probed.
    #[error("{UNAUTHORIZED}")]
    Unauthorized,
    /// The request names no instance and there is no default one.
    #[error("ERR no database named: address one as /db/<name>/... (or by its host name, <name>.<domain>)")]
    NoInstanceNamed,
    /// The client did not send its body in time.
    #[error("ERR timed out reading the request body")]
    BodyTimeout,
    /// A method other than GET, HEAD, POST, PUT (or a CORS preflight).
    #[error("ERR method not allowed, use GET, HEAD, POST or PUT")]
    MethodNotAllowed,
    /// The instance's or key's rate is exhausted; `retry` is false when the request alone needs more than one
    /// second's worth (waiting will not help, so no `Retry-After`).
    #[error("ERR max requests limit exceeded")]
    RateLimited {
        /// Whether retrying after a second can succeed.
        retry: bool,
    },
    /// The instance's commands for the day are used up (until midnight UTC).
    #[error("ERR max daily request limit exceeded. Limit: {limit}, Usage: {usage}")]
    DailyLimit {
        /// Commands allowed per day.
        limit: u64,
        /// Commands run today.
        usage: u64,
    },
    /// The instance or key has as many requests in progress as it may.
    #[error("ERR max concurrent connections exceeded")]
    TooManyConnections,
    /// Redis gave no reply ([`UpstreamError`] says why), or refused a transaction as a whole.
    #[error(transparent)]
    Upstream(UpstreamError),
    /// Redis answered that it cannot serve writes or reads for a moment: too few replicas for
    /// `min-replicas-to-write` (`NOREPLICAS`), a replica cut off from its master (`MASTERDOWN`), or a server
    /// loading its data (`LOADING`). Its text is passed through; retrying in a second may succeed.
    #[error("{0}")]
    Unready(String),
    /// The gateway is shutting down or not ready.
    #[error("ERR service unavailable: {0}")]
    NotReady(&'static str),
    /// The server is at capacity for this kind of work right now; retrying in a second may succeed.
    #[error("ERR busy: {0}, try again in a second")]
    Busy(&'static str),
    /// A bug or an unexpected failure of the gateway itself.
    #[error("ERR internal error")]
    Internal(String),
}

impl From<UpstreamError> for ApiError {
    /// Replies too large to answer are refused as the encoder refuses them (the same status and text).
    fn from(error: UpstreamError) -> Self {
        match error {
            UpstreamError::TooLarge(limit) => Self::Protocol(redisgate_core::Error::ResponseTooLarge(limit as u64)),
            other => Self::Upstream(other),
        }
    }
}

impl ApiError {
    /// The HTTP status for this error.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            Self::Protocol(redisgate_core::Error::RequestTooLarge) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Protocol(redisgate_core::Error::Validation(_)) => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Protocol(redisgate_core::Error::Unauthenticated) => StatusCode::UNAUTHORIZED,
            Self::Protocol(redisgate_core::Error::Internal(_)) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Protocol(redisgate_core::Error::UnsupportedReply(_)) => StatusCode::BAD_GATEWAY,
            Self::Protocol(_) | Self::Redis(_) => StatusCode::BAD_REQUEST,
            Self::Resp2(failure) => failure.status(),
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::NoInstanceNamed => StatusCode::NOT_FOUND,
            Self::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::RateLimited { .. } | Self::DailyLimit { .. } | Self::TooManyConnections => {
                StatusCode::TOO_MANY_REQUESTS
            }
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Upstream(failure) => match failure {
                UpstreamError::Refused(_) | UpstreamError::CrossSlot | UpstreamError::TooLarge(_) => {
                    StatusCode::BAD_REQUEST
                }
                UpstreamError::Unavailable(_) | UpstreamError::Closed(_) | UpstreamError::Tls(_) => {
                    StatusCode::BAD_GATEWAY
                }
                UpstreamError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
                UpstreamError::FailingOver(_) => StatusCode::SERVICE_UNAVAILABLE,
            },
            Self::NotReady(_) | Self::Busy(_) | Self::Unready(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        // A TLS failure is logged once by its upstream, not with every request it fails; shedding load (Busy)
        // is not a failure to log.
        let logged = status.is_server_error()
            && !matches!(
                self,
                Self::Upstream(UpstreamError::Tls(_) | UpstreamError::FailingOver(_))
                    | Self::Busy(_)
                    | Self::Unready(_)
            );
        let detail = logged.then(|| ErrorDetail(format!("{self:?}")));
        let body = match &self {
            Self::Protocol(redisgate_core::Error::Validation(fields)) => {
                serde_json::json!({ "error": "validation failed", "fields": fields }).to_string().into_bytes()
            }
            Self::Protocol(redisgate_core::Error::Internal(_)) | Self::Internal(_) => json::error("ERR internal error"),
            Self::Resp2(failure) => resp2::error(&failure.to_string()),
            _ => json::error(&self.to_string()),
        };
        let content_type = if matches!(self, Self::Resp2(_)) { "application/octet-stream" } else { "application/json" };
        let mut response = (status, body).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        if let Some(detail) = detail {
            response.extensions_mut().insert(detail);
        }
        if let Some(incident) = self.incident() {
            response.extensions_mut().insert(incident);
        }
        let retry_after = match self {
            Self::RateLimited { retry: true } => Some(1),
            Self::Busy(_) | Self::Upstream(UpstreamError::FailingOver(_)) | Self::Unready(_) => Some(1),
            _ => None,
        };
        if let Some(secs) = retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

impl ApiError {
    /// What the metrics count about this failure beyond its status.
    fn incident(&self) -> Option<Incident> {
        match self {
            Self::RateLimited { .. } => Some(Incident::Limited("rate")),
            Self::DailyLimit { .. } => Some(Incident::Limited("daily")),
            Self::TooManyConnections => Some(Incident::Limited("concurrent")),
            Self::Upstream(failure) if failure.broke_connection() => Some(Incident::BrokenConnection),
            _ => None,
        }
    }
}

/// The internal detail of a 5xx answer: logged (with the request id) by the observing middleware, never
/// sent to the client.
#[derive(Debug, Clone)]
pub struct ErrorDetail(pub String);

impl ApiError {
    /// A validation error for one field.
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Protocol(redisgate_core::Error::Validation([(field.to_owned(), message.into())].into_iter().collect()))
    }
}

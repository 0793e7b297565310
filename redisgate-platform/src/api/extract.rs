//! Extractors that answer in the API's error envelope: JSON bodies and pagination.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use redisgate_gateway::ApiError;

use crate::Error;

/// Largest management request body.
const MAX_BODY: usize = 64 * 1024;
/// Longest a client may take to send a management body (64 KiB at most): a client that stalls is answered
/// 408 and its connection freed, not held.
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A JSON body. Any content type is accepted (curl's `-d` sends form-urlencoded); malformed JSON is a 400,
/// a wrong type or unknown field a 422 naming it.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = Error;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(request.into_body(), MAX_BODY))
            .await
            .map_err(|_| ApiError::BodyTimeout)?
            .map_err(|_| redisgate_core::Error::RequestTooLarge)?;
        let _ = state;
        parse(&bytes).map(ApiJson)
    }
}

fn parse<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, Error> {
    let deserializer = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            redisgate_core::Error::invalid(format!("malformed JSON: {inner}")).into()
        } else {
            // A field, not an element of it: `scopes[1]` is a bad `scopes`.
            let field =
                if path == "." { "body".to_owned() } else { path.split('[').next().unwrap_or(&path).to_owned() };
            Error::field(&field, strip_position(&inner.to_string()))
        }
    })
}

fn strip_position(message: &str) -> String {
    message.split(" at line ").next().unwrap_or(message).to_owned()
}

/// `?limit=&offset=` (the default: the first page).
#[derive(Debug, Default, Deserialize)]
pub struct Pagination {
    limit: Option<i64>,
    offset: Option<i64>,
}

impl<S: Send + Sync> FromRequestParts<S> for Pagination {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<Self>::from_request_parts(parts, &())
            .await
            .map(|q| q.0)
            .map_err(|_| Error::field("limit", "limit and offset must be non-negative integers"))
    }
}

impl Pagination {
    /// The store's page for these parameters.
    pub fn page(&self) -> redisgate_core::store::Page {
        redisgate_core::store::Page::new(self.limit, self.offset)
    }
}

/// Path parameters; a malformed id is a 404 like any id that names nothing.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Self(p.0))
            .map_err(|_| Error::NotFound("resource"))
    }
}

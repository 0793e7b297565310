//! The route table. Health endpoints live under `/-/`, a prefix no Redis command can have, so they never
//! shadow a command path; everything else is the data plane.

use std::time::Duration;

use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{middleware, Router};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowHeaders, Any, CorsLayer};

use crate::handlers::{data_plane, health};
use crate::{ApiError, AppState};

/// The response header carrying a fresh read-your-writes token (protocol.md §J).
pub const SYNC_TOKEN: HeaderName = HeaderName::from_static("upstash-sync-token");

/// The gateway's router: health endpoints and the data plane, with CORS and sync tokens. A panicking
/// handler answers a JSON 500 instead of dropping the connection.
pub fn router(state: AppState) -> Router {
    build(state, Router::new())
}

/// The platform's router: the management API under `/api` (its own 404s and 405s), then the data plane.
pub fn platform_router(state: AppState, platform: crate::platform::Platform) -> Router {
    build(state, Router::new().nest_service("/api", crate::api::router(platform)))
}

fn build(state: AppState, api: Router<AppState>) -> Router {
    api.route("/-/health", get(health::live))
        .route("/-/ready", get(health::ready))
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .fallback(data_plane::handle)
        .layer(CatchPanicLayer::custom(|_| ApiError::Internal("a handler panicked".into()).into_response()))
        .layer(middleware::map_response(add_sync_token))
        .layer(cors())
        .with_state(state)
}

/// A fresh opaque token on every response: clients echo it back, and the tests of `@upstash/redis` check
/// that it changes after writes. A single Redis has nothing to wait for, so incoming tokens are ignored.
async fn add_sync_token(mut response: Response) -> Response {
    let token = format!("{:032x}", rand::random::<u128>());
    if let Ok(value) = HeaderValue::from_str(&token) {
        response.headers_mut().insert(SYNC_TOKEN, value);
    }
    response
}

/// Browsers call the REST API with the read-only token (protocol.md §N): every call is preflighted.
/// Requested headers are mirrored rather than listed, so headers a client adds later (`@upstash/redis`
/// sends `Upstash-Telemetry-Retry` on retries) keep working; `Authorization` could not be covered by `*`.
fn cors() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::HEAD, Method::OPTIONS])
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers([SYNC_TOKEN, header::CONTENT_TYPE])
        .max_age(Duration::from_secs(86_400))
}

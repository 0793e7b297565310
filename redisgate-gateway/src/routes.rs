//! The route table. Health endpoints live under `/-/`, a prefix no Redis command can have, so they never
//! shadow a command path; everything else is the data plane.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{header, HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{middleware, Router};
use tower_http::catch_panic::CatchPanicLayer;

use tracing::Instrument as _;

use crate::early_answer;
use crate::error::ErrorDetail;
use crate::handlers::{data_plane, health};
use crate::metrics::{Incident, Kind, Metrics, Observed};
use crate::{ApiError, AppState};

/// The response header carrying a fresh read-your-writes token (protocol.md §J).
pub const SYNC_TOKEN: HeaderName = HeaderName::from_static("upstash-sync-token");
/// The request id, taken from the request or made up, and echoed in the response.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The admin router (serve it on a separate, private listener): `/metrics` (of `metrics`, the state's) and
/// `/-/health`.
pub fn admin_router(metrics: Arc<Metrics>) -> Router {
    Router::new()
        .route(
            "/metrics",
            get(|State(metrics): State<Arc<Metrics>>| async move {
                (
                    [(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")],
                    metrics.encode(),
                )
            }),
        )
        .route("/-/health", get(health::live))
        .with_state(metrics)
}

/// The gateway's router: health endpoints and the data plane, with CORS and sync tokens. A panicking
/// handler answers a JSON 500 instead of dropping the connection.
pub fn router(state: AppState) -> Router {
    router_with(state, Router::new())
}

/// The data plane behind `routes` (which win over it: the platform mounts its management API at `/api`),
/// with the health routes, request ids, metrics (and the draining of unread bodies, [`early_answer`]), CORS
/// and panic recovery around both.
pub fn router_with(state: AppState, routes: Router<AppState>) -> Router {
    routes
        .route("/-/health", get(health::live))
        .route("/-/ready", get(health::ready))
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .fallback(data_plane::handle)
        .layer(CatchPanicLayer::custom(|_| ApiError::Internal("a handler panicked".into()).into_response()))
        .layer(middleware::from_fn_with_state(Arc::clone(&state.metrics), observe))
        .layer(crate::cors::for_browsers())
        .with_state(state)
}

/// Wraps every request: a request id (the client's `x-request-id` if it is sane, else a new one) echoed in
/// the response and carried by the request's span; a fresh opaque `upstash-sync-token` on every response
/// (clients echo it back; one Redis has nothing to wait for, so incoming tokens are ignored, and
/// `@upstash/redis`'s tests check that it changes after writes); metrics; one log line per 5xx with its
/// detail.
async fn observe(State(metrics): State<Arc<Metrics>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    // One fresh value per request serves as the sync token and, unless the client sent one, the request id.
    let fresh = fresh_id();
    let id = request
        .headers()
        .get(REQUEST_ID)
        .filter(|v| {
            (1..=64).contains(&v.len()) && v.as_bytes().iter().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(b))
        })
        .cloned()
        .unwrap_or_else(|| fresh.clone());
    let path_kind = Kind::of_path(request.uri().path());
    let span = tracing::debug_span!("request", id = %String::from_utf8_lossy(id.as_bytes()));
    let (request, unread) = early_answer::watch(request);
    let mut response = next.run(request).instrument(span).await;
    if let Some(unread) = unread {
        unread.settle(&mut response).await;
    }
    let observed =
        response.extensions_mut().remove::<Observed>().unwrap_or(Observed { kind: path_kind, instance: None });
    let incident = response.extensions_mut().remove::<Incident>();
    let status = response.status();
    metrics.request(&observed, incident, status.as_u16(), started.elapsed());
    if let Some(ErrorDetail(detail)) = response.extensions().get::<ErrorDetail>() {
        let kind = observed.kind.as_str();
        tracing::warn!(request_id = %String::from_utf8_lossy(id.as_bytes()), %status, kind, error = %detail, "request failed");
    }
    let headers = response.headers_mut();
    headers.insert(SYNC_TOKEN, fresh);
    headers.insert(REQUEST_ID, id);
    response
}

/// 32 random hex digits, formatted without an intermediate `String` (this runs for every request).
fn fresh_id() -> HeaderValue {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut value = rand::random::<u128>();
    let mut digits = [0_u8; 32];
    for digit in digits.iter_mut().rev() {
        *digit = HEX[(value & 0xf) as usize];
        value >>= 4;
    }
    HeaderValue::from_bytes(&digits).unwrap_or(HeaderValue::from_static("-"))
}

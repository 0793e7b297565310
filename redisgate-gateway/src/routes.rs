//! The route table. Health endpoints live under `/-/`, a prefix no Redis command can have, so they never
//! shadow a command path; everything else is the data plane.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;

use crate::handlers::{data_plane, health};
use crate::metrics::Metrics;
use crate::observe::ObserveLayer;
use crate::{ApiError, AppState};

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
/// with the health routes, request ids, metrics (and the draining of unread bodies: `crate::early_answer`), CORS
/// and panic recovery around both.
pub fn router_with(state: AppState, routes: Router<AppState>) -> Router {
    routes
        .route("/-/health", get(health::live))
        .route("/-/ready", get(health::ready))
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .fallback(data_plane::handle)
        // One stack, applied once: each `Router::layer` call boxes every request's future again (a copy of
        // the whole future, which grows with each layer), so three calls cost three boxes where this is one.
        .layer(
            ServiceBuilder::new()
                .layer(crate::cors::for_browsers())
                .layer(ObserveLayer::new(Arc::clone(&state.metrics)))
                .layer(CatchPanicLayer::custom(|_| ApiError::Internal("a handler panicked".into()).into_response())),
        )
        .with_state(state)
}

//! The route table. Health endpoints live under `/-/`, a prefix no Redis command can have, so they never
//! shadow a command path; everything else is the data plane.

use std::any::Any;
use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::future::RouteFuture;
use axum::routing::get;
use axum::Router;
use futures_util::future::{BoxFuture, Either, FutureExt as _};
use tower::layer::util::{Identity, Stack};
use tower::{Layer, Service, ServiceBuilder};
use tower_http::catch_panic::CatchPanicLayer;

use crate::cors::BrowsersLayer;
use crate::handlers::{data_plane, health};
use crate::metrics::Metrics;
use crate::observe::ObserveLayer;
use crate::{ApiError, AppState, HEALTH_PREFIX};

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
    // One stack, applied once: each `Router::layer` call boxes every request's future again (a copy of the
    // whole future, which grows with each layer), so three calls cost three boxes where this is one.
    with_health(routes).layer(layers(&state)).with_state(state)
}

/// What [`crate::serve`] serves: [`router`]'s routes and layers, but a request outside `/-/` goes straight to
/// the data plane's handler. axum finds a fallback by matching the path twice (the routes, then a catch-all
/// route) and records the match in the request's extensions: about 1,600 instructions per request that
/// this one prefix test replaces.
pub(crate) fn service(state: AppState) -> <Layers as Layer<DataPlaneFirst>>::Service {
    let health = with_health(Router::new()).with_state(state.clone());
    layers(&state).service(DataPlaneFirst { health, state })
}

/// The health routes (under `/-/`, a prefix no Redis command has, so they never shadow a command path) beside
/// `routes`, and the data plane for everything else.
fn with_health(routes: Router<AppState>) -> Router<AppState> {
    routes
        .route("/-/health", get(health::live))
        .route("/-/ready", get(health::ready))
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .fallback(data_plane::handle)
}

/// What wraps every request: CORS, then request ids and metrics, then panic recovery.
type Layers = ServiceBuilder<Stack<CatchPanicLayer<PanicHandler>, Stack<ObserveLayer, Stack<BrowsersLayer, Identity>>>>;
type PanicHandler = fn(Box<dyn Any + Send + 'static>) -> Response;

fn layers(state: &AppState) -> Layers {
    ServiceBuilder::new()
        .layer(crate::cors::for_browsers())
        .layer(ObserveLayer::new(Arc::clone(&state.metrics)))
        .layer(CatchPanicLayer::custom(panicked as PanicHandler))
}

fn panicked(_: Box<dyn Any + Send + 'static>) -> Response {
    ApiError::Internal("a handler panicked".into()).into_response()
}

/// See [`service`]: health routes by their prefix, the data plane for the rest.
#[derive(Clone)]
pub(crate) struct DataPlaneFirst {
    health: Router,
    state: AppState,
}

impl Service<Request> for DataPlaneFirst {
    type Response = Response;
    type Error = Infallible;
    type Future = Either<RouteFuture<Infallible>, BoxFuture<'static, Result<Response, Infallible>>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request) -> Self::Future {
        if request.uri().path().starts_with(HEALTH_PREFIX) {
            return Either::Left(self.health.call(request));
        }
        Either::Right(Box::pin(data_plane::handle(State(self.state.clone()), request).map(Ok)))
    }
}

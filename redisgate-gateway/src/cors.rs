//! CORS, for the requests that take part in it.
//!
//! Browsers call the REST API with the read-only token (protocol.md §N), and every such call is a CORS
//! request: the Fetch standard makes a browser send `Origin` on every cross-origin request and preflight.
//! A request without `Origin` (a server-side SDK, curl) has nothing to gain from CORS headers, yet
//! tower-http's layer built its `Vary` header anew for it: about 5,000 instructions of a 48,000-instruction
//! `GET`. So only requests with `Origin` go through [`CorsLayer`]; the others skip it. (A `Vary: Origin`
//! would matter to a shared cache; data-plane requests carry `Authorization`, which shared caches do not
//! store, and their answers are never cacheable.)

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::header::ORIGIN;
use axum::http::{Method, Request, Response};
use futures_util::future::Either;
use tower::{Layer, Service};
use tower_http::cors::{AllowHeaders, Any, CorsLayer};

use crate::observe::{REQUEST_ID, SYNC_TOKEN};

/// The gateway's CORS policy, applied to requests that carry `Origin`. Requested headers are mirrored
/// rather than listed, so headers a client adds later (`@upstash/redis` sends `Upstash-Telemetry-Retry` on
/// retries) keep working; `Authorization` could not be covered by `*`.
pub fn for_browsers() -> BrowsersLayer {
    BrowsersLayer(Arc::new(
        CorsLayer::new()
            .allow_origin(Any)
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::HEAD, Method::OPTIONS])
            .allow_headers(AllowHeaders::mirror_request())
            .expose_headers([SYNC_TOKEN, REQUEST_ID, axum::http::header::CONTENT_TYPE])
            .max_age(Duration::from_secs(86_400)),
    ))
}

/// Wraps a service so that requests with `Origin` go through CORS and the others straight to it.
#[derive(Clone)]
pub struct BrowsersLayer(Arc<CorsLayer>);

impl<S> Layer<S> for BrowsersLayer {
    type Service = Browsers<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Browsers { plain: inner, cors: Arc::clone(&self.0) }
    }
}

/// See [`BrowsersLayer`]. axum clones a route's service for every request, so this holds the policy
/// behind an `Arc` and wraps the service in it only for a request that has `Origin`.
#[derive(Clone)]
pub struct Browsers<S> {
    plain: S,
    cors: Arc<CorsLayer>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Browsers<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    ResBody: Default,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Either<tower_http::cors::ResponseFuture<S::Future>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.plain.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        if request.headers().contains_key(ORIGIN) {
            // The ready service goes into the CORS wrapper, and a clone takes its place (as tower's
            // `ServiceExt::oneshot` pattern does); `Cors` itself is always ready when its inner service is.
            let clone = self.plain.clone();
            let ready = std::mem::replace(&mut self.plain, clone);
            Either::Left(self.cors.layer(ready).call(request))
        } else {
            Either::Right(self.plain.call(request))
        }
    }
}

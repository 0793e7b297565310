//! The app as one connection serves it. A management request (under `/api/` or `/console/`) carries the
//! client's address (`ConnectInfo`, which the platform's account routes limit by) and counts as in flight
//! until it is answered, so its connection is not idle meanwhile ([`InFlight`]): its handlers may run as
//! long as the work (a restore, a reshard). A data-plane request is passed on untouched: its handlers are
//! bounded by the Redis timeout and the budgets, and it pays neither the extension map nor the counting.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::response::Response;
use futures_util::future::Either;

use super::App;
use crate::client_socket::InFlight;

/// Requests under this path carry their client's address (`ConnectInfo<SocketAddr>`): the management API.
const PEER_ADDRESS_PREFIX: &str = "/api/";
/// The console's pages call the management API's handlers, long ones included.
const CONSOLE_PREFIX: &str = "/console/";

/// A counted request's answer.
type Counted = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

/// The app, for one connection.
#[derive(Clone)]
pub(super) struct PerConnection<S> {
    pub(super) app: S,
    pub(super) address: SocketAddr,
    pub(super) in_flight: InFlight,
}

impl<S, B> tower::Service<Request<B>> for PerConnection<S>
where
    S: App,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<S::Future, Counted>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.app.poll_ready(cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        let mut request = request.map(Body::new);
        let path = request.uri().path();
        let (api, console) = (path.starts_with(PEER_ADDRESS_PREFIX), path.starts_with(CONSOLE_PREFIX));
        if !api && !console {
            return Either::Left(self.app.call(request));
        }
        if api {
            request.extensions_mut().insert(ConnectInfo(self.address));
        }
        let handling = self.in_flight.enter();
        let answer = self.app.call(request);
        Either::Right(Box::pin(async move {
            let response = answer.await;
            drop(handling);
            response
        }))
    }
}

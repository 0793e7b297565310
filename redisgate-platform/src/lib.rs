//! RedisGate's platform: the control plane around the gateway's data plane.
//!
//! PostgreSQL holds users, organizations, keys and instances ([`db`]); [`api`] is the management API on it;
//! a [`provisioner`] runs the Redis servers (the local one here; the Kubernetes one is `redisgate-operator`'s,
//! which only the server binary links); [`lifecycle`] moves instances through their states;
//! [`directory::PlatformDirectory`] feeds the data plane from an in-memory snapshot that PostgreSQL
//! notifications keep fresh, so the hot path never queries the database; [`usage`] records the commands each
//! instance runs per day; [`control::ControlPlane`] starts it all; [`local_postgres`] runs a private
//! PostgreSQL for `redisgate dev` and the tests; [`error`] is the crate's one error type.

pub mod api;
pub mod backup;
pub mod control;
pub mod dashboard;
pub mod db;
pub mod directory;
pub mod error;
pub mod lifecycle;
pub mod local_postgres;
pub mod os;
pub mod provisioner;
pub mod urls;
pub mod usage;

use std::path::PathBuf;

use axum::Router;
use redisgate_gateway::AppState;

pub use api::Platform;
pub use control::{ControlPlane, PlatformConfig, MAX_ORGANIZATIONS_PER_USER};
pub use db::Pool;
pub use error::{Error, Result};
pub use lifecycle::Lifecycle;
pub use urls::PublicUrls;

/// The platform's router: the management API under `/api` (its own 404s and 405s), the web console under
/// `/console` (a browser asking for `/` is sent there), then the data plane.
pub fn platform_router(state: AppState, platform: Platform) -> Router {
    let routes = Router::new()
        .nest_service("/api", api::router(platform.clone()))
        .nest_service("/console", dashboard::router(platform))
        // Only `GET /` looks at who asks; every other request goes straight to the data plane.
        .route("/", axum::routing::get(browser_or_data_plane).fallback(redisgate_gateway::data_plane));
    redisgate_gateway::router_with(state, routes)
}

/// `GET /`: a browser (HTML accepted, no credentials) goes to the console; anything else is the data plane's
/// (its clients never ask for HTML).
async fn browser_or_data_plane(
    state: axum::extract::State<AppState>,
    request: axum::extract::Request,
) -> axum::response::Response {
    use axum::http::header::{ACCEPT, AUTHORIZATION};
    use axum::response::IntoResponse as _;
    let headers = request.headers();
    let html = headers.get(ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|accept| accept.contains("text/html"));
    if html && !headers.contains_key(AUTHORIZATION) {
        return axum::response::Redirect::to("/console/").into_response();
    }
    redisgate_gateway::data_plane(state, request).await
}

/// RedisGate's state directory under the XDG convention: `$XDG_STATE_HOME/redisgate`, else
/// `~/.local/state/redisgate`; `None` without a home directory.
#[must_use]
pub fn state_home() -> Option<PathBuf> {
    std::env::var_os("XDG_STATE_HOME")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").filter(|h| !h.is_empty()).map(|h| PathBuf::from(h).join(".local/state")))
        .map(|d| d.join("redisgate"))
}

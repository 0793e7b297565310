//! RedisGate's platform: the control plane around the gateway's data plane.
//!
//! PostgreSQL holds users, organizations, keys and instances ([`db`]); [`api`] is the management API on it;
//! a [`provisioner`] runs the Redis servers (the local one here; the Kubernetes one is `redisgate-operator`'s,
//! which only the server binary links); [`lifecycle`] moves instances through their states;
//! [`directory::PlatformDirectory`] feeds the data plane from an in-memory snapshot that PostgreSQL
//! notifications keep fresh, so the hot path never queries the database; [`usage`] records the commands each
//! instance runs per day; [`control::ControlPlane`] starts it all; [`local_postgres`] runs a private
//! PostgreSQL for `redisgate dev` and the tests.

pub mod api;
pub mod control;
pub mod db;
pub mod directory;
pub mod lifecycle;
pub mod local_postgres;
pub mod provisioner;
pub mod usage;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use redisgate_core::auth::jwt::JwtKeys;
use redisgate_gateway::AppState;

pub use control::{ControlPlane, PlatformConfig};
pub use db::Pool;
pub use lifecycle::Lifecycle;

/// How users reach instances, for the URLs the API hands out.
#[derive(Debug, Clone)]
pub struct PublicUrls {
    /// The gateway's own base URL, e.g. `http://127.0.0.1:8080`.
    pub base: String,
    /// With a domain, instance `n` is also `http://n.<domain>`.
    pub domain: Option<String>,
}

impl PublicUrls {
    /// The REST URL of instance `name`: by host name when a domain is configured, else by path prefix.
    #[must_use]
    pub fn rest_url(&self, name: &str) -> String {
        match &self.domain {
            Some(domain) => {
                let scheme = self.base.split("://").next().unwrap_or("http");
                let port = self.base.rsplit_once(':').map(|(_, p)| p).filter(|p| p.bytes().all(|b| b.is_ascii_digit()));
                match port {
                    Some(port) => format!("{scheme}://{name}.{domain}:{port}"),
                    None => format!("{scheme}://{name}.{domain}"),
                }
            }
            None => self.path_url(name),
        }
    }

    /// `<base>/db/<name>`: works without wildcard DNS.
    #[must_use]
    pub fn path_url(&self, name: &str) -> String {
        format!("{}/db/{name}", self.base.trim_end_matches('/'))
    }
}

/// What the management API's handlers share.
#[derive(Clone)]
pub struct Platform {
    /// Connections to PostgreSQL.
    pub pool: Pool,
    /// JWT keys, loaded once.
    pub jwt: Arc<JwtKeys>,
    /// Instance state transitions (runs on the platform's own runtime).
    pub lifecycle: Lifecycle,
    /// URLs handed out in credentials.
    pub urls: Arc<PublicUrls>,
    /// Lifetime of issued JWTs in seconds.
    pub jwt_ttl_secs: i64,
    /// Login attempts per email (shared by every worker).
    pub login_throttle: Arc<api::throttle::LoginThrottle>,
}

/// The platform's router: the management API under `/api` (its own 404s and 405s), then the data plane.
pub fn platform_router(state: AppState, platform: Platform) -> Router {
    redisgate_gateway::router_with(state, Router::new().nest_service("/api", api::router(platform)))
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

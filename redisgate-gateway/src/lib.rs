//! RedisGate's data plane: Redis over HTTP, compatible with the Upstash REST API.
//!
//! This crate embeds light (no database, accounts or Kubernetes): [`router`] builds the axum `Router` (mount
//! it in your own application, see `examples/embed_gateway.rs`), and [`serve`] runs it on a listener until a
//! shutdown future resolves. The control plane (`redisgate-platform`) mounts its management API with
//! [`router_with`]; the `redisgate-gateway` binary (`redisgate-server`) parses flags and calls either.
//!
//! # Layout
//! - [`config`]: a static directory from one Redis or the multi-instance config file.
//! - [`directory`]: the seam that maps a request (Host header or `/db/<name>` prefix) to an instance.
//! - [`upstream`]: the shared, multiplexed connection to one Redis, plus dedicated pub/sub connections.
//! - `routes`: the route table; `handlers/*`: one file per endpoint kind.
//! - [`quota`]: per-instance and per-key limits, and usage counts.
//! - [`error`]: `ApiError`, the only place that knows HTTP status codes.
//! - [`metrics`]: Prometheus metrics, served by [`admin_router`] on a separate listener.

pub mod config;
pub mod directory;
pub mod error;
pub mod fanout;
mod handlers;
pub mod metrics;
pub mod quota;
mod routes;
mod scripts;
mod shutdown;
mod sse;
pub mod state;
pub mod upstream;

pub use error::ApiError;
pub use routes::{admin_router, router, router_with};
pub use shutdown::{serve, serve_router, shutdown_signal};
pub use state::{AppState, ServerLimits};

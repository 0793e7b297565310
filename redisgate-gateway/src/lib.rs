//! RedisGate's data plane: Redis over HTTP, compatible with the Upstash REST API.
//!
//! This crate embeds light (no database, accounts or Kubernetes): [`router`] builds the axum `Router` (mount
//! it in your own application, see `examples/embed_gateway.rs`), and [`serve`] serves the same routes and
//! layers on a listener until a shutdown future resolves (the data plane reached by a prefix test rather than
//! axum's route matching: see `routes`). The control plane (`redisgate-platform`) mounts its management API with
//! [`router_with`]; the `redisgate-gateway` binary (`redisgate-server`) parses flags and calls either.
//!
//! # Layout
//! - [`config`]: a static directory from one Redis or the multi-instance config file.
//! - [`directory`]: the seam that maps a request (Host header or `/db/<name>` prefix) to an instance.
//! - [`upstream`]: the shared, multiplexed connection to one Redis; [`sentinel`]: finding and following a
//!   Sentinel-managed master; [`fanout`]: the one pub/sub connection per instance that every subscription
//!   shares.
//! - `routes`: the route table, the middleware around it, and the service [`serve`] serves;
//!   `early_answer`: keeping the connection of a request answered before its body was read; `handlers/*`:
//!   one file per endpoint kind, and the `Gate` every command passes (policy, sizes, Upstash emulations);
//!   `sse`: Server-Sent Events framing.
//! - [`quota`]: per-instance and per-key limits, and usage counts.
//! - [`connections`]: client connections counted against the connection limits; [`replies`]: the bytes of
//!   replies held, against the process's budget.
//! - [`state`]: what handlers share ([`AppState`]: directory, limits, metrics, script aliases).
//! - [`error`]: `ApiError`, the only place that knows HTTP status codes.
//! - [`metrics`]: Prometheus metrics, served by [`admin_router`] on a separate listener.
//! - `client_socket`: a client's socket, counted, timed (idle and write timeouts) and lingering on close.
//! - `serve`: [`serve`]'s accept loop (connection limits, header timeout, TCP or TLS, HTTP/1 and HTTP/2), the
//!   graceful drain, and the signals that start it.
//! - [`tls`]: the HTTPS listener's reloading certificate, and the certificates for `rediss://` upstreams.

mod client_socket;
mod coarse_timer;
pub mod config;
pub mod connections;
mod cors;
pub mod directory;
mod early_answer;
pub mod error;
pub mod fanout;
mod handlers;
/// The data plane's handler: the router's fallback, which an embedder may also route to explicitly.
pub use handlers::data_plane::handle as data_plane;
pub mod metrics;
mod observe;
pub mod quota;
pub mod replies;
mod routes;
pub mod sentinel;
mod serve;
mod sse;
pub mod state;
pub mod tls;
pub mod upstream;

/// The prefix of the health routes (`/-/health`, `/-/ready`): no Redis command starts with `-`, so they never
/// shadow a command path. The route table and the metrics' kinds both go by it.
pub(crate) const HEALTH_PREFIX: &str = "/-/";

pub use connections::Connections;
pub use error::{ApiError, ErrorDetail};
pub use routes::{admin_router, router, router_with};
pub use serve::{serve, serve_router, shutdown_signal, App};
pub use state::{AppState, ServerLimits, Shared};

//! The logic every RedisGate component shares: the gateway, the platform, the operator, the client and the CLI.
//!
//! Everything but `store` is pure (no sockets, files or processes): it turns an HTTP request of the
//! Upstash-compatible REST protocol into Redis commands, decides which commands may run, encodes Redis
//! replies back into the protocol's wire formats, and describes instances and their lifecycle. The `store`
//! feature adds the control plane's queries on PostgreSQL, the one part that does I/O.
//!
//! # Layout and features
//! - [`protocol`]: request parsing, the command policy, the Upstash emulations and the reply encoders.
//! - [`auth`]: token digests and constant-time comparison, the bearer header, new secrets; with `accounts`,
//!   password hashing (argon2) and JWTs.
//! - [`limits`]: per-instance and per-key limits and the size checks.
//! - [`catalog`]: what a gateway serves, as plain data, for directories fed from outside the gateway.
//! - [`provisioning`]: the validated instance spec, names, redis.conf and its users, the instance lifecycle
//!   and the provisioner seam.
//! - `api` (feature `api`; `openapi` adds the schemas): the management API's wire types.
//! - `store` (feature `store`): diesel models, queries and the embedded migrations of the control plane.
//! - [`error`]: the crate's one error type.

#[macro_use]
mod text_enum;

#[cfg(feature = "api")]
pub mod api;
pub mod auth;
pub mod catalog;
pub mod error;
pub mod limits;
pub mod protocol;
pub mod provisioning;
#[cfg(feature = "store")]
pub mod store;

pub use error::{Error, Result};

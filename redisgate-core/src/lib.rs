//! Pure logic shared by every RedisGate component.
//!
//! Nothing in this crate performs I/O: it turns an HTTP request of the Upstash-compatible REST protocol into
//! Redis commands, decides which commands may run, and encodes Redis replies back into the protocol's wire
//! formats. The gateway (axum) and the future client/CLI crates build on it.
//!
//! # Layout
//! - [`protocol`]: request parsing, the command policy and the reply encoders (JSON, base64, RESP2).
//! - [`auth`]: token digests and constant-time comparison, password hashing, JWTs, new secrets.
//! - [`limits`]: per-instance and per-key limits and the size checks.
//! - [`provisioning`]: the validated instance spec, names and redis.conf.
//! - `store` (feature `store`): diesel models, queries and the embedded migrations of the control plane.
//! - [`error`]: the crate's one error type.

pub mod auth;
pub mod error;
pub mod limits;
pub mod protocol;
pub mod provisioning;
#[cfg(feature = "store")]
pub mod store;

pub use error::{Error, Result};

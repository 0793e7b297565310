//! A Rust client for Redis over HTTP: RedisGate, or any server speaking the Upstash REST API.
//!
//! ```no_run
//! # async fn demo() -> redisgate_client::Result<()> {
//! use redisgate_client::Client;
//!
//! let redis = Client::new("http://127.0.0.1:8080/db/my-redis", "rgt_...")?;
//! redis.set::<()>("greeting", "hello").await?;
//! let greeting: Option<String> = redis.get("greeting").await?;
//! let (a, b): (i64, i64) = redis.pipeline().incr("hits", 1).incr("hits", 1).query().await?;
//! # let _ = (greeting, a, b);
//! # Ok(())
//! # }
//! ```
//!
//! Values are binary-safe: the client asks for base64-encoded replies and decodes them, and sends binary
//! arguments in the REST API's path form. Replies convert into Rust types through the `redis` crate's
//! [`redis::FromRedisValue`].
//!
//! # Layout
//! - [`Client`] and [`ClientBuilder`]: the data plane; [`commands`] adds typed helpers.
//! - [`Pipeline`]: `/pipeline` and `/multi-exec`.
//! - [`Subscription`]: `/subscribe` and `/psubscribe` as a [`futures_util::Stream`] of [`Message`]s.
//! - [`management`]: RedisGate's management API (users, organizations, instances, keys, limits, usage).
//! - [`Error`]: one error type for all of it.

mod client;
pub mod commands;
mod error;
pub mod management;
mod pipeline;
mod response;
mod subscribe;

pub use client::{Client, ClientBuilder, CmdFuture};
pub use error::{Error, Result};
pub use management::Management;
pub use pipeline::Pipeline;
pub use redis::{FromRedisValue, Value};
pub use subscribe::{Message, Subscription};

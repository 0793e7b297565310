//! The test harness shared by every integration test: real services, free loopback ports, no sleeps.
//!
//! - [`TestRedis`] runs a real `redis-server` (from `REDISGATE_REDIS_SERVER_BIN` or `PATH`) in a temporary
//!   directory and kills it on drop. A test that cannot find `redis-server` fails and says what to install.
//! - [`TestGateway`] runs the gateway in-process on `127.0.0.1:0` in front of one or more `TestRedis`.
//! - With the feature `platform`: `TestDatabase` gives a test its own PostgreSQL database, and `TestPlatform`
//!   runs the whole platform (management API, local provisioner, data plane) on it. Without it, the
//!   harness compiles neither diesel nor the platform (the gateway's own tests).
//! - [`TestCluster`] forms a Redis Cluster of such servers; [`TestSentinels`] a master and replica under three
//!   Sentinels.
//! - [`TestS3`] runs moto's S3-compatible server for the backup tests.
//! - [`TestCa`] issues certificates for TLS tests; [`TestRedis::start_tls`] runs a TLS-only `redis-server`.

mod cluster;
#[cfg(feature = "platform")]
mod database;
mod eventually;
mod gateway;
#[cfg(feature = "platform")]
mod platform;
mod redis_server;
mod s3;
mod sentinel;
mod tls;

pub use cluster::TestCluster;
#[cfg(feature = "platform")]
pub use database::TestDatabase;
pub use eventually::eventually;
pub use gateway::{instance, TestGateway, READONLY_TOKEN, TOKEN};
#[cfg(feature = "platform")]
pub use platform::{TestPlatform, JWT_SECRET};
pub use redis_server::{binary as redis_server_binary, tls_binary as redis_tls_server_binary, TestRedis, TlsServer};
pub use s3::TestS3;
pub use sentinel::{TestSentinels, MASTER};
pub use tls::{Issued, Purpose, TestCa};

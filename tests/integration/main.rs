//! Integration tests: the gateway in front of real `redis-server` processes, driven over real HTTP.
//!
//! Each test starts its own Redis and gateway on free loopback ports (see `redisgate-test-support`).
#![allow(missing_docs)]

mod client;
mod compat;
mod gateway;
mod platform;
mod raw_http;

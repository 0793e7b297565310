//! The data plane, endpoint by endpoint and error path by error path.

mod abuse;
mod auth;
mod budgets;
mod cluster;
mod commands;
mod config;
mod errors;
mod keep_alive;
mod limits;
mod observability;
mod resilience;
mod sentinel;
mod sse;
mod tls;
mod transaction;
mod upstash_only;
mod watched;

use redisgate_test_support::{TestGateway, TestRedis};

/// A Redis and a standalone gateway in front of it.
pub async fn setup() -> (TestRedis, TestGateway) {
    let redis = TestRedis::start();
    let gateway = TestGateway::single(&redis.url()).await;
    (redis, gateway)
}

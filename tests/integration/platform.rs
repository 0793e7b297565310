//! The platform: management API, local provisioner and data plane together, on real PostgreSQL and real
//! `redis-server` processes.

mod abuse;
mod accounts;
mod authz;
mod backups;
mod browser;
mod cluster;
mod containment;
mod dashboard;
mod journey;
mod keep_alive;
mod lifecycle;
mod limits;
mod openapi;
mod plans;
mod replicated;
mod tls;
mod validation;

use redisgate_test_support::TestPlatform;

pub use redisgate_test_support::eventually;

/// POSTs `body` (as it is: it need not be JSON) to `path` with `token`; returns the status and the JSON answer.
pub async fn post(platform: &TestPlatform, path: &str, token: &str, body: &str) -> (u16, serde_json::Value) {
    let request = platform.http().post(format!("{}{path}", platform.url())).bearer_auth(token).body(body.to_owned());
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

/// A data-plane call against instance `name` with `token`; returns the status.
pub async fn data(platform: &TestPlatform, name: &str, token: &str, path: &str) -> (u16, serde_json::Value) {
    let response =
        platform.http().post(format!("{}/db/{name}{path}", platform.url())).bearer_auth(token).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(serde_json::Value::Null))
}

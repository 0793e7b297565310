//! The local provisioner's TLS-only instances: a CA of its own, `tls-auth-clients yes`, no plain port; the
//! gateway serves them with the CA's client certificate, across a restart and a resize.

use std::time::Duration;

use redisgate_test_support::TestPlatform;
use serde_json::json;

use super::data;

/// Whether a plain (non-TLS) client gets a PONG from `address`.
async fn plain_ping(address: &str) -> bool {
    let Ok(client) = redis::Client::open(format!("redis://{address}")) else { return false };
    let ping = async {
        let mut conn = client.get_multiplexed_async_connection().await?;
        redis::cmd("PING").query_async::<String>(&mut conn).await
    };
    matches!(tokio::time::timeout(Duration::from_secs(3), ping).await, Ok(Ok(_)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_tls_instances_listen_on_tls_only_and_the_gateway_serves_them() {
    let platform = TestPlatform::start_local_tls().await;
    let jwt = platform.user("tls@example.com").await;
    let org = platform.organization(&jwt, "tls-local").await;
    let created = platform.running_instance(&jwt, &org, "sealed").await;
    let id = created["instance"]["id"].as_str().unwrap().to_owned();
    let token = created["credentials"]["token"].as_str().unwrap().to_owned();
    assert_eq!(data(&platform, "sealed", &token, "/set/k/v").await, (200, json!({"result": "OK"})));

    let conf = std::fs::read_to_string(platform.state_dir().join("instances").join(&id).join("redis.conf")).unwrap();
    for line in ["port 0", "tls-auth-clients yes"] {
        assert!(conf.lines().any(|l| l == line), "{line} missing from:\n{conf}");
    }
    assert!(platform.state_dir().join("ca/ca.pem").exists());
    let base = format!("/api/organizations/{org}/redis-instances/{id}");
    let (_, status) = platform.api("GET", &format!("{base}/status"), Some(&jwt), None).await;
    let address = status["endpoint"].as_str().unwrap().to_owned();
    assert!(!plain_ping(&address).await, "the instance answers plain text on {address}");

    // A resize talks to the server over TLS as the admin user.
    let (code, resized) = platform.api("PATCH", &base, Some(&jwt), Some(json!({"max_memory": 32 << 20}))).await;
    assert_eq!(code, 200, "{resized}");

    // After a restart the instance is adopted with its TLS and its data.
    let platform = platform.restart().await;
    let jwt = {
        let credentials = json!({"email": "tls@example.com", "password": "correct horse 1"});
        platform.api("POST", "/api/auth/login", None, Some(credentials)).await.1["token"].as_str().unwrap().to_owned()
    };
    assert_eq!(platform.wait_status(&jwt, &org, &id, "running").await, "running");
    assert_eq!(data(&platform, "sealed", &token, "/get/k").await, (200, json!({"result": "v"})));
}

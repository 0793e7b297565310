//! The whole journey: register → login → organization → instance → running → credentials → the real
//! `@upstash/redis` client → rotate → API key → revoke → delete.

use std::path::PathBuf;
use std::time::Duration;

use redisgate_test_support::TestPlatform;
use serde_json::json;

use super::{data, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_to_delete_with_the_real_client() {
    let platform = TestPlatform::start().await;
    let jwt = platform.user("ada@example.com").await;
    let org = platform.organization(&jwt, "acme").await;
    let created = platform.running_instance(&jwt, &org, "journey").await;
    let id = created["instance"]["id"].as_str().unwrap().to_owned();
    let token = created["credentials"]["token"].as_str().unwrap().to_owned();
    let readonly = created["credentials"]["readonly_token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("rgt_") && readonly.starts_with("rgr_"));

    // Credentials: where to connect and which tokens exist — never the secrets again.
    let base = format!("/api/organizations/{org}/redis-instances/{id}");
    let (status, credentials) = platform.api("GET", &format!("{base}/credentials"), Some(&jwt), None).await;
    assert_eq!(status, 200);
    assert_eq!(credentials["rest_url_path"], json!(format!("{}/db/journey", platform.url())));
    assert_eq!(
        credentials["rest_url"],
        json!(format!("http://journey.redis.test:{}", platform.url().rsplit(':').next().unwrap()))
    );
    assert_eq!(credentials["tokens"].as_array().unwrap().len(), 2);
    assert!(!credentials.to_string().contains(&token), "a token was shown twice");

    // The unmodified @upstash/redis client against the instance URL.
    let js = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("compat/js");
    let output = tokio::process::Command::new("node")
        .arg("platform-client.mjs")
        .current_dir(&js)
        .env("REDISGATE_URL", credentials["rest_url_path"].as_str().unwrap())
        .env("REDISGATE_TOKEN", &token)
        .output()
        .await
        .unwrap();
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );

    // The read-only token reads but never writes; Host-header routing reaches the same instance.
    assert_eq!(data(&platform, "journey", &readonly, "/get/journey:tx").await, (200, json!({"result": "v"})));
    assert_eq!(data(&platform, "journey", &readonly, "/set/x/y").await.0, 400);
    let by_host = platform
        .http()
        .get(format!("{}/get/journey:tx", platform.url()))
        .header("Host", "journey.redis.test")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(by_host.text().await.unwrap(), r#"{"result":"v"}"#);

    // Rotation: the old token stops working within a second, the new one works.
    let (status, rotated) = platform.api("POST", &format!("{base}/credentials/rotate"), Some(&jwt), None).await;
    assert_eq!(status, 200);
    let new_token = rotated["token"].as_str().unwrap().to_owned();
    assert!(
        eventually(Duration::from_secs(1), || async { data(&platform, "journey", &token, "/ping").await.0 == 401 })
            .await
    );
    // The new token works on its very first request: a miss makes the directory catch up at once.
    assert_eq!(data(&platform, "journey", &new_token, "/ping").await.0, 200);

    // An organization API key with a data scope opens the data plane; revoked, it stops within a second.
    let keys = format!("/api/organizations/{org}/api-keys");
    let (status, key) =
        platform.api("POST", &keys, Some(&jwt), Some(json!({"name": "worker", "scopes": ["data:write"]}))).await;
    assert_eq!(status, 201, "{key}");
    let secret = key["secret"].as_str().unwrap().to_owned();
    assert!(
        eventually(Duration::from_secs(1), || async { data(&platform, "journey", &secret, "/set/k/v").await.0 == 200 })
            .await
    );
    let (_, listed) = platform.api("GET", &keys, Some(&jwt), None).await;
    assert!(!listed.to_string().contains(&secret), "a key's secret was listed");
    let key_id = key["id"].as_str().unwrap();
    assert_eq!(platform.api("DELETE", &format!("{keys}/{key_id}"), Some(&jwt), None).await.0, 204);
    assert!(
        eventually(Duration::from_secs(1), || async { data(&platform, "journey", &secret, "/ping").await.0 == 401 })
            .await
    );

    // Delete: 202, then the server is gone and its URL answers as a wrong token does (401).
    let endpoint = platform.api("GET", &format!("{base}/status"), Some(&jwt), None).await.1["endpoint"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(platform.api("DELETE", &base, Some(&jwt), None).await.0, 202);
    assert_eq!(platform.wait_status(&jwt, &org, &id, "gone").await, "gone");
    assert!(
        eventually(Duration::from_secs(1), || async { data(&platform, "journey", &new_token, "/ping").await.0 == 401 })
            .await
    );
    assert!(tokio::net::TcpStream::connect(&endpoint).await.is_err(), "the redis-server still listens on {endpoint}");
    assert!(!platform.state_dir().join("instances").join(&id).exists(), "the instance's data was left behind");
}

//! Instance lifecycle across platform restarts and provisioning failures.

use std::path::PathBuf;

use redisgate_test_support::TestPlatform;
use serde_json::json;

use super::data;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_platform_brings_instances_back_with_their_data_and_tokens() {
    let platform = TestPlatform::start().await;
    let jwt = platform.user("r@example.com").await;
    let org = platform.organization(&jwt, "restart").await;
    let created = platform.running_instance(&jwt, &org, "durable").await;
    let token = created["credentials"]["token"].as_str().unwrap().to_owned();
    assert_eq!(data(&platform, "durable", &token, "/set/kept/yes").await.0, 200);

    let platform = platform.restart().await;
    let id = created["instance"]["id"].as_str().unwrap();
    let jwt = {
        let credentials = json!({"email": "r@example.com", "password": "correct horse 1"});
        platform.api("POST", "/api/auth/login", None, Some(credentials)).await.1["token"].as_str().unwrap().to_owned()
    };
    assert_eq!(platform.wait_status(&jwt, &org, id, "running").await, "running");
    assert_eq!(data(&platform, "durable", &token, "/get/kept").await, (200, json!({"result": "yes"})));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_provisioning_leaves_nothing_behind() {
    let platform = TestPlatform::start_with_redis_server(PathBuf::from("/bin/false")).await;
    let jwt = platform.user("f@example.com").await;
    let org = platform.organization(&jwt, "failing").await;
    let body = json!({"name": "doomed", "max_memory": 1048576, "redis_version": "7"});
    let (status, created) =
        platform.api("POST", &format!("/api/organizations/{org}/redis-instances"), Some(&jwt), Some(body)).await;
    assert_eq!(status, 201);
    let id = created["instance"]["id"].as_str().unwrap();
    assert_eq!(platform.wait_status(&jwt, &org, id, "failed").await, "failed");
    let (_, status) =
        platform.api("GET", &format!("/api/organizations/{org}/redis-instances/{id}/status"), Some(&jwt), None).await;
    assert!(status["message"].as_str().unwrap().contains("exited before it was ready"), "{status}");
    assert_eq!(status["endpoint"], json!(null));
    assert!(!platform.state_dir().join("instances").join(id).exists(), "a failed instance left data behind");
    let token = created["credentials"]["token"].as_str().unwrap();
    assert_eq!(data(&platform, "doomed", token, "/ping").await.0, 404, "a failed instance is not served");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_keeps_the_data_plane_serving_and_the_api_answers_503() {
    let platform = TestPlatform::start().await;
    let jwt = platform.user("o@example.com").await;
    let org = platform.organization(&jwt, "outage").await;
    let created = platform.running_instance(&jwt, &org, "cached").await;
    let token = created["credentials"]["token"].as_str().unwrap().to_owned();
    assert_eq!(data(&platform, "cached", &token, "/set/k/v").await.0, 200);

    platform.database().stop();
    let started = std::time::Instant::now();
    let (status, body) = platform.api("GET", "/api/organizations", Some(&jwt), None).await;
    assert_eq!((status, body), (503, json!({"error": "ERR database unavailable"})));
    assert!(started.elapsed() < std::time::Duration::from_secs(6), "the API must not hang on a dead database");
    for _ in 0..20 {
        assert_eq!(
            data(&platform, "cached", &token, "/get/k").await,
            (200, json!({"result": "v"})),
            "cached tenants keep working"
        );
    }
    // An unknown token still gets a prompt 401 (the miss-reload fails fast and the snapshot stays).
    assert_eq!(data(&platform, "cached", "rgt_unknown", "/get/k").await.0, 401);

    platform.database().resume();
    let back = super::within(std::time::Duration::from_secs(15), || async {
        platform.api("GET", "/api/organizations", Some(&jwt), None).await.0 == 200
    })
    .await;
    assert!(back, "the API recovers when PostgreSQL is back");
}

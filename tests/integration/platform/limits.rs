//! Limits set through the management API reach the data plane within a second; usage is recorded per day
//! and readable through the API; a daily quota counts what other gateway replicas recorded.

use std::time::Duration;

use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use redisgate_core::store::DailyUsage;
use redisgate_test_support::TestPlatform;
use serde_json::{json, Value};

use super::{data, eventually};

/// `GET …/usage` right after writing every count so far (no waiting for the flusher).
async fn usage_now(platform: &TestPlatform, jwt: &str, path: &str) -> Value {
    platform.flush_usage().await;
    let (status, body) = platform.api("GET", path, Some(jwt), None).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_apply_to_the_data_plane_and_usage_is_recorded_per_day() {
    let platform = TestPlatform::start().await;
    let jwt = platform.user("limits@example.com").await;
    let org = platform.organization(&jwt, "metered").await;
    let body =
        json!({"name": "metered", "max_memory": 16 << 20, "redis_version": "7.2", "limits": {"max_key_size": 16}});
    let (status, created) =
        platform.api("POST", &format!("/api/organizations/{org}/redis-instances"), Some(&jwt), Some(body)).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["instance"]["limits"], json!({"max_key_size": 16}));
    let id = created["instance"]["id"].as_str().unwrap().to_owned();
    let token = created["credentials"]["token"].as_str().unwrap().to_owned();
    assert_eq!(platform.wait_status(&jwt, &org, &id, "running").await, "running");
    let base = format!("/api/organizations/{org}/redis-instances/{id}");

    let long_key = "/set/a-key-of-21-bytes-xyz/v";
    assert_eq!(
        data(&platform, "metered", &token, long_key).await,
        (400, json!({"error": "ERR max key size exceeded. Limit: 16 bytes, Actual: 21 bytes"}))
    );

    // PATCH replaces the limits; the gateway applies them within a second.
    let patch = json!({"limits": {"max_daily_requests": 1000, "max_requests_per_second": 500}});
    let (status, view) = platform.api("PATCH", &base, Some(&jwt), Some(patch)).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["limits"], json!({"max_daily_requests": 1000, "max_requests_per_second": 500}));
    assert!(
        eventually(Duration::from_secs(1), || async { data(&platform, "metered", &token, long_key).await.0 == 200 })
            .await
    );
    let (status, refused) =
        platform.api("PATCH", &base, Some(&jwt), Some(json!({"limits": {"max_key_size": 0}}))).await;
    assert_eq!(status, 422);
    assert!(refused["fields"]["limits.max_key_size"].is_string(), "{refused}");

    // A resize reaches the running server and its configuration file (which a restart reads).
    let (status, _) = platform.api("PATCH", &base, Some(&jwt), Some(json!({"max_memory": 32 << 20}))).await;
    assert_eq!(status, 200);
    let mut admin = platform.admin_connection(&id).await;
    let live: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("maxmemory").query_async(&mut admin).await.unwrap();
    assert_eq!(live, ["maxmemory".to_owned(), (32 << 20).to_string()]);
    let conf = std::fs::read_to_string(platform.state_dir().join("instances").join(&id).join("redis.conf")).unwrap();
    assert!(conf.lines().any(|l| l == format!("maxmemory {}", 32 << 20)), "{conf}");

    // Usage: once the count is stable, a pipeline of seven adds exactly seven.
    let usage = format!("{base}/usage");
    let settled = usage_now(&platform, &jwt, &usage).await["total"].as_u64().unwrap();
    assert!(settled > 0, "the requests so far were not counted");
    let seven: Vec<_> = (0..7).map(|i| json!(["incr", format!("n{i}")])).collect();
    let response = platform
        .http()
        .post(format!("{}/db/metered/pipeline", platform.url()))
        .bearer_auth(&token)
        .json(&seven)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let report = usage_now(&platform, &jwt, &usage).await;
    assert_eq!(report["total"], json!(settled + 7), "{report}");
    let days = report["days"].as_array().unwrap();
    assert_eq!(days.len(), 30);
    assert_eq!(days.last().unwrap()["commands"], json!(settled + 7), "today is last");
    assert!(days[..29].iter().all(|d| d["commands"] == 0));
    let (status, one) = platform.api("GET", &format!("{usage}?days=1"), Some(&jwt), None).await;
    assert_eq!((status, one["days"].as_array().unwrap().len()), (200, 1));
    for bad in ["0", "91", "x"] {
        assert_eq!(platform.api("GET", &format!("{usage}?days={bad}"), Some(&jwt), None).await.0, 422, "{bad}");
    }

    // Another gateway replica recorded 990 commands today: the quota of 1000 runs out.
    let mut conn = AsyncPgConnection::establish(platform.database().url()).await.unwrap();
    let today = report["days"].as_array().unwrap().last().unwrap()["day"].as_str().unwrap().parse().unwrap();
    let elsewhere = DailyUsage {
        instance_id: id.parse().unwrap(),
        organization_id: org.parse().unwrap(),
        day: today,
        commands: 990,
    };
    DailyUsage::add(&mut conn, &[elsewhere]).await.unwrap();
    let refused = eventually(Duration::from_secs(2), || async {
        let (status, body) = data(&platform, "metered", &token, "/ping").await;
        status == 429
            && body["error"].as_str().unwrap().starts_with("ERR max daily request limit exceeded. Limit: 1000")
    })
    .await;
    assert!(refused, "the quota ignored the other replica's usage");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_api_key_carries_limits_of_its_own() {
    let platform = TestPlatform::start().await;
    let jwt = platform.user("keys@example.com").await;
    let org = platform.organization(&jwt, "keyed").await;
    let created = platform.running_instance(&jwt, &org, "keyed").await;
    let keys = format!("/api/organizations/{org}/api-keys");

    let daily = json!({"name": "k", "scopes": ["data:write"], "limits": {"max_daily_requests": 5}});
    let (status, refused) = platform.api("POST", &keys, Some(&jwt), Some(daily)).await;
    assert_eq!(status, 422);
    assert!(refused["fields"]["limits.max_daily_requests"].is_string(), "{refused}");

    let slow = json!({"name": "slow", "scopes": ["data:write"], "limits": {"max_requests_per_second": 2}});
    let (status, key) = platform.api("POST", &keys, Some(&jwt), Some(slow)).await;
    assert_eq!(status, 201, "{key}");
    assert_eq!(key["limits"], json!({"max_requests_per_second": 2}));
    let secret = key["secret"].as_str().unwrap();
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(data(&platform, "keyed", secret, "/ping").await.0);
    }
    assert_eq!(statuses, [200, 200, 429]);
    // The instance's own token is not limited by the key.
    let token = created["credentials"]["token"].as_str().unwrap();
    assert_eq!(data(&platform, "keyed", token, "/ping").await.0, 200);

    // A key limited to one instance finds it on the first page, wherever it stands in the organization.
    let body = json!({"name": "keyed-second", "max_memory": 16 << 20, "redis_version": "7.2"});
    let (status, second) =
        platform.api("POST", &format!("/api/organizations/{org}/redis-instances"), Some(&jwt), Some(body)).await;
    assert_eq!(status, 201, "{second}");
    let second_id = second["instance"]["id"].as_str().unwrap();
    let only = json!({"name": "only", "scopes": ["instances:manage"], "instance_id": second_id});
    let (_, only) = platform.api("POST", &keys, Some(&jwt), Some(only)).await;
    let list = format!("/api/organizations/{org}/redis-instances?limit=1");
    let (status, page) = platform.api("GET", &list, only["secret"].as_str(), None).await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["items"][0]["id"], json!(second_id), "{page}");

    // An instance must be named: the answer says how.
    let (status, unnamed) = data(&platform, "", token, "/ping").await;
    let bare = platform.http().post(format!("{}/ping", platform.url())).bearer_auth(token).send().await.unwrap();
    assert_eq!(status, 404, "{unnamed}");
    assert_eq!(bare.status(), 404);
    assert!(bare.text().await.unwrap().contains("/db/<name>"));

    // A limit this gateway does not know (written by a newer one) is ignored, not a failed reload.
    let mut conn = AsyncPgConnection::establish(platform.database().url()).await.unwrap();
    diesel::sql_query(r#"UPDATE redis_instances SET limits = '{"max_key_size": 4, "from_the_future": 1}'"#)
        .execute(&mut conn)
        .await
        .unwrap();
    let applied = eventually(Duration::from_secs(2), || async {
        data(&platform, "keyed", token, "/set/longer-key/v").await.0 == 400
    })
    .await;
    assert!(applied, "the row with an unknown limit was not loaded");
}

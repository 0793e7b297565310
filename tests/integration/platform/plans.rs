//! Plans the tenant cannot lift (issue 18, item 4): an organization's instances stay within its plan's
//! count and memory (even when created at once), each instance's limits are clamped to the plan's, and a user
//! owns a bounded number of organizations. Only the operator changes a plan, and gateways follow at once.

use std::time::Duration;

use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use redisgate_test_support::TestPlatform;
use serde_json::{json, Value};

use super::{data, eventually};

/// What the operator does with `redisgate admin plan set`: here straight in SQL.
async fn set_default_plan(platform: &TestPlatform, max_instances: i32, max_memory: i64, limits: &str) {
    let mut conn = AsyncPgConnection::establish(platform.database().url()).await.unwrap();
    diesel::sql_query(format!(
        "UPDATE plans SET max_instances = {max_instances}, max_memory = {max_memory}, limits = '{limits}' WHERE name = 'default'"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
}

const MIB: i64 = 1024 * 1024;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_organization_stays_within_its_plan_whatever_it_asks() {
    let platform = TestPlatform::start().await;
    set_default_plan(&platform, 2, 48 * MIB, r#"{"max_requests_per_second": 5}"#).await;
    let jwt = platform.user("tenant@example.com").await;
    let org = platform.organization(&jwt, "tenant").await;
    let instances = format!("/api/organizations/{org}/redis-instances");

    // Four creations at once for two places: exactly two are made.
    let create = |name: String| {
        let (jwt, instances) = (jwt.clone(), instances.clone());
        let platform = &platform;
        async move {
            let body = json!({"name": name, "max_memory": 16 * MIB, "redis_version": "7.2"});
            platform.api("POST", &instances, Some(&jwt), Some(body)).await
        }
    };
    let answers = futures_util::future::join_all((0..4).map(|i| create(format!("plan-db-{i}")))).await;
    let made: Vec<&Value> = answers.iter().filter(|(s, _)| *s == 201).map(|(_, b)| b).collect();
    let refused: Vec<&Value> = answers.iter().filter(|(s, _)| *s == 403).map(|(_, b)| b).collect();
    assert_eq!((made.len(), refused.len()), (2, 2), "{answers:?}");
    assert!(refused[0]["error"].as_str().unwrap().contains("plan 'default' allows 2 instances"), "{refused:?}");
    let (id, name) = (made[0]["instance"]["id"].as_str().unwrap(), made[0]["instance"]["name"].as_str().unwrap());
    let token = made[0]["credentials"]["token"].as_str().unwrap();
    assert_eq!(platform.wait_status(&jwt, &org, id, "running").await, "running");

    // Memory in all: 16 + 40 MiB is over 48; 16 + 32 is not.
    let instance = format!("{instances}/{id}");
    let (status, reply) = platform.api("PATCH", &instance, Some(&jwt), Some(json!({"max_memory": 40 * MIB}))).await;
    assert_eq!(status, 403, "{reply}");
    assert!(reply["error"].as_str().unwrap().contains("bytes of memory in all"), "{reply}");
    let (status, reply) = platform.api("PATCH", &instance, Some(&jwt), Some(json!({"max_memory": 32 * MIB}))).await;
    assert_eq!(status, 200, "{reply}");

    // Limits above the plan's, or none at all, are clamped: what the API shows is what applies.
    for limits in [json!({"max_requests_per_second": u32::MAX}), json!({})] {
        let (status, reply) = platform.api("PATCH", &instance, Some(&jwt), Some(json!({"limits": limits}))).await;
        assert_eq!((status, &reply["limits"]), (200, &json!({"max_requests_per_second": 5})), "{reply}");
    }
    let mut statuses = Vec::new();
    for _ in 0..20 {
        statuses.push(data(&platform, name, token, "/ping").await.0);
    }
    assert!(statuses.contains(&429), "the plan's 5 requests per second apply: {statuses:?}");
    let (_, plan) = platform.api("GET", &format!("/api/organizations/{org}/plan"), Some(&jwt), None).await;
    assert_eq!(
        plan,
        json!({"name": "default", "max_instances": 2, "max_memory": 48 * MIB,
               "limits": {"max_requests_per_second": 5}, "instances": 2, "memory": 48 * MIB})
    );

    // The operator lifts the plan's rate: the gateway follows without a restart.
    set_default_plan(&platform, 2, 48 * MIB, "{}").await;
    let lifted = eventually(Duration::from_secs(3), || async {
        let mut all = true;
        for _ in 0..20 {
            all &= data(&platform, name, token, "/ping").await.0 == 200;
        }
        all
    })
    .await;
    assert!(lifted, "the lifted plan did not reach the gateway");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_owns_a_bounded_number_of_organizations() {
    let platform = TestPlatform::start().await;
    let jwt = platform.user("collector@example.com").await;
    let max = redisgate_platform::MAX_ORGANIZATIONS_PER_USER;
    // Created at once, so the bound holds against a race too.
    let create = |i: i64| {
        let jwt = jwt.clone();
        let platform = &platform;
        async move {
            let body = json!({"name": "o", "slug": format!("org-{i}")});
            platform.api("POST", "/api/organizations", Some(&jwt), Some(body)).await
        }
    };
    let answers = futures_util::future::join_all((0..max + 3).map(create)).await;
    let made = answers.iter().filter(|(s, _)| *s == 201).count();
    let refused: Vec<&Value> = answers.iter().filter(|(s, _)| *s == 403).map(|(_, b)| b).collect();
    assert_eq!((made, refused.len()), (usize::try_from(max).unwrap(), 3), "{answers:?}");
    assert!(refused[0]["error"].as_str().unwrap().contains(&format!("at most {max} organizations")), "{refused:?}");
}

/// Two resizes of one instance at once (issue 27, item 6): a shrink and a growth that fits only if counted
/// from the size the shrink replaced. The growth must count from the instance's size at its own check, so
/// the organization never ends above its plan, whatever the interleaving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_resizes_never_leave_the_organization_above_its_plan() {
    let platform = TestPlatform::start().await;
    set_default_plan(&platform, 2, 48 * MIB, "{}").await;
    let jwt = platform.user("resizer@example.com").await;
    let org = platform.organization(&jwt, "resizer").await;
    let instances = format!("/api/organizations/{org}/redis-instances");
    let mut ids = Vec::new();
    for (name, memory) in [("big", 40 * MIB), ("small", 8 * MIB)] {
        let body = json!({"name": name, "max_memory": memory, "redis_version": "7.2"});
        let (status, created) = platform.api("POST", &instances, Some(&jwt), Some(body)).await;
        assert_eq!(status, 201, "{created}");
        let id = created["instance"]["id"].as_str().unwrap().to_owned();
        assert_eq!(platform.wait_status(&jwt, &org, &id, "running").await, "running");
        ids.push(id);
    }
    let big = format!("{instances}/{}", ids[0]);
    for round in 0..5 {
        let (status, _) = platform.api("PATCH", &big, Some(&jwt), Some(json!({"max_memory": 40 * MIB}))).await;
        assert_eq!(status, 200);
        let shrink = platform.api("PATCH", &big, Some(&jwt), Some(json!({"max_memory": 8 * MIB})));
        let grow = platform.api("PATCH", &big, Some(&jwt), Some(json!({"max_memory": 72 * MIB})));
        let ((shrunk, _), (grown, reply)) = tokio::join!(shrink, grow);
        assert_eq!(shrunk, 200);
        assert_eq!(grown, 403, "round {round}: 72 + 8 MiB is over the plan's 48 whatever the order: {reply}");
        let (_, plan) = platform.api("GET", &format!("/api/organizations/{org}/plan"), Some(&jwt), None).await;
        assert!(plan["memory"].as_i64().unwrap() <= 48 * MIB, "round {round}: {plan}");
    }
}

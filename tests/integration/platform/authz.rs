//! The authorization matrix: every organization route, tried by every kind of caller.

use redisgate_core::auth::jwt::JwtKeys;
use redisgate_test_support::{TestPlatform, JWT_SECRET};
use serde_json::{json, Value};

/// Every organization-scoped route: (method, path, body, what it needs).
fn routes(org: &str, instance: &str, key: &str, user: &str) -> Vec<(&'static str, String, Option<Value>, Need)> {
    let o = format!("/api/organizations/{org}");
    let i = format!("{o}/redis-instances/{instance}");
    vec![
        ("GET", o.clone(), None, Need::Read),
        ("PATCH", o.clone(), Some(json!({"name": "renamed"})), Need::Own),
        ("GET", format!("{o}/members"), None, Need::UserRead),
        ("GET", format!("{o}/plan"), None, Need::Read),
        ("GET", format!("{o}/audit-log"), None, Need::Admin),
        ("GET", format!("{o}/invitations"), None, Need::Admin),
        (
            "POST",
            format!("{o}/invitations"),
            Some(json!({"email": "nobody@example.com", "role": "member"})),
            Need::Admin,
        ),
        ("PATCH", format!("{o}/members/{user}"), Some(json!({"role": "admin"})), Need::Admin),
        ("GET", format!("{o}/api-keys"), None, Need::Admin),
        ("POST", format!("{o}/api-keys"), Some(json!({"name": "k", "scopes": ["data:read"]})), Need::Admin),
        ("DELETE", format!("{o}/api-keys/{key}"), None, Need::Admin),
        ("GET", format!("{o}/redis-instances"), None, Need::Read),
        (
            "POST",
            format!("{o}/redis-instances"),
            Some(json!({"name": "zz-new", "max_memory": 1048576, "redis_version": "7"})),
            // The answer carries a full data token: a key needs data:write as for a rotation (issue 27, item 16).
            Need::Credentials,
        ),
        ("GET", i.clone(), None, Need::Read),
        ("PATCH", i.clone(), Some(json!({"max_memory": 2097152})), Need::Manage),
        ("PATCH", i.clone(), Some(json!({"limits": {"max_requests_per_second": 1000}})), Need::Manage),
        ("GET", format!("{i}/status"), None, Need::Read),
        ("GET", format!("{i}/usage"), None, Need::Read),
        ("PUT", format!("{i}/status"), None, Need::Manage),
        ("GET", format!("{i}/credentials"), None, Need::Manage),
        ("POST", format!("{i}/credentials/rotate"), None, Need::Credentials),
        ("DELETE", i, None, Need::Manage),
        ("DELETE", o, None, Need::Own),
    ]
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Need {
    Read,
    UserRead,
    Manage,
    /// Manage, and for a key also `data:write` (rotation hands out a full data token).
    Credentials,
    Admin,
    Own,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_refuses_callers_that_may_not_use_it() {
    let platform = TestPlatform::start().await;
    let owner = platform.user("owner@a.example").await;
    let org = platform.organization(&owner, "org-a").await;
    let created = platform.running_instance(&owner, &org, "authz-a").await;
    let instance = created["instance"]["id"].as_str().unwrap().to_owned();
    let owner_id =
        platform.api("GET", "/api/me", Some(&owner), None).await.1["user"]["id"].as_str().unwrap().to_owned();

    // Another organization's owner, a plain member of A, and keys of A with various scopes.
    let outsider = platform.user("owner@b.example").await;
    let org_b = platform.organization(&outsider, "org-b").await;
    let member = platform.user("member@a.example").await;
    platform.join(&owner, &org, &member, "member@a.example", "member").await;
    let key = |scopes: Value| {
        let platform = &platform;
        let (owner, org) = (owner.clone(), org.clone());
        async move {
            let body = json!({"name": "k", "scopes": scopes});
            let (status, key) =
                platform.api("POST", &format!("/api/organizations/{org}/api-keys"), Some(&owner), Some(body)).await;
            assert_eq!(status, 201, "{key}");
            (key["secret"].as_str().unwrap().to_owned(), key["id"].as_str().unwrap().to_owned())
        }
    };
    let (data_key, data_key_id) = key(json!(["data:read"])).await;
    let (manage_key, _) = key(json!(["instances:manage"])).await;
    let (manage_and_write_key, _) = key(json!(["instances:manage", "data:write"])).await;
    let outsider_key = {
        let body = json!({"name": "k", "scopes": ["instances:manage", "data:write"]});
        platform.api("POST", &format!("/api/organizations/{org_b}/api-keys"), Some(&outsider), Some(body)).await.1
            ["secret"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let expired = JwtKeys::new(JWT_SECRET.as_bytes()).unwrap().issue(&owner_id, 0, now - 7200, 60).unwrap();
    let forged =
        JwtKeys::new(b"not-the-platform-secret-not-the-platform").unwrap().issue(&owner_id, 0, now, 600).unwrap();
    // A well-signed token of an older session version: what a session looks like after a logout.
    let ended = JwtKeys::new(JWT_SECRET.as_bytes()).unwrap().issue(&owner_id, -1, now, 600).unwrap();

    for (method, path, body, need) in routes(&org, &instance, &data_key_id, &owner_id) {
        let call = async |token: Option<&str>| platform.api(method, &path, token, body.clone()).await;
        for token in
            [None, Some(expired.as_str()), Some(forged.as_str()), Some(ended.as_str()), Some("rgk_not-a-real-key")]
        {
            let (status, reply) = call(token).await;
            assert_eq!(status, 401, "{method} {path} with {token:?}: {reply}");
            assert!(reply["error"].is_string());
        }
        // Outsiders learn nothing: the same 404 as for an organization that does not exist.
        let (status, reply) = call(Some(&outsider)).await;
        assert_eq!(status, 404, "{method} {path} by another organization's owner: {reply}");
        assert!(!reply.to_string().contains("authz-a") && !reply.to_string().contains("org-a"));
        let (status, _) = call(Some(&outsider_key)).await;
        assert_eq!(status, 404, "{method} {path} with another organization's key");
        // A data-only key manages nothing.
        assert_eq!(call(Some(&data_key)).await.0, 403, "{method} {path} with a data:read key");
        // A plain member reads but does not manage.
        let (status, reply) = call(Some(&member)).await;
        match need {
            Need::Read | Need::UserRead => assert!(status < 300, "{method} {path} by a member: {status} {reply}"),
            _ => assert_eq!(status, 403, "{method} {path} by a member: {reply}"),
        }
        // An instances:manage key reaches exactly the instance routes, except minting data tokens.
        let (status, reply) = call(Some(&manage_key)).await;
        match need {
            Need::Read | Need::Manage => assert!(status < 300, "{method} {path} by a manage key: {status} {reply}"),
            _ => assert_eq!(status, 403, "{method} {path} by a manage key: {reply}"),
        }
        if need == Need::Credentials {
            let (status, reply) = call(Some(&manage_and_write_key)).await;
            assert!(status < 300, "{method} {path} by an instances:manage + data:write key: {status} {reply}");
        }
    }
    // Nothing of all that reached organization B.
    let (_, instances) =
        platform.api("GET", &format!("/api/organizations/{org_b}/redis-instances"), Some(&outsider), None).await;
    assert_eq!(instances["items"], json!([]));
}

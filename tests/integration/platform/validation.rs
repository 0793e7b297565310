//! Bad input on every route: a 4xx naming the problem, and nothing half-written.

use redisgate_test_support::TestPlatform;
use serde_json::{json, Value};

async fn expect(
    platform: &TestPlatform,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Value,
    status: u16,
    needle: &str,
) {
    let (code, reply) = platform.api(method, path, token, Some(body.clone())).await;
    assert_eq!(code, status, "{method} {path} {body}: {reply}");
    assert!(reply.to_string().contains(needle), "{method} {path} {body}: {reply} should mention {needle:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_explains_bad_input_and_writes_nothing() {
    let platform = TestPlatform::start().await;
    let p = &platform;
    // Registration and login.
    let register = "/api/auth/register";
    expect(p, "POST", register, None, json!({"email": "not-an-email", "password": "correct horse 1"}), 422, "email")
        .await;
    expect(p, "POST", register, None, json!({"email": "a@b.example", "password": "short"}), 422, "password").await;
    expect(
        p,
        "POST",
        register,
        None,
        json!({"email": "a@b.example", "password": "alllowercaseletters"}),
        422,
        "password",
    )
    .await;
    expect(p, "POST", register, None, json!({"email": 5, "password": "correct horse 1"}), 422, "email").await;
    expect(
        p,
        "POST",
        register,
        None,
        json!({"email": "a@b.example", "password": "correct horse 1", "admin": true}),
        422,
        "unknown field",
    )
    .await;
    let token = p.user("a@b.example").await;
    expect(
        p,
        "POST",
        register,
        None,
        json!({"email": "A@B.example", "password": "correct horse 1"}),
        409,
        "already exists",
    )
    .await;
    let (wrong, wrong_body) = p
        .api("POST", "/api/auth/login", None, Some(json!({"email": "a@b.example", "password": "wrong horse 1"})))
        .await;
    let (unknown, unknown_body) = p
        .api("POST", "/api/auth/login", None, Some(json!({"email": "zz@b.example", "password": "wrong horse 1"})))
        .await;
    assert_eq!((wrong, unknown), (401, 401));
    assert_eq!(wrong_body, unknown_body, "login must not tell which emails exist");
    assert_eq!(super::post(p, register, "", "{not json").await.0, 400);

    // Organizations.
    let orgs = "/api/organizations";
    expect(p, "POST", orgs, Some(&token), json!({"name": "x".repeat(101), "slug": "ok-slug"}), 422, "name").await;
    expect(p, "POST", orgs, Some(&token), json!({"name": "Acme", "slug": "Not A Slug"}), 422, "slug").await;
    expect(p, "POST", orgs, Some(&token), json!({"name": "Acme"}), 422, "slug").await;
    expect(p, "POST", orgs, Some(&token), json!({"name": "Acme", "slug": "acme", "x": 1}), 422, "unknown field").await;
    let org = p.organization(&token, "acme").await;
    expect(p, "POST", orgs, Some(&token), json!({"name": "Other", "slug": "acme"}), 409, "slug").await;
    let (_, listed) = p.api("GET", orgs, Some(&token), None).await;
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "failed creations wrote nothing: {listed}");
    assert_eq!(p.api("GET", "/api/organizations?limit=abc", Some(&token), None).await.0, 422);
    assert_eq!(p.api("GET", "/api/organizations/not-a-uuid", Some(&token), None).await.0, 404);
    assert_eq!(p.api("GET", "/api/nothing-here", Some(&token), None).await.0, 404);
    assert_eq!(p.api("PUT", orgs, Some(&token), None).await.0, 405);

    // Members and invitations.
    let members = format!("/api/organizations/{org}/members");
    let invitations = format!("/api/organizations/{org}/invitations");
    expect(p, "POST", &invitations, Some(&token), json!({"email": "bad", "role": "member"}), 422, "email").await;
    expect(p, "POST", &invitations, Some(&token), json!({"email": "x@y.example", "role": "emperor"}), 422, "role")
        .await;
    let code = json!({"code": "rgi_not-a-code"});
    expect(p, "POST", "/api/invitations/accept", Some(&token), code, 404, "invitation").await;
    let me = p.api("GET", "/api/me", Some(&token), None).await.1["user"]["id"].as_str().unwrap().to_owned();
    expect(p, "PATCH", &format!("{members}/{me}"), Some(&token), json!({"role": "member"}), 409, "last owner").await;

    // API keys.
    let keys = format!("/api/organizations/{org}/api-keys");
    expect(p, "POST", &keys, Some(&token), json!({"name": "", "scopes": ["data:read"]}), 422, "name").await;
    expect(p, "POST", &keys, Some(&token), json!({"name": "k", "scopes": ["root"]}), 422, "scopes").await;
    expect(p, "POST", &keys, Some(&token), json!({"name": "k", "scopes": []}), 422, "scopes").await;
    expect(p, "POST", &keys, Some(&token), json!({"name": "k", "scopes": "data:read"}), 422, "scopes").await;
    let other_instance = "00000000-0000-4000-8000-000000000000";
    expect(
        p,
        "POST",
        &keys,
        Some(&token),
        json!({"name": "k", "scopes": ["data:read"], "instance_id": other_instance}),
        404,
        "instance",
    )
    .await;
    assert_eq!(p.api("GET", &keys, Some(&token), None).await.1["items"], json!([]));

    // Instances.
    let instances = format!("/api/organizations/{org}/redis-instances");
    let (code, reply) = p
        .api(
            "POST",
            &instances,
            Some(&token),
            Some(json!({"name": "Bad_Name", "max_memory": 5, "redis_version": "latest"})),
        )
        .await;
    assert_eq!(code, 422);
    for field in ["name", "max_memory", "redis_version"] {
        assert!(reply["fields"][field].is_string(), "{field} missing in {reply}");
    }
    expect(
        p,
        "POST",
        &instances,
        Some(&token),
        json!({"name": "x".repeat(41), "max_memory": 1048576, "redis_version": "7"}),
        422,
        "name",
    )
    .await;
    expect(
        p,
        "POST",
        &instances,
        Some(&token),
        json!({"name": "ok-name", "max_memory": "lots", "redis_version": "7"}),
        422,
        "max_memory",
    )
    .await;
    expect(
        p,
        "POST",
        &instances,
        Some(&token),
        json!({"name": "ok-name", "max_memory": 1048576, "redis_version": "7", "replicas": 3}),
        422,
        "unknown field",
    )
    .await;
    expect(
        p,
        "POST",
        &instances,
        Some(&token),
        json!({"name": "ok-name", "organization_id": other_instance, "max_memory": 1048576, "redis_version": "7"}),
        422,
        "organization_id",
    )
    .await;
    assert_eq!(p.api("GET", &instances, Some(&token), None).await.1["items"], json!([]), "nothing half-written");
    let created = p.running_instance(&token, &org, "taken").await;
    let other = p.user("b@b.example").await;
    let other_org = p.organization(&other, "other").await;
    let body = json!({"name": "taken", "max_memory": 1048576, "redis_version": "7"});
    expect(
        p,
        "POST",
        &format!("/api/organizations/{other_org}/redis-instances"),
        Some(&other),
        body,
        409,
        "already exists",
    )
    .await;
    let id = created["instance"]["id"].as_str().unwrap();
    expect(p, "PATCH", &format!("{instances}/{id}"), Some(&token), json!({"max_memory": 1}), 422, "max_memory").await;
    let (code, patched) =
        p.api("PATCH", &format!("{instances}/{id}"), Some(&token), Some(json!({"max_memory": 2097152}))).await;
    assert_eq!((code, patched["max_memory"].as_i64()), (200, Some(2097152)));
    let dirs = std::fs::read_dir(p.state_dir().join("instances")).unwrap().count();
    assert_eq!(dirs, 1, "only the one created instance has data");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_guessing_is_throttled_per_email() {
    let platform = TestPlatform::start().await;
    platform.user("target@example.com").await; // one login used
    let login = |email: &str, password: &str| {
        let body = json!({"email": email, "password": password});
        let http = platform.http().post(format!("{}/api/auth/login", platform.url())).json(&body);
        async move { http.send().await.unwrap() }
    };
    for _ in 0..9 {
        assert_eq!(login("target@example.com", "guess guess 1").await.status(), 401);
    }
    let throttled = login("TARGET@example.com", "correct horse 1").await;
    assert_eq!(throttled.status(), 429, "the eleventh attempt in a row waits, even with the right password");
    let retry_after: u64 = throttled.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=31).contains(&retry_after));
    let body: serde_json::Value = throttled.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().starts_with("too many login attempts"), "{body}");
    // Other accounts are not affected.
    assert_eq!(login("someone-else@example.com", "guess guess 1").await.status(), 401);
}

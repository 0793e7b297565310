//! The OpenAPI document describes every management route.

use redisgate_test_support::TestPlatform;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_lists_every_route_with_its_methods() {
    let platform = TestPlatform::start().await;
    let (status, doc) = platform.api("GET", "/api/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (path, methods) in [
        ("/api/auth/register", &["post"][..]),
        ("/api/auth/login", &["post"]),
        ("/api/me", &["get"]),
        ("/api/organizations", &["get", "post"]),
        ("/api/organizations/{org_id}", &["get", "patch", "delete"]),
        ("/api/organizations/{org_id}/members", &["get", "post"]),
        ("/api/organizations/{org_id}/members/{user_id}", &["patch", "delete"]),
        ("/api/organizations/{org_id}/api-keys", &["get", "post"]),
        ("/api/organizations/{org_id}/api-keys/{key_id}", &["delete"]),
        ("/api/organizations/{org_id}/redis-instances", &["get", "post"]),
        ("/api/organizations/{org_id}/redis-instances/{instance_id}", &["get", "patch", "delete"]),
        ("/api/organizations/{org_id}/redis-instances/{instance_id}/status", &["get", "put"]),
        ("/api/organizations/{org_id}/redis-instances/{instance_id}/credentials", &["get"]),
        ("/api/organizations/{org_id}/redis-instances/{instance_id}/credentials/rotate", &["post"]),
    ] {
        let entry = paths.get(path).unwrap_or_else(|| panic!("{path} is not documented"));
        for method in methods {
            assert!(entry.get(*method).is_some(), "{method} {path} is not documented");
        }
    }
    assert!(doc["components"]["schemas"]["InstanceView"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

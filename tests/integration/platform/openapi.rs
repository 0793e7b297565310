//! The OpenAPI document describes every management route, and every documented route is served.
//!
//! The router and the document are made from one list (`redisgate_platform::api`), so a route cannot be
//! added without its documentation; this checks the document against what the server answers.

use redisgate_test_support::TestPlatform;

/// The path with every `{parameter}` replaced by a nil UUID.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| if segment.starts_with('{') { "00000000-0000-0000-0000-000000000000" } else { segment })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_documented_and_every_documented_route_is_served() {
    let platform = TestPlatform::start().await;
    let (status, doc) = platform.api("GET", "/api/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(doc, serde_json::to_value(redisgate_platform::api::openapi()).unwrap(), "the served document");
    let paths = doc["paths"].as_object().unwrap();
    let mut operations = 0;
    for (path, item) in paths {
        assert!(path.starts_with("/api/"), "{path}");
        for method in item.as_object().unwrap().keys() {
            operations += 1;
            let (status, body) = platform.api(&method.to_uppercase(), &concrete(path), None, None).await;
            // Without credentials every route answers 401 (login and register: 4xx for the missing body);
            // an unrouted one would be the API's 404 "route not found" or a 405.
            assert!(status != 404 && status != 405, "{method} {path} is documented but not served: {status} {body}");
        }
    }
    assert_eq!(paths.len(), 28, "{:?}", paths.keys().collect::<Vec<_>>());
    assert_eq!(operations, 41);
    assert!(paths.contains_key("/api/organizations/{org_id}/redis-instances/{instance_id}/usage"));
    let (status, body) = platform.api("GET", "/api/no-such-route", None, None).await;
    assert_eq!((status, body["error"].as_str()), (404, Some("route not found")));
    assert!(doc["components"]["schemas"]["Instance"]["properties"]["status"].is_object());
    // Replicated instances: the topology on creation and in answers, each node's role in GET.
    for (schema, property) in
        [("Instance", "topology"), ("Instance", "nodes"), ("NewInstance", "topology"), ("InstancePatch", "replicas")]
    {
        assert!(doc["components"]["schemas"][schema]["properties"][property].is_object(), "{schema}.{property}");
    }
    assert!(doc["components"]["schemas"]["Topology"].is_object() && doc["components"]["schemas"]["Node"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    // Backups: the record, the policy, a restore's answer.
    for (schema, property) in [("Backup", "sha256"), ("BackupPolicy", "keep_last"), ("Restored", "keys")] {
        assert!(doc["components"]["schemas"][schema]["properties"][property].is_object(), "{schema}.{property}");
    }
}

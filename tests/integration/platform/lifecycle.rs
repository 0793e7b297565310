//! Instance lifecycle across platform restarts and provisioning failures.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use redisgate_core::provisioning::{
    BoxFuture, Endpoint, InstanceSpec, Node, ProvisionError, Provisioned, Provisioner, Target,
};
use redisgate_platform::provisioner::local::LocalProvisioner;
use redisgate_test_support::TestPlatform;
use serde_json::json;
use uuid::Uuid;

use super::data;

/// The local provisioner, except that its first `failures` adoptions fail as a Kubernetes API outage would.
struct Flaky {
    local: LocalProvisioner,
    failures: u32,
    adoptions: AtomicU32,
}

impl Flaky {
    fn over(state_dir: &Path, redis_server: &Path, failures: u32) -> Arc<Self> {
        let local = LocalProvisioner::new(state_dir, redis_server.to_owned()).unwrap();
        Arc::new(Self { local, failures, adoptions: AtomicU32::new(0) })
    }
}

impl Provisioner for Flaky {
    fn create(&self, target: Target, spec: InstanceSpec) -> BoxFuture<'_, Provisioned<Endpoint>> {
        self.local.create(target, spec)
    }
    fn adopt(&self, target: Target, spec: InstanceSpec) -> BoxFuture<'_, Provisioned<Endpoint>> {
        if self.adoptions.fetch_add(1, Ordering::SeqCst) < self.failures {
            return Box::pin(async { Err(ProvisionError::Transient("the API server is unavailable".into())) });
        }
        self.local.adopt(target, spec)
    }
    fn resize(&self, target: Target, spec: InstanceSpec) -> BoxFuture<'_, Provisioned<()>> {
        self.local.resize(target, spec)
    }
    fn delete(&self, target: Target) -> BoxFuture<'_, Provisioned<()>> {
        self.local.delete(target)
    }
    fn endpoint(&self, id: Uuid) -> Option<Endpoint> {
        self.local.endpoint(id)
    }
    fn shutdown(&self) -> BoxFuture<'_, ()> {
        self.local.shutdown()
    }
    fn nodes(&self, target: Target) -> BoxFuture<'_, Provisioned<Vec<Node>>> {
        self.local.nodes(target)
    }
}

async fn login(platform: &TestPlatform, email: &str) -> String {
    let credentials = json!({"email": email, "password": "correct horse 1"});
    platform.api("POST", "/api/auth/login", None, Some(credentials)).await.1["token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passing_provisioner_error_is_retried_and_never_fails_a_running_instance() {
    let platform = TestPlatform::start().await;
    let jwt = platform.user("t@example.com").await;
    let org = platform.organization(&jwt, "transient").await;
    let created = platform.running_instance(&jwt, &org, "steady").await;
    let id = created["instance"]["id"].as_str().unwrap().to_owned();
    let token = created["credentials"]["token"].as_str().unwrap().to_owned();
    assert_eq!(data(&platform, "steady", &token, "/set/kept/yes").await.0, 200);
    let status = format!("/api/organizations/{org}/redis-instances/{id}/status");

    // Two failures, then the server comes back: retried until it does.
    let mut flaky = None;
    let platform = platform
        .restart_with_provisioner(|dir, bin| {
            let provisioner = Flaky::over(dir, bin, 2);
            flaky = Some(Arc::clone(&provisioner));
            provisioner
        })
        .await;
    assert_eq!(flaky.unwrap().adoptions.load(Ordering::SeqCst), 3, "two failures, then the adoption");
    let jwt = login(&platform, "t@example.com").await;
    let (_, body) = platform.api("GET", &status, Some(&jwt), None).await;
    assert_eq!(body["status"], "running", "{body}");
    assert_eq!(data(&platform, "steady", &token, "/get/kept").await, (200, json!({"result": "yes"})));

    // Failures every time: the instance is left running (its server most likely still runs), not failed.
    let platform = platform.restart_with_provisioner(|dir, bin| Flaky::over(dir, bin, u32::MAX)).await;
    let jwt = login(&platform, "t@example.com").await;
    let (_, body) = platform.api("GET", &status, Some(&jwt), None).await;
    assert_eq!((body["status"].as_str(), body["message"].as_str()), (Some("running"), None), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_platform_brings_instances_back_with_their_data_and_tokens() {
    let platform = TestPlatform::start().await;
    let jwt = platform.user("r@example.com").await;
    let org = platform.organization(&jwt, "restart").await;
    let created = platform.running_instance(&jwt, &org, "durable").await;
    let token = created["credentials"]["token"].as_str().unwrap().to_owned();
    assert_eq!(data(&platform, "durable", &token, "/set/kept/yes").await.0, 200);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = platform.state_dir().join("instances").join(created["instance"]["id"].as_str().unwrap());
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "the instance's data is its owner's only");
    }

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
    assert_eq!(data(&platform, "doomed", token, "/ping").await.0, 401, "a failed instance is not served");
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
    let back = super::eventually(std::time::Duration::from_secs(15), || async {
        platform.api("GET", "/api/organizations", Some(&jwt), None).await.0 == 200
    })
    .await;
    assert!(back, "the API recovers when PostgreSQL is back");
}

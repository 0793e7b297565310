//! The unmodified Upstash clients against the gateway: `@upstash/redis` (npm) and `upstash-redis` (PyPI).
//!
//! The suites live in `tests/compat/{js,python}`; here they get a real Redis and gateway and must pass.
//! Their dependencies are installed by `scripts/test.sh`; a missing one fails the test with that hint.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;

use redisgate_gateway::directory::StaticDirectory;
use redisgate_gateway::quota::Meters;
use redisgate_gateway::upstream::UpstreamOptions;
use redisgate_test_support::{instance, TestGateway, TestRedis, READONLY_TOKEN, TOKEN};

fn suite_dir(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("compat").join(name)
}

async fn run_suite(program: &str, args: &[&str], dir: PathBuf) {
    // Logged in as the gateway's Redis user of a provisioned instance: scripts, functions, JSON and streams
    // must work within its ACL.
    let redis = TestRedis::start_contained();
    // `default`, and `limited` (the same Redis) with limits for the clients' error texts.
    let options = UpstreamOptions::default();
    let limits = serde_json::from_value(serde_json::json!(
        {"max_key_size": 8, "max_record_size": 64, "max_requests_per_second": 50}
    ))
    .unwrap();
    let limited = instance("limited", &redis.url(), TOKEN, None, options)
        .with_meter(Meters::default().instance("limited", None, limits));
    let default = instance("default", &redis.url(), TOKEN, Some(READONLY_TOKEN), options);
    let directory = StaticDirectory::new(vec![default, limited], Some("default"), None);
    let gw = TestGateway::with_directory(Arc::new(directory)).await;
    let output = tokio::process::Command::new(program)
        .args(args)
        .current_dir(&dir)
        .env("REDISGATE_URL", gw.url())
        .env("REDISGATE_TOKEN", TOKEN)
        .env("REDISGATE_READONLY_TOKEN", READONLY_TOKEN)
        .env("REDISGATE_PREFIXED_URL", format!("{}/db/default", gw.url()))
        .env("REDISGATE_LIMITED_URL", format!("{}/db/limited", gw.url()))
        .env("UPSTASH_DISABLE_TELEMETRY", "1")
        .stdin(Stdio::null())
        .output()
        .await
        .unwrap_or_else(|e| {
            panic!("cannot run {program} in {}: {e}; run scripts/test.sh to install it", dir.display())
        });
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{program} {args:?} failed ({}):\n{stdout}\n{stderr}\n(dependencies are installed by scripts/test.sh)",
        output.status
    );
    println!("{stdout}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstash_redis_npm_client() {
    let dir = suite_dir("js");
    assert!(
        dir.join("node_modules/@upstash/redis").exists(),
        "@upstash/redis is not installed: run `npm ci` in {} (scripts/test.sh does)",
        dir.display()
    );
    run_suite("node", &["--test", "--test-concurrency=1"], dir).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstash_redis_python_client() {
    run_suite("python3", &["-m", "pytest", "-q", "-p", "no:cacheprovider"], suite_dir("python")).await;
}

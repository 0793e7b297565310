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
    run_suite_on(&redis.url(), program, args, dir, false).await;
}

/// A replicated instance as the local provisioner runs it (a master, a replica, three Sentinels): the gateway
/// reaches it through `redis+sentinel://`, logged in to the Sentinels and the master as the gateway's user.
async fn run_suite_replicated(program: &str, args: &[&str], dir: PathBuf) {
    use redisgate_core::provisioning::{InstanceSpec, Provisioner as _, Target, Topology};
    use redisgate_platform::provisioner::local::LocalProvisioner;

    let state = tempfile::tempdir().unwrap();
    let provisioner = LocalProvisioner::new(state.path(), redisgate_test_support::redis_server_binary()).unwrap();
    let topology = Topology::Replicated { replicas: 1, min_replicas_to_write: 0 };
    let spec = InstanceSpec::new("compat-ha", None, 64 << 20, "7.2", topology).unwrap();
    let target = Target { id: uuid::Uuid::new_v4(), organization_id: uuid::Uuid::new_v4() };
    let endpoint = provisioner.create(target, spec).await.expect("the replicated instance starts");
    assert!(endpoint.url.starts_with("redis+sentinel://"));
    run_suite_on(&endpoint.url, program, args, dir, false).await;
    provisioner.delete(target).await.unwrap();
}

/// A Redis Cluster of three masters: each test's keys share a hash tag (`REDISGATE_CLUSTER=1`), as a
/// cluster's users write multi-key commands; the cases that differ without one are in docs/protocol.md.
async fn run_suite_on_cluster(program: &str, args: &[&str], dir: PathBuf) {
    let cluster = redisgate_test_support::TestCluster::start(3).await;
    run_suite_on(&cluster.url(), program, args, dir, true).await;
}

/// Runs a suite against a gateway in front of `url` (`cluster`: a Redis Cluster).
async fn run_suite_on(url: &str, program: &str, args: &[&str], dir: PathBuf, cluster: bool) {
    // `default`, and `limited` (the same Redis) with limits for the clients' error texts.
    let options = UpstreamOptions::default();
    let limits = serde_json::from_value(serde_json::json!(
        {"max_key_size": 8, "max_record_size": 64, "max_requests_per_second": 50}
    ))
    .unwrap();
    let limited = instance("limited", url, TOKEN, None, options.clone())
        .with_meter(Meters::default().instance("limited", None, limits));
    let default = instance("default", url, TOKEN, Some(READONLY_TOKEN), options);
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
        .env("REDISGATE_CLUSTER", if cluster { "1" } else { "0" })
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstash_redis_npm_client_on_a_replicated_instance() {
    let dir = suite_dir("js");
    assert!(dir.join("node_modules/@upstash/redis").exists(), "@upstash/redis is not installed: run scripts/test.sh");
    run_suite_replicated("node", &["--test", "--test-concurrency=1"], dir).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstash_redis_python_client_on_a_replicated_instance() {
    run_suite_replicated("python3", &["-m", "pytest", "-q", "-p", "no:cacheprovider"], suite_dir("python")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstash_redis_npm_client_on_a_cluster() {
    let dir = suite_dir("js");
    assert!(dir.join("node_modules/@upstash/redis").exists(), "@upstash/redis is not installed: run scripts/test.sh");
    run_suite_on_cluster("node", &["--test", "--test-concurrency=1"], dir).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstash_redis_python_client_on_a_cluster() {
    run_suite_on_cluster("python3", &["-m", "pytest", "-q", "-p", "no:cacheprovider"], suite_dir("python")).await;
}

/// `AB:CD:…`: the SHA-256 of the certificate in `pem`, as node prints it.
fn fingerprint(pem: &std::path::Path) -> String {
    use rustls::pki_types::pem::PemObject as _;
    use sha2::Digest as _;
    let der = rustls::pki_types::CertificateDer::from_pem_file(pem).unwrap();
    sha2::Sha256::digest(&der).iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstash_redis_npm_client_over_https_with_a_private_ca() {
    use redisgate_gateway::tls::{server_config, TlsFiles};
    use redisgate_test_support::{Purpose, TestCa};

    let dir = suite_dir("js");
    assert!(dir.join("node_modules/@upstash/redis").exists(), "@upstash/redis is not installed: run scripts/test.sh");
    let redis = TestRedis::start();
    let ca = TestCa::new("gateway-ca");
    let files = TlsFiles { cert: ca.dir().join("live.pem"), key: ca.dir().join("live-key.pem") };
    let install = |issued: &redisgate_test_support::Issued| {
        std::fs::copy(&issued.key, &files.key).unwrap();
        std::fs::copy(&issued.cert, &files.cert).unwrap();
    };
    let first = ca.issue("localhost", Purpose::Server);
    install(&first);
    let directory = StaticDirectory::new(
        vec![instance("default", &redis.url(), TOKEN, None, UpstreamOptions::default())],
        Some("default"),
        None,
    );
    let state = redisgate_gateway::AppState::new(Arc::new(directory)).with_tls(server_config(&files).unwrap());
    let gw = TestGateway::start(state).await;
    let run = || {
        tokio::process::Command::new("node")
            .arg("https.mjs")
            .current_dir(&dir)
            .env("REDISGATE_URL", gw.url().replace("127.0.0.1", "localhost"))
            .env("REDISGATE_TOKEN", TOKEN)
            .env("NODE_EXTRA_CA_CERTS", ca.cert())
            .env("UPSTASH_DISABLE_TELEMETRY", "1")
            .stdin(Stdio::null())
            .output()
    };
    for expected in [first, ca.issue("localhost-renewed", Purpose::Server)] {
        install(&expected);
        let output = run().await.expect("cannot run node");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
        assert_eq!(stdout.trim(), format!("served {}", fingerprint(&expected.cert)));
    }
}

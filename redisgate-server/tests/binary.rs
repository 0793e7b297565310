//! The `redisgate-gateway` binary: configuration errors, environment variables, logs, SIGTERM.
#![allow(missing_docs)]

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStderr, Command, Stdio};
use std::time::{Duration, Instant};

use redisgate_test_support::TestRedis;

const BIN: &str = env!("CARGO_BIN_EXE_redisgate-gateway");

fn gateway() -> Command {
    let mut command = Command::new(BIN);
    for var in ["REDISGATE_REDIS_URL", "REDISGATE_TOKEN", "REDISGATE_READONLY_TOKEN", "REDISGATE_CONFIG"] {
        command.env_remove(var);
    }
    command.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped());
    command
}

/// Starts the binary and reads its JSON log until it reports the address it listens on. The caller waits
/// for the child.
#[expect(clippy::zombie_processes, reason = "the caller owns the child and waits for it")]
fn start(command: &mut Command) -> (Child, String, BufReader<ChildStderr>) {
    let mut child = command.args(["--listen", "127.0.0.1:0", "--log-format", "json"]).spawn().unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "the gateway exited before listening");
        let Ok(entry) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if let Some(address) = entry["fields"]["address"].as_str() {
            return (child, format!("http://{address}"), stderr);
        }
    }
}

fn sigterm(child: &Child) {
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
}

#[test]
fn invalid_configuration_stops_the_process_with_exit_code_64() {
    for (args, reason) in [
        (vec![], "no Redis to serve"),
        (vec!["--redis-url", "redis://127.0.0.1:1"], "--token"),
        (vec!["--redis-url", "not a url", "--token", "t"], "invalid Redis URL"),
        (vec!["--redis-url", "redis://x", "--token", "t", "--readonly-token", "t"], "must differ"),
        (vec!["--config", "/nonexistent/redisgate.toml"], "cannot read config file"),
        (vec!["--redis-url", "redis://x", "--token", "t", "--redis-timeout-secs", "0"], "positive"),
        (
            vec!["--redis-url", "redis://x", "--token", "t", "--tls-cert", "/nonexistent.pem", "--tls-key", "/k"],
            "cannot read the certificate",
        ),
        (
            vec!["--redis-url", "rediss://x", "--token", "t", "--redis-ca-cert", "/nonexistent-ca.pem"],
            "cannot read /nonexistent-ca.pem",
        ),
    ] {
        let output = gateway().args(&args).output().unwrap();
        assert_eq!(output.status.code(), Some(64), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(reason), "{args:?}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_the_environment_never_logs_tokens_and_drains_on_sigterm() {
    let redis = TestRedis::start();
    let token = "env-token-that-must-never-be-logged";
    let (child, url, stderr) = start(
        gateway()
            .env("REDISGATE_REDIS_URL", redis.url())
            .env("REDISGATE_TOKEN", token)
            .env("RUST_LOG", "trace")
            .env("REDISGATE_DRAIN_SECS", "3"),
    );
    let http = reqwest::Client::new();
    let ok = http.post(format!("{url}/set/k/v")).bearer_auth(token).send().await.unwrap();
    assert_eq!(ok.text().await.unwrap(), r#"{"result":"OK"}"#);
    let wrong = http.get(format!("{url}/get/k?_token=wrong-token-also-secret")).send().await.unwrap();
    assert_eq!(wrong.status(), 401);
    // An open SSE stream must not hold the shutdown up.
    let stream = http.post(format!("{url}/subscribe/c")).bearer_auth(token).send().await.unwrap();
    assert_eq!(stream.status(), 200);

    let started = Instant::now();
    sigterm(&child);
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()).await.unwrap();
    assert!(output.status.success(), "{:?}", output.status);
    assert!(started.elapsed() < Duration::from_secs(3), "shutdown took {:?}", started.elapsed());
    assert!(stream.bytes().await.is_ok(), "the SSE stream ends cleanly");
    let logs: String = stderr.lines().map_while(Result::ok).collect::<Vec<_>>().join("\n");
    assert!(logs.contains("shutting down"), "{logs}");
    assert!(!logs.contains(token) && !logs.contains("wrong-token-also-secret"), "a token leaked into the logs");
}

#[test]
fn the_kubernetes_provisioner_without_a_cluster_fails_at_start_with_the_reason() {
    let mut command = gateway();
    command.args(["--database-url", "postgres://nobody@127.0.0.1:1/none", "--provisioner", "kubernetes"]);
    command.args(["--jwt-secret", "0123456789abcdef0123456789abcdef"]);
    fails_to_reach_kubernetes(command);
}

/// Runs `command` where no Kubernetes cluster is configured: it must stop with the reason.
fn fails_to_reach_kubernetes(mut command: Command) {
    let output =
        command.env("KUBECONFIG", "/nonexistent/kubeconfig").env_remove("KUBERNETES_SERVICE_HOST").output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot reach Kubernetes"), "{stderr}");
}

#[test]
fn the_kubernetes_directory_without_a_cluster_fails_at_start_with_the_reason() {
    let mut command = gateway();
    command.args(["--directory", "kubernetes", "--namespace", "redisgate-instances"]);
    fails_to_reach_kubernetes(command);
    // It serves the cluster's instances or nothing: the flags of another mode are refused.
    let mixed = gateway().args(["--directory", "kubernetes", "--redis-url", "redis://127.0.0.1:1"]).output().unwrap();
    assert_eq!(mixed.status.code(), Some(2), "{}", String::from_utf8_lossy(&mixed.stderr));
}

#[test]
fn platform_mode_needs_a_jwt_secret_outside_dev_mode() {
    let output = gateway()
        .args(["--database-url", "postgres://nobody@127.0.0.1:1/none"])
        .env_remove("REDISGATE_JWT_SECRET")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&output.stderr).contains("only --dev may generate one"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_served_on_the_admin_listener_only() {
    let redis = TestRedis::start();
    let (child, url, mut stderr) =
        start(gateway().args(["--redis-url", &redis.url(), "--token", "t", "--admin-listen", "127.0.0.1:0"]));
    let mut line = String::new();
    let admin = loop {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "no admin listener was announced");
        if let Ok(entry) = serde_json::from_str::<serde_json::Value>(&line) {
            if let Some(admin) = entry["fields"]["admin"].as_str() {
                break admin.to_owned();
            }
        }
    };
    let http = reqwest::Client::new();
    assert_eq!(http.get(format!("{url}/ping")).bearer_auth("t").send().await.unwrap().status(), 200);
    let metrics = http.get(format!("http://{admin}/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(
        metrics.contains(r#"redisgate_requests_total{kind="command",status="2xx",instance="default"} 1"#),
        "{metrics}"
    );
    // The public port has no /metrics: it is an (unknown) Redis command there.
    assert_eq!(http.get(format!("{url}/metrics")).bearer_auth("t").send().await.unwrap().status(), 400);
    sigterm(&child);
    let status = tokio::task::spawn_blocking(move || {
        let mut child = child;
        child.wait().unwrap()
    })
    .await
    .unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn tls_cert_serves_https() {
    use redisgate_test_support::{Purpose, TestCa};

    let redis = TestRedis::start();
    let ca = TestCa::new("binary-ca");
    let issued = ca.issue("gateway", Purpose::Server);
    let mut command = gateway();
    command.args(["--redis-url", &redis.url(), "--token", "t", "--workers", "1"]);
    command.arg("--tls-cert").arg(&issued.cert).arg("--tls-key").arg(&issued.key);
    let (mut child, url, _stderr) = start(&mut command);
    let url = url.replace("http://", "https://");
    let https = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(&std::fs::read(ca.cert()).unwrap()).unwrap())
        .build()
        .unwrap();
    let body: serde_json::Value =
        https.get(format!("{url}/ping")).bearer_auth("t").send().await.unwrap().json().await.unwrap();
    assert_eq!(body, serde_json::json!({"result": "PONG"}));
    let plain = reqwest::get(format!("{}/ping", url.replace("https://", "http://"))).await;
    assert!(plain.is_err(), "the HTTPS port speaks no plain HTTP");
    sigterm(&child);
    assert!(child.wait().unwrap().success());
}

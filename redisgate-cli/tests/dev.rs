//! `redisgate dev` as a newcomer runs it: it comes up, the printed URL and token work, Ctrl-C stops every
//! process it started, and the next start reuses the instance, its token and its data.
#![allow(missing_docs)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_redisgate");

/// A running `redisgate dev`, interrupted (SIGINT) when dropped, so a failing test leaves nothing behind.
struct Dev(Option<Child>);

impl Drop for Dev {
    fn drop(&mut self) {
        if let Some(child) = self.0.take() {
            let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
            let _ = child.wait_with_output();
        }
    }
}

fn start(state: &std::path::Path, config: &std::path::Path) -> (Dev, serde_json::Value) {
    let mut child = Command::new(BIN)
        .args(["--json", "dev", "--listen", "127.0.0.1:0", "--state-dir"])
        .arg(state)
        .env("REDISGATE_CONFIG_DIR", config)
        .env_remove("REDISGATE_URL")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let dev = Dev(Some(child));
    let summary = serde_json::from_str(&line).unwrap_or_else(|e| panic!("no summary ({e}): {line:?}"));
    (dev, summary)
}

fn interrupt(mut dev: Dev) {
    let Some(child) = dev.0.take() else { return };
    let status = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "redisgate dev exited with {:?}", output.status);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_comes_up_prints_working_credentials_and_cleans_up() {
    let state = tempfile::tempdir().unwrap();
    // Reachable by the postgres user (as root), so the cluster stays inside the temporary directory.
    #[cfg(unix)]
    std::fs::set_permissions(state.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let config = tempfile::tempdir().unwrap();
    let (child, summary) = tokio::task::spawn_blocking({
        let (state, config) = (state.path().to_owned(), config.path().to_owned());
        move || start(&state, &config)
    })
    .await
    .unwrap();
    let url = summary["rest_url"].as_str().unwrap().to_owned();
    let token = summary["token"].as_str().unwrap().to_owned();
    let http = reqwest::Client::new();
    let set = http.get(format!("{url}/set/hello/world")).bearer_auth(&token).send().await.unwrap();
    assert_eq!(set.text().await.unwrap(), r#"{"result":"OK"}"#);
    // The CLI profile was logged in: exec works without any setup.
    let exec = Command::new(BIN)
        .args(["exec", "dev", "GET", "hello"])
        .env("REDISGATE_CONFIG_DIR", config.path())
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&exec.stdout).trim(), "\"world\"");

    let instance_port = {
        let conf = std::fs::read_dir(state.path().join("instances/instances")).unwrap().next().unwrap().unwrap().path();
        let text = std::fs::read_to_string(conf.join("redis.conf")).unwrap();
        text.lines().find_map(|l| l.strip_prefix("port ")).unwrap().trim().parse::<u16>().unwrap()
    };
    tokio::task::spawn_blocking(move || interrupt(child)).await.unwrap();
    assert!(tokio::net::TcpStream::connect(("127.0.0.1", instance_port)).await.is_err(), "redis-server outlived dev");
    let gateway = url.trim_start_matches("http://").split('/').next().unwrap().to_owned();
    assert!(tokio::net::TcpStream::connect(&gateway).await.is_err(), "the gateway outlived dev");

    // Second start: same instance, same token, same data.
    let (child, again) = tokio::task::spawn_blocking({
        let (state, config) = (state.path().to_owned(), config.path().to_owned());
        move || start(&state, &config)
    })
    .await
    .unwrap();
    assert_eq!(again["token"], summary["token"]);
    let url = again["rest_url"].as_str().unwrap();
    let get =
        http.get(format!("{url}/get/hello")).bearer_auth(&token).timeout(Duration::from_secs(5)).send().await.unwrap();
    assert_eq!(get.text().await.unwrap(), r#"{"result":"world"}"#);
    tokio::task::spawn_blocking(move || interrupt(child)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dev_instance_that_failed_is_provisioned_again_on_the_next_start() {
    let state = tempfile::tempdir().unwrap();
    #[cfg(unix)]
    std::fs::set_permissions(state.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let config = tempfile::tempdir().unwrap();
    // First start with a redis-server that cannot start: the instance fails, and the reason is printed.
    let failed = tokio::task::spawn_blocking({
        let (state, config) = (state.path().to_owned(), config.path().to_owned());
        move || {
            Command::new(BIN)
                .args(["dev", "--listen", "127.0.0.1:0", "--redis-server-bin", "/bin/false", "--state-dir"])
                .arg(&state)
                .env("REDISGATE_CONFIG_DIR", &config)
                .env_remove("REDISGATE_URL")
                .stdin(Stdio::null())
                .output()
                .unwrap()
        }
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert!(!failed.status.success());
    assert!(stderr.contains("instance dev failed to provision"), "{stderr}");
    // The next start, with a working redis-server, provisions it again.
    let (dev, summary) = tokio::task::spawn_blocking({
        let (state, config) = (state.path().to_owned(), config.path().to_owned());
        move || start(&state, &config)
    })
    .await
    .unwrap();
    let url = summary["rest_url"].as_str().unwrap();
    let ping = reqwest::Client::new().get(format!("{url}/ping")).bearer_auth(summary["token"].as_str().unwrap());
    assert_eq!(ping.send().await.unwrap().text().await.unwrap(), r#"{"result":"PONG"}"#);
    interrupt(dev);
}

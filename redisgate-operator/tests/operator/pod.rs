//! Runs what a Redis pod runs, on this machine: the container's command and arguments from the built
//! StatefulSet, with `$(VAR)` expanded from its env as the kubelet does (values from the Secret), the
//! ConfigMap's redis.conf where the container mounts it, and a data directory. Only two things differ
//! from the pod: the paths live in a temp directory, and `--port <free> --bind 127.0.0.1` are appended
//! (later arguments override the file) so that nothing listens beyond loopback.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::Container;
use redisgate_core::provisioning::ClientTls;
use redisgate_operator::redis_conf::{CONF_DIR, DATA_DIR};
use redisgate_operator::resources::tls::{server_names, Ca};
use redisgate_operator::resources::Desired;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// A running server; killed on drop.
pub struct Pod {
    _child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

/// The container of a built StatefulSet.
pub fn redis_container(statefulset: &StatefulSet) -> Container {
    statefulset.spec.as_ref().unwrap().template.spec.as_ref().unwrap().containers[0].clone()
}

/// Expands `$(NAME)` like the kubelet (unknown names stay as they are).
pub fn expand(arg: &str, env: &BTreeMap<String, String>) -> String {
    env.iter().fold(arg.to_owned(), |text, (name, value)| text.replace(&format!("$({name})"), value))
}

/// The env of `container`, `secretKeyRef`s resolved to `password`.
pub fn env(container: &Container, password: &str) -> BTreeMap<String, String> {
    container
        .env
        .iter()
        .flatten()
        .map(|var| {
            let value = match &var.value_from {
                Some(from) if from.secret_key_ref.is_some() => password.to_owned(),
                _ => var.value.clone().unwrap_or_default(),
            };
            (var.name.clone(), value)
        })
        .collect()
}

/// The `redis-server` the tests run (`REDISGATE_REDIS_SERVER_BIN`, else the one on `PATH`).
pub fn binary() -> PathBuf {
    std::env::var_os("REDISGATE_REDIS_SERVER_BIN").map_or_else(|| PathBuf::from("redis-server"), PathBuf::from)
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Runs a TLS instance's pod on this machine: `redis.conf` of `dir` (its certificate paths already pointing
/// into `dir`), on a free TLS port of loopback. Returns the process (killed on drop) and the port.
pub fn tls_server(dir: &Path) -> (Child, u16) {
    let port = free_port();
    (tls_server_on(dir, port), port)
}

/// As [`tls_server`], on `port`.
pub fn tls_server_on(dir: &Path, port: u16) -> Child {
    Command::new(redisgate_test_support::redis_tls_server_binary())
        .arg(dir.join("redis.conf"))
        .args(["--tls-port", &port.to_string(), "--bind", "127.0.0.1"])
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// What the operator issues for a TLS instance `desired`, as its pods mount it: the CA and the server
/// certificate written into `tls_dir` (`ca.crt`, `tls.crt`, `tls.key`); returns the gateway's client
/// certificate from the same CA.
pub fn issue_certificates(desired: &Desired, tls_dir: &Path) -> ClientTls {
    let ca = Ca::generate().unwrap();
    let now = k8s_openapi::jiff::Timestamp::now();
    let server = ca.server(&server_names(desired), now).unwrap();
    std::fs::create_dir_all(tls_dir).unwrap();
    std::fs::write(tls_dir.join("ca.crt"), ca.cert()).unwrap();
    std::fs::write(tls_dir.join("tls.crt"), &server.cert).unwrap();
    std::fs::write(tls_dir.join("tls.key"), &server.key).unwrap();
    let client = ca.client("redisgate", now).unwrap();
    ClientTls { ca: ca.cert().as_bytes().to_vec(), cert: client.cert.into_bytes(), key: client.key.into_bytes() }
}

/// `PATH` with the directory of [`binary`] first (for `tls`, of the TLS-capable `redis-server`: the Redis 8
/// build of the second test phase has no TLS), so that scripts run the same `redis-server` and `redis-cli`.
pub fn path_with_binary(tls: bool) -> String {
    let mut path = std::env::var_os("PATH").unwrap_or_default();
    let binary = if tls { redisgate_test_support::redis_tls_server_binary() } else { binary() };
    if let Some(bin) = binary.parent().filter(|p| !p.as_os_str().is_empty()) {
        path = std::env::join_paths(std::iter::once(bin.to_owned()).chain(std::env::split_paths(&path))).unwrap();
    }
    path.to_string_lossy().into_owned()
}

/// `sh <script> <conf>` in `here` with `env`, until its log says `ready`.
pub async fn start(here: &Path, script: &str, conf: &str, env: BTreeMap<String, String>, ready: &str) -> Child {
    let mut child = Command::new("sh")
        .arg(here.join(script))
        .arg(here.join(conf))
        .env_clear()
        .envs(env)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let found = tokio::time::timeout(Duration::from_secs(30), async {
        while let Ok(Some(line)) = lines.next_line().await {
            if line.contains(ready) {
                return true;
            }
        }
        false
    })
    .await
    .unwrap_or(false);
    assert!(found, "{script} did not start a server");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    child
}

impl Pod {
    /// Starts `container` with `conf` mounted and `password` in its Secret.
    ///
    /// # Panics
    /// When `redis-server` is missing (install it: `apt-get install redis-server`) or never gets ready.
    pub async fn start(container: &Container, conf: &str, password: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap();
        let conf = conf.replace(&format!("dir {DATA_DIR}"), &format!("dir {}", data.display()));
        std::fs::write(dir.path().join("redis.conf"), conf).unwrap();
        let env = env(container, password);
        let command = container.command.clone().unwrap();
        assert_eq!(command, ["redis-server"]);
        let args: Vec<String> = container
            .args
            .iter()
            .flatten()
            .map(|a| expand(a, &env))
            .map(|a| a.replace(CONF_DIR, &dir.path().display().to_string()))
            .collect();
        for _ in 0..10 {
            let port = free_port();
            let mut child = Command::new(binary())
                .args(&args)
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .kill_on_drop(true)
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {}: {e}; install redis-server", binary().display()));
            let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
            let ready = tokio::time::timeout(Duration::from_secs(10), async {
                while let Ok(Some(line)) = lines.next_line().await {
                    if line.contains("Ready to accept connections") {
                        return true;
                    }
                }
                false
            })
            .await
            .unwrap_or(false);
            if ready {
                tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
                return Self { _child: child, port, _dir: dir };
            }
        }
        panic!("redis-server did not start with the rendered configuration");
    }
}

//! The config and command line the builders render, run in a real `redis-server` (kubernetes.md §3, L5):
//! nobody gets in without logging in, the gateway's user needs its generated password and may not run
//! administrative commands (not even from a script), the admin user may, the authenticated probe passes only
//! with the right password, and maxmemory and the eviction policy are in force.

use redis::AsyncCommands as _;
use redisgate_core::provisioning::Credentials;
use redisgate_operator::config::OperatorConfig;
use redisgate_operator::crd::RedisHttpInstance;
use redisgate_operator::redis_conf::{checksum, probe_command, with_users, ENV_CLI_AUTH};
use redisgate_operator::resources::{secret, statefulset, Desired};
use serde_json::json;

use crate::pod::{redis_container, Pod};

fn desired(spec: serde_json::Value) -> Desired {
    let mut instance = RedisHttpInstance::new("cache", serde_json::from_value(spec).unwrap());
    instance.metadata.namespace = Some("tenant".into());
    instance.metadata.uid = Some("0b4c5c1e-0000-4000-8000-000000000001".into());
    Desired::new(&instance, &OperatorConfig::default()).unwrap()
}

/// Starts the pod `spec` describes, with the ConfigMap the operator writes; returns it with its passwords.
async fn start(spec: serde_json::Value) -> (Desired, Pod, Credentials) {
    let d = desired(spec);
    let credentials = Credentials { gateway: secret::generate_password(), admin: secret::generate_password() };
    let conf = with_users(&d.conf, &credentials);
    let sts = statefulset::build(&d, &checksum(&conf, &credentials.gateway), None);
    let pod = Pod::start(&redis_container(&sts), &conf, &credentials.gateway).await;
    (d, pod, credentials)
}

async fn connect(pod: &Pod, url: Option<String>) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
    let url = url.unwrap_or_else(|| format!("redis://127.0.0.1:{}", pod.port));
    redis::Client::open(url)?.get_multiplexed_async_connection().await
}

fn address(pod: &Pod) -> String {
    format!("127.0.0.1:{}", pod.port)
}

#[tokio::test]
async fn the_generated_passwords_are_required_and_only_the_admin_may_administer() {
    let (_, pod, credentials) = start(json!({"memory": "64Mi"})).await;
    let mut anonymous = connect(&pod, None).await.unwrap();
    let refused: redis::RedisResult<String> = redis::cmd("PING").query_async(&mut anonymous).await;
    assert!(refused.unwrap_err().to_string().contains("NOAUTH"));
    let wrong = Credentials { gateway: "wrong-password".into(), admin: "wrong-password".into() };
    assert!(connect(&pod, Some(wrong.gateway_url(&address(&pod)))).await.is_err());
    assert!(connect(&pod, Some(wrong.admin_url(&address(&pod)))).await.is_err());
    let mut gateway = connect(&pod, Some(credentials.gateway_url(&address(&pod)))).await.unwrap();
    let pong: String = redis::cmd("PING").query_async(&mut gateway).await.unwrap();
    assert_eq!(pong, "PONG");
    let config: redis::RedisResult<Vec<String>> =
        redis::cmd("CONFIG").arg("SET").arg("maxmemory").arg("0").query_async(&mut gateway).await;
    let refused = config.unwrap_err().to_string();
    assert!(refused.contains("no permissions"), "{refused}");
    let script: redis::RedisResult<String> =
        redis::cmd("EVAL").arg("return redis.call('SWAPDB', '0', '1')").arg(0).query_async(&mut gateway).await;
    assert!(script.is_err(), "a script of the gateway's user swapped databases");
    let mut admin = connect(&pod, Some(credentials.admin_url(&address(&pod)))).await.unwrap();
    let users: Vec<String> = redis::cmd("ACL").arg("USERS").query_async(&mut admin).await.unwrap();
    assert_eq!(users, ["default", "redisgate", "redisgate-admin"]);
}

#[tokio::test]
async fn the_probe_passes_only_with_the_password_from_the_secret() {
    let (_, pod, credentials) = start(json!({"memory": "64Mi"})).await;
    let password = credentials.gateway;
    let probe = |auth: &str| {
        let command = probe_command(pod.port);
        std::process::Command::new(&command[0]).args(&command[1..]).env(ENV_CLI_AUTH, auth).status().unwrap()
    };
    assert!(probe(&password).success(), "redis-cli (apt-get install redis-tools) must pass the probe");
    assert!(!probe("wrong-password").success());
}

#[tokio::test]
async fn maxmemory_and_the_eviction_policy_are_in_force() {
    let (d, pod, credentials) = start(json!({"memory": "32Mi", "evictionPolicy": "allkeys-lru"})).await;
    let mut conn = connect(&pod, Some(credentials.admin_url(&address(&pod)))).await.unwrap();
    let config: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("maxmemory*").query_async(&mut conn).await.unwrap();
    let value = |key: &str| config.chunks(2).find(|kv| kv[0] == key).map(|kv| kv[1].clone()).unwrap();
    assert_eq!(value("maxmemory"), d.max_memory.to_string());
    assert_eq!(value("maxmemory-policy"), "allkeys-lru");
    let appendonly: Vec<String> =
        redis::cmd("CONFIG").arg("GET").arg("appendonly").query_async(&mut conn).await.unwrap();
    assert_eq!(appendonly[1], "no");
    // 40 MiB of writes into 16 MiB: everything is accepted and old keys are evicted.
    let blob = vec![b'x'; 1024 * 1024];
    for i in 0..40 {
        let () = conn.set(format!("k{i}"), &blob).await.unwrap();
    }
    let keys: usize = redis::cmd("DBSIZE").query_async(&mut conn).await.unwrap();
    assert!(keys < 40, "nothing was evicted ({keys} keys)");

    // With noeviction the same writes are refused once full.
    let (_, pod, credentials) = start(json!({"memory": "32Mi"})).await;
    let mut conn = connect(&pod, Some(credentials.gateway_url(&address(&pod)))).await.unwrap();
    let mut refused = None;
    for i in 0..40 {
        if let Err(e) = conn.set::<_, _, ()>(format!("k{i}"), &blob).await {
            refused = Some(e.to_string());
            break;
        }
    }
    assert!(refused.unwrap_or_default().contains("OOM"), "noeviction did not refuse writes beyond maxmemory");
}

/// A TLS instance (issue 12, item 4): the rendered config with the certificates the operator issues. Only a
/// client with a certificate from the instance's CA gets in; the probe passes over TLS.
#[tokio::test]
async fn a_tls_instance_admits_only_clients_with_a_certificate_from_its_ca() {
    use redisgate_operator::redis_conf::{tls_probe_command, TLS_DIR};
    use redisgate_operator::resources::tls::Ca;

    let d = desired(json!({"memory": "64Mi", "tls": {"enabled": true}}));
    let credentials = Credentials { gateway: secret::generate_password(), admin: secret::generate_password() };
    let ca = Ca::generate().unwrap();
    let now = k8s_openapi::jiff::Timestamp::now();
    let server = ca.server(&redisgate_operator::resources::tls::server_names(&d), now).unwrap();
    let client = ca.client("redisgate", now).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tls_dir = dir.path().join("tls");
    std::fs::create_dir_all(&tls_dir).unwrap();
    std::fs::write(tls_dir.join("ca.crt"), ca.cert()).unwrap();
    std::fs::write(tls_dir.join("tls.crt"), &server.cert).unwrap();
    std::fs::write(tls_dir.join("tls.key"), &server.key).unwrap();
    let conf = with_users(&d.conf, &credentials)
        .replace(TLS_DIR, &tls_dir.display().to_string())
        .replace("dir /data", &format!("dir {}", dir.path().display()));
    assert!(conf.lines().any(|l| l == "port 0") && conf.contains("tls-auth-clients yes"), "{conf}");
    std::fs::write(dir.path().join("redis.conf"), conf).unwrap();
    let (mut child, port) = crate::pod::tls_server(dir.path());
    let connect = |tls: Option<redis::TlsCertificates>| {
        let url = format!("rediss://redisgate:{}@localhost:{port}", credentials.gateway);
        async move {
            let client = match tls {
                Some(tls) => redis::Client::build_with_tls(url, tls)?,
                None => redis::Client::open(url)?,
            };
            let mut connection = client.get_multiplexed_async_connection().await?;
            redis::cmd("PING").query_async::<String>(&mut connection).await
        }
    };
    let with = |client: Option<(&str, &str)>| redis::TlsCertificates {
        client_tls: client.map(|(cert, key)| redis::ClientTlsConfig {
            client_cert: cert.as_bytes().to_vec(),
            client_key: key.as_bytes().to_vec(),
        }),
        root_cert: Some(ca.cert().as_bytes().to_vec()),
    };
    let up = redisgate_test_support::eventually(std::time::Duration::from_secs(10), || async {
        connect(Some(with(Some((&client.cert, &client.key))))).await.is_ok()
    });
    assert!(up.await, "the gateway's certificate is not let in");
    assert!(connect(Some(with(None))).await.is_err(), "a client without a certificate got in");
    let stranger = Ca::generate().unwrap().client("redisgate", now).unwrap();
    assert!(connect(Some(with(Some((&stranger.cert, &stranger.key))))).await.is_err(), "another CA's client got in");
    // The probe, with the pod's own certificate where the Secret is mounted.
    let command: Vec<String> = tls_probe_command(port)
        .into_iter()
        .map(|a| {
            a.replace(TLS_DIR, &tls_dir.display().to_string()).replace("-p 6379", &format!("-h localhost -p {port}"))
        })
        .collect();
    let probe =
        std::process::Command::new(&command[0]).args(&command[1..]).env(ENV_CLI_AUTH, &credentials.gateway).status();
    assert!(probe.unwrap().success(), "the TLS probe fails");
    child.start_kill().unwrap();
}

/// Rotation without a restart (issue 12, item 4): the rendered TLS config in a real `redis-server`, a client
/// connected; a renewed certificate overwrites the files; the operator's `converge` makes the server load it.
/// Before the files change a reload changes nothing (the kubelet has not projected them yet); after, a new
/// handshake presents the new certificate, and the connection opened before still answers.
#[tokio::test]
async fn a_renewed_certificate_is_loaded_without_a_restart_and_open_connections_stay() {
    use redisgate_core::provisioning::ClientTls;
    use redisgate_operator::redis_conf::TLS_DIR;
    use redisgate_operator::resources::tls::{server_names, Ca};
    use redisgate_operator::tls_reload::{converge, der, presented, reload, Loaded, OperatorTls, Server};

    let d = desired(json!({"memory": "64Mi", "tls": {"enabled": true}}));
    let credentials = Credentials { gateway: secret::generate_password(), admin: secret::generate_password() };
    let ca = Ca::generate().unwrap();
    let now = k8s_openapi::jiff::Timestamp::now();
    let first = ca.server(&server_names(&d), now).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tls_dir = dir.path().join("tls");
    std::fs::create_dir_all(&tls_dir).unwrap();
    // As the kubelet updates a mounted Secret: each file replaced at once.
    let project = |issued: &redisgate_operator::resources::tls::Issued| {
        for (name, text) in [("ca.crt", ca.cert()), ("tls.crt", &issued.cert), ("tls.key", &issued.key)] {
            std::fs::write(tls_dir.join(format!("{name}.new")), text).unwrap();
            std::fs::rename(tls_dir.join(format!("{name}.new")), tls_dir.join(name)).unwrap();
        }
    };
    project(&first);
    let conf = with_users(&d.conf, &credentials)
        .replace(TLS_DIR, &tls_dir.display().to_string())
        .replace("dir /data", &format!("dir {}", dir.path().display()));
    std::fs::write(dir.path().join("redis.conf"), conf).unwrap();
    let (mut child, port) = crate::pod::tls_server(dir.path());

    let client = |cn: &str| {
        let issued = ca.client(cn, now).unwrap();
        ClientTls { ca: ca.cert().as_bytes().to_vec(), cert: issued.cert.into_bytes(), key: issued.key.into_bytes() }
    };
    let operator = OperatorTls::new(&client("redisgate-operator")).unwrap();
    let server = Server { pod: "cache-0".into(), host: "localhost".into(), port, dial: format!("127.0.0.1:{port}") };
    let up = redisgate_test_support::eventually(std::time::Duration::from_secs(10), || async {
        presented(&server, &operator).await.is_ok()
    });
    assert!(up.await, "the TLS server does not answer");
    assert_eq!(presented(&server, &operator).await.unwrap(), der(&first.cert).unwrap());
    assert_eq!(converge(&server, &operator, &credentials.admin, &der(&first.cert).unwrap()).await, Loaded::Presents);

    // A client connected with the first certificate.
    let gateway = client("redisgate");
    let tls = redis::TlsCertificates {
        client_tls: Some(redis::ClientTlsConfig { client_cert: gateway.cert.clone(), client_key: gateway.key.clone() }),
        root_cert: Some(gateway.ca.clone()),
    };
    let url = format!("rediss://redisgate:{}@localhost:{port}", credentials.gateway);
    let mut open = redis::Client::build_with_tls(url, tls).unwrap().get_multiplexed_async_connection().await.unwrap();
    let () = redis::cmd("SET").arg("kept").arg("yes").query_async(&mut open).await.unwrap();

    // Renewed, but the files are not updated yet: a reload keeps the first certificate.
    let renewed = ca.server(&server_names(&d), now).unwrap();
    let current = der(&renewed.cert).unwrap();
    let pending = converge(&server, &operator, &credentials.admin, &current).await;
    assert!(matches!(&pending, Loaded::Pending(why) if why.contains("older certificate")), "{pending:?}");
    // The files change; by itself the server keeps presenting what it loaded.
    project(&renewed);
    assert_eq!(presented(&server, &operator).await.unwrap(), der(&first.cert).unwrap());
    // Only the admin may make it read them again.
    assert!(reload(&server, &operator, "wrong-password").await.is_err());
    assert_eq!(presented(&server, &operator).await.unwrap(), der(&first.cert).unwrap());
    assert_eq!(converge(&server, &operator, &credentials.admin, &current).await, Loaded::Presents);
    assert_eq!(presented(&server, &operator).await.unwrap(), current, "a new handshake presents the old certificate");

    // The connection opened before the renewal still answers, on the same server process.
    let pong: String = redis::cmd("PING").query_async(&mut open).await.unwrap();
    assert_eq!(pong, "PONG");
    let kept: String = redis::cmd("GET").arg("kept").query_async(&mut open).await.unwrap();
    assert_eq!(kept, "yes");
    assert!(child.try_wait().unwrap().is_none(), "the server restarted");
    child.start_kill().unwrap();
}

//! A replicated instance as the operator lays it out, run on this machine (kubernetes.md §3, L5): the data
//! pods' and the Sentinels' start scripts and configuration from the ConfigMap, with the env their
//! StatefulSets give (host names mapped to loopback ports), on real `redis-server`s.
//!
//! The first pod starts as the master and the second as its replica; the Sentinels find both and each
//! other; `master::named` reports the master. After a SIGKILL of the master the Sentinels promote the
//! replica, and the old master's script, run again as its restarted pod would run it, starts it as a replica
//! of the new master. The same runs for a TLS instance (issue 12, item 4), with the certificates the
//! operator issues where the pods mount them: replication, the Sentinels' links and the scripts' questions
//! all go over TLS, and nothing answers in plain text.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use redisgate_core::provisioning::ClientTls;
use redisgate_core::provisioning::Credentials;
use redisgate_operator::config::OperatorConfig;
use redisgate_operator::crd::RedisHttpInstance;
use redisgate_operator::master;
use redisgate_operator::redis_conf::{with_users, SENTINEL_CONF, START_DATA, START_SENTINEL, TLS_DIR};
use redisgate_operator::resources::{configmap, secret, sentinel, statefulset, Desired};
use redisgate_operator::tls_reload::{OperatorTls, Server};
use redisgate_test_support::eventually;
use serde_json::json;
use tokio::process::Child;

use crate::pod::{free_port, issue_certificates, path_with_binary, redis_container, start};

const NAME: &str = "ha";

fn desired(tls: bool) -> Desired {
    let spec = json!({"memory": "64Mi", "topology": {"mode": "replicated", "replicas": 1}, "tls": {"enabled": tls}});
    let mut instance = RedisHttpInstance::new(NAME, serde_json::from_value(spec).unwrap());
    instance.metadata.namespace = Some("tenant".into());
    instance.metadata.uid = Some("0b4c5c1e-0000-4000-8000-000000000002".into());
    Desired::new(&instance, &OperatorConfig::default()).unwrap()
}

fn file(map: &ConfigMap, key: &str) -> String {
    map.data.as_ref().unwrap()[key].clone()
}

/// The env names a container of the StatefulSet defines.
fn env_names(container: &k8s_openapi::api::core::v1::Container) -> Vec<String> {
    container.env.iter().flatten().map(|e| e.name.clone()).collect()
}

/// The layout on loopback: where each process listens, and the files of the ConfigMap.
struct Layout {
    dir: tempfile::TempDir,
    map: ConfigMap,
    credentials: Credentials,
    nodes: [u16; 2],
    sentinels: [u16; 3],
    /// A TLS instance's: the CA and a client certificate from it (the gateway's), as a client presents them.
    tls: Option<ClientTls>,
}

impl Layout {
    fn new(tls: bool) -> Self {
        let d = desired(tls);
        let credentials = Credentials { gateway: secret::generate_password(), admin: secret::generate_password() };
        let map = configmap::build_for(&d, &with_users(&d.conf, &credentials), &credentials);
        // The scripts read only what the StatefulSets give them.
        let data = env_names(&redis_container(&statefulset::build(&d, "sum", None)));
        let watcher = env_names(&redis_container(&sentinel::statefulset(&d, "sum")));
        for needed in
            ["ADMIN_PASSWORD", "MASTER_NAME", "SELF_HOST", "REDIS_PORT", "FIRST_HOST", "FIRST_PORT", "SENTINELS"]
        {
            assert!(data.iter().any(|n| n == needed), "the data pods lack {needed}");
            assert!(watcher.iter().any(|n| n == needed), "the Sentinels lack {needed}");
        }
        assert!(watcher.iter().any(|n| n == "SENTINEL_DIR") && watcher.iter().any(|n| n == "SENTINEL_PORT"));
        let (a, b) = (free_port(), free_port());
        let dir = tempfile::tempdir().unwrap();
        // The certificates the operator issues, where the pods mount `<name>-tls` (one Secret for all).
        let tls = tls.then(|| issue_certificates(&d, &dir.path().join("tls")));
        Self { dir, map, credentials, nodes: [a, b], sentinels: [free_port(), free_port(), free_port()], tls }
    }

    /// The env every script gets: the StatefulSets' values with host names mapped to loopback ports.
    fn env(&self, port: u16) -> BTreeMap<String, String> {
        let sentinels: Vec<String> = self.sentinels.iter().map(|p| format!("127.0.0.1:{p}")).collect();
        BTreeMap::from([
            ("ADMIN_PASSWORD".to_owned(), self.credentials.admin.clone()),
            ("MASTER_NAME".to_owned(), NAME.to_owned()),
            ("SELF_HOST".to_owned(), "127.0.0.1".to_owned()),
            ("REDIS_PORT".to_owned(), port.to_string()),
            ("FIRST_HOST".to_owned(), "127.0.0.1".to_owned()),
            ("FIRST_PORT".to_owned(), self.nodes[0].to_string()),
            ("SENTINELS".to_owned(), sentinels.join(" ")),
            ("PATH".to_owned(), path_with_binary(self.tls.is_some())),
        ])
    }

    /// Writes the files a pod mounts into `here`, with its data directory there, the certificates where the
    /// test wrote them, and loopback only.
    fn mount(&self, here: &Path) {
        std::fs::create_dir_all(here).unwrap();
        let tls_dir = self.dir.path().join("tls").display().to_string();
        let mounted = |key: &str| file(&self.map, key).replace(TLS_DIR, &tls_dir);
        let local =
            |text: String| format!("{}bind 127.0.0.1\n", text.replace("dir /data", &format!("dir {}", here.display())));
        std::fs::write(here.join("redis.conf"), local(mounted("redis.conf"))).unwrap();
        std::fs::write(here.join(SENTINEL_CONF), local(mounted(SENTINEL_CONF))).unwrap();
        std::fs::write(here.join(START_DATA), mounted(START_DATA)).unwrap();
        std::fs::write(here.join(START_SENTINEL), mounted(START_SENTINEL)).unwrap();
    }

    /// Runs data node `index`'s start script; returns once it serves.
    async fn data(&self, index: usize) -> Child {
        let here = self.dir.path().join(format!("node-{index}"));
        self.mount(&here);
        let env = self.env(self.nodes[index]);
        start(&here, START_DATA, "redis.conf", env, "Ready to accept connections").await
    }

    /// Runs Sentinel `index`'s start script; returns once it watches a master.
    async fn sentinel(&self, index: usize) -> Child {
        let here = self.dir.path().join(format!("sentinel-{index}"));
        self.mount(&here);
        let mut env = self.env(self.nodes[0]);
        env.insert("SENTINEL_PORT".to_owned(), self.sentinels[index].to_string());
        env.insert("SENTINEL_DIR".to_owned(), here.display().to_string());
        start(&here, START_SENTINEL, SENTINEL_CONF, env, "+monitor master").await
    }

    /// A connection to the server on `port` with `url_of` (`host:port` → URL), over TLS for a TLS instance.
    async fn connect(
        &self,
        port: u16,
        url_of: impl Fn(&str) -> String,
    ) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
        let client = match &self.tls {
            None => redis::Client::open(url_of(&format!("127.0.0.1:{port}")))?,
            Some(tls) => {
                let url = url_of(&format!("localhost:{port}")).replacen("redis://", "rediss://", 1);
                let certificates = redis::TlsCertificates {
                    client_tls: Some(redis::ClientTlsConfig {
                        client_cert: tls.cert.clone(),
                        client_key: tls.key.clone(),
                    }),
                    root_cert: Some(tls.ca.clone()),
                };
                redis::Client::build_with_tls(url, certificates)?
            }
        };
        client.get_multiplexed_async_connection().await
    }

    async fn admin(&self, port: u16) -> redis::aio::MultiplexedConnection {
        self.connect(port, |address| self.credentials.admin_url(address)).await.unwrap()
    }

    /// The master Sentinel `index` names, asked as `master::named` asks (over TLS for a TLS instance).
    async fn named(&self, index: usize, admin_password: &str) -> Option<String> {
        let tls = self.tls.as_ref().map(|tls| OperatorTls::new(tls).unwrap());
        master::named(&sentinel(self.sentinels[index]), NAME, admin_password, tls.as_ref()).await
    }

    async fn replication(&self, port: u16) -> String {
        redis::cmd("INFO").arg("replication").query_async(&mut self.admin(port).await).await.unwrap()
    }
}

/// The Sentinel listening on `port` of loopback, as `master::named` asks it.
fn sentinel(port: u16) -> Server {
    Server { pod: "sentinel".into(), host: "localhost".into(), port, dial: format!("127.0.0.1:{port}") }
}

/// How long replication and the Sentinels may take to settle.
const SETTLE: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scripts_replicate_elect_and_bring_an_old_master_back_as_a_replica() {
    replicate_elect_and_come_back(&Layout::new(false)).await;
}

/// A TLS instance: the same, over TLS only. The gateway's URL is `rediss+sentinel://`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_the_scripts_replicate_elect_and_bring_an_old_master_back_as_a_replica() {
    let layout = Layout::new(true);
    let d = desired(true);
    let mut instance = d.instance.clone();
    instance.status = None;
    assert!(instance
        .gateway_url("pw", "ha-sentinel:26379")
        .starts_with("rediss+sentinel://redisgate:pw@ha-sentinel:26379/ha?"));
    let sentinel_pod = redis_container(&sentinel::statefulset(&d, "sum"));
    assert!(
        sentinel_pod.volume_mounts.iter().flatten().any(|m| m.mount_path == TLS_DIR),
        "the Sentinels lack the certificate"
    );
    for key in ["redis.conf", SENTINEL_CONF] {
        let conf = file(&layout.map, key);
        assert!(conf.lines().any(|l| l == "port 0") && conf.contains("tls-replication yes"), "{key}: {conf}");
    }
    replicate_elect_and_come_back(&layout).await;
    // Nothing answers in plain text: not the data nodes, not the Sentinels.
    for port in layout.nodes.iter().chain(&layout.sentinels) {
        let plain = redis::Client::open(layout.credentials.admin_url(&format!("127.0.0.1:{port}"))).unwrap();
        let answer = tokio::time::timeout(Duration::from_secs(5), plain.get_multiplexed_async_connection()).await;
        assert!(!matches!(answer, Ok(Ok(_))), "port {port} answers without TLS");
    }
}

async fn replicate_elect_and_come_back(layout: &Layout) {
    let [first, second] = layout.nodes;
    let mut master = layout.data(0).await;
    let _replica = layout.data(1).await;
    let mut sentinels = Vec::new();
    for index in 0..3 {
        sentinels.push(layout.sentinel(index).await);
    }
    let held = eventually(SETTLE, || async {
        let info = layout.replication(second).await;
        info.contains(&format!("master_port:{first}")) && info.contains("master_link_status:up")
    })
    .await;
    assert!(held, "the second pod did not replicate the first");
    let held = eventually(SETTLE, || async {
        let mut known = true;
        for port in layout.sentinels {
            let mut sentinel = layout.admin(port).await;
            let replicas: Vec<redis::Value> =
                redis::cmd("SENTINEL").arg("REPLICAS").arg(NAME).query_async(&mut sentinel).await.unwrap();
            let peers: Vec<redis::Value> =
                redis::cmd("SENTINEL").arg("SENTINELS").arg(NAME).query_async(&mut sentinel).await.unwrap();
            known &= replicas.len() == 1 && peers.len() == 2;
        }
        known
    })
    .await;
    assert!(held, "the Sentinels did not find the replica and each other");
    assert_eq!(layout.named(0, &layout.credentials.admin).await, Some(format!("127.0.0.1:{first}")));
    assert_eq!(layout.named(0, "wrong").await, None);
    let () = redis::cmd("SET").arg("kept").arg("yes").query_async(&mut layout.admin(first).await).await.unwrap();

    // The gateway's user may ask where the master is, and nothing else.
    let mut asking = layout.connect(layout.sentinels[1], |a| layout.credentials.gateway_url(a)).await.unwrap();
    let asked: Vec<String> =
        redis::cmd("SENTINEL").arg("GET-MASTER-ADDR-BY-NAME").arg(NAME).query_async(&mut asking).await.unwrap();
    assert_eq!(asked, ["127.0.0.1".to_owned(), first.to_string()]);
    let refused: redis::RedisResult<()> =
        redis::cmd("SENTINEL").arg("FAILOVER").arg(NAME).query_async(&mut asking).await;
    let refused = refused.unwrap_err().to_string();
    assert!(refused.contains("NOPERM") || refused.contains("no permissions"), "{refused}");

    master.start_kill().unwrap();
    master.wait().await.unwrap();
    let held = eventually(SETTLE, || async {
        layout.named(0, &layout.credentials.admin).await == Some(format!("127.0.0.1:{second}"))
    })
    .await;
    assert!(held, "the Sentinels did not promote the replica");
    // The restarted pod asks the Sentinels and follows the new master.
    let _back = layout.data(0).await;
    let held = eventually(SETTLE, || async {
        let info = layout.replication(first).await;
        info.contains("role:slave")
            && info.contains(&format!("master_port:{second}"))
            && info.contains("master_link_status:up")
    })
    .await;
    assert!(held, "the old master did not come back as a replica of the new one");
    let kept: String = redis::cmd("GET").arg("kept").query_async(&mut layout.admin(first).await).await.unwrap();
    assert_eq!(kept, "yes");
}

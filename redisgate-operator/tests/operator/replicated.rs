//! A replicated instance as the operator lays it out, run on this machine (kubernetes.md §3, L5): the data
//! pods' and the Sentinels' start scripts and configuration from the ConfigMap, with the env their
//! StatefulSets give (host names mapped to loopback ports), on real `redis-server`s.
//!
//! The first pod starts as the master and the second as its replica; the Sentinels find both and each
//! other; `master::named` reports the master. After a SIGKILL of the master the Sentinels promote the
//! replica, and the old master's script, run again as its restarted pod would run it, starts it as a replica
//! of the new master.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use k8s_openapi::api::core::v1::ConfigMap;
use redisgate_core::provisioning::Credentials;
use redisgate_operator::config::OperatorConfig;
use redisgate_operator::crd::RedisHttpInstance;
use redisgate_operator::master;
use redisgate_operator::redis_conf::{with_users, SENTINEL_CONF, START_DATA, START_SENTINEL};
use redisgate_operator::resources::{configmap, secret, sentinel, statefulset, Desired};
use redisgate_operator::tls_reload::Server;
use redisgate_test_support::eventually;
use serde_json::json;
use tokio::process::Child;

use crate::pod::{free_port, path_with_binary, redis_container, start};

const NAME: &str = "ha";

fn desired() -> Desired {
    let spec = json!({"memory": "64Mi", "topology": {"mode": "replicated", "replicas": 1}});
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
}

impl Layout {
    fn new() -> Self {
        let d = desired();
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
        Self {
            dir: tempfile::tempdir().unwrap(),
            map,
            credentials,
            nodes: [a, b],
            sentinels: [free_port(), free_port(), free_port()],
        }
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
            ("PATH".to_owned(), path_with_binary()),
        ])
    }

    /// Writes the files a pod mounts into `here`, with its data directory there and loopback only.
    fn mount(&self, here: &Path) {
        std::fs::create_dir_all(here).unwrap();
        let local =
            |text: String| format!("{}bind 127.0.0.1\n", text.replace("dir /data", &format!("dir {}", here.display())));
        std::fs::write(here.join("redis.conf"), local(file(&self.map, "redis.conf"))).unwrap();
        std::fs::write(here.join(SENTINEL_CONF), local(file(&self.map, SENTINEL_CONF))).unwrap();
        std::fs::write(here.join(START_DATA), file(&self.map, START_DATA)).unwrap();
        std::fs::write(here.join(START_SENTINEL), file(&self.map, START_SENTINEL)).unwrap();
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

    async fn admin(&self, port: u16) -> redis::aio::MultiplexedConnection {
        let url = self.credentials.admin_url(&format!("127.0.0.1:{port}"));
        redis::Client::open(url).unwrap().get_multiplexed_async_connection().await.unwrap()
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
    let layout = Layout::new();
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
    let named = master::named(&sentinel(layout.sentinels[0]), NAME, &layout.credentials.admin, None).await;
    assert_eq!(named, Some(format!("127.0.0.1:{first}")));
    assert_eq!(master::named(&sentinel(layout.sentinels[0]), NAME, "wrong", None).await, None);
    let () = redis::cmd("SET").arg("kept").arg("yes").query_async(&mut layout.admin(first).await).await.unwrap();

    // The gateway's user may ask where the master is, and nothing else.
    let gateway = layout.credentials.gateway_url(&format!("127.0.0.1:{}", layout.sentinels[1]));
    let mut asking = redis::Client::open(gateway).unwrap().get_multiplexed_async_connection().await.unwrap();
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
        master::named(&sentinel(layout.sentinels[0]), NAME, &layout.credentials.admin, None).await
            == Some(format!("127.0.0.1:{second}"))
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

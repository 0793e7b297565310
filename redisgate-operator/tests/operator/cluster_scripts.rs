//! A cluster instance as the operator lays it out, run on this machine (kubernetes.md §3, L5): each node
//! started by `start-cluster.sh` with redis.conf from the ConfigMap and the env its StatefulSet gives, and
//! the bootstrap Job's `cluster-bootstrap.sh` run with the env the Job gives (pod names mapped to loopback
//! ports), with the real `redis-cli`.
//!
//! It forms 3 shards; then, with keys written, grows to 4 shards of one replica each: the new master gets
//! slots, every master gets a replica, and every key is still there. A second run with nothing to do
//! changes nothing. A TLS instance's cluster (issue 12, item 4) forms and serves the same way over TLS only:
//! clients, the bootstrap's `redis-cli`, the cluster bus and replication.

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::core::v1::{ConfigMap, Container};
use redis::AsyncCommands as _;
use redisgate_core::provisioning::ClientTls;
use redisgate_core::provisioning::Credentials;
use redisgate_operator::config::OperatorConfig;
use redisgate_operator::crd::RedisHttpInstance;
use redisgate_operator::redis_conf::cluster::{CLUSTER_BOOTSTRAP, START_CLUSTER};
use redisgate_operator::redis_conf::{with_users, TLS_DIR};
use redisgate_operator::resources::{configmap, job, secret, statefulset, Desired};
use serde_json::json;
use tokio::process::{Child, Command};

use crate::pod::{free_port, issue_certificates, path_with_binary, redis_container, start};

fn desired(shards: u8, replicas_per_shard: u8, tls: bool) -> Desired {
    let spec = json!({"memory": "64Mi", "topology": {"mode": "cluster", "shards": shards, "replicasPerShard": replicas_per_shard}, "tls": {"enabled": tls}});
    let mut instance = RedisHttpInstance::new("shop", serde_json::from_value(spec).unwrap());
    instance.metadata.namespace = Some("tenant".into());
    instance.metadata.uid = Some("0b4c5c1e-0000-4000-8000-000000000003".into());
    Desired::new(&instance, &OperatorConfig::default()).unwrap()
}

fn env_names(container: &Container) -> Vec<String> {
    container.env.iter().flatten().map(|e| e.name.clone()).collect()
}

/// Nodes on loopback, each with its client and bus port, and the ConfigMap's files.
struct Layout {
    dir: tempfile::TempDir,
    map: ConfigMap,
    credentials: Credentials,
    nodes: Vec<(u16, Child)>,
    /// A TLS instance's: the CA and a client certificate from it, as a client presents them.
    tls: Option<ClientTls>,
}

impl Layout {
    fn new(tls: bool) -> Self {
        let d = desired(3, 0, tls);
        let credentials = Credentials { gateway: secret::generate_password(), admin: secret::generate_password() };
        let map = configmap::build_for(&d, &with_users(&d.conf, &credentials), &credentials);
        // The scripts read only what the StatefulSet and the Job give them.
        let node = env_names(&redis_container(&statefulset::build(&d, "sum", None)));
        for needed in ["ADMIN_PASSWORD", "REDIS_PORT", "BUS_PORT", "POD_IP", "SELF_HOST"] {
            assert!(node.iter().any(|n| n == needed), "the data pods lack {needed}");
        }
        let bootstrap = job::bootstrap(&d);
        let pod = bootstrap.spec.unwrap().template.spec.unwrap();
        let runner = env_names(&pod.containers[0]);
        for needed in ["ADMIN_PASSWORD", "NODES", "SHARDS", "REPLICAS_PER_SHARD"] {
            assert!(runner.iter().any(|n| n == needed), "the bootstrap Job lacks {needed}");
        }
        let dir = tempfile::tempdir().unwrap();
        // The certificates the operator issues, where the pods (and the Job) mount `<name>-tls`.
        let tls = tls.then(|| issue_certificates(&d, &dir.path().join("tls")));
        Self { dir, map, credentials, nodes: Vec::new(), tls }
    }

    /// A file of the ConfigMap, the certificates' paths where the test wrote them.
    fn file(&self, key: &str) -> String {
        let tls_dir = self.dir.path().join("tls").display().to_string();
        self.map.data.as_ref().unwrap()[key].replace(TLS_DIR, &tls_dir)
    }

    fn certificates(&self) -> Option<redis::TlsCertificates> {
        self.tls.as_ref().map(|tls| redis::TlsCertificates {
            client_tls: Some(redis::ClientTlsConfig { client_cert: tls.cert.clone(), client_key: tls.key.clone() }),
            root_cert: Some(tls.ca.clone()),
        })
    }

    /// `url_of` (`host:port` → `redis://` URL) for the node on `port`: `rediss://localhost:…` over TLS.
    fn url(&self, port: u16, url_of: impl Fn(&str) -> String) -> String {
        match self.tls {
            None => url_of(&format!("127.0.0.1:{port}")),
            Some(_) => url_of(&format!("localhost:{port}")).replacen("redis://", "rediss://", 1),
        }
    }

    async fn admin(&self, port: u16) -> redis::aio::MultiplexedConnection {
        let url = self.url(port, |a| self.credentials.admin_url(a));
        let client = match self.certificates() {
            Some(certificates) => redis::Client::build_with_tls(url, certificates).unwrap(),
            None => redis::Client::open(url).unwrap(),
        };
        client.get_multiplexed_async_connection().await.unwrap()
    }

    /// Starts one more node as its pod would: `start-cluster.sh` with its redis.conf.
    async fn add_node(&mut self) {
        let (port, bus) = (free_port(), free_port());
        let here = self.dir.path().join(format!("node-{port}"));
        std::fs::create_dir_all(&here).unwrap();
        let conf = self.file("redis.conf").replace("dir /data", &format!("dir {}", here.display()));
        std::fs::write(here.join("redis.conf"), format!("{conf}bind 127.0.0.1\n")).unwrap();
        std::fs::write(here.join(START_CLUSTER), self.file(START_CLUSTER)).unwrap();
        let env = BTreeMap::from([
            ("ADMIN_PASSWORD".to_owned(), self.credentials.admin.clone()),
            ("REDIS_PORT".to_owned(), port.to_string()),
            ("BUS_PORT".to_owned(), bus.to_string()),
            ("POD_IP".to_owned(), "127.0.0.1".to_owned()),
            ("SELF_HOST".to_owned(), "localhost".to_owned()),
            ("PATH".to_owned(), path_with_binary(self.tls.is_some())),
        ]);
        let child = start(&here, START_CLUSTER, "redis.conf", env, "Ready to accept connections").await;
        self.nodes.push((port, child));
    }

    /// Runs the bootstrap Job's script for `shards` × `replicas_per_shard` over every node; returns its log.
    async fn bootstrap(&self, shards: u8, replicas_per_shard: u8) -> String {
        let script = self.dir.path().join(CLUSTER_BOOTSTRAP);
        std::fs::write(&script, self.file(CLUSTER_BOOTSTRAP)).unwrap();
        let nodes: Vec<String> = self.nodes.iter().map(|(port, _)| format!("127.0.0.1:{port}")).collect();
        let run = Command::new("sh")
            .arg(&script)
            .env_clear()
            .env("ADMIN_PASSWORD", &self.credentials.admin)
            .env("NODES", nodes.join(" "))
            .env("SHARDS", shards.to_string())
            .env("REPLICAS_PER_SHARD", replicas_per_shard.to_string())
            .env("PATH", path_with_binary(self.tls.is_some()))
            .kill_on_drop(true)
            .output();
        let output = tokio::time::timeout(Duration::from_secs(120), run).await.expect("the bootstrap hung").unwrap();
        let log = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success(), "the bootstrap failed:\n{log}");
        log
    }

    fn urls(&self, port_to_url: impl Fn(&str) -> String) -> Vec<String> {
        self.nodes.iter().map(|(port, _)| self.url(*port, &port_to_url)).collect()
    }

    async fn cluster(&self) -> redis::cluster_async::ClusterConnection {
        let urls = self.urls(|a| self.credentials.gateway_url(a));
        let mut builder = redis::cluster::ClusterClient::builder(urls);
        if let Some(certificates) = self.certificates() {
            builder = builder.certs(certificates);
        }
        builder.build().unwrap().get_async_connection().await.unwrap()
    }

    /// Each master's port, slot count and replica count (from `CLUSTER SHARDS` of the first node).
    async fn shards(&self) -> Vec<(i64, i64, usize)> {
        let mut admin = self.admin(self.nodes[0].0).await;
        let shards: Vec<redis::Value> = redis::cmd("CLUSTER").arg("SHARDS").query_async(&mut admin).await.unwrap();
        let mut found = Vec::new();
        for shard in shards {
            let shard: BTreeMap<String, redis::Value> = redis::from_redis_value(shard).unwrap();
            let slots: Vec<i64> = redis::from_redis_value_ref(&shard["slots"]).unwrap();
            let nodes: Vec<BTreeMap<String, redis::Value>> = redis::from_redis_value_ref(&shard["nodes"]).unwrap();
            let role = |n: &BTreeMap<String, redis::Value>| redis::from_redis_value_ref::<String>(&n["role"]).unwrap();
            let Some(master) = nodes.iter().find(|n| role(n) == "master") else { continue };
            // A TLS-only node has no plain `port`, only its `tls-port`.
            let port: i64 =
                redis::from_redis_value_ref(master.get("port").or(master.get("tls-port")).unwrap()).unwrap();
            let count = slots.chunks(2).map(|r| r[1] - r[0] + 1).sum();
            found.push((port, count, nodes.iter().filter(|n| role(n) == "replica").count()));
        }
        found.sort_unstable();
        found
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bootstrap_forms_a_cluster_and_grows_it_by_a_shard_with_replicas_keeping_every_key() {
    let mut layout = Layout::new(false);
    for _ in 0..3 {
        layout.add_node().await;
    }
    layout.bootstrap(3, 0).await;
    let shards = layout.shards().await;
    assert_eq!(shards.len(), 3, "{shards:?}");
    assert!(shards.iter().all(|(_, slots, replicas)| (5461..=5462).contains(slots) && *replicas == 0), "{shards:?}");
    // What the management API's GET lists, asked as the gateway's user: the nodes by the DNS names they
    // announce, each master with its slots.
    let listed = redisgate_operator::shards::nodes(&layout.urls(|a| layout.credentials.gateway_url(a))[0]).await;
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert!(
        listed.iter().all(|n| n.address.starts_with("localhost:") && n.healthy && n.slots.len() == 1),
        "{listed:?}"
    );
    assert_eq!(listed.iter().map(|n| n.shard).collect::<Vec<_>>(), [Some(0), Some(1), Some(2)]);

    // Keys in every shard, through the gateway's user.
    let mut cluster = layout.cluster().await;
    for i in 0..300 {
        let () = cluster.set_ex(format!("key:{i}"), i, 3600).await.unwrap();
    }

    // Four shards of one replica each: five new servers.
    for _ in 0..5 {
        layout.add_node().await;
    }
    layout.bootstrap(4, 1).await;
    let shards = layout.shards().await;
    assert_eq!(shards.len(), 4, "{shards:?}");
    assert_eq!(shards.iter().map(|s| s.1).sum::<i64>(), 16_384, "{shards:?}");
    assert!(shards.iter().all(|(_, slots, replicas)| *slots >= 4000 && *replicas == 1), "{shards:?}");
    let mut cluster = layout.cluster().await;
    for i in 0..300 {
        let value: Option<i64> = cluster.get(format!("key:{i}")).await.unwrap();
        assert_eq!(value, Some(i), "key:{i} was lost");
        let ttl: i64 = cluster.ttl(format!("key:{i}")).await.unwrap();
        assert!(ttl > 3000, "key:{i} lost its TTL ({ttl})");
    }

    // Nothing left to do: the same size again changes nothing.
    let log = layout.bootstrap(4, 1).await;
    assert_eq!(layout.shards().await, shards, "{log}");
}

/// A TLS instance's cluster: the scripts form it over TLS (the bootstrap's `redis-cli`, the cluster bus,
/// replication), a TLS cluster client reads and writes through it, and no node answers in plain text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_tls_the_bootstrap_forms_a_cluster_with_replicas_that_serves_only_tls() {
    let d = desired(3, 1, true);
    let conf = d.conf.clone();
    assert!(conf.contains("tls-cluster yes") && conf.lines().any(|l| l == "port 0"), "{conf}");
    let pod = job::bootstrap(&d).spec.unwrap().template.spec.unwrap();
    assert!(
        pod.containers[0].volume_mounts.iter().flatten().any(|m| m.mount_path == TLS_DIR),
        "the Job lacks the certificate"
    );
    assert!(d.instance.gateway_url("pw", "shop:6379").starts_with("rediss+cluster://"));

    let mut layout = Layout::new(true);
    for _ in 0..6 {
        layout.add_node().await;
    }
    layout.bootstrap(3, 1).await;
    // The replicas' roles reach the first node by gossip, over the TLS bus; their links, by TLS replication.
    let settled = redisgate_test_support::eventually(Duration::from_secs(30), || async {
        let shards = layout.shards().await;
        shards.len() == 3 && shards.iter().all(|(_, slots, replicas)| (5461..=5462).contains(slots) && *replicas == 1)
    });
    assert!(settled.await, "{:?}", layout.shards().await);
    let linked = redisgate_test_support::eventually(Duration::from_secs(30), || async {
        let mut up = 0;
        for (port, _) in &layout.nodes {
            let mut admin = layout.admin(*port).await;
            let info: String = redis::cmd("INFO").arg("replication").query_async(&mut admin).await.unwrap();
            up += usize::from(info.contains("master_link_status:up"));
        }
        up == 3
    });
    assert!(linked.await, "the replicas' links to their masters are not up");
    let mut cluster = layout.cluster().await;
    for i in 0..100 {
        let () = cluster.set(format!("key:{i}"), i).await.unwrap();
    }
    for i in 0..100 {
        let value: Option<i64> = cluster.get(format!("key:{i}")).await.unwrap();
        assert_eq!(value, Some(i));
    }
    for (port, _) in &layout.nodes {
        let plain = redis::Client::open(layout.credentials.admin_url(&format!("127.0.0.1:{port}"))).unwrap();
        let answer = tokio::time::timeout(Duration::from_secs(5), plain.get_multiplexed_async_connection()).await;
        assert!(!matches!(answer, Ok(Ok(_))), "port {port} answers without TLS");
    }
}

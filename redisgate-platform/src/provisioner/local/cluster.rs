//! Cluster local instances: a Redis Cluster of `shards` masters and their replicas, each a supervised
//! `redis-server` with `cluster-enabled yes` on a loopback port of its own and its cluster bus on another.
//!
//! `<instance>/cluster.json` ([`ClusterLayout`]) names the ports; each node lives in `node-<port>/`, with its
//! redis.conf (the instance's users, as on every instance, and the cluster's settings), written once, and
//! its `nodes.conf`, Redis's own record of the cluster, rewritten as the cluster changes. The cluster is
//! formed by [`redisgate_core::provisioning::cluster::form`]. A node that dies is started again and rejoins
//! from its `nodes.conf`, as a replica if one of its replicas took over meanwhile; a platform restart starts
//! every node again the same way.
//!
//! The gateway reaches the instance as `redis+cluster://`, every node a seed, logged in as the gateway's
//! user. TLS-only cluster instances are not offered yet.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::PoisonError;
use std::time::Duration;

use redis::Value;
use redisgate_core::provisioning::acl::GATEWAY_USER;
use redisgate_core::provisioning::cluster::{self, Member, Shard};
use redisgate_core::provisioning::{
    redis_conf, Credentials, InstanceSpec, Listen, Node, ProvisionError, Provisioned, Role, Topology,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::super::process::{Launch, Supervised};
use super::previous::{read_json, write_json};
use super::replicated::{ask, free_ports, node_dir, shut_down};
use super::{invalid, read_credentials, write_credentials, LocalProvisioner, Running, CREDENTIALS_FILE};
use crate::os::{create_private_dir, write_private};

/// The file naming a cluster instance's ports.
pub const CLUSTER_FILE: &str = "cluster.json";
/// How long a new or adopted cluster may take to be healthy.
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long adding a shard may take, its slots' keys moved included.
const RESHARD_TIMEOUT: Duration = Duration::from_secs(300);
/// How long a master may be silent before the others call it failed and promote its replica.
const NODE_TIMEOUT_MS: u64 = 2000;

/// Where a cluster instance's servers listen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterLayout {
    /// The shards as formed: each master's port first, then its replicas' (the roles change with failovers;
    /// Redis keeps the current ones in each node's `nodes.conf`).
    pub shards: Vec<Vec<u16>>,
    /// Each node's cluster bus port, by its port.
    pub bus: BTreeMap<u16, u16>,
}

impl ClusterLayout {
    /// The layout stored in instance directory `dir`, if it is a cluster instance's.
    #[must_use]
    pub fn read(dir: &Path) -> Option<Self> {
        read_json(&dir.join(CLUSTER_FILE))
    }

    fn write(&self, dir: &Path) -> Provisioned<()> {
        write_json(&dir.join(CLUSTER_FILE), self)
    }

    /// Every node's port.
    fn ports(&self) -> impl Iterator<Item = u16> + '_ {
        self.shards.iter().flatten().copied()
    }

    /// How the forming code reaches the node at `port`: as the admin user, and its bus port.
    fn member(&self, port: u16, credentials: &Credentials) -> Member {
        let bus_port = self.bus.get(&port).copied().unwrap_or_default();
        Member { url: credentials.admin_url(&address(port)), host: "127.0.0.1".to_owned(), port, bus_port }
    }

    /// The shard made of the nodes at `ports`, its master first.
    fn shard(&self, ports: &[u16], credentials: &Credentials) -> Shard {
        let master = self.member(ports[0], credentials);
        Shard { master, replicas: ports[1..].iter().map(|&port| self.member(port, credentials)).collect() }
    }
}

/// `127.0.0.1:<port>`.
fn address(port: u16) -> String {
    format!("127.0.0.1:{port}")
}

/// A failure of the forming code, as the provisioner reports it.
fn failed(error: redisgate_core::Error) -> ProvisionError {
    match error {
        redisgate_core::Error::Internal(message) => invalid(message),
        other => invalid(other.to_string()),
    }
}

/// Writes the directory and redis.conf of the node at `port`: the instance's conf, the cluster's settings, and
/// how replicas log in to masters.
fn write_node(
    dir: &Path,
    layout: &ClusterLayout,
    port: u16,
    spec: &InstanceSpec,
    credentials: &Credentials,
) -> Provisioned<()> {
    let here = node_dir(dir, port);
    create_private_dir(&here).map_err(|e| invalid(format!("cannot create {}: {e}", here.display())))?;
    let bus = layout.bus.get(&port).copied().unwrap_or_default();
    let file = here.join("redis.conf");
    write_private(&file, node_conf(port, bus, spec, credentials, &here).as_bytes())
        .map_err(|e| invalid(format!("cannot write {}: {e}", file.display())))
}

/// A cluster node's redis.conf.
fn node_conf(port: u16, bus: u16, spec: &InstanceSpec, credentials: &Credentials, dir: &Path) -> String {
    let mut conf = redis_conf(&Listen::Plain(port), credentials, spec.max_memory, &dir.to_string_lossy());
    conf.push_str(&format!(
        "# Redis Cluster: Redis keeps the cluster's state in nodes.conf.\n\
         cluster-enabled yes\n\
         cluster-config-file nodes.conf\n\
         cluster-port {bus}\n\
         cluster-node-timeout {NODE_TIMEOUT_MS}\n"
    ));
    conf.push_str(&spec.topology.node_conf());
    conf.push_str(&format!("masterauth {}\n", credentials.admin));
    conf
}

impl LocalProvisioner {
    /// Writes a new cluster instance's files, starts its servers and forms the cluster.
    pub(super) async fn create_cluster(
        &self,
        id: Uuid,
        spec: &InstanceSpec,
        tls: bool,
    ) -> Provisioned<super::Endpoint> {
        let Topology::Cluster { shards, replicas_per_shard } = spec.topology else {
            return Err(invalid("not a cluster"));
        };
        if tls {
            return Err(invalid(
                "TLS-only cluster instances are not offered yet; create a standalone or replicated one",
            ));
        }
        let dir = self.dir(id);
        let credentials = Credentials::generate();
        write_credentials(&dir, &credentials)?;
        let per_shard = 1 + usize::from(replicas_per_shard);
        let nodes = usize::from(shards) * per_shard;
        let ports = free_ports(2 * nodes)?;
        let layout = ClusterLayout {
            shards: ports[..nodes].chunks(per_shard).map(<[u16]>::to_vec).collect(),
            bus: ports[..nodes].iter().copied().zip(ports[nodes..].iter().copied()).collect(),
        };
        layout.write(&dir)?;
        for port in layout.ports() {
            write_node(&dir, &layout, port, spec, &credentials)?;
        }
        self.run_cluster(id, &layout, &credentials, true).await
    }

    /// Starts an existing cluster instance again after a platform restart (stopping what a crashed platform
    /// left running first); its servers rejoin from their `nodes.conf`.
    pub(super) async fn adopt_cluster(&self, id: Uuid) -> Provisioned<super::Endpoint> {
        let dir = self.dir(id);
        let layout = ClusterLayout::read(&dir)
            .ok_or_else(|| ProvisionError::Gone(format!("{} is missing", dir.join(CLUSTER_FILE).display())))?;
        let credentials = read_credentials(&dir)
            .ok_or_else(|| invalid(format!("{} is missing or unreadable", dir.join(CREDENTIALS_FILE).display())))?;
        self.shutdown_cluster_orphans(id, &layout).await;
        self.run_cluster(id, &layout, &credentials, false).await
    }

    /// Asks whatever still answers on the instance's ports (a crashed platform's servers) to exit.
    pub(super) async fn shutdown_cluster_orphans(&self, id: Uuid, layout: &ClusterLayout) {
        let Some(Ok(admin)) = read_credentials(&self.dir(id)).map(|c| self.admin(&c, false)) else {
            return;
        };
        shut_down(&admin, layout.ports()).await;
    }

    /// Starts every server, then forms the cluster (`form`) or waits until the servers, started again, say
    /// it is healthy; on failure stops what it started.
    async fn run_cluster(
        &self,
        id: Uuid,
        layout: &ClusterLayout,
        credentials: &Credentials,
        form: bool,
    ) -> Provisioned<super::Endpoint> {
        let dir = self.dir(id);
        let mut processes = Vec::new();
        let started = async {
            for port in layout.ports() {
                processes.push(self.start_node(id, &dir, port).await?);
            }
            let shards: Vec<Shard> = layout.shards.iter().map(|ports| layout.shard(ports, credentials)).collect();
            let urls: Vec<String> = layout.ports().map(|port| credentials.admin_url(&address(port))).collect();
            let formed = tokio::task::spawn_blocking(move || {
                if form {
                    cluster::form(&shards, READY_TIMEOUT)
                } else {
                    cluster::wait_healthy(&urls, READY_TIMEOUT)
                }
            });
            formed.await.map_err(|e| invalid(format!("forming the cluster failed: {e}")))?.map_err(failed)
        };
        if let Err(e) = started.await {
            for process in processes.into_iter().rev() {
                process.stop().await;
            }
            return Err(e);
        }
        let hosts = layout.ports().map(address).collect::<Vec<_>>().join(",");
        let endpoint = super::Endpoint {
            url: format!("redis+cluster://{GATEWAY_USER}:{}@{hosts}", credentials.gateway),
            address: hosts,
            tls: None,
        };
        self.inner
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, Running { endpoint: endpoint.clone(), processes });
        tracing::info!(%id, shards = layout.shards.len(), "cluster instance running");
        Ok(endpoint)
    }

    /// Sets every server's `maxmemory`, in its file and live, then adds the shards `spec` has more than
    /// `layout` ([`LocalProvisioner::add_cluster_shard`]). Fewer shards, or other replicas per shard, are
    /// refused.
    pub(super) async fn resize_cluster(
        &self,
        id: Uuid,
        spec: &InstanceSpec,
        layout: &ClusterLayout,
    ) -> Provisioned<()> {
        let Topology::Cluster { shards, replicas_per_shard } = spec.topology else {
            return Err(invalid("an instance cannot become a cluster"));
        };
        if layout.shards.iter().any(|s| s.len() != 1 + usize::from(replicas_per_shard)) {
            return Err(invalid("a cluster's replicas per shard cannot be changed"));
        }
        if usize::from(shards) < layout.shards.len() {
            return Err(invalid("a cluster's shards can only grow"));
        }
        let dir = self.dir(id);
        let credentials = read_credentials(&dir).ok_or_else(|| invalid("the instance's credentials are unreadable"))?;
        let admin = self.admin(&credentials, false)?;
        for port in layout.ports() {
            write_node(&dir, layout, port, spec, &credentials)?;
            let set: Option<()> =
                ask(&admin, port, redis::cmd("CONFIG").arg("SET").arg("maxmemory").arg(spec.max_memory)).await;
            set.ok_or_else(|| ProvisionError::Transient(format!("cannot set maxmemory on 127.0.0.1:{port}")))?;
        }
        let mut layout = layout.clone();
        while layout.shards.len() < usize::from(shards) {
            self.add_cluster_shard(id, spec, &mut layout, &credentials).await?;
        }
        Ok(())
    }

    /// Starts a new shard's servers, has the cluster meet them and move them their share of the slots
    /// ([`cluster::add_shard`]) while it serves, and records them in the layout.
    async fn add_cluster_shard(
        &self,
        id: Uuid,
        spec: &InstanceSpec,
        layout: &mut ClusterLayout,
        credentials: &Credentials,
    ) -> Provisioned<()> {
        let dir = self.dir(id);
        let per_shard = layout.shards[0].len();
        let ports = free_ports(2 * per_shard)?;
        let (nodes, buses) = ports.split_at(per_shard);
        // Recorded first: a platform restart then starts them with the others.
        layout.shards.push(nodes.to_vec());
        layout.bus.extend(nodes.iter().copied().zip(buses.iter().copied()));
        layout.write(&dir)?;
        for &port in nodes {
            write_node(&dir, layout, port, spec, credentials)?;
            let node = self.start_node(id, &dir, port).await?;
            self.add_process(id, node);
        }
        let shard = layout.shard(nodes, credentials);
        let (olds, known) = (layout.clone(), credentials.clone());
        let added = tokio::task::spawn_blocking(move || {
            // The masters now (failovers move them), as any server that answers says.
            let urls =
                olds.shards[..olds.shards.len() - 1].iter().flatten().map(|&port| known.admin_url(&address(port)));
            let masters = urls.map(|url| cluster::masters(&url)).find_map(Result::ok).unwrap_or_default();
            let masters: Vec<Member> = masters.into_iter().map(|(_, port)| olds.member(port, &known)).collect();
            cluster::add_shard(&masters, &shard, RESHARD_TIMEOUT)
        });
        added.await.map_err(|e| invalid(format!("adding a shard failed: {e}")))?.map_err(failed)?;
        tracing::info!(%id, shards = layout.shards.len(), "cluster instance grew by a shard");
        Ok(())
    }

    /// Starts the cluster node at `port` of the instance in `dir`, supervised: started again as it is when it
    /// dies (it rejoins from its `nodes.conf`).
    async fn start_node(&self, id: Uuid, dir: &Path, port: u16) -> Provisioned<Supervised> {
        let launch = Launch::data(&self.inner.redis_server, node_dir(dir, port).join("redis.conf"));
        let child = launch.start(None).await.map_err(invalid)?;
        Ok(Supervised::new(child, port, launch.restart(), id))
    }

    /// Each server as the cluster sees it (`CLUSTER SHARDS` of the first that answers): its shard, role and
    /// health, and each master's slots. A server no one lists is reported unhealthy.
    pub(super) async fn cluster_nodes(&self, id: Uuid, layout: &ClusterLayout) -> Vec<Node> {
        let Some(Ok(admin)) = read_credentials(&self.dir(id)).map(|c| self.admin(&c, false)) else {
            return Vec::new();
        };
        let mut shards = None;
        for port in layout.ports() {
            shards = ask::<Value>(&admin, port, redis::cmd("CLUSTER").arg("SHARDS")).await;
            if shards.is_some() {
                break;
            }
        }
        let mut nodes = shards.map(|reply| cluster::parse_shards(&reply)).unwrap_or_default();
        for port in layout.ports() {
            let address = format!("127.0.0.1:{port}");
            if !nodes.iter().any(|n| n.address == address) {
                nodes.push(Node {
                    address,
                    role: Role::Replica,
                    healthy: false,
                    lag_bytes: None,
                    shard: None,
                    slots: Vec::new(),
                });
            }
        }
        nodes
    }
}

//! Replicated local instances: a master, its replicas and three Sentinels, each a supervised `redis-server`
//! on a loopback port of its own.
//!
//! `<instance>/replicated.json` ([`Layout`]) names the ports; each data node lives in `node-<port>/` and each
//! Sentinel in `sentinel-<port>/`. The files are written once, at creation: afterwards Redis owns them
//! (Sentinel rewrites its own as it learns of replicas and failovers, and has the data nodes rewrite theirs
//! when it reconfigures them), so a restart comes back in the roles the last failover left.
//!
//! A data node that dies is not simply started again: a master back within `down-after-milliseconds` would
//! reload an AOF up to a second old and its replicas would resync from it, losing acknowledged writes. Its
//! supervisor first asks the Sentinels who the master is, waits (up to [`RESTART_GRACE`]) while they still
//! name the dead node, and starts it as a replica of the master they name.
//!
//! The gateway reaches the instance through its Sentinels (`redis+sentinel://`, logging in to them as the
//! gateway's user, which may only ask where the master is). A Sentinel's `+switch-master` log line is
//! reported as a [`Failover`], once per move.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use redis::FromRedisValue;
use redisgate_core::provisioning::acl::GATEWAY_USER;
use redisgate_core::provisioning::info;
use redisgate_core::provisioning::topology::{sentinel_base_conf, sentinel_master_conf, SENTINELS};
use redisgate_core::provisioning::{
    redis_conf, Credentials, Failover, InstanceSpec, Listen, Node, ProvisionError, Provisioned, Role,
};
use redisgate_gateway::tls::RedisTls;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use uuid::Uuid;

use super::super::process::{Launch, LogSink, Restart, Supervised};
use super::previous::{read_json, write_json};
use super::{invalid, read_credentials, write_credentials, LocalProvisioner, Running, CREDENTIALS_FILE};
use crate::os::{create_private_dir, free_port, write_private};

/// The file naming a replicated instance's ports.
pub const LAYOUT_FILE: &str = "replicated.json";
/// How long a dead data node's supervisor waits for the Sentinels to name another master before it starts
/// the node as it was (no replica could take over).
const RESTART_GRACE: Duration = Duration::from_secs(15);
/// How long a new or adopted instance may take until its replicas are in sync and its Sentinels know each
/// other (they announce themselves every 2 s).
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long one question to one process may take.
const ASK_TIMEOUT: Duration = Duration::from_millis(500);

/// Where a replicated instance's processes listen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Layout {
    /// The master's name in the Sentinels' configuration.
    pub master: String,
    /// The data nodes' ports (the master's among them, wherever it is now).
    pub nodes: Vec<u16>,
    /// The Sentinels' ports.
    pub sentinels: Vec<u16>,
    /// Every link on TLS only (`tls-port`, client certificates required), Sentinels included.
    #[serde(default)]
    pub tls: bool,
}

impl Layout {
    /// The layout stored in instance directory `dir`, if it is a replicated instance's.
    #[must_use]
    pub fn read(dir: &Path) -> Option<Self> {
        read_json(&dir.join(LAYOUT_FILE))
    }

    fn write(&self, dir: &Path) -> Provisioned<()> {
        write_json(&dir.join(LAYOUT_FILE), self)
    }

    /// `127.0.0.1:<port>,…` of the Sentinels.
    fn sentinel_hosts(&self) -> String {
        self.sentinels.iter().map(|p| format!("127.0.0.1:{p}")).collect::<Vec<_>>().join(",")
    }
}

pub(super) fn node_dir(dir: &Path, port: u16) -> PathBuf {
    dir.join(format!("node-{port}"))
}

fn sentinel_dir(dir: &Path, port: u16) -> PathBuf {
    dir.join(format!("sentinel-{port}"))
}

/// The admin URLs of a replicated instance's data nodes, by port (tests and operators: the way in for
/// maintenance).
#[must_use]
pub fn node_admin_urls(dir: &Path) -> Vec<(u16, String)> {
    let (Some(layout), Some(credentials)) = (Layout::read(dir), read_credentials(dir)) else {
        return Vec::new();
    };
    let scheme = if layout.tls { "rediss" } else { "redis" };
    layout.nodes.iter().map(|&port| (port, credentials.admin_url_over(scheme, &format!("127.0.0.1:{port}")))).collect()
}

/// How the control plane reaches an instance's processes: as the admin user, over TLS with the state
/// directory's CA and client certificate when the instance is a TLS one.
#[derive(Clone)]
pub(super) struct Admin {
    credentials: Credentials,
    tls: Option<RedisTls>,
}

impl Admin {
    fn client(&self, port: u16) -> Option<redis::Client> {
        let address = format!("127.0.0.1:{port}");
        match &self.tls {
            Some(tls) => {
                let url = self.credentials.admin_url_over("rediss", &address);
                redis::Client::build_with_tls(url, tls.certificates()).ok()
            }
            None => redis::Client::open(self.credentials.admin_url(&address)).ok(),
        }
    }
}

/// Runs `command` as the admin user on the process at `port`, within [`ASK_TIMEOUT`]; `None` when it does
/// not answer or refuses.
pub(super) async fn ask<T: FromRedisValue>(admin: &Admin, port: u16, command: &redis::Cmd) -> Option<T> {
    let client = admin.client(port)?;
    let work = async {
        let mut conn = client.get_multiplexed_async_connection().await.ok()?;
        command.query_async::<T>(&mut conn).await.ok()
    };
    tokio::time::timeout(ASK_TIMEOUT, work).await.ok().flatten()
}

/// Asks each process at `ports` (as the admin user) to shut down, in order, and waits (up to 2.5 s each)
/// until its port is free: what a crashed platform left running, found again on a restart or a delete.
pub(super) async fn shut_down(admin: &Admin, ports: impl Iterator<Item = u16>) {
    for port in ports {
        let _: Option<()> = ask(admin, port, &redis::cmd("SHUTDOWN")).await;
        for _ in 0..50 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Whether the server `client` opens answers a PING in time.
pub async fn ping(client: &redis::Client) -> bool {
    let work = async {
        let mut conn = client.get_multiplexed_async_connection().await.ok()?;
        redis::cmd("PING").query_async::<String>(&mut conn).await.ok()
    };
    tokio::time::timeout(ASK_TIMEOUT, work).await.ok().flatten().is_some()
}

/// The port of the master the first Sentinel that answers names.
async fn current_master(admin: &Admin, sentinels: &[u16], master: &str) -> Option<u16> {
    let mut command = redis::cmd("SENTINEL");
    command.arg("GET-MASTER-ADDR-BY-NAME").arg(master);
    for &port in sentinels {
        if let Some((_, master_port)) = ask::<Option<(String, u16)>>(admin, port, &command).await.flatten() {
            return Some(master_port);
        }
    }
    None
}

/// `INFO replication` of a data node, as `field -> value`.
pub(super) async fn replication(admin: &Admin, port: u16) -> Option<HashMap<String, String>> {
    let mut command = redis::cmd("INFO");
    command.arg("replication");
    let text: String = ask(admin, port, &command).await?;
    Some(info::fields(&text).map(|(name, value)| (name.to_owned(), value.to_owned())).collect())
}

/// Masters moved, as the Sentinels' logs tell; each move is reported once (all three Sentinels log it).
pub struct Failovers {
    /// The master each instance had when last heard of.
    masters: Mutex<HashMap<Uuid, String>>,
    sender: mpsc::UnboundedSender<Failover>,
    receiver: tokio::sync::Mutex<mpsc::UnboundedReceiver<Failover>>,
}

impl Default for Failovers {
    fn default() -> Self {
        let (sender, receiver) = mpsc::unbounded_channel();
        Self { masters: Mutex::default(), sender, receiver: tokio::sync::Mutex::new(receiver) }
    }
}

impl Failovers {
    /// The next move.
    pub async fn next(&self) -> Failover {
        match self.receiver.lock().await.recv().await {
            Some(failover) => failover,
            None => std::future::pending().await,
        }
    }

    /// Forgets a deleted instance.
    pub(super) fn forget(&self, instance: Uuid) {
        self.masters.lock().unwrap_or_else(PoisonError::into_inner).remove(&instance);
    }

    /// Records that `instance`'s master is at `address` (after a start), without reporting a move.
    fn know(&self, instance: Uuid, address: String) {
        self.masters.lock().unwrap_or_else(PoisonError::into_inner).insert(instance, address);
    }

    /// Reads a Sentinel's log line: `+switch-master <name> <old-ip> <old-port> <new-ip> <new-port>`.
    fn saw(&self, instance: Uuid, line: &str) {
        let Some((_, event)) = line.split_once("+switch-master ") else {
            return;
        };
        let fields: Vec<&str> = event.split_whitespace().collect();
        let [_, old_ip, old_port, new_ip, new_port] = fields[..] else {
            return;
        };
        let (old_master, new_master) = (format!("{old_ip}:{old_port}"), format!("{new_ip}:{new_port}"));
        let mut masters = self.masters.lock().unwrap_or_else(PoisonError::into_inner);
        if masters.get(&instance) == Some(&new_master) {
            return;
        }
        masters.insert(instance, new_master.clone());
        let _ = self.sender.send(Failover { instance, old_master, new_master });
    }

    fn sink(self: &Arc<Self>, instance: Uuid) -> LogSink {
        let this = Arc::clone(self);
        Arc::new(move |line: &str| this.saw(instance, line))
    }
}

/// `count` distinct free loopback ports.
pub(super) fn free_ports(count: usize) -> Provisioned<Vec<u16>> {
    let mut ports = BTreeSet::new();
    for _ in 0..count * 20 {
        if ports.len() == count {
            break;
        }
        ports.insert(free_port().map_err(|e| ProvisionError::Transient(format!("no free port: {e}")))?);
    }
    if ports.len() < count {
        return Err(ProvisionError::Transient("not enough free ports".to_owned()));
    }
    Ok(ports.into_iter().collect())
}

impl LocalProvisioner {
    /// How to reach an instance's processes as the admin user (`tls`: it is a TLS instance).
    pub(super) fn admin(&self, credentials: &Credentials, tls: bool) -> Provisioned<Admin> {
        let tls = match (tls, &self.inner.tls) {
            (false, _) => None,
            (true, Some(config)) => Some(config.client.clone()),
            (true, None) => return Err(invalid("a TLS instance, but the state directory has no CA")),
        };
        Ok(Admin { credentials: credentials.clone(), tls })
    }

    /// What a process of a TLS instance adds to how it listens: it connects to the others (replication,
    /// Sentinels) over TLS, presenting the CA's client certificate.
    fn tls_links(&self) -> String {
        let Some(config) = &self.inner.tls else { return String::new() };
        let (cert, key) = config.ca.client_files();
        format!("tls-replication yes\ntls-client-cert-file {}\ntls-client-key-file {}\n", cert.display(), key.display())
    }

    /// How a process of the instance in `dir` listens on `port` (with its certificate there, for TLS), and
    /// how it connects to the others.
    fn listen_conf(&self, dir: &Path, port: u16, tls: bool) -> Provisioned<(Listen, String)> {
        let listen = self.listen(dir, port, tls)?;
        Ok((listen, if tls { self.tls_links() } else { String::new() }))
    }

    /// Writes a new replicated instance's files and starts it (`tls`: every link on TLS only).
    pub(super) async fn create_replicated(
        &self,
        id: Uuid,
        spec: &InstanceSpec,
        tls: bool,
    ) -> Provisioned<super::Endpoint> {
        let dir = self.dir(id);
        let credentials = Credentials::generate();
        write_credentials(&dir, &credentials)?;
        let nodes = 1 + usize::from(spec.topology.replicas());
        let ports = free_ports(nodes + SENTINELS)?;
        let layout = Layout {
            master: spec.name.clone(),
            nodes: ports[..nodes].to_vec(),
            sentinels: ports[nodes..].to_vec(),
            tls,
        };
        layout.write(&dir)?;
        let master = layout.nodes[0];
        for &port in &layout.nodes {
            let replica_of = (port != master).then_some(master);
            self.write_node(&dir, port, spec, &credentials, replica_of, tls)?;
        }
        for &port in &layout.sentinels {
            let here = sentinel_dir(&dir, port);
            create_private_dir(&here).map_err(|e| invalid(format!("cannot create {}: {e}", here.display())))?;
            let (listen, links) = self.listen_conf(&here, port, tls)?;
            let listen = format!("bind 127.0.0.1\n{}{links}", listen.conf());
            let mut conf = sentinel_base_conf(&listen, &here.to_string_lossy(), &credentials);
            conf.push_str(&sentinel_master_conf(&layout.master, &format!("127.0.0.1 {master}"), &credentials.admin));
            let file = here.join("sentinel.conf");
            write_private(&file, conf.as_bytes())
                .map_err(|e| invalid(format!("cannot write {}: {e}", file.display())))?;
        }
        self.run_replicated(id, &layout, &credentials, None).await
    }

    /// A data node's directory and redis.conf (`replica_of`: the master's port, for a replica; `tls`: on TLS
    /// only, with its own server certificate).
    fn write_node(
        &self,
        dir: &Path,
        port: u16,
        spec: &InstanceSpec,
        credentials: &Credentials,
        replica_of: Option<u16>,
        tls: bool,
    ) -> Provisioned<()> {
        let here = node_dir(dir, port);
        create_private_dir(&here).map_err(|e| invalid(format!("cannot create {}: {e}", here.display())))?;
        let (listen, links) = self.listen_conf(&here, port, tls)?;
        let mut conf = redis_conf(&listen, credentials, spec.max_memory, &here.to_string_lossy());
        conf.push_str(&links);
        conf.push_str(&spec.topology.node_conf());
        conf.push_str(&format!("masterauth {}\n", credentials.admin));
        if let Some(master) = replica_of {
            conf.push_str(&format!("replicaof 127.0.0.1 {master}\n"));
        }
        let file = here.join("redis.conf");
        write_private(&file, conf.as_bytes()).map_err(|e| invalid(format!("cannot write {}: {e}", file.display())))
    }

    /// Starts an existing replicated instance again after a platform restart (stopping what a crashed
    /// platform left running first).
    pub(super) async fn adopt_replicated(&self, id: Uuid, spec: &InstanceSpec) -> Provisioned<super::Endpoint> {
        let dir = self.dir(id);
        let layout = Layout::read(&dir).ok_or_else(|| {
            ProvisionError::Gone(format!(
                "{} is missing: instance {id} cannot be adopted",
                dir.join(LAYOUT_FILE).display()
            ))
        })?;
        if layout.master != spec.name {
            return Err(invalid(format!("{} names another instance", dir.join(LAYOUT_FILE).display())));
        }
        let credentials = read_credentials(&dir)
            .ok_or_else(|| invalid(format!("{} is missing or unreadable", dir.join(CREDENTIALS_FILE).display())))?;
        self.shutdown_replicated_orphans(id, &layout).await;
        self.run_replicated(id, &layout, &credentials, None).await
    }

    /// Asks whatever still answers on the instance's ports (a crashed platform's processes) to exit: the
    /// Sentinels first, so that stopping the master starts no failover.
    pub(super) async fn shutdown_replicated_orphans(&self, id: Uuid, layout: &Layout) {
        let Some(Ok(admin)) = read_credentials(&self.dir(id)).map(|c| self.admin(&c, layout.tls)) else {
            return;
        };
        shut_down(&admin, layout.sentinels.iter().chain(&layout.nodes).copied()).await;
    }

    /// Starts every data node, then the Sentinels, and waits until the replicas are in sync and every
    /// Sentinel knows them and the other Sentinels; on failure stops what it started. The node on port
    /// `from_rdb` (a restore's master) starts this once with `--appendonly no`, so that it loads its RDB.
    pub(super) async fn run_replicated(
        &self,
        id: Uuid,
        layout: &Layout,
        credentials: &Credentials,
        from_rdb: Option<u16>,
    ) -> Provisioned<super::Endpoint> {
        let dir = self.dir(id);
        let admin = self.admin(credentials, layout.tls)?;
        let mut processes = Vec::new();
        let started = async {
            for &port in &layout.nodes {
                let launch = Launch::data(&self.inner.redis_server, node_dir(&dir, port).join("redis.conf"));
                let mut first = launch.clone();
                if from_rdb == Some(port) {
                    first.args.extend(["--appendonly".into(), "no".into()]);
                }
                let child = first.start(None).await.map_err(invalid)?;
                processes.push(Supervised::new(child, port, self.node_restart(launch, port, layout, &admin), id));
            }
            for &port in &layout.sentinels {
                let launch = Launch::sentinel(&self.inner.redis_server, sentinel_dir(&dir, port).join("sentinel.conf"));
                let sink = self.inner.failovers.sink(id);
                let child = launch.start(Some(Arc::clone(&sink))).await.map_err(invalid)?;
                let restart: Restart = Arc::new(move || {
                    let (launch, sink) = (launch.clone(), Arc::clone(&sink));
                    Box::pin(async move { launch.start(Some(sink)).await })
                });
                processes.push(Supervised::new(child, port, restart, id));
            }
            wait_until_ready(layout, &admin).await
        };
        let master = match started.await {
            Ok(master) => master,
            Err(e) => {
                for process in processes.into_iter().rev() {
                    process.stop().await;
                }
                return Err(e);
            }
        };
        self.inner.failovers.know(id, format!("127.0.0.1:{master}"));
        let hosts = layout.sentinel_hosts();
        let password = &credentials.gateway;
        let scheme = if layout.tls { "rediss+sentinel" } else { "redis+sentinel" };
        let endpoint = super::Endpoint {
            url: format!(
                "{scheme}://{GATEWAY_USER}:{password}@{hosts}/{name}?sentinel_username={GATEWAY_USER}&\
                 sentinel_password={password}",
                name = layout.master
            ),
            address: hosts,
            tls: None,
        };
        self.inner
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, Running { endpoint: endpoint.clone(), processes });
        tracing::info!(%id, master, replicas = layout.nodes.len() - 1, "replicated instance running");
        Ok(endpoint)
    }

    /// How a data node comes back: as a replica of the master the Sentinels name, once they name another.
    fn node_restart(&self, launch: Launch, port: u16, layout: &Layout, admin: &Admin) -> Restart {
        let (sentinels, master, admin) = (layout.sentinels.clone(), layout.master.clone(), admin.clone());
        Arc::new(move || {
            let (mut launch, sentinels, master, admin) =
                (launch.clone(), sentinels.clone(), master.clone(), admin.clone());
            Box::pin(async move {
                let deadline = tokio::time::Instant::now() + RESTART_GRACE;
                let other = loop {
                    match current_master(&admin, &sentinels, &master).await {
                        Some(named) if named == port && tokio::time::Instant::now() < deadline => {
                            tokio::time::sleep(Duration::from_millis(200)).await;
                        }
                        Some(named) if named != port => break Some(named),
                        _ => break None,
                    }
                };
                if let Some(master) = other {
                    launch.args = vec!["--replicaof".into(), "127.0.0.1".into(), master.to_string().into()];
                }
                launch.start(None).await
            })
        })
    }

    /// Applies `spec` to a running replicated instance: adds or removes replicas, then sets every data node's
    /// `maxmemory` and `min-replicas-to-write`, live and in its file.
    pub(super) async fn resize_replicated(&self, id: Uuid, spec: &InstanceSpec) -> Provisioned<()> {
        let dir = self.dir(id);
        let mut layout =
            Layout::read(&dir).ok_or_else(|| ProvisionError::Gone(format!("instance {id} has no layout")))?;
        let credentials = read_credentials(&dir).ok_or_else(|| invalid("the instance's credentials are unreadable"))?;
        let admin = self.admin(&credentials, layout.tls)?;
        let master = current_master(&admin, &layout.sentinels, &layout.master)
            .await
            .ok_or_else(|| ProvisionError::Transient("no Sentinel names the master".to_owned()))?;
        let want = 1 + usize::from(spec.topology.replicas());
        while layout.nodes.len() < want {
            let port = free_ports(1)?[0];
            self.write_node(&dir, port, spec, &credentials, Some(master), layout.tls)?;
            let launch = Launch::data(&self.inner.redis_server, node_dir(&dir, port).join("redis.conf"));
            let child = launch.start(None).await.map_err(invalid)?;
            let process = Supervised::new(child, port, self.node_restart(launch, port, &layout, &admin), id);
            self.add_process(id, process);
            layout.nodes.push(port);
            layout.write(&dir)?;
        }
        let mut removed = false;
        while layout.nodes.len() > want {
            let Some(index) = layout.nodes.iter().rposition(|&p| p != master) else { break };
            let port = layout.nodes.remove(index);
            layout.write(&dir)?;
            if let Some(process) = self.remove_process(id, port) {
                process.stop().await;
            }
            let _ = tokio::fs::remove_dir_all(node_dir(&dir, port)).await;
            removed = true;
        }
        if removed {
            // The Sentinels forget the removed replicas (and find the rest, and each other, again).
            let mut reset = redis::cmd("SENTINEL");
            reset.arg("RESET").arg(&layout.master);
            for &port in &layout.sentinels {
                let _: Option<i64> = ask(&admin, port, &reset).await;
            }
        }
        for &port in &layout.nodes {
            let mut set = redis::cmd("CONFIG");
            set.arg("SET")
                .arg("maxmemory")
                .arg(spec.max_memory)
                .arg("min-replicas-to-write")
                .arg(spec.topology.min_replicas_to_write());
            ask::<()>(&admin, port, &set)
                .await
                .ok_or_else(|| ProvisionError::Transient(format!("node {port} did not take the new size")))?;
            let _: Option<()> = ask(&admin, port, redis::cmd("CONFIG").arg("REWRITE")).await;
            let mut info = redis::cmd("INFO");
            info.arg("server");
            let text: Option<String> = ask(&admin, port, &info).await;
            let pid = text.as_deref().and_then(info::process_id);
            if let Some(Err(e)) = pid.map(|pid| super::memory_bound::limit(pid, spec.max_memory)) {
                tracing::warn!(%id, error = %e, "the server's memory is bounded by its maxmemory only");
            }
        }
        Ok(())
    }

    pub(super) fn add_process(&self, id: Uuid, process: Supervised) {
        if let Some(running) = self.inner.running.lock().unwrap_or_else(PoisonError::into_inner).get_mut(&id) {
            running.processes.push(process);
        }
    }

    fn remove_process(&self, id: Uuid, port: u16) -> Option<Supervised> {
        let mut all = self.inner.running.lock().unwrap_or_else(PoisonError::into_inner);
        let processes = &mut all.get_mut(&id)?.processes;
        let index = processes.iter().position(|p| p.port == port)?;
        Some(processes.remove(index))
    }

    /// Each data node's role, health and lag, then each Sentinel's health.
    pub(super) async fn replicated_nodes(&self, id: Uuid, layout: &Layout) -> Vec<Node> {
        let Some(Ok(admin)) = read_credentials(&self.dir(id)).map(|c| self.admin(&c, layout.tls)) else {
            return Vec::new();
        };
        let mut infos = Vec::new();
        for &port in &layout.nodes {
            infos.push((port, replication(&admin, port).await));
        }
        let master_offset = infos.iter().find_map(|(_, info)| {
            let info = info.as_ref().filter(|i| i.get("role").is_some_and(|r| r == "master"))?;
            info.get("master_repl_offset")?.parse::<u64>().ok()
        });
        let mut nodes: Vec<Node> = infos
            .into_iter()
            .map(|(port, info)| {
                let address = format!("127.0.0.1:{port}");
                let Some(info) = info else {
                    return Node {
                        address,
                        role: Role::Replica,
                        healthy: false,
                        lag_bytes: None,
                        shard: None,
                        slots: Vec::new(),
                    };
                };
                if info.get("role").is_some_and(|r| r == "master") {
                    return Node {
                        address,
                        role: Role::Master,
                        healthy: true,
                        lag_bytes: None,
                        shard: None,
                        slots: Vec::new(),
                    };
                }
                let healthy = info.get("master_link_status").is_some_and(|s| s == "up");
                let offset = info.get("slave_repl_offset").and_then(|o| o.parse::<u64>().ok());
                let lag_bytes = master_offset.zip(offset).map(|(m, r)| m.saturating_sub(r));
                Node { address, role: Role::Replica, healthy, lag_bytes, shard: None, slots: Vec::new() }
            })
            .collect();
        for &port in &layout.sentinels {
            let healthy = ask::<String>(&admin, port, &redis::cmd("PING")).await.is_some();
            nodes.push(Node {
                address: format!("127.0.0.1:{port}"),
                role: Role::Sentinel,
                healthy,
                lag_bytes: None,
                shard: None,
                slots: Vec::new(),
            });
        }
        nodes
    }
}

/// Waits until the Sentinels name a master of the layout, every other data node replicates from it with its
/// link up, and every Sentinel knows all the replicas and the other Sentinels; returns the master's port.
async fn wait_until_ready(layout: &Layout, admin: &Admin) -> Provisioned<u16> {
    let deadline = tokio::time::Instant::now() + READY_TIMEOUT;
    let mut missing = String::new();
    while tokio::time::Instant::now() < deadline {
        match readiness(layout, admin).await {
            Ok(master) => return Ok(master),
            Err(what) => missing = what,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(ProvisionError::Transient(format!("the replicated instance did not come up: {missing}")))
}

async fn readiness(layout: &Layout, admin: &Admin) -> Result<u16, String> {
    let master = current_master(admin, &layout.sentinels, &layout.master)
        .await
        .filter(|m| layout.nodes.contains(m))
        .ok_or("no Sentinel names a master")?;
    for &port in layout.nodes.iter().filter(|&&p| p != master) {
        let info = replication(admin, port).await.unwrap_or_default();
        let following = info.get("master_port").is_some_and(|p| *p == master.to_string());
        if !following || info.get("master_link_status").is_none_or(|s| s != "up") {
            return Err(format!("replica {port} is not in sync with the master"));
        }
    }
    let replicas = layout.nodes.len() - 1;
    for &port in &layout.sentinels {
        let mut known = redis::cmd("SENTINEL");
        known.arg("REPLICAS").arg(&layout.master);
        let listed: Vec<HashMap<String, String>> = ask(admin, port, &known).await.unwrap_or_default();
        let up = listed.iter().filter(|r| r.get("flags").is_some_and(|f| f == "slave")).count();
        let mut others = redis::cmd("SENTINEL");
        others.arg("SENTINELS").arg(&layout.master);
        let peers: Vec<HashMap<String, String>> = ask(admin, port, &others).await.unwrap_or_default();
        if up < replicas || peers.len() < layout.sentinels.len() - 1 {
            return Err(format!(
                "Sentinel {port} knows {up} of {replicas} replicas and {} other Sentinels",
                peers.len()
            ));
        }
    }
    Ok(master)
}

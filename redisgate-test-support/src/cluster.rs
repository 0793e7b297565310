//! `TestCluster`: a Redis Cluster on free loopback ports, formed by the same code the provisioners use
//! ([`redisgate_core::provisioning::cluster`]).

use std::time::Duration;

use redisgate_core::provisioning::cluster::{self, Member, Shard};

use crate::redis_server::free_port;
use crate::{Purpose, TestCa, TestRedis, TlsServer};

/// A server of the cluster, and how the others reach it.
type Node = (TestRedis, Member);

/// A formed cluster; every server is killed on drop.
pub struct TestCluster {
    /// The masters at start, in slot order: the first owns slot 0.
    pub masters: Vec<TestRedis>,
    /// The replicas of each master at start.
    pub replicas: Vec<Vec<TestRedis>>,
    /// How to reach each of `masters`.
    members: Vec<Member>,
}

impl TestCluster {
    /// Starts `shards` masters and forms them into a healthy cluster, on a blocking thread.
    ///
    /// # Panics
    /// When a server does not start or the cluster is not healthy within 30 s.
    pub async fn start(shards: usize) -> Self {
        Self::start_replicated(shards, 0).await
    }

    /// As [`TestCluster::start`], each master with `replicas` replicas.
    ///
    /// # Panics
    /// As [`TestCluster::start`].
    pub async fn start_replicated(shards: usize, replicas: usize) -> Self {
        tokio::task::spawn_blocking(move || Self::start_blocking(shards, replicas, None))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }

    /// Starts `shards` masters that speak only TLS, to clients and on the cluster bus, with certificates of
    /// `ca` (clients need no certificate), and forms them into a healthy cluster; [`TestCluster::url`] is
    /// then `rediss+cluster://`.
    ///
    /// # Panics
    /// As [`TestCluster::start`].
    pub async fn start_tls(shards: usize, ca: &TestCa) -> Self {
        let server = ca.issue("cluster-node", Purpose::Peer);
        let tls = TlsServer { server, client_ca: ca.cert(), require_client_cert: false };
        tokio::task::spawn_blocking(move || Self::start_blocking(shards, 0, Some(tls)))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }

    fn start_blocking(shards: usize, replicas: usize, tls: Option<TlsServer>) -> Self {
        let node = || {
            let bus_port = free_port();
            let (server, url) = match &tls {
                // Formed without checking the servers' certificates: the harness has no CA store of its own.
                Some(tls) => {
                    let server = TestRedis::start_tls_cluster_node(tls.clone(), bus_port);
                    let url = format!("{}/#insecure", server.url());
                    (server, url)
                }
                None => {
                    let server = TestRedis::start_cluster_node(bus_port);
                    let url = server.admin_url();
                    (server, url)
                }
            };
            let member = Member { url, host: "127.0.0.1".to_owned(), port: server.port(), bus_port };
            (server, member)
        };
        let mut started: Vec<(Node, Vec<Node>)> =
            (0..shards).map(|_| (node(), (0..replicas).map(|_| node()).collect())).collect();
        let layout: Vec<Shard> = started
            .iter()
            .map(|(master, replicas)| Shard {
                master: master.1.clone(),
                replicas: replicas.iter().map(|(_, member)| member.clone()).collect(),
            })
            .collect();
        cluster::form(&layout, Duration::from_secs(30)).unwrap_or_else(|e| panic!("{e}"));
        let members = layout.into_iter().map(|shard| shard.master).collect();
        let (masters, replicas) = started
            .drain(..)
            .map(|((master, _), replicas)| (master, replicas.into_iter().map(|(server, _)| server).collect()))
            .unzip();
        Self { masters, replicas, members }
    }

    /// Adds a shard of one new master and moves it its share of the slots, keys and all, while the cluster
    /// serves ([`cluster::add_shard`]); the new master is last in `masters`.
    ///
    /// # Panics
    /// When the server does not start or the move fails.
    pub async fn add_shard(&mut self) {
        let members = self.members.clone();
        let (server, member) = tokio::task::spawn_blocking(move || {
            let bus_port = free_port();
            let server = TestRedis::start_cluster_node(bus_port);
            let member =
                Member { url: server.admin_url(), host: "127.0.0.1".to_owned(), port: server.port(), bus_port };
            let shard = Shard { master: member.clone(), replicas: Vec::new() };
            cluster::add_shard(&members, &shard, Duration::from_secs(120)).unwrap_or_else(|e| panic!("{e}"));
            (server, member)
        })
        .await
        .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        self.masters.push(server);
        self.members.push(member);
    }

    /// `redis+cluster://127.0.0.1:<p1>,…` (the masters at start; `rediss+cluster://` for a TLS cluster).
    #[must_use]
    pub fn url(&self) -> String {
        let nodes: Vec<String> = self.masters.iter().map(|m| format!("127.0.0.1:{}", m.port())).collect();
        let tls = self.members.first().is_some_and(|m| m.url.starts_with("rediss://"));
        format!("{}+cluster://{}", if tls { "rediss" } else { "redis" }, nodes.join(","))
    }
}

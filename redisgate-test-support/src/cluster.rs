//! `TestCluster`: a Redis Cluster of masters on free loopback ports, formed by the same code the
//! provisioners use ([`redisgate_core::provisioning::cluster`]).

use std::time::Duration;

use redisgate_core::provisioning::cluster::{self, Member, Shard};

use crate::redis_server::free_port;
use crate::TestRedis;

/// A formed cluster; every server is killed on drop.
pub struct TestCluster {
    /// The masters, in slot order: the first owns slot 0.
    pub masters: Vec<TestRedis>,
}

impl TestCluster {
    /// Starts `shards` masters and forms them into a healthy cluster, on a blocking thread.
    ///
    /// # Panics
    /// When a server does not start or the cluster is not healthy within 30 s.
    pub async fn start(shards: usize) -> Self {
        tokio::task::spawn_blocking(move || Self::start_blocking(shards))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }

    fn start_blocking(shards: usize) -> Self {
        let started: Vec<(TestRedis, u16)> = (0..shards)
            .map(|_| {
                let bus_port = free_port();
                (TestRedis::start_cluster_node(bus_port), bus_port)
            })
            .collect();
        let members: Vec<Shard> = started
            .iter()
            .map(|(server, bus_port)| Shard {
                master: Member {
                    url: server.admin_url(),
                    host: "127.0.0.1".to_owned(),
                    port: server.port(),
                    bus_port: *bus_port,
                },
                replicas: Vec::new(),
            })
            .collect();
        cluster::form(&members, Duration::from_secs(30)).unwrap_or_else(|e| panic!("{e}"));
        Self { masters: started.into_iter().map(|(server, _)| server).collect() }
    }

    /// `redis+cluster://127.0.0.1:<p1>,…`.
    #[must_use]
    pub fn url(&self) -> String {
        let nodes: Vec<String> = self.masters.iter().map(|m| format!("127.0.0.1:{}", m.port())).collect();
        format!("redis+cluster://{}", nodes.join(","))
    }
}

//! Forming a Redis Cluster out of fresh servers started with `cluster-enabled yes`: each master takes an
//! equal share of the 16,384 slots (`CLUSTER ADDSLOTSRANGE`), the first meets the others (`CLUSTER MEET`,
//! which the cluster bus then spreads), and each replica follows its master (`CLUSTER REPLICATE`). Blocking:
//! run it on a blocking thread.

use std::time::{Duration, Instant};

use redis::{Connection, RedisResult};

use crate::{Error, Result};

/// How many hash slots a Redis Cluster has.
pub const SLOTS: u16 = 16_384;

/// One server of the cluster to be: where to log in to it with every permission, and where the others
/// reach it.
#[derive(Debug, Clone)]
pub struct Member {
    /// A URL that logs in with every permission (the admin user's, on a contained instance).
    pub url: String,
    /// The address the other servers reach it at.
    pub host: String,
    /// Its client port.
    pub port: u16,
    /// Its cluster bus port (`cluster-port`; Redis's default is `port + 10000`).
    pub bus_port: u16,
}

/// One shard: a master and its replicas.
#[derive(Debug, Clone)]
pub struct Shard {
    /// The server that owns the shard's slots.
    pub master: Member,
    /// Servers that replicate it.
    pub replicas: Vec<Member>,
}

/// The slots `[first, last]` of shard `index` of `shards`, in equal shares.
#[must_use]
pub fn slot_range(index: usize, shards: usize) -> (u16, u16) {
    let share = |i: usize| (i * usize::from(SLOTS) / shards) as u16;
    (share(index), share(index + 1) - 1)
}

/// Forms the cluster and waits until every server says it is healthy (`cluster_state:ok`, all servers
/// known).
///
/// # Errors
/// [`Error::Internal`] when a server refuses or the cluster is not healthy within `timeout`.
pub fn form(shards: &[Shard], timeout: Duration) -> Result<()> {
    let failed = |what: &str, e: redis::RedisError| Error::Internal(format!("forming the cluster: {what}: {e}"));
    let members: Vec<&Member> = shards.iter().flat_map(|s| std::iter::once(&s.master).chain(&s.replicas)).collect();
    let mut connections = members
        .iter()
        .map(|m| connect(&m.url))
        .collect::<RedisResult<Vec<_>>>()
        .map_err(|e| failed("connecting", e))?;
    for (index, shard) in shards.iter().enumerate() {
        let (first, last) = slot_range(index, shards.len());
        let at = members.iter().position(|m| std::ptr::eq(*m, &shard.master)).expect("the master is a member");
        redis::cmd("CLUSTER")
            .arg("ADDSLOTSRANGE")
            .arg(first)
            .arg(last)
            .exec(&mut connections[at])
            .map_err(|e| failed("assigning slots", e))?;
    }
    for other in &members[1..] {
        redis::cmd("CLUSTER")
            .arg("MEET")
            .arg(&other.host)
            .arg(other.port)
            .arg(other.bus_port)
            .exec(&mut connections[0])
            .map_err(|e| failed("meeting", e))?;
    }
    let deadline = Instant::now() + timeout;
    wait(&mut connections, deadline, |info| known_nodes(info) == Some(members.len()))?;
    for shard in shards {
        let id: String = redis::cmd("CLUSTER")
            .arg("MYID")
            .query(&mut connect(&shard.master.url).map_err(|e| failed("connecting", e))?)
            .map_err(|e| failed("asking a master's id", e))?;
        for replica in &shard.replicas {
            redis::cmd("CLUSTER")
                .arg("REPLICATE")
                .arg(&id)
                .exec(&mut connect(&replica.url).map_err(|e| failed("connecting", e))?)
                .map_err(|e| failed("making a replica", e))?;
        }
    }
    wait(&mut connections, deadline, |info| info.contains("cluster_state:ok"))?;
    let mut replicas = shards
        .iter()
        .flat_map(|s| &s.replicas)
        .map(|r| connect(&r.url))
        .collect::<RedisResult<Vec<_>>>()
        .map_err(|e| failed("connecting", e))?;
    wait_replication(&mut replicas, deadline)
}

/// Waits until every replica of `replicas` has its link to its master up (its first sync done).
fn wait_replication(replicas: &mut [Connection], deadline: Instant) -> Result<()> {
    for replica in replicas {
        loop {
            let info: String = redis::cmd("INFO").arg("replication").query(replica).unwrap_or_default();
            if info.contains("master_link_status:up") {
                break;
            }
            if Instant::now() > deadline {
                return Err(Error::Internal("a replica did not finish its first sync".to_owned()));
            }
            // Replication progress has no event to wait on either.
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    Ok(())
}

/// Waits until every server at `urls` says the cluster is healthy (`cluster_state:ok`): a cluster whose
/// servers were started again from their `nodes.conf`.
///
/// # Errors
/// [`Error::Internal`] when a server cannot be reached or the cluster is not healthy within `timeout`.
pub fn wait_healthy(urls: &[String], timeout: Duration) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let mut connections = Vec::with_capacity(urls.len());
    for url in urls {
        loop {
            match connect(url) {
                Ok(connection) => break connections.push(connection),
                Err(e) if Instant::now() > deadline => {
                    return Err(Error::Internal(format!("a server of the cluster does not answer: {e}")));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
    wait(&mut connections, deadline, |info| info.contains("cluster_state:ok"))
}

/// Waits until `healthy` holds of every server's `CLUSTER INFO`.
fn wait(connections: &mut [Connection], deadline: Instant, healthy: impl Fn(&str) -> bool) -> Result<()> {
    let mut last = String::new();
    loop {
        let mut all = true;
        for connection in connections.iter_mut() {
            last = redis::cmd("CLUSTER").arg("INFO").query(connection).unwrap_or_default();
            if !healthy(&last) {
                all = false;
                break;
            }
        }
        if all {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(Error::Internal(format!("the cluster did not become healthy: {}", last.trim())));
        }
        // Cluster state travels by the bus's gossip; there is no event to wait on.
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `cluster_known_nodes` of a `CLUSTER INFO`.
fn known_nodes(info: &str) -> Option<usize> {
    info.lines().find_map(|line| line.strip_prefix("cluster_known_nodes:")?.trim().parse().ok())
}

fn connect(url: &str) -> RedisResult<Connection> {
    redis::Client::open(url)?.get_connection_with_timeout(Duration::from_secs(2))
}

#[cfg(test)]
mod tests {
    use super::{slot_range, SLOTS};

    #[test]
    fn shards_share_every_slot_once() {
        for shards in 1..=16 {
            let ranges: Vec<_> = (0..shards).map(|i| slot_range(i, shards)).collect();
            assert_eq!(ranges[0].0, 0);
            assert_eq!(ranges[shards - 1].1, SLOTS - 1);
            assert!(ranges.windows(2).all(|pair| pair[1].0 == pair[0].1 + 1), "{ranges:?}");
        }
        assert_eq!(slot_range(0, 3), (0, 5460));
        assert_eq!(slot_range(2, 3), (10922, 16383));
    }
}

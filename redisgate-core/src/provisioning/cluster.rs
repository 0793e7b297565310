//! Forming a Redis Cluster out of fresh servers started with `cluster-enabled yes`: each master takes an
//! equal share of the 16,384 slots (`CLUSTER ADDSLOTSRANGE`), the first meets the others (`CLUSTER MEET`,
//! which the cluster bus then spreads), and each replica follows its master (`CLUSTER REPLICATE`); and
//! growing it online by a shard ([`add_shard`]), moving slots with their keys as `redis-cli --cluster
//! reshard` does. Blocking: run it on a blocking thread.

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
    wait_replication(&mut replicas, deadline)?;
    wait_masters(&mut connections, deadline, shards.len())
}

/// Waits until every server's `CLUSTER NODES` counts `masters` masters: the replicas' roles have reached
/// every server by the cluster bus's gossip.
fn wait_masters(connections: &mut [Connection], deadline: Instant, masters: usize) -> Result<()> {
    for connection in connections {
        loop {
            let nodes: String = redis::cmd("CLUSTER").arg("NODES").query(connection).unwrap_or_default();
            let seen = nodes
                .lines()
                .filter(|l| l.split(' ').nth(2).is_some_and(|f| f.split(',').any(|f| f == "master")))
                .count();
            if seen == masters {
                break;
            }
            if Instant::now() > deadline {
                return Err(Error::Internal(format!("the servers did not agree on {masters} masters")));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    Ok(())
}

/// Adds `shard` (fresh servers) to the cluster whose masters are `masters`, and moves it an equal share of
/// the slots, taken evenly from the others, keys and all, while the cluster serves: a slot being moved answers
/// ASK for the keys already on the new master, which clients follow (redis-rs does), and the move of each
/// key is atomic (`MIGRATE`). The servers log in to each other as the user of the masters' URLs.
///
/// # Errors
/// [`Error::Internal`] when a server refuses or the cluster does not settle within `timeout`.
pub fn add_shard(masters: &[Member], shard: &Shard, timeout: Duration) -> Result<()> {
    let failed = |what: &str, e: redis::RedisError| Error::Internal(format!("adding a shard: {what}: {e}"));
    let deadline = Instant::now() + timeout;
    let mut olds = masters
        .iter()
        .map(|m| connect(&m.url))
        .collect::<RedisResult<Vec<_>>>()
        .map_err(|e| failed("connecting", e))?;
    let newcomers: Vec<&Member> = std::iter::once(&shard.master).chain(&shard.replicas).collect();
    for member in &newcomers {
        redis::cmd("CLUSTER")
            .arg("MEET")
            .arg(&member.host)
            .arg(member.port)
            .arg(member.bus_port)
            .exec(&mut olds[0])
            .map_err(|e| failed("meeting", e))?;
    }
    let mut everyone = olds;
    for member in &newcomers {
        everyone.push(connect(&member.url).map_err(|e| failed("connecting", e))?);
    }
    let total = everyone.len() + count_replicas(&mut everyone[0]).map_err(|e| failed("counting replicas", e))?;
    // The newcomers learn the slots by gossip: until they have, they answer CLUSTERDOWN (to MIGRATE too).
    wait(&mut everyone, deadline, |info| known_nodes(info) >= Some(total) && info.contains("cluster_state:ok"))?;
    let new_id = my_id(&mut everyone[masters.len()]).map_err(|e| failed("asking the new master's id", e))?;
    for replica in &shard.replicas {
        redis::cmd("CLUSTER")
            .arg("REPLICATE")
            .arg(&new_id)
            .exec(&mut connect(&replica.url).map_err(|e| failed("connecting", e))?)
            .map_err(|e| failed("making a replica", e))?;
    }
    let info = redis::IntoConnectionInfo::into_connection_info(masters[0].url.as_str())
        .map_err(|e| failed("reading a URL", e))?;
    let auth =
        (info.redis_settings().username().map(str::to_owned), info.redis_settings().password().map(str::to_owned));
    // The new master ends with an equal share; each old one gives an equal part of it.
    let wanted = usize::from(SLOTS) / (masters.len() + 1);
    let mut target = connect(&shard.master.url).map_err(|e| failed("connecting", e))?;
    for (index, old) in masters.iter().enumerate() {
        let give = wanted / masters.len() + usize::from(index < wanted % masters.len());
        let mut source = connect(&old.url).map_err(|e| failed("connecting", e))?;
        let source_id = my_id(&mut source).map_err(|e| failed("asking a master's id", e))?;
        let owned = owned_slots(&mut source, &source_id).map_err(|e| failed("reading the slots", e))?;
        for &slot in &owned[owned.len() - give.min(owned.len())..] {
            move_slot(slot, (&mut source, &source_id), (&mut target, &new_id, &shard.master), &auth)
                .map_err(|e| failed(&format!("moving slot {slot}"), e))?;
        }
    }
    wait(&mut everyone, deadline, |info| info.contains("cluster_state:ok"))?;
    let mut replicas = shard
        .replicas
        .iter()
        .map(|r| connect(&r.url))
        .collect::<RedisResult<Vec<_>>>()
        .map_err(|e| failed("connecting", e))?;
    wait_replication(&mut replicas, deadline)?;
    wait_masters(&mut everyone, deadline, masters.len() + 1)
}

/// The masters of the cluster now, as `(host, port)`, from `CLUSTER NODES` of the server at `url` (masters
/// that are failed are left out: their replicas take over).
///
/// # Errors
/// [`Error::Internal`] when the server does not answer.
pub fn masters(url: &str) -> Result<Vec<(String, u16)>> {
    let nodes: String = connect(url)
        .and_then(|mut c| redis::cmd("CLUSTER").arg("NODES").query(&mut c))
        .map_err(|e| Error::Internal(format!("asking the cluster's nodes: {e}")))?;
    Ok(nodes
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let address = fields.nth(1)?;
            let flags = fields.next()?;
            if !flags.split(',').any(|f| f == "master") || flags.contains("fail") {
                return None;
            }
            // `host:port@bus[,hostname]`
            let (host, port) = address.split('@').next()?.rsplit_once(':')?;
            Some((host.to_owned(), port.parse().ok()?))
        })
        .collect())
}

/// Moves `slot` from `source` to `target` with its keys (`IMPORTING`/`MIGRATING`, `MIGRATE` in batches of
/// 100 keys, then `NODE` on both ends; the cluster bus tells the others).
fn move_slot(
    slot: u16,
    (source, source_id): (&mut Connection, &str),
    (target, target_id, at): (&mut Connection, &str, &Member),
    (user, password): &(Option<String>, Option<String>),
) -> RedisResult<()> {
    redis::cmd("CLUSTER").arg("SETSLOT").arg(slot).arg("IMPORTING").arg(source_id).exec(target)?;
    redis::cmd("CLUSTER").arg("SETSLOT").arg(slot).arg("MIGRATING").arg(target_id).exec(source)?;
    loop {
        let keys: Vec<Vec<u8>> = redis::cmd("CLUSTER").arg("GETKEYSINSLOT").arg(slot).arg(100).query(source)?;
        if keys.is_empty() {
            break;
        }
        let mut migrate = redis::cmd("MIGRATE");
        migrate.arg(&at.host).arg(at.port).arg("").arg(0).arg(5000);
        match (user, password) {
            (Some(user), Some(password)) => drop(migrate.arg("AUTH2").arg(user).arg(password)),
            (None, Some(password)) => drop(migrate.arg("AUTH").arg(password)),
            _ => {}
        }
        migrate.arg("KEYS").arg(keys).exec(source)?;
    }
    redis::cmd("CLUSTER").arg("SETSLOT").arg(slot).arg("NODE").arg(target_id).exec(target)?;
    redis::cmd("CLUSTER").arg("SETSLOT").arg(slot).arg("NODE").arg(target_id).exec(source)
}

/// The slots the master `id` owns, in order (`CLUSTER SLOTS` of `connection`).
fn owned_slots(connection: &mut Connection, id: &str) -> RedisResult<Vec<u16>> {
    let ranges: Vec<Vec<redis::Value>> = redis::cmd("CLUSTER").arg("SLOTS").query(connection)?;
    let mut slots = Vec::new();
    for range in ranges {
        let (Some(redis::Value::Int(start)), Some(redis::Value::Int(end)), Some(redis::Value::Array(master))) =
            (range.first(), range.get(1), range.get(2))
        else {
            continue;
        };
        let owner = match master.get(2) {
            Some(redis::Value::BulkString(owner)) => owner.as_slice(),
            Some(redis::Value::SimpleString(owner)) => owner.as_bytes(),
            _ => &[],
        };
        if owner == id.as_bytes() {
            slots.extend((*start as u16)..=(*end as u16));
        }
    }
    slots.sort_unstable();
    Ok(slots)
}

fn my_id(connection: &mut Connection) -> RedisResult<String> {
    redis::cmd("CLUSTER").arg("MYID").query(connection)
}

/// How many replicas the cluster has now (`CLUSTER NODES` of `connection`).
fn count_replicas(connection: &mut Connection) -> RedisResult<usize> {
    let nodes: String = redis::cmd("CLUSTER").arg("NODES").query(connection)?;
    Ok(nodes.lines().filter(|line| line.split(' ').nth(2).is_some_and(|flags| flags.contains("slave"))).count())
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

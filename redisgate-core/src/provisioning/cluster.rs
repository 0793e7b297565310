//! Forming a Redis Cluster out of fresh servers started with `cluster-enabled yes`: each master takes an
//! equal share of the 16,384 slots (`CLUSTER ADDSLOTSRANGE`), the first meets the others (`CLUSTER MEET`,
//! which the cluster bus then spreads), and each replica follows its master (`CLUSTER REPLICATE`); and
//! growing it online by a shard ([`add_shard`]), moving slots with their keys as `redis-cli --cluster
//! reshard` does. Blocking: run it on a blocking thread.

mod shards;

use std::time::{Duration, Instant};

use redis::{Connection, RedisResult};

use crate::{Error, Result};

pub use shards::parse_shards;

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
/// known), every replica has synced, and every server counts the same masters.
///
/// # Errors
/// [`Error::Internal`] when a server refuses or the cluster is not healthy within `timeout`.
pub fn form(shards: &[Shard], timeout: Duration) -> Result<()> {
    let failed = |what: &str, e: redis::RedisError| Error::Internal(format!("forming the cluster: {what}: {e}"));
    let deadline = Instant::now() + timeout;
    let members: Vec<&Member> = shards.iter().flat_map(|s| std::iter::once(&s.master).chain(&s.replicas)).collect();
    let mut connections = connect_all(&members).map_err(|e| failed("connecting", e))?;
    // A shard's master is at the shard's first place in `members`.
    let master_at = |index: usize| shards[..index].iter().map(|s| 1 + s.replicas.len()).sum::<usize>();
    for index in 0..shards.len() {
        let (first, last) = slot_range(index, shards.len());
        redis::cmd("CLUSTER")
            .arg("ADDSLOTSRANGE")
            .arg(first)
            .arg(last)
            .exec(&mut connections[master_at(index)])
            .map_err(|e| failed("assigning slots", e))?;
    }
    meet(&mut connections[0], &members[1..]).map_err(|e| failed("meeting", e))?;
    wait_until(&mut connections, deadline, &cluster_info(), "every server known", |info| {
        known_nodes(info) == Some(members.len())
    })?;
    for (index, shard) in shards.iter().enumerate() {
        let at = master_at(index);
        let id = my_id(&mut connections[at]).map_err(|e| failed("asking a master's id", e))?;
        replicate(&mut connections[at + 1..=at + shard.replicas.len()], &id)
            .map_err(|e| failed("making a replica", e))?;
    }
    settle(&mut connections, shards, deadline)
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
    let newcomers: Vec<&Member> = std::iter::once(&shard.master).chain(&shard.replicas).collect();
    let olds: Vec<&Member> = masters.iter().collect();
    let mut everyone = connect_all(&olds).map_err(|e| failed("connecting", e))?;
    everyone.extend(connect_all(&newcomers).map_err(|e| failed("connecting", e))?);
    let info: String = cluster_info().query(&mut everyone[0]).map_err(|e| failed("asking the cluster", e))?;
    let total = known_nodes(&info).unwrap_or(masters.len()) + newcomers.len();
    meet(&mut everyone[0], &newcomers).map_err(|e| failed("meeting", e))?;
    // The newcomers learn the slots by gossip: until they have, they answer CLUSTERDOWN (to MIGRATE too).
    wait_until(&mut everyone, deadline, &cluster_info(), "the new servers known", |info| {
        known_nodes(info) >= Some(total) && info.contains("cluster_state:ok")
    })?;
    let (olds, new) = everyone.split_at_mut(masters.len());
    let new_id = my_id(&mut new[0]).map_err(|e| failed("asking the new master's id", e))?;
    replicate(&mut new[1..], &new_id).map_err(|e| failed("making a replica", e))?;
    let info = redis::IntoConnectionInfo::into_connection_info(masters[0].url.as_str())
        .map_err(|e| failed("reading a URL", e))?;
    let auth =
        (info.redis_settings().username().map(str::to_owned), info.redis_settings().password().map(str::to_owned));
    let ranges = slot_ranges(&mut olds[0]).map_err(|e| failed("reading the slots", e))?;
    // The new master ends with an equal share; each old one gives an equal part of it.
    let wanted = usize::from(SLOTS) / (masters.len() + 1);
    for (index, source) in olds.iter_mut().enumerate() {
        let give = wanted / masters.len() + usize::from(index < wanted % masters.len());
        let source_id = my_id(source).map_err(|e| failed("asking a master's id", e))?;
        let owned: Vec<u16> =
            ranges.iter().filter(|r| r.id.as_deref() == Some(&source_id)).flat_map(|r| r.start..=r.end).collect();
        for &slot in &owned[owned.len() - give.min(owned.len())..] {
            move_slot(slot, (source, &source_id), (&mut new[0], &new_id, &shard.master), &auth)
                .map_err(|e| failed(&format!("moving slot {slot}"), e))?;
        }
    }
    let mut shards: Vec<Shard> = masters.iter().map(|m| Shard { master: m.clone(), replicas: Vec::new() }).collect();
    shards.push(shard.clone());
    settle(&mut everyone, &shards, deadline)
}

/// One range of slots and the master that owns it, as `CLUSTER SLOTS` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotRange {
    /// The first slot.
    pub start: u16,
    /// The last slot.
    pub end: u16,
    /// The master's address, as the cluster announces it.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// Its node id (absent before Redis 4).
    pub id: Option<String>,
}

/// The slot ranges of a `CLUSTER SLOTS` reply (ranges it cannot read are left out).
///
/// # Errors
/// The reply is not a list of ranges.
pub fn parse_slot_ranges(reply: redis::Value) -> RedisResult<Vec<SlotRange>> {
    use redis::Value;
    let text = |value: Option<&Value>| match value {
        Some(Value::BulkString(bytes)) => Some(String::from_utf8_lossy(bytes).into_owned()),
        Some(Value::SimpleString(text)) => Some(text.clone()),
        _ => None,
    };
    let mut ranges = Vec::new();
    for range in redis::from_redis_value::<Vec<Vec<Value>>>(reply)? {
        let (Some(Value::Int(start)), Some(Value::Int(end)), Some(Value::Array(master))) =
            (range.first(), range.get(1), range.get(2))
        else {
            continue;
        };
        let (Ok(start), Ok(end), Some(host), Some(Value::Int(port))) =
            (u16::try_from(*start), u16::try_from(*end), text(master.first()), master.get(1))
        else {
            continue;
        };
        let Ok(port) = u16::try_from(*port) else { continue };
        ranges.push(SlotRange { start, end, host, port, id: text(master.get(2)) });
    }
    Ok(ranges)
}

/// The masters of the cluster now, as `(host, port)` (`CLUSTER NODES` of the server at `url`; masters that
/// are failed are left out: their replicas take over).
///
/// # Errors
/// [`Error::Internal`] when the server does not answer.
pub fn masters(url: &str) -> Result<Vec<(String, u16)>> {
    let text: String = connect(url)
        .and_then(|mut c| redis::cmd("CLUSTER").arg("NODES").query(&mut c))
        .map_err(|e| Error::Internal(format!("asking the cluster's nodes: {e}")))?;
    Ok(nodes(&text)
        .filter(|(_, flags)| flags.contains(&"master") && !flags.iter().any(|f| f.starts_with("fail")))
        .filter_map(|(address, _)| {
            let (host, port) = address.rsplit_once(':')?;
            Some((host.to_owned(), port.parse().ok()?))
        })
        .collect())
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
                // A server started again may still be loading its data.
                Err(_) => std::thread::sleep(POLL),
            }
        }
    }
    wait_until(&mut connections, deadline, &cluster_info(), "the cluster healthy", healthy)
}

/// Waits until the cluster of `shards`, whose servers `connections` reach, is healthy everywhere, every
/// replica has synced, and every server counts the same masters (the replicas' roles have spread by gossip).
fn settle(connections: &mut [Connection], shards: &[Shard], deadline: Instant) -> Result<()> {
    wait_until(connections, deadline, &cluster_info(), "the cluster healthy", healthy)?;
    let mut replicas = connect_all(&shards.iter().flat_map(|s| &s.replicas).collect::<Vec<_>>())
        .map_err(|e| Error::Internal(format!("connecting to a replica: {e}")))?;
    let replication = redis::cmd("INFO").arg("replication").clone();
    wait_until(&mut replicas, deadline, &replication, "every replica synced", |info| {
        super::info::field(info, "master_link_status") == Some("up")
    })?;
    let cluster_nodes = redis::cmd("CLUSTER").arg("NODES").clone();
    wait_until(connections, deadline, &cluster_nodes, "every server counting the same masters", |text| {
        nodes(text).filter(|(_, flags)| flags.contains(&"master")).count() == shards.len()
    })
}

/// Waits until `done` holds of what `command` answers on every server of `connections`. Cluster state and
/// replication travel by the servers' own links: there is no event to wait on, so it asks every [`POLL`].
fn wait_until(
    connections: &mut [Connection],
    deadline: Instant,
    command: &redis::Cmd,
    what: &str,
    done: impl Fn(&str) -> bool,
) -> Result<()> {
    for connection in connections {
        loop {
            let answer: String = command.query(connection).unwrap_or_default();
            if done(&answer) {
                break;
            }
            if Instant::now() > deadline {
                let last = answer.lines().next().unwrap_or_default();
                return Err(Error::Internal(format!(
                    "the cluster did not settle: waited for {what}; a server said {last}"
                )));
            }
            std::thread::sleep(POLL);
        }
    }
    Ok(())
}

/// How often [`wait_until`] asks.
const POLL: Duration = Duration::from_millis(50);

/// Has the server `connection` reaches meet each of `others` (the cluster bus then spreads the news).
fn meet(connection: &mut Connection, others: &[&Member]) -> RedisResult<()> {
    for other in others {
        redis::cmd("CLUSTER").arg("MEET").arg(&other.host).arg(other.port).arg(other.bus_port).exec(connection)?;
    }
    Ok(())
}

/// Makes each server of `replicas` a replica of the master `id`.
fn replicate(replicas: &mut [Connection], id: &str) -> RedisResult<()> {
    replicas.iter_mut().try_for_each(|replica| redis::cmd("CLUSTER").arg("REPLICATE").arg(id).exec(replica))
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

/// The slot ranges the server `connection` reaches reports.
fn slot_ranges(connection: &mut Connection) -> RedisResult<Vec<SlotRange>> {
    parse_slot_ranges(redis::cmd("CLUSTER").arg("SLOTS").query(connection)?)
}

fn my_id(connection: &mut Connection) -> RedisResult<String> {
    redis::cmd("CLUSTER").arg("MYID").query(connection)
}

fn cluster_info() -> redis::Cmd {
    redis::cmd("CLUSTER").arg("INFO").clone()
}

/// Whether a `CLUSTER INFO` says the cluster is healthy.
fn healthy(info: &str) -> bool {
    super::info::field(info, "cluster_state") == Some("ok")
}

/// The lines of a `CLUSTER NODES`, as each node's `host:port` and its flags (`myself`, `master`, `slave`,
/// `fail?`…).
fn nodes(text: &str) -> impl Iterator<Item = (&str, Vec<&str>)> {
    text.lines().filter_map(|line| {
        let mut fields = line.split(' ');
        // `host:port@bus[,hostname]`
        let address = fields.nth(1)?.split('@').next()?;
        Some((address, fields.next()?.split(',').collect()))
    })
}

/// `cluster_known_nodes` of a `CLUSTER INFO`.
fn known_nodes(info: &str) -> Option<usize> {
    super::info::field(info, "cluster_known_nodes")?.parse().ok()
}

fn connect(url: &str) -> RedisResult<Connection> {
    redis::Client::open(url)?.get_connection_with_timeout(Duration::from_secs(2))
}

fn connect_all(members: &[&Member]) -> RedisResult<Vec<Connection>> {
    members.iter().map(|m| connect(&m.url)).collect()
}

#[cfg(test)]
mod tests {
    use super::{slot_range, SLOTS};

    #[test]
    fn cluster_nodes_lines_give_addresses_and_flags() {
        let text = "07c3 127.0.0.1:30004@31004,h1 slave e7d1 0 1426238317239 4 connected\n\
                    67ed 127.0.0.1:30002@31002 master,fail? - 0 1426238316232 2 connected 5461-10922\n";
        let parsed: Vec<_> = super::nodes(text).collect();
        assert_eq!(parsed, [("127.0.0.1:30004", vec!["slave"]), ("127.0.0.1:30002", vec!["master", "fail?"])]);
    }

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

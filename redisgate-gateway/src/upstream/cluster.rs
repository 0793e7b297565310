//! A Redis Cluster (`redis+cluster://`): redis-rs's cluster client keeps the slot map and follows the
//! topology (MOVED, ASK, a master that failed over); this module decides where each REST request goes, so
//! that the cluster answers as one database would where it can, and says why where it cannot.
//!
//! - A command goes to the master of its first key's slot. A command whose keys span slots gets Redis's
//!   own CROSSSLOT error (redis-rs would split MGET, MSET and DEL into one command per slot, which makes
//!   MSET and DEL no longer atomic; a cluster's own clients get CROSSSLOT too).
//! - A keyless command goes where redis-rs routes it: DBSIZE, KEYS, FLUSHDB and SCRIPT LOAD to every master
//!   (their replies summed, merged or checked), RANDOMKEY to the masters until one has a key, the rest to
//!   any node. SCAN walks the masters one after the other ([`scan`]).
//! - A `/pipeline` runs each slot's commands in order on its master, the slots in parallel: commands on
//!   different slots touch different keys, so only their order within a slot can be seen. A keyless command
//!   in it runs alone, after what precedes it and before what follows. A write is its own request to
//!   redis-rs, so that one redirected while its slot moves is sent again alone ([`run_on`]); the slots that
//!   only read go as one pipeline per master ([`read_on`]).
//! - A `/multi-exec` needs all its keys in one slot (a hash tag: `{user1}:a`, `{user1}:b`).
//! - SUBSCRIBE and MONITOR use the first node of the URL: a cluster forwards every PUBLISH to every node.
//!   PUBLISH and PUBSUB go there too, so that PUBLISH counts the gateway's subscribers, and so do scripts
//!   without keys and SCRIPT EXISTS (SCRIPT LOAD and FLUSH go to every node).

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use futures_util::future::{try_join_all, Either};
use redis::aio::ConnectionLike as _;
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::{ErrorKind, Pipeline, RedisError, RedisResult, Value};
use redisgate_core::protocol::table::Class;
use redisgate_core::protocol::Command;

use super::{exec_reply, UpstreamError, UpstreamOptions};
use crate::fanout::Hub;

mod scan;
mod slots;

const SCHEME: &str = "redis+cluster://";
const TLS_SCHEME: &str = "rediss+cluster://";

/// Whether `url` names a Redis Cluster.
pub fn is_cluster_url(url: &str) -> bool {
    url.starts_with(SCHEME) || url.starts_with(TLS_SCHEME)
}

/// The URL of each seed node of `redis+cluster://[user:pass@]host:port[,host:port…]` (or `rediss+cluster://`),
/// with the credentials as they were written (redis-rs decodes them).
fn seed_urls(url: &str) -> RedisResult<Vec<String>> {
    let invalid = |message: &str| {
        RedisError::from((ErrorKind::InvalidClientConfig, "invalid redis+cluster:// URL", message.to_owned()))
    };
    let (scheme, rest) = match url.strip_prefix(TLS_SCHEME) {
        Some(rest) => ("rediss", rest),
        None => ("redis", url.strip_prefix(SCHEME).ok_or_else(|| invalid("it must start with redis+cluster://"))?),
    };
    let authority = rest.strip_suffix('/').unwrap_or(rest);
    if authority.contains(['/', '?', '#']) {
        return Err(invalid("a cluster has one database: the URL ends after its nodes (host:port,host:port)"));
    }
    let (credentials, hosts) = match authority.rsplit_once('@') {
        Some((credentials, hosts)) => (format!("{credentials}@"), hosts),
        None => (String::new(), authority),
    };
    let nodes = hosts.split(',').map(str::trim).map(|node| match node.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
            Ok(format!("{scheme}://{credentials}{node}"))
        }
        _ => Err(invalid("each node is host:port")),
    });
    let nodes = nodes.collect::<RedisResult<Vec<_>>>()?;
    Ok(nodes)
}

/// The cluster's client, its shared connection (made on first use, inside the worker's runtime) and the
/// pub/sub hub on the first node.
pub(super) struct Cluster {
    client: ClusterClient,
    connection: OnceLock<ClusterConnection>,
    /// Subscriptions and MONITOR, on the first node of the URL.
    pub(super) hub: Arc<Hub>,
    /// Where PUBLISH and PUBSUB go (the first node, where the hub subscribes, so that PUBLISH counts the
    /// gateway's subscribers: a node counts only its own, though it forwards the message to all), and scripts
    /// without keys.
    first_node: RoutingInfo,
    /// Which master owns each slot, to send a pipeline's reads for one master as one pipeline.
    owners: slots::Owners,
}

impl Cluster {
    /// Prepares the client without connecting.
    pub(super) fn new(url: &str, options: &UpstreamOptions) -> RedisResult<Self> {
        let seeds = seed_urls(url)?;
        let mut builder = ClusterClientBuilder::new(seeds.iter().map(String::as_str))
            .connection_timeout(options.connect_timeout)
            .response_timeout(options.response_timeout)
            .overall_response_timeout(Some(options.response_timeout))
            // Fail fast while a master is down; the next request asks again.
            .retries(3)
            .min_retry_wait(20)
            .max_retry_wait(100);
        if seeds[0].starts_with("rediss://") && !options.tls.is_default() {
            builder = builder.certs(options.tls.certificates());
        }
        let seed = super::client(&seeds[0], options)?;
        let (host, port) = match seed.get_connection_info().addr() {
            redis::ConnectionAddr::Tcp(host, port) | redis::ConnectionAddr::TcpTls { host, port, .. } => {
                (host.clone(), *port)
            }
            _ => return Err(RedisError::from((ErrorKind::InvalidClientConfig, "a cluster's nodes are host:port"))),
        };
        Ok(Self {
            client: builder.build()?,
            connection: OnceLock::new(),
            hub: Arc::new(Hub::new(seed)),
            first_node: RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress { host, port }),
            owners: slots::Owners::default(),
        })
    }

    /// Checks `url` as [`Cluster::new`] reads it.
    pub(super) fn check(url: &str, options: &UpstreamOptions) -> RedisResult<()> {
        Self::new(url, options).map(drop)
    }

    /// The shared connection: it connects in the background on first use, and reconnects by itself.
    fn connection(&self) -> ClusterConnection {
        self.connection.get_or_init(|| self.client.get_pending_async_connection_with_config(Default::default())).clone()
    }

    /// Runs one command where it belongs. A Redis error reply comes back as `Ok(Value::ServerError)`.
    pub(super) async fn run(&self, command: &Command) -> Result<Value, UpstreamError> {
        let mut connection = self.connection();
        let reply = if let Some(cursor_at) = scan::cursor_at(command) {
            scan::run(&mut connection, command, cursor_at).await
        } else if let Some(slot) = slot(command) {
            connection.route_command(command.to_cmd(), to_master(slot)).await
        } else if on_first_node(command) {
            connection.route_command(command.to_cmd(), self.first_node.clone()).await
        } else {
            // Keyless: where redis-rs routes it (every master for DBSIZE, KEYS, FLUSHDB; any node for most).
            connection.req_packed_command(&command.to_cmd()).await
        };
        match reply.map_err(failure)? {
            Value::ServerError(e) if MOVING.contains(&e.code()) => Err(UpstreamError::FailingOver(e.to_string())),
            value => Ok(value),
        }
    }

    /// Runs commands in order within each slot, the slots in parallel; each reply in request order.
    pub(super) async fn pipeline(&self, commands: &[Command]) -> Result<Vec<Value>, UpstreamError> {
        let slots: Vec<Option<u16>> = commands.iter().map(slot).collect();
        let mut replies = Vec::with_capacity(commands.len());
        let mut at = 0;
        while at < commands.len() {
            if slots[at].is_none() {
                replies.push(self.run(&commands[at]).await?);
                at += 1;
                continue;
            }
            let end = slots[at..].iter().position(Option::is_none).map_or(commands.len(), |n| at + n);
            let slotted: Vec<(&Command, u16)> =
                commands[at..end].iter().zip(slots[at..end].iter().flatten().copied()).collect();
            replies.extend(self.by_slot(&slotted).await?);
            at = end;
        }
        Ok(replies)
    }

    /// Runs commands with their slots, all slots at once: a slot's commands in order ([`run_on`]), and the
    /// slots whose commands only read, one pipeline per master ([`read_on`]).
    async fn by_slot(&self, commands: &[(&Command, u16)]) -> Result<Vec<Value>, UpstreamError> {
        let mut groups: HashMap<u16, Vec<usize>> = HashMap::new();
        for (at, (_, slot)) in commands.iter().enumerate() {
            groups.entry(*slot).or_default().push(at);
        }
        let (reads, writes): (Vec<_>, Vec<_>) =
            groups.into_iter().partition(|(_, members)| members.iter().all(|&at| is_read(commands[at].0)));
        let mut connection = self.connection();
        let mut sent = Vec::with_capacity(writes.len() + reads.len());
        for (slot, members) in writes {
            sent.push(Either::Left(run_on(connection.clone(), commands, slot, members)));
        }
        if !reads.is_empty() {
            // Without a map, each slot is its own pipeline.
            let owners = self.owners.get(&mut connection).await;
            let mut by_owner: HashMap<u16, (u16, Vec<usize>)> = HashMap::new();
            for (slot, members) in reads {
                let owner = owners.as_ref().map_or(slot, |owners| owners[usize::from(slot)]);
                by_owner.entry(owner).or_insert((slot, Vec::new())).1.extend(members);
            }
            for (slot, mut members) in by_owner.into_values() {
                members.sort_unstable();
                sent.push(Either::Right(read_on(connection.clone(), commands, slot, members, &self.owners)));
            }
        }
        let mut replies = vec![Value::Nil; commands.len()];
        for (at, reply) in try_join_all(sent).await.map_err(failure)?.into_iter().flatten() {
            replies[at] = reply;
        }
        Ok(replies)
    }

    /// Runs commands as one MULTI/EXEC transaction on the master of their slot.
    ///
    /// # Errors
    /// [`UpstreamError::CrossSlot`] when their keys span slots; else as [`super::Upstream::transaction`].
    pub(super) async fn transaction(&self, commands: &[Command]) -> Result<Vec<Value>, UpstreamError> {
        let slot = one_slot(commands)?;
        let route = slot.map_or(SingleNodeRoutingInfo::Random, |slot| {
            SingleNodeRoutingInfo::SpecificNode(Route::new(slot, SlotAddr::Master))
        });
        let mut pipe = Pipeline::with_capacity(commands.len());
        pipe.atomic();
        for command in commands {
            pipe.add_command(command.to_cmd());
        }
        let sent = self.connection().route_pipeline(pipe, commands.len() + 1, 1, route).await;
        exec_reply(sent.map_err(failure)?)
    }
}

/// Runs the commands at `members`, all of `slot`, on its master one after the other, so that each sees the
/// ones before it; their replies by place.
///
/// Each is its own request to redis-rs, which follows its own MOVED or ASK while a slot moves: as one
/// pipeline, a redirection of any of them would have redis-rs send the whole pipeline again, running the
/// others twice.
async fn run_on(
    mut connection: ClusterConnection,
    commands: &[(&Command, u16)],
    slot: u16,
    members: Vec<usize>,
) -> RedisResult<Vec<(usize, Value)>> {
    let mut replies = Vec::with_capacity(members.len());
    for at in members {
        replies.push((at, connection.route_command(commands[at].0.to_cmd(), to_master(slot)).await?));
    }
    Ok(replies)
}

/// Runs the reads at `members` as one pipeline to the master of `slot`, which `owners` says owns all their
/// slots; their replies by place. A read sent twice changes nothing, so the hazard of [`run_on`] does not
/// apply. When the map was stale (a reply is a redirection), it is forgotten and each read is sent again
/// alone, to the master of its own slot.
async fn read_on(
    mut connection: ClusterConnection,
    commands: &[(&Command, u16)],
    slot: u16,
    members: Vec<usize>,
    owners: &slots::Owners,
) -> RedisResult<Vec<(usize, Value)>> {
    let mut pipe = Pipeline::with_capacity(members.len());
    for &at in &members {
        pipe.add_command(commands[at].0.to_cmd());
    }
    let route = SingleNodeRoutingInfo::SpecificNode(Route::new(slot, SlotAddr::Master));
    let piped = connection.route_pipeline(pipe, 0, members.len(), route).await;
    let redirected =
        |replies: &[Value]| replies.iter().any(|v| matches!(v, Value::ServerError(e) if MOVING.contains(&e.code())));
    match piped {
        Ok(replies) if !redirected(&replies) => return Ok(members.into_iter().zip(replies).collect()),
        Ok(_) => {}
        Err(e) if e.code().is_none_or(|code| !MOVING.contains(&code)) => return Err(e),
        Err(_) => {}
    }
    owners.forget();
    let alone = members.iter().map(|&at| {
        let (mut connection, (command, slot)) = (connection.clone(), commands[at]);
        async move { connection.route_command(command.to_cmd(), to_master(slot)).await }
    });
    Ok(members.iter().copied().zip(try_join_all(alone).await?).collect())
}

/// Whether a command only reads (its row's class; an unclassified command is taken to write).
fn is_read(command: &Command) -> bool {
    command.row().is_some_and(|row| row.class == Class::Read)
}

/// The one slot of all the keys of `commands` (`None` when they have none).
///
/// # Errors
/// [`UpstreamError::CrossSlot`] when their keys span slots.
fn one_slot(commands: &[Command]) -> Result<Option<u16>, UpstreamError> {
    let mut slots = commands.iter().flat_map(|command| command.keys().into_iter().map(slots::of));
    let slot = slots.next();
    if slots.any(|other| Some(other) != slot) {
        return Err(UpstreamError::CrossSlot);
    }
    Ok(slot)
}

/// Whether a keyless command goes to the first node: PUBLISH and PUBSUB (where the gateway subscribes), and
/// scripts without keys and SCRIPT EXISTS, so that EVAL then EVALSHA find the script where it was cached.
fn on_first_node(command: &Command) -> bool {
    match command.name() {
        b"publish" | b"pubsub" => true,
        b"script" => command.args().first().is_some_and(|a| a.eq_ignore_ascii_case(b"exists")),
        _ => command.is_script(),
    }
}

/// The route to the master of `slot`.
fn to_master(slot: u16) -> RoutingInfo {
    RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(Route::new(slot, SlotAddr::Master)))
}

/// Redis's answers while a slot's master changes, once redis-rs has used its retries following them: the
/// request is answered as failing over (a pipeline keeps them in place, as it keeps READONLY behind Sentinel).
const MOVING: [&str; 4] = ["MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN"];

/// The slot of a command's first key; `None` for a keyless command.
fn slot(command: &Command) -> Option<u16> {
    command.keys().first().map(|key| slots::of(key))
}

/// A failure of a request to the cluster: one that lost its node is a failover in progress (redis-rs asks
/// the cluster for the new slot map), answered as Sentinel's is.
fn failure(error: RedisError) -> UpstreamError {
    let failure = UpstreamError::from(error);
    match failure {
        UpstreamError::Timeout(ref e) | UpstreamError::Closed(ref e) | UpstreamError::Unavailable(ref e)
            if failure.lost_server() =>
        {
            UpstreamError::FailingOver(e.to_string())
        }
        UpstreamError::Refused(ref e) if MOVING.contains(&e.code()) => UpstreamError::FailingOver(e.to_string()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::seed_urls;

    #[test]
    fn a_cluster_url_names_each_seed_node_with_the_same_credentials() {
        assert_eq!(
            seed_urls("redis+cluster://gw:p%40ss@10.0.0.1:7000,10.0.0.2:7001/").unwrap(),
            ["redis://gw:p%40ss@10.0.0.1:7000", "redis://gw:p%40ss@10.0.0.2:7001"]
        );
        assert_eq!(seed_urls("rediss+cluster://h:6379").unwrap(), ["rediss://h:6379"]);
        assert!(seed_urls("redis+cluster://h:6379/1").is_err(), "a cluster has only database 0");
        assert!(seed_urls("redis+cluster://h").is_err());
        assert!(seed_urls("redis+cluster://h:1,:2").is_err());
        assert!(seed_urls("redis://h:1").is_err());
    }
}

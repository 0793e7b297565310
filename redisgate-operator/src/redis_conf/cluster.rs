//! What a Redis Cluster instance's pods run: the cluster lines of redis.conf, the script that starts a node,
//! and the script the bootstrap Job runs to form the cluster or grow it. Pure text, run on real
//! `redis-server`s and `redis-cli` by the tests (tests/operator/cluster_scripts.rs).
//!
//! The Job uses `redis-cli --cluster` from the Redis image itself: `create` for a new cluster, `add-node`
//! and `rebalance --cluster-use-empty-masters` for new shards, `add-node --cluster-slave` for new replicas.
//! It is safe to run again: a server already in the cluster is left alone, and a rebalance of a balanced
//! cluster moves nothing.

use redisgate_core::provisioning::acl::ADMIN_USER;

/// The ConfigMap key of the script that starts a cluster node.
pub const START_CLUSTER: &str = "start-cluster.sh";
/// The ConfigMap key of the script the bootstrap Job runs.
pub const CLUSTER_BOOTSTRAP: &str = "cluster-bootstrap.sh";
/// The cluster bus port of every node (Redis's default: the client port + 10000).
pub const BUS_PORT: u16 = crate::config::REDIS_PORT + 10_000;
/// How long a node may be silent before the others call it failed, in milliseconds.
pub const NODE_TIMEOUT_MS: u32 = 5000;

/// The redis.conf lines of a cluster node. `nodes.conf` (the node's identity and its view of the cluster)
/// lives in the data directory, so a restarted pod rejoins as the same node; clients are sent to nodes by
/// their DNS names, which outlive pod IPs. A TLS instance's nodes also speak TLS on the cluster bus
/// (`tls-cluster yes`; [`crate::redis_conf::tls_conf`] has the rest).
#[must_use]
pub fn cluster_conf(tls: bool) -> String {
    let bus = if tls { "tls-cluster yes\n" } else { "" };
    format!(
        "# Redis Cluster: the node's state is in nodes.conf in the data directory.\n\
         cluster-enabled yes\n\
         cluster-config-file nodes.conf\n\
         cluster-node-timeout {NODE_TIMEOUT_MS}\n\
         cluster-preferred-endpoint-type hostname\n\
         {bus}"
    )
}

/// The script a cluster node's pod runs (`sh start-cluster.sh <redis.conf>`), with the env its StatefulSet
/// gives: `ADMIN_PASSWORD` (replicas log in to their master as the admin user), `REDIS_PORT`, `BUS_PORT`,
/// `POD_IP` (announced on the cluster bus) and `SELF_HOST` (this pod's DNS name, announced to clients).
#[must_use]
pub fn start_cluster_script(tls: bool) -> String {
    let listen = if tls { r#"--port 0 --tls-port "$REDIS_PORT""# } else { r#"--port "$REDIS_PORT""# };
    format!(
        r#"# Written by redisgate-operator: starts a node of a Redis Cluster instance.
set -u
exec redis-server "$1" {listen} --cluster-port "$BUS_PORT" --masterauth "$ADMIN_PASSWORD" \
  --cluster-announce-ip "$POD_IP" --cluster-announce-hostname "$SELF_HOST"
"#
    )
}

/// The script the bootstrap Job runs (`sh cluster-bootstrap.sh`), with the env the Job gives:
/// `ADMIN_PASSWORD`, `NODES` (every data pod's `host:port`, in order), `SHARDS` and `REPLICAS_PER_SHARD`.
///
/// It waits until every node answers. When no node holds a slot it creates the cluster out of all of them.
/// Otherwise it adds each node that is in no cluster yet, as a master while there are fewer than `SHARDS`
/// and then as a replica of the master with the fewest, and rebalances the slots onto the new masters;
/// before each of these steps it waits until every node agrees on the configuration (`--cluster check`).
/// It ends when every node reports `cluster_state:ok`. For a TLS instance every `redis-cli` goes over TLS,
/// presenting the instance's certificate (the Job mounts it).
#[must_use]
pub fn bootstrap_script(tls: bool) -> String {
    let options = if tls { format!(" {}", crate::redis_conf::cli_tls()) } else { String::new() };
    format!(
        r#"# Written by redisgate-operator: forms the instance's Redis Cluster, or grows it.
set -eu
cli() {{ REDISCLI_AUTH="$ADMIN_PASSWORD" redis-cli{options} --no-auth-warning --user {ADMIN_USER} "$@"; }}
at() {{ node=$1; shift; cli -h "${{node%:*}}" -p "${{node##*:}}" "$@"; }}
info() {{ at "$1" cluster info | tr -d '\r' | sed -n "s/^$2://p"; }}
# The address the cluster bus knows a node by (its announced IP) and its id.
address() {{ at "$1" cluster nodes | awk '$3 ~ /myself/ {{ split($2, a, "@"); print a[1] }}'; }}
id() {{ at "$1" cluster myid | tr -d '\r'; }}
# Waits until every node of the cluster agrees on its configuration: add-node and rebalance check that first,
# and a node just added is not yet known to every other one.
agreed() {{ until cli --cluster check "$1" >/dev/null 2>&1; do echo "waiting for the nodes to agree"; sleep 1; done; }}
# Whether node $1 sees node id $2 with flag $3.
sees() {{ at "$1" cluster nodes | awk -v id="$2" -v flag="$3" '$1 == id && $3 ~ flag {{ found = 1 }} END {{ exit !found }}'; }}

for node in $NODES; do
  until [ "$(at "$node" ping 2>/dev/null)" = PONG ]; do echo "waiting for $node"; sleep 1; done
done
member=
for node in $NODES; do
  if [ "$(info "$node" cluster_slots_assigned)" != 0 ]; then member=$node; break; fi
done
if [ -z "$member" ]; then
  addresses=
  for node in $NODES; do addresses="$addresses $(address "$node")"; done
  cli --cluster create $addresses --cluster-replicas "$REPLICAS_PER_SHARD" --cluster-yes
else
  entry=$(address "$member")
  for node in $NODES; do
    [ "$(info "$node" cluster_known_nodes)" = 1 ] || continue
    agreed "$entry"
    masters=$(at "$member" cluster nodes | awk '$3 ~ /master/' | wc -l)
    new=$(id "$node")
    if [ "$masters" -lt "$SHARDS" ]; then
      cli --cluster add-node "$(address "$node")" "$entry"
      until sees "$member" "$new" master; do sleep 1; done
    else
      cli --cluster add-node "$(address "$node")" "$entry" --cluster-slave
      until sees "$member" "$new" slave; do sleep 1; done
    fi
  done
  agreed "$entry"
  cli --cluster rebalance "$entry" --cluster-use-empty-masters
fi
for node in $NODES; do
  until [ "$(info "$node" cluster_state)" = ok ]; do echo "waiting for $node to agree"; sleep 1; done
done
echo "the cluster has $SHARDS shards"
"#
    )
}

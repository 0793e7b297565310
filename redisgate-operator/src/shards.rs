//! A cluster instance's nodes as the cluster reports them (`CLUSTER SHARDS`), for the management API's
//! `GET`: each server's shard, role, health and, for a master, its slots.

use std::time::Duration;

use redisgate_core::provisioning::cluster::parse_shards;
use redisgate_core::provisioning::Node;

/// How long the question may take (an unreachable node must not hold up a request).
const ASK_TIMEOUT: Duration = Duration::from_secs(2);

/// The nodes as the server at `url` (`redis://user:password@host:port`, any node) sees them; empty when it
/// does not answer in time.
pub async fn nodes(url: &str) -> Vec<Node> {
    let ask = async {
        let client = redis::Client::open(url).ok()?;
        let mut connection = client.get_multiplexed_async_connection().await.ok()?;
        redis::cmd("CLUSTER").arg("SHARDS").query_async::<redis::Value>(&mut connection).await.ok()
    };
    let reply = tokio::time::timeout(ASK_TIMEOUT, ask).await.ok().flatten();
    reply.map(|reply| parse_shards(&reply)).unwrap_or_default()
}

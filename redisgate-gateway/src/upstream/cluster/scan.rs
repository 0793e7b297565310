//! SCAN over a cluster: one loop of cursors walks every master in turn.
//!
//! The cursor the client sees carries the master's place in the cluster (its masters ordered by their
//! lowest slot) in its low [`SHARD_BITS`] bits and that master's own cursor above them. When a master's
//! scan ends, the next cursor starts the next master; after the last, it is `0`. SCAN's guarantee holds
//! while the masters stay the same: a key present during the whole scan is returned. Slots that move
//! during a scan (resharding) may have their keys returned twice or missed, which SCAN permits for keys
//! added or removed meanwhile but a single server would not do for others.

use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr};
use redis::{RedisResult, Value};
use redisgate_core::protocol::compat::SCAN_WITHTYPE;
use redisgate_core::protocol::Command;

/// Bits of the cursor that say which master it scans: up to 1,024 masters.
const SHARD_BITS: u32 = 10;

/// The master's place and its own cursor in a client's cursor.
fn split(cursor: u64) -> (usize, u64) {
    ((cursor & ((1 << SHARD_BITS) - 1)) as usize, cursor >> SHARD_BITS)
}

/// The client's cursor after master `shard` (of `shards`) answered `next`; `None` when it does not fit.
fn join(shard: usize, shards: usize, next: u64) -> Option<u64> {
    match next {
        0 if shard + 1 < shards => Some((shard + 1) as u64),
        0 => Some(0),
        next if next >> (64 - SHARD_BITS) == 0 => Some(next << SHARD_BITS | shard as u64),
        _ => None,
    }
}

/// Where the cursor is among the arguments of a command that scans: `SCAN <cursor>`, and the script
/// `SCAN … WITHTYPE` becomes (`EVAL <script> 0 <cursor>`); `None` for any other command.
pub(super) fn cursor_at(command: &Command) -> Option<usize> {
    match command.name() {
        b"scan" => Some(0),
        b"eval" if command.args().first().is_some_and(|s| s == SCAN_WITHTYPE.as_bytes()) => Some(2),
        _ => None,
    }
}

/// Runs a command that scans (its cursor at argument `cursor_at`) on the master the cursor names, with that
/// master's own cursor, and answers with the cluster's cursor.
pub(super) async fn run(connection: &mut ClusterConnection, command: &Command, cursor_at: usize) -> RedisResult<Value> {
    let masters: Vec<u16> =
        super::slots::masters(connection).await?.iter().filter_map(|r| Some(r.first()?.0)).collect();
    let cursor = command.args().get(cursor_at).and_then(|c| std::str::from_utf8(c).ok()?.parse::<u64>().ok());
    let Some((shard, inner)) = cursor.map(split).filter(|(shard, _)| *shard < masters.len()) else {
        return Ok(error("ERR invalid cursor"));
    };
    let mut cmd = redis::cmd(&String::from_utf8_lossy(command.name()));
    for (at, arg) in command.args().iter().enumerate() {
        if at == cursor_at {
            cmd.arg(inner);
        } else {
            cmd.arg(&arg[..]);
        }
    }
    let route = Route::new(masters[shard], SlotAddr::Master);
    let reply =
        connection.route_command(cmd, RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(route))).await?;
    let Value::Array(mut parts) = reply else { return Ok(reply) };
    let next = match parts.first() {
        Some(Value::BulkString(next)) => std::str::from_utf8(next).ok().and_then(|n| n.parse::<u64>().ok()),
        _ => None,
    };
    let Some(cursor) = next.and_then(|next| join(shard, masters.len(), next)) else {
        return Ok(error("ERR the cluster's cursor does not fit in 64 bits"));
    };
    parts[0] = Value::BulkString(cursor.to_string().into_bytes());
    Ok(Value::Array(parts))
}

/// A Redis error reply of the gateway's own.
fn error(text: &str) -> Value {
    let (code, detail) = text.split_once(' ').unwrap_or((text, ""));
    let error = redis::make_extension_error(code.to_owned(), Some(detail.to_owned()));
    error
        .into_server_errors()
        .and_then(|errors| errors.first().map(|(_, e)| e.clone()))
        .map_or(Value::Nil, Value::ServerError)
}

#[cfg(test)]
mod tests {
    use super::{join, split};

    #[test]
    fn a_cursor_walks_each_master_then_ends() {
        assert_eq!(split(0), (0, 0));
        // Master 0 goes on, then ends and the next starts at its beginning.
        let on = join(0, 3, 17).unwrap();
        assert_eq!(split(on), (0, 17));
        assert_eq!(split(join(0, 3, 0).unwrap()), (1, 0));
        assert_eq!(split(join(1, 3, 5).unwrap()), (1, 5));
        assert_eq!(join(2, 3, 0), Some(0), "after the last master the scan is over");
        assert_eq!(join(0, 3, u64::MAX), None, "an inner cursor too large to carry the master");
    }
}

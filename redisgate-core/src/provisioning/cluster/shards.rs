//! `CLUSTER SHARDS` read into the nodes an instance reports: each server's shard, role, health and, for a
//! master, its slots. The local provisioner and the Kubernetes provisioner both read it.

use redis::Value;

use crate::provisioning::{Node, Role};

/// A shard's slot ranges, `(first, last)`.
type Slots = Vec<(i64, i64)>;

/// The nodes of a `CLUSTER SHARDS` reply, shards numbered in the order of their lowest slot. A node's address
/// is its preferred endpoint (its IP, or the DNS name a node announces with
/// `cluster-preferred-endpoint-type hostname`) and port.
#[must_use]
pub fn parse_shards(reply: &Value) -> Vec<Node> {
    let Value::Array(shards) = reply else { return Vec::new() };
    let mut shards: Vec<(Slots, &[Value])> = shards
        .iter()
        .filter_map(|shard| {
            let Value::Array(fields) = shard else { return None };
            let slots = match field(fields, "slots") {
                Some(Value::Array(bounds)) => bounds
                    .chunks(2)
                    .filter_map(|pair| match pair {
                        [Value::Int(start), Value::Int(end)] => Some((*start, *end)),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            match field(fields, "nodes") {
                Some(Value::Array(nodes)) => Some((slots, nodes.as_slice())),
                _ => None,
            }
        })
        .collect();
    shards.sort_by_key(|(slots, _)| slots.first().map_or(i64::MAX, |(start, _)| *start));
    let mut out = Vec::new();
    for (index, (slots, nodes)) in shards.iter().enumerate() {
        for node in *nodes {
            let Value::Array(fields) = node else { continue };
            let text = |name: &str| match field(fields, name) {
                Some(Value::BulkString(b)) => String::from_utf8_lossy(b).into_owned(),
                Some(Value::SimpleString(s)) => s.clone(),
                Some(Value::Int(n)) => n.to_string(),
                _ => String::new(),
            };
            let master = text("role") == "master";
            let host = Some(text("endpoint")).filter(|e| !e.is_empty() && e != "?").unwrap_or_else(|| text("ip"));
            out.push(Node {
                address: format!("{host}:{}", text("port")),
                role: if master { Role::Master } else { Role::Replica },
                healthy: text("health") == "online",
                lag_bytes: None,
                shard: u8::try_from(index).ok(),
                slots: if master { slots.iter().map(|(s, e)| format!("{s}-{e}")).collect() } else { Vec::new() },
            });
        }
    }
    out
}

/// The value after `name` in a flat list of names and values (a map in RESP2).
fn field<'a>(fields: &'a [Value], name: &str) -> Option<&'a Value> {
    fields.chunks(2).find_map(|pair| match pair {
        [Value::BulkString(key), value] if key == name.as_bytes() => Some(value),
        [Value::SimpleString(key), value] if key == name => Some(value),
        _ => None,
    })
}

//! Every command of Redis 7.0 and 8.2 (with RedisJSON and vector sets) that the REST policy lets through.
//!
//! Together with the refusals of [`crate::protocol::policy`] this classifies each command (and each
//! subcommand of a command whose subcommands differ) as allowed or refused. A command that is in neither is
//! unclassified: the gateway forwards it (a module of a Redis run in standalone mode may add commands), and on
//! the instances RedisGate provisions the gateway's Redis user still lacks every `@admin` and `@dangerous`
//! command ([`crate::provisioning::acl`]). The integration test `every_command_of_this_redis_is_classified`
//! reads `COMMAND` from the Redis it runs against and fails on any name missing from both lists, so a new
//! Redis version cannot add a command nobody looked at.

use crate::protocol::Command;

/// Allowed commands (lower case), sorted; `name|subcommand` where only some subcommands are allowed.
pub const ALLOWED: &[&str] = &[
    "acl|cat",
    "acl|whoami",
    "append",
    "bitcount",
    "bitfield",
    "bitfield_ro",
    "bitop",
    "bitpos",
    "cluster|keyslot",
    "command",
    "copy",
    "dbsize",
    "decr",
    "decrby",
    "del",
    "dump",
    "echo",
    "eval",
    "eval_ro",
    "evalsha",
    "evalsha_ro",
    "exists",
    "expire",
    "expireat",
    "expiretime",
    "fcall",
    "fcall_ro",
    "flushall",
    "flushdb",
    "function",
    "geoadd",
    "geodist",
    "geohash",
    "geopos",
    "georadius",
    "georadius_ro",
    "georadiusbymember",
    "georadiusbymember_ro",
    "geosearch",
    "geosearchstore",
    "get",
    "getbit",
    "getdel",
    "getex",
    "getrange",
    "getset",
    "hdel",
    "hexists",
    "hexpire",
    "hexpireat",
    "hexpiretime",
    "hget",
    "hgetall",
    "hgetdel",
    "hgetex",
    "hincrby",
    "hincrbyfloat",
    "hkeys",
    "hlen",
    "hmget",
    "hmset",
    "hpersist",
    "hpexpire",
    "hpexpireat",
    "hpexpiretime",
    "hpttl",
    "hrandfield",
    "hscan",
    "hset",
    "hsetex",
    "hsetnx",
    "hstrlen",
    "httl",
    "hvals",
    "incr",
    "incrby",
    "incrbyfloat",
    "info",
    "json.arrappend",
    "json.arrindex",
    "json.arrinsert",
    "json.arrlen",
    "json.arrpop",
    "json.arrtrim",
    "json.clear",
    "json.debug",
    "json.del",
    "json.forget",
    "json.get",
    "json.merge",
    "json.mget",
    "json.mset",
    "json.numincrby",
    "json.nummultby",
    "json.numpowby",
    "json.objkeys",
    "json.objlen",
    "json.resp",
    "json.set",
    "json.strappend",
    "json.strlen",
    "json.toggle",
    "json.type",
    "keys",
    "lcs",
    "lindex",
    "linsert",
    "llen",
    "lmove",
    "lmpop",
    "lolwut",
    "lpop",
    "lpos",
    "lpush",
    "lpushx",
    "lrange",
    "lrem",
    "lset",
    "ltrim",
    "memory",
    "mget",
    "mset",
    "msetnx",
    "object",
    "persist",
    "pexpire",
    "pexpireat",
    "pexpiretime",
    "pfadd",
    "pfcount",
    "pfmerge",
    "ping",
    "psetex",
    "pttl",
    "publish",
    "pubsub",
    "randomkey",
    "rename",
    "renamenx",
    "restore",
    "rpop",
    "rpoplpush",
    "rpush",
    "rpushx",
    "sadd",
    "scan",
    "scard",
    "script|exists",
    "script|flush",
    "script|help",
    "script|kill",
    "script|load",
    "sdiff",
    "sdiffstore",
    "set",
    "setbit",
    "setex",
    "setnx",
    "setrange",
    "sinter",
    "sintercard",
    "sinterstore",
    "sismember",
    "smembers",
    "smismember",
    "smove",
    "sort",
    "sort_ro",
    "spop",
    "spublish",
    "srandmember",
    "srem",
    "sscan",
    "strlen",
    "substr",
    "sunion",
    "sunionstore",
    "time",
    "touch",
    "ttl",
    "type",
    "unlink",
    "vadd",
    "vcard",
    "vdim",
    "vemb",
    "vgetattr",
    "vinfo",
    "vismember",
    "vlinks",
    "vrandmember",
    "vrem",
    "vsetattr",
    "vsim",
    "xack",
    "xackdel",
    "xadd",
    "xautoclaim",
    "xclaim",
    "xdel",
    "xdelex",
    "xgroup",
    "xinfo",
    "xlen",
    "xpending",
    "xrange",
    "xread",
    "xreadgroup",
    "xrevrange",
    "xsetid",
    "xtrim",
    "zadd",
    "zcard",
    "zcount",
    "zdiff",
    "zdiffstore",
    "zincrby",
    "zinter",
    "zintercard",
    "zinterstore",
    "zlexcount",
    "zmpop",
    "zmscore",
    "zpopmax",
    "zpopmin",
    "zrandmember",
    "zrange",
    "zrangebylex",
    "zrangebyscore",
    "zrangestore",
    "zrank",
    "zrem",
    "zremrangebylex",
    "zremrangebyrank",
    "zremrangebyscore",
    "zrevrange",
    "zrevrangebylex",
    "zrevrangebyscore",
    "zrevrank",
    "zscan",
    "zscore",
    "zunion",
    "zunionstore",
];

/// How the REST policy treats one command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// It runs (subject to the caller's access and limits).
    Allowed,
    /// It is refused for everyone, for this reason.
    Refused(&'static str),
}

/// The class of `name` (with its first argument `subcommand`, for container commands such as ACL), or `None`
/// when nobody classified it.
#[must_use]
pub fn classify(name: &str, subcommand: Option<&str>) -> Option<Class> {
    let name = name.to_ascii_lowercase();
    let args = subcommand.map(|s| vec![s.as_bytes().to_vec()]).unwrap_or_default();
    let command = Command::new(name.clone().into_bytes(), args).ok()?;
    if let Some(reason) = super::policy::refusal(&command) {
        return Some(Class::Refused(reason));
    }
    let full = subcommand.map(|s| format!("{name}|{}", s.to_ascii_lowercase()));
    let listed = |n: &str| ALLOWED.binary_search(&n).is_ok();
    (listed(&name) || full.as_deref().is_some_and(listed)).then_some(Class::Allowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_and_nothing_in_it_is_refused() {
        assert!(ALLOWED.windows(2).all(|w| w[0] < w[1]), "ALLOWED must be sorted (binary search)");
        for entry in ALLOWED {
            let (name, sub) = entry.split_once('|').map_or((*entry, None), |(n, s)| (n, Some(s)));
            assert_eq!(classify(name, sub), Some(Class::Allowed), "{entry}");
        }
    }

    #[test]
    fn containers_are_classified_per_subcommand() {
        assert_eq!(classify("ACL", Some("WHOAMI")), Some(Class::Allowed));
        assert!(matches!(classify("acl", Some("setuser")), Some(Class::Refused(_))));
        assert!(matches!(classify("config", Some("get")), Some(Class::Refused(_))));
        assert!(matches!(classify("script", Some("debug")), Some(Class::Refused(_))));
        assert_eq!(classify("script", Some("load")), Some(Class::Allowed));
        assert_eq!(classify("object", Some("encoding")), Some(Class::Allowed));
        assert_eq!(classify("no-such-command", None), None);
    }
}

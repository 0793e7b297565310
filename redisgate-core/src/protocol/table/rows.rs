//! The rows of the command table, sorted by name (for the reader, and so a duplicate shows), and the reasons
//! of its refusals, as `docs/protocol.md` lists them.
//!
//! A read is what a read-only token may run: the commands Redis flags `readonly`, except a few commented
//! below that would let a read-only token (often public, in a browser) list every key or spend the server's
//! CPU.

use super::{Class, Growth, Guard, Keys, Row};

/// The blocking commands' reason (XREAD and XREADGROUP with BLOCK share it).
pub(super) const BLOCKING: &str = "blocking commands are not supported";
const TRANSACTIONS: &str = "use the /multi-exec endpoint for transactions";
const SUBSCRIPTIONS: &str = "use the /subscribe/<channel> or /psubscribe/<pattern> endpoint";
const MONITOR: &str = "use the /monitor endpoint";
const CONNECTION: &str = "connection commands other than PING and ECHO are not supported";
const CONFIGURATION: &str = "the configuration is managed by RedisGate (resize through the management API)";
const ACCESS: &str = "access is managed by RedisGate's tokens";
const MIGRATE: &str = "MIGRATE would connect the server to other hosts";
const PERSISTENCE: &str = "persistence is managed by RedisGate";
const REPLICATION: &str = "replication is managed by RedisGate";
const ADMINISTRATION: &str = "administrative commands are not supported";
const DATABASES: &str = "only database 0 is served";
const DEBUGGER: &str = "the script debugger takes over the connection";
const CLUSTER: &str = "cluster commands are not supported";

/// No key.
const NONE: Keys = Keys::Keyless;
/// The first argument is the key.
const KEY: Keys = Keys::FIRST;

/// Every command the gateway knows, sorted by name.
pub static ROWS: &[Row] = &[
    // Refused, but for the subcommands whose rows follow.
    refused("acl", NONE, ACCESS),
    write("acl|cat", NONE),
    write("acl|whoami", NONE),
    write("append", KEY),
    refused("asking", KEY, CONNECTION),
    refused("auth", KEY, CONNECTION),
    refused("bgrewriteaof", NONE, PERSISTENCE),
    refused("bgsave", NONE, PERSISTENCE),
    read("bitcount", KEY),
    write("bitfield", KEY).grows(Growth::Bitfield),
    read("bitfield_ro", KEY),
    write("bitop", range(2, -1, 1)),
    read("bitpos", KEY),
    refused("blmove", KEY, BLOCKING),
    refused("blmpop", KEY, BLOCKING),
    refused("blpop", KEY, BLOCKING),
    refused("brpop", KEY, BLOCKING),
    refused("brpoplpush", KEY, BLOCKING),
    refused("bzmpop", KEY, BLOCKING),
    refused("bzpopmax", KEY, BLOCKING),
    refused("bzpopmin", KEY, BLOCKING),
    refused("client", KEY, CONNECTION),
    // Refused, but for the subcommand whose row follows.
    refused("cluster", KEY, CLUSTER),
    // The key size limit counts the word KEYSLOT as its key (so it always has; Redis says it has none).
    write("cluster|keyslot", KEY),
    write("command", NONE),
    refused("config", NONE, CONFIGURATION),
    write("copy", range(1, 2, 1)),
    read("dbsize", NONE),
    refused("debug", KEY, ADMINISTRATION),
    write("decr", KEY),
    write("decrby", KEY),
    write("del", range(1, -1, 1)),
    refused("discard", KEY, TRANSACTIONS),
    read("dump", KEY),
    read("echo", NONE),
    write("eval", numkeys(2)),
    // A read, withheld from read-only tokens: a read-only script may call KEYS and SCAN.
    write("eval_ro", numkeys(2)),
    write("evalsha", numkeys(2)),
    // A read, withheld as EVAL_RO is.
    write("evalsha_ro", numkeys(2)),
    refused("exec", KEY, TRANSACTIONS),
    read("exists", range(1, -1, 1)),
    write("expire", KEY),
    write("expireat", KEY),
    read("expiretime", KEY),
    refused("failover", KEY, REPLICATION),
    write("fcall", numkeys(2)),
    // A read, withheld as EVAL_RO is.
    write("fcall_ro", numkeys(2)),
    write("flushall", NONE),
    write("flushdb", NONE),
    write("function", NONE),
    write("geoadd", KEY),
    read("geodist", KEY),
    read("geohash", KEY),
    read("geopos", KEY),
    write("georadius", Keys::FirstAndStores),
    read("georadius_ro", KEY),
    write("georadiusbymember", Keys::FirstAndStores),
    read("georadiusbymember_ro", KEY),
    read("geosearch", KEY),
    write("geosearchstore", range(1, 2, 1)),
    read("get", KEY),
    read("getbit", KEY),
    write("getdel", KEY),
    write("getex", KEY),
    read("getrange", KEY),
    write("getset", KEY),
    write("hdel", KEY),
    refused("hello", KEY, CONNECTION),
    read("hexists", KEY),
    write("hexpire", KEY),
    write("hexpireat", KEY),
    read("hexpiretime", KEY),
    read("hget", KEY),
    read("hgetall", KEY),
    write("hgetdel", KEY),
    write("hgetex", KEY),
    write("hincrby", KEY),
    write("hincrbyfloat", KEY),
    read("hkeys", KEY),
    read("hlen", KEY),
    read("hmget", KEY),
    write("hmset", KEY),
    write("hpersist", KEY),
    write("hpexpire", KEY),
    write("hpexpireat", KEY),
    read("hpexpiretime", KEY),
    read("hpttl", KEY),
    read("hrandfield", KEY).guarded(Guard::NegativeCount),
    read("hscan", KEY),
    write("hset", KEY),
    write("hsetex", KEY),
    write("hsetnx", KEY),
    read("hstrlen", KEY),
    read("httl", KEY),
    read("hvals", KEY),
    write("incr", KEY),
    write("incrby", KEY),
    write("incrbyfloat", KEY),
    write("info", NONE),
    write("json.arrappend", KEY),
    read("json.arrindex", KEY),
    write("json.arrinsert", KEY),
    read("json.arrlen", KEY),
    write("json.arrpop", KEY),
    write("json.arrtrim", KEY),
    write("json.clear", KEY),
    read("json.debug", KEY),
    write("json.del", KEY),
    write("json.forget", KEY),
    read("json.get", KEY),
    write("json.merge", KEY),
    read("json.mget", range(1, -2, 1)),
    write("json.mset", range(1, -1, 3)),
    write("json.numincrby", KEY),
    write("json.nummultby", KEY),
    write("json.numpowby", KEY),
    read("json.objkeys", KEY),
    read("json.objlen", KEY),
    read("json.resp", KEY),
    write("json.set", KEY),
    write("json.strappend", KEY),
    read("json.strlen", KEY),
    write("json.toggle", KEY),
    read("json.type", KEY),
    // A read, withheld from read-only tokens (as Upstash's): it lists every key.
    write("keys", NONE),
    refused("lastsave", NONE, PERSISTENCE),
    refused("latency", NONE, ADMINISTRATION),
    // A read, withheld: O(N·M) in CPU and memory, and a read-only token is often public.
    write("lcs", range(1, 2, 1)),
    read("lindex", KEY),
    write("linsert", KEY),
    read("llen", KEY),
    write("lmove", range(1, 2, 1)),
    write("lmpop", numkeys(1)),
    write("lolwut", NONE),
    write("lpop", KEY),
    read("lpos", KEY),
    write("lpush", KEY),
    write("lpushx", KEY),
    read("lrange", KEY),
    write("lrem", KEY),
    write("lset", KEY),
    write("ltrim", KEY),
    read("memory", range(2, 2, 1)),
    read("mget", range(1, -1, 1)),
    refused("migrate", KEY, MIGRATE),
    refused("module", NONE, ADMINISTRATION),
    refused("monitor", KEY, MONITOR),
    refused("move", KEY, DATABASES),
    write("mset", range(1, -1, 2)),
    write("msetnx", range(1, -1, 2)),
    refused("multi", KEY, TRANSACTIONS),
    read("object", range(2, 2, 1)),
    write("persist", KEY),
    write("pexpire", KEY),
    write("pexpireat", KEY),
    read("pexpiretime", KEY),
    write("pfadd", KEY),
    read("pfcount", range(1, -1, 1)),
    refused("pfdebug", KEY, ADMINISTRATION),
    write("pfmerge", range(1, -1, 1)),
    refused("pfselftest", KEY, ADMINISTRATION),
    read("ping", NONE),
    write("psetex", KEY),
    refused("psubscribe", KEY, SUBSCRIPTIONS),
    refused("psync", KEY, REPLICATION),
    read("pttl", KEY),
    write("publish", NONE),
    write("pubsub", NONE),
    refused("punsubscribe", KEY, SUBSCRIPTIONS),
    refused("quit", KEY, CONNECTION),
    // A read, withheld: a /pipeline of a few thousand lists every key.
    write("randomkey", NONE),
    refused("readonly", KEY, CONNECTION),
    refused("readwrite", KEY, CONNECTION),
    write("rename", range(1, -1, 1)),
    write("renamenx", range(1, -1, 1)),
    refused("replconf", KEY, REPLICATION),
    refused("replicaof", KEY, REPLICATION),
    refused("reset", KEY, CONNECTION),
    write("restore", KEY),
    refused("restore-asking", KEY, ADMINISTRATION),
    refused("role", NONE, REPLICATION),
    write("rpop", KEY),
    write("rpoplpush", range(1, -1, 1)),
    write("rpush", KEY),
    write("rpushx", KEY),
    write("sadd", KEY),
    refused("save", NONE, PERSISTENCE),
    // A read, withheld as KEYS is.
    write("scan", NONE),
    read("scard", KEY),
    // SCRIPT has no row of its own: a subcommand not listed here is unclassified.
    refused("script|debug", NONE, DEBUGGER),
    write("script|exists", NONE),
    write("script|flush", NONE),
    write("script|help", NONE),
    write("script|kill", NONE),
    write("script|load", NONE),
    read("sdiff", range(1, -1, 1)),
    write("sdiffstore", range(1, -1, 1)),
    refused("select", KEY, CONNECTION),
    write("set", KEY),
    write("setbit", KEY).grows(Growth::SetBit),
    write("setex", KEY),
    write("setnx", KEY),
    write("setrange", KEY).grows(Growth::SetRange),
    refused("shutdown", KEY, ADMINISTRATION),
    read("sinter", range(1, -1, 1)),
    read("sintercard", numkeys(1)),
    write("sinterstore", range(1, -1, 1)),
    read("sismember", KEY),
    refused("slaveof", KEY, REPLICATION),
    refused("slowlog", NONE, ADMINISTRATION),
    read("smembers", KEY),
    read("smismember", KEY),
    write("smove", range(1, 2, 1)),
    write("sort", Keys::FirstAndStores),
    read("sort_ro", Keys::FirstAndStores),
    write("spop", KEY),
    write("spublish", NONE),
    read("srandmember", KEY).guarded(Guard::NegativeCount),
    write("srem", KEY),
    read("sscan", KEY),
    refused("ssubscribe", KEY, SUBSCRIPTIONS),
    read("strlen", KEY),
    refused("subscribe", KEY, SUBSCRIPTIONS),
    read("substr", KEY),
    read("sunion", range(1, -1, 1)),
    write("sunionstore", range(1, -1, 1)),
    refused("sunsubscribe", KEY, SUBSCRIPTIONS),
    refused("swapdb", NONE, DATABASES),
    refused("sync", KEY, REPLICATION),
    read("time", NONE),
    read("touch", range(1, -1, 1)),
    read("ttl", KEY),
    read("type", KEY),
    write("unlink", range(1, -1, 1)),
    refused("unsubscribe", KEY, SUBSCRIPTIONS),
    refused("unwatch", KEY, TRANSACTIONS),
    write("vadd", KEY),
    read("vcard", KEY),
    read("vdim", KEY),
    read("vemb", KEY),
    read("vgetattr", KEY),
    read("vinfo", KEY),
    read("vismember", KEY),
    read("vlinks", KEY),
    read("vrandmember", KEY),
    write("vrem", KEY),
    write("vsetattr", KEY),
    read("vsim", KEY),
    refused("wait", KEY, BLOCKING),
    refused("waitaof", KEY, BLOCKING),
    refused("watch", KEY, TRANSACTIONS),
    write("xack", KEY),
    write("xackdel", KEY),
    write("xadd", KEY),
    write("xautoclaim", KEY),
    write("xclaim", KEY),
    write("xdel", KEY),
    write("xdelex", KEY),
    write("xgroup", range(2, 2, 1)),
    read("xinfo", range(2, 2, 1)),
    read("xlen", KEY),
    read("xpending", KEY),
    read("xrange", KEY),
    read("xread", Keys::Streams).guarded(Guard::Block),
    write("xreadgroup", Keys::Streams).guarded(Guard::Block),
    read("xrevrange", KEY),
    write("xsetid", KEY),
    write("xtrim", KEY),
    write("zadd", KEY),
    read("zcard", KEY),
    read("zcount", KEY),
    read("zdiff", numkeys(1)),
    write("zdiffstore", Keys::DestinationNumKeys),
    write("zincrby", KEY),
    read("zinter", numkeys(1)),
    read("zintercard", numkeys(1)),
    write("zinterstore", Keys::DestinationNumKeys),
    read("zlexcount", KEY),
    write("zmpop", numkeys(1)),
    read("zmscore", KEY),
    write("zpopmax", KEY),
    write("zpopmin", KEY),
    read("zrandmember", KEY).guarded(Guard::NegativeCount),
    read("zrange", KEY),
    read("zrangebylex", KEY),
    read("zrangebyscore", KEY),
    write("zrangestore", range(1, 2, 1)),
    read("zrank", KEY),
    write("zrem", KEY),
    write("zremrangebylex", KEY),
    write("zremrangebyrank", KEY),
    write("zremrangebyscore", KEY),
    read("zrevrange", KEY),
    read("zrevrangebylex", KEY),
    read("zrevrangebyscore", KEY),
    read("zrevrank", KEY),
    read("zscan", KEY),
    read("zscore", KEY),
    read("zunion", numkeys(1)),
    write("zunionstore", Keys::DestinationNumKeys),
];

/// A command a read-only token may run.
const fn read(name: &'static str, keys: Keys) -> Row {
    Row { name, class: Class::Read, keys, growth: None, guard: None }
}

/// A command only a full token may run.
const fn write(name: &'static str, keys: Keys) -> Row {
    Row { name, class: Class::Write, keys, growth: None, guard: None }
}

/// A command refused for everyone, for `reason`.
const fn refused(name: &'static str, keys: Keys, reason: &'static str) -> Row {
    Row { name, class: Class::Refused(reason), keys, growth: None, guard: None }
}

/// `numkeys` at position `at`, then the keys.
const fn numkeys(at: usize) -> Keys {
    Keys::NumKeys { at }
}

/// Every `step`-th argument from position `first` to `last` (negative: counted from the end).
const fn range(first: usize, last: isize, step: usize) -> Keys {
    Keys::Range { first, last, step }
}

impl Row {
    /// This row, growing a value as `growth` says.
    const fn grows(self, growth: Growth) -> Self {
        Self { growth: Some(growth), ..self }
    }

    /// This row, refused for the arguments `guard` refuses.
    const fn guarded(self, guard: Guard) -> Self {
        Self { guard: Some(guard), ..self }
    }
}

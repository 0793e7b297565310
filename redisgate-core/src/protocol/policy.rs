//! The command policy: what may run over REST, and what a read-only token may run.
//!
//! The gateway multiplexes many HTTP requests onto one shared Redis connection, so anything that could block
//! that connection (BLPOP, WAIT, XREAD BLOCK…) or change its state (SELECT, MULTI, CLIENT, SUBSCRIBE…) is
//! refused before it reaches Redis. Pub/sub and MONITOR have their own SSE endpoints. A tenant is contained
//! as on a managed Redis: what would change the server's configuration, its users, its persistence or its
//! replication, or reach other hosts (CONFIG, ACL, SAVE, REPLICAOF, MIGRATE…), is refused too. Scripts are
//! contained inside Redis: the gateway's Redis user lacks those commands ([`crate::provisioning::acl`]).

use crate::protocol::Command;
use crate::{Error, Result};

/// What a token allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Every command the policy allows.
    Full,
    /// Read commands only, and not the "powerful" reads (KEYS, SCAN) — as Upstash's read-only token.
    ReadOnly,
}

impl Command {
    /// Checks this command against the REST policy and the caller's access.
    ///
    /// # Errors
    /// [`Error::CommandRefused`] for commands that never run over REST, [`Error::NoPermission`] for a
    /// write attempted with a read-only token.
    pub fn check(&self, access: Access) -> Result<()> {
        if let Some(reason) = refusal(self) {
            return Err(Error::CommandRefused { command: self.name_str(), reason });
        }
        if access == Access::ReadOnly && !is_read(self.name()) {
            return Err(Error::NoPermission(self.name_str()));
        }
        Ok(())
    }
}

/// Why a command is refused for everyone, or `None` when it may run. The table with the reason for each
/// row is in `docs/protocol.md`; [`crate::protocol::catalog`] lists what is allowed.
pub(crate) fn refusal(cmd: &Command) -> Option<&'static str> {
    let sub = |names: &[&[u8]]| cmd.args().first().is_some_and(|a| names.iter().any(|n| a.eq_ignore_ascii_case(n)));
    let reason = match cmd.name() {
        b"blpop" | b"brpop" | b"brpoplpush" | b"blmove" | b"blmpop" | b"bzpopmin" | b"bzpopmax" | b"bzmpop"
        | b"wait" | b"waitaof" => BLOCKING,
        b"xread" | b"xreadgroup" if has_block_option(cmd) => BLOCKING,
        b"multi" | b"exec" | b"watch" | b"unwatch" | b"discard" => "use the /multi-exec endpoint for transactions",
        b"subscribe" | b"psubscribe" | b"ssubscribe" | b"unsubscribe" | b"punsubscribe" | b"sunsubscribe" => {
            "use the /subscribe/<channel> or /psubscribe/<pattern> endpoint"
        }
        b"monitor" => "use the /monitor endpoint",
        b"select" | b"hello" | b"auth" | b"quit" | b"reset" | b"client" | b"readonly" | b"readwrite" | b"asking" => {
            "connection commands other than PING and ECHO are not supported"
        }
        b"config" => "the configuration is managed by RedisGate (resize through the management API)",
        b"acl" if !sub(&[b"whoami", b"cat"]) => "access is managed by RedisGate's tokens",
        b"migrate" => "MIGRATE would connect the server to other hosts",
        b"save" | b"bgsave" | b"bgrewriteaof" | b"lastsave" => "persistence is managed by RedisGate",
        b"sync" | b"psync" | b"replconf" | b"replicaof" | b"slaveof" | b"failover" | b"role" => {
            "replication is managed by RedisGate"
        }
        b"shutdown" | b"debug" | b"module" | b"pfdebug" | b"pfselftest" | b"restore-asking" | b"slowlog"
        | b"latency" => "administrative commands are not supported",
        b"swapdb" | b"move" => "only database 0 is served",
        b"script" if sub(&[b"debug"]) => "the script debugger takes over the connection",
        b"cluster" if !sub(&[b"keyslot"]) => "cluster commands are not supported",
        b"srandmember" | b"zrandmember" | b"hrandfield" if repeats_beyond(cmd, MAX_REPEATED) => {
            "a negative count beyond -10000 would build a reply too large to hold"
        }
        _ => return None,
    };
    Some(reason)
}

const BLOCKING: &str = "blocking commands are not supported";

/// Most elements SRANDMEMBER, ZRANDMEMBER and HRANDFIELD may repeat (a negative count): `SRANDMEMBER s
/// -20000000` on a one-member set builds a reply of twenty million elements, gigabytes in the gateway,
/// whatever the set's size. A positive count is bounded by the collection itself.
const MAX_REPEATED: i64 = 10_000;

/// Whether the command's count (the argument after the key) is a negative number below `-max`.
fn repeats_beyond(cmd: &Command, max: i64) -> bool {
    let count = cmd.args().get(1).and_then(|c| std::str::from_utf8(c).ok()?.parse::<i64>().ok());
    count.is_some_and(|count| count < -max)
}

/// `XREAD [COUNT n] [BLOCK ms] STREAMS ...` and `XREADGROUP GROUP g c [COUNT n] [BLOCK ms] [NOACK] STREAMS
/// ...`: walks the options (skipping their values, so a group, consumer or count named `block` or `streams`
/// is not taken for the keyword) up to STREAMS.
fn has_block_option(cmd: &Command) -> bool {
    let args = cmd.args();
    let mut i = 0;
    while let Some(arg) = args.get(i) {
        let word = |w: &[u8]| arg.eq_ignore_ascii_case(w);
        if word(b"streams") {
            return false;
        }
        if word(b"block") {
            return true;
        }
        i += if word(b"group") && cmd.name() == b"xreadgroup" {
            3
        } else if word(b"count") {
            2
        } else {
            1
        };
    }
    false
}

/// Read commands a read-only token may run: those Redis flags `readonly`, minus KEYS and SCAN, minus the
/// read-only scripts (EVAL_RO, EVALSHA_RO, FCALL_RO): Redis lets a read-only script call KEYS and SCAN, so a
/// read-only token could list every key through one; minus RANDOMKEY (a `/pipeline` of a few thousand lists
/// every key as well) and LCS (O(N·M) in CPU and memory: a read-only token is often public, in a browser).
fn is_read(name: &[u8]) -> bool {
    matches!(
        name,
        b"ping" | b"echo" | b"time" | b"dbsize" | b"exists" | b"type" | b"ttl" | b"pttl" | b"expiretime"
            | b"pexpiretime" | b"touch" | b"object" | b"dump" | b"memory"
            // strings and bits
            | b"get" | b"mget" | b"strlen" | b"getrange" | b"substr" | b"getbit" | b"bitcount"
            | b"bitpos" | b"bitfield_ro"
            // hashes
            | b"hget" | b"hmget" | b"hgetall" | b"hkeys" | b"hvals" | b"hlen" | b"hexists" | b"hstrlen"
            | b"hrandfield" | b"hscan" | b"httl" | b"hpttl" | b"hexpiretime" | b"hpexpiretime"
            // lists
            | b"lrange" | b"llen" | b"lindex" | b"lpos"
            // sets
            | b"smembers" | b"sismember" | b"smismember" | b"scard" | b"srandmember" | b"sinter"
            | b"sunion" | b"sdiff" | b"sintercard" | b"sscan"
            // sorted sets
            | b"zrange" | b"zrangebyscore" | b"zrangebylex" | b"zrevrange" | b"zrevrangebyscore"
            | b"zrevrangebylex" | b"zscore" | b"zmscore" | b"zcard" | b"zcount" | b"zlexcount" | b"zrank"
            | b"zrevrank" | b"zrandmember" | b"zscan" | b"zinter" | b"zunion" | b"zdiff" | b"zintercard"
            // streams (XREAD without BLOCK; BLOCK is refused earlier)
            | b"xrange" | b"xrevrange" | b"xlen" | b"xread" | b"xinfo" | b"xpending"
            // hyperloglog, geo
            | b"pfcount" | b"geopos" | b"geodist" | b"geohash" | b"geosearch" | b"georadius_ro"
            | b"georadiusbymember_ro"
            // RedisJSON reads
            | b"json.get" | b"json.mget" | b"json.type" | b"json.strlen" | b"json.arrlen" | b"json.objkeys"
            | b"json.objlen" | b"json.arrindex" | b"json.resp"
    )
}

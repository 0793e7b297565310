//! Typed helpers for the everyday commands. Each is [`Client::cmd`] with the command's name and
//! arguments; the reply converts into any `T: FromRedisValue` (`String`, `Vec<u8>`, `Option<_>`, numbers,
//! `Vec<_>`, `HashMap<_, _>`...). For anything else, call [`Client::cmd`] directly.

use redis::{FromRedisValue, ToRedisArgs};

use crate::client::CmdFuture;
use crate::Client;

macro_rules! helpers {
    ($( $(#[$doc:meta])* $name:ident => $cmd:literal ( $($arg:ident),* ) ; )*) => {
        impl Client {
            $(
                $(#[$doc])*
                ///
                /// # Errors
                /// As [`Client::cmd`].
                pub fn $name<T: FromRedisValue>(&self, $($arg: impl ToRedisArgs),*) -> CmdFuture<'_, T> {
                    self.cmd(($cmd, $($arg),*))
                }
            )*
        }
    };
}

helpers! {
    /// `PING`.
    ping => "PING" ();
    /// `ECHO message`.
    echo => "ECHO" (message);
    /// `GET key`.
    get => "GET" (key);
    /// `SET key value`.
    set => "SET" (key, value);
    /// `SETNX key value`.
    set_nx => "SETNX" (key, value);
    /// `GETDEL key`.
    getdel => "GETDEL" (key);
    /// `MGET keys...` (pass a slice or `Vec`).
    mget => "MGET" (keys);
    /// `MSET key value [key value ...]` (pass a slice of pairs).
    mset => "MSET" (pairs);
    /// `APPEND key value`.
    append => "APPEND" (key, value);
    /// `STRLEN key`.
    strlen => "STRLEN" (key);
    /// `INCRBY key by`.
    incr_by => "INCRBY" (key, by);
    /// `DECRBY key by`.
    decr_by => "DECRBY" (key, by);
    /// `INCRBYFLOAT key by`.
    incr_by_float => "INCRBYFLOAT" (key, by);
    /// `DEL keys...`.
    del => "DEL" (keys);
    /// `EXISTS keys...`.
    exists => "EXISTS" (keys);
    /// `EXPIRE key seconds`.
    expire => "EXPIRE" (key, seconds);
    /// `PEXPIRE key milliseconds`.
    pexpire => "PEXPIRE" (key, milliseconds);
    /// `TTL key`.
    ttl => "TTL" (key);
    /// `PTTL key`.
    pttl => "PTTL" (key);
    /// `PERSIST key`.
    persist => "PERSIST" (key);
    /// `TYPE key`.
    key_type => "TYPE" (key);
    /// `RENAME key new_key`.
    rename => "RENAME" (key, new_key);
    /// `HSET key field value`.
    hset => "HSET" (key, field, value);
    /// `HSET key field value [field value ...]` (pass a slice of pairs).
    hset_multiple => "HSET" (key, pairs);
    /// `HGET key field`.
    hget => "HGET" (key, field);
    /// `HGETALL key` (into a `HashMap`).
    hgetall => "HGETALL" (key);
    /// `HDEL key fields...`.
    hdel => "HDEL" (key, fields);
    /// `HEXISTS key field`.
    hexists => "HEXISTS" (key, field);
    /// `HINCRBY key field by`.
    hincr_by => "HINCRBY" (key, field, by);
    /// `HKEYS key`.
    hkeys => "HKEYS" (key);
    /// `HLEN key`.
    hlen => "HLEN" (key);
    /// `LPUSH key values...`.
    lpush => "LPUSH" (key, values);
    /// `RPUSH key values...`.
    rpush => "RPUSH" (key, values);
    /// `LPOP key`.
    lpop => "LPOP" (key);
    /// `RPOP key`.
    rpop => "RPOP" (key);
    /// `LRANGE key start stop`.
    lrange => "LRANGE" (key, start, stop);
    /// `LLEN key`.
    llen => "LLEN" (key);
    /// `SADD key members...`.
    sadd => "SADD" (key, members);
    /// `SREM key members...`.
    srem => "SREM" (key, members);
    /// `SMEMBERS key`.
    smembers => "SMEMBERS" (key);
    /// `SISMEMBER key member`.
    sismember => "SISMEMBER" (key, member);
    /// `SCARD key`.
    scard => "SCARD" (key);
    /// `ZADD key score member`.
    zadd => "ZADD" (key, score, member);
    /// `ZREM key members...`.
    zrem => "ZREM" (key, members);
    /// `ZSCORE key member`.
    zscore => "ZSCORE" (key, member);
    /// `ZINCRBY key by member`.
    zincr_by => "ZINCRBY" (key, by, member);
    /// `ZRANGE key start stop`.
    zrange => "ZRANGE" (key, start, stop);
    /// `ZCARD key`.
    zcard => "ZCARD" (key);
    /// `ZRANK key member`.
    zrank => "ZRANK" (key, member);
    /// `PUBLISH channel message`.
    publish => "PUBLISH" (channel, message);
    /// `DBSIZE`.
    dbsize => "DBSIZE" ();
}

impl Client {
    /// `SET key value EX seconds`.
    ///
    /// # Errors
    /// As [`Client::cmd`].
    pub fn set_ex<T: FromRedisValue>(
        &self,
        key: impl ToRedisArgs,
        value: impl ToRedisArgs,
        seconds: u64,
    ) -> CmdFuture<'_, T> {
        self.cmd(("SET", key, value, "EX", seconds))
    }

    /// `SCAN cursor MATCH pattern COUNT count` → `(next cursor, keys)`.
    ///
    /// # Errors
    /// As [`Client::cmd`].
    pub fn scan<T: FromRedisValue>(&self, cursor: u64, pattern: impl ToRedisArgs, count: u64) -> CmdFuture<'_, T> {
        self.cmd(("SCAN", cursor, "MATCH", pattern, "COUNT", count))
    }

    /// `ZRANGE key start stop WITHSCORES` → e.g. `Vec<(String, f64)>`.
    ///
    /// # Errors
    /// As [`Client::cmd`].
    pub fn zrange_withscores<T: FromRedisValue>(
        &self,
        key: impl ToRedisArgs,
        start: i64,
        stop: i64,
    ) -> CmdFuture<'_, T> {
        self.cmd(("ZRANGE", key, start, stop, "WITHSCORES"))
    }

    /// `EVAL script numkeys keys... args...`.
    ///
    /// # Errors
    /// As [`Client::cmd`].
    pub fn eval<T: FromRedisValue, K: ToRedisArgs, A: ToRedisArgs>(
        &self,
        script: &str,
        keys: &[K],
        args: &[A],
    ) -> CmdFuture<'_, T> {
        self.cmd(("EVAL", script, keys.len(), keys, args))
    }

    /// `EVALSHA sha numkeys keys... args...` (falls back to nothing: on `NOSCRIPT`, call [`Client::eval`]).
    ///
    /// # Errors
    /// As [`Client::cmd`].
    pub fn evalsha<T: FromRedisValue, K: ToRedisArgs, A: ToRedisArgs>(
        &self,
        sha: &str,
        keys: &[K],
        args: &[A],
    ) -> CmdFuture<'_, T> {
        self.cmd(("EVALSHA", sha, keys.len(), keys, args))
    }

    /// `SCRIPT LOAD script` → the script's SHA-1.
    ///
    /// # Errors
    /// As [`Client::cmd`].
    pub fn script_load(&self, script: &str) -> CmdFuture<'_, String> {
        self.cmd(("SCRIPT", "LOAD", script))
    }

    /// `INCR key`.
    ///
    /// # Errors
    /// As [`Client::cmd`].
    pub fn incr(&self, key: impl ToRedisArgs) -> CmdFuture<'_, i64> {
        self.cmd(("INCR", key))
    }

    /// `DECR key`.
    ///
    /// # Errors
    /// As [`Client::cmd`].
    pub fn decr(&self, key: impl ToRedisArgs) -> CmdFuture<'_, i64> {
        self.cmd(("DECR", key))
    }
}

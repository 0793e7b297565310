//! Which arguments of a command are keys, following the key specifications of Redis's `COMMAND INFO`
//! (first key, last key, step, or a `numkeys` argument). Used to enforce the per-instance key size limit.
//!
//! The table covers the commands the REST policy lets through; an unknown command is assumed to take its
//! key first (as most do). Keyless commands (PING, PUBLISH, SCRIPT...) have no keys.

use crate::protocol::Command;

impl Command {
    /// The arguments that name keys.
    #[must_use]
    pub fn keys(&self) -> Vec<&[u8]> {
        let args = self.args();
        let all = |from: usize| args.iter().skip(from).map(Vec::as_slice).collect();
        let counted = |at: usize| {
            let n = args.get(at).and_then(|n| std::str::from_utf8(n).ok()?.parse::<usize>().ok()).unwrap_or(0);
            args.iter().skip(at + 1).take(n).map(Vec::as_slice).collect()
        };
        match self.name() {
            b"ping" | b"echo" | b"time" | b"dbsize" | b"info" | b"lastsave" | b"flushall" | b"flushdb"
            | b"randomkey" | b"keys" | b"scan" | b"script" | b"function" | b"config" | b"command" | b"publish"
            | b"spublish" | b"pubsub" | b"slowlog" | b"latency" | b"lolwut" | b"swapdb" | b"acl" | b"module"
            | b"role" | b"save" | b"bgsave" | b"bgrewriteaof" => Vec::new(),
            // Every argument is a key.
            b"del" | b"unlink" | b"exists" | b"touch" | b"mget" | b"sinter" | b"sunion" | b"sdiff" | b"pfcount"
            | b"pfmerge" | b"rename" | b"renamenx" | b"sinterstore" | b"sunionstore" | b"sdiffstore" | b"rpoplpush" => {
                all(0)
            }
            // Two keys first, then other arguments.
            b"smove" | b"copy" | b"lmove" | b"geosearchstore" | b"zrangestore" | b"lcs" => {
                args.iter().take(2).map(Vec::as_slice).collect()
            }
            // key value key value ...
            b"mset" | b"msetnx" => args.iter().step_by(2).map(Vec::as_slice).collect(),
            // numkeys key...
            b"zunion" | b"zinter" | b"zdiff" | b"zintercard" | b"sintercard" | b"lmpop" | b"zmpop" => counted(0),
            // script numkeys key... / function numkeys key...
            b"eval" | b"evalsha" | b"eval_ro" | b"evalsha_ro" | b"fcall" | b"fcall_ro" => counted(1),
            // destination numkeys key...
            b"zunionstore" | b"zinterstore" | b"zdiffstore" => {
                let mut keys: Vec<&[u8]> = args.first().map(Vec::as_slice).into_iter().collect();
                keys.extend(counted(1));
                keys
            }
            // operation destination key...
            b"bitop" => all(1),
            // subcommand key
            b"object" | b"memory" | b"xinfo" | b"xgroup" => args.get(1).map(Vec::as_slice).into_iter().collect(),
            // key ... [STORE key] [STOREDIST key]
            b"sort" | b"sort_ro" | b"georadius" | b"georadiusbymember" => {
                let stored = args.windows(2).filter_map(|pair| {
                    let option = &pair[0];
                    (option.eq_ignore_ascii_case(b"store") || option.eq_ignore_ascii_case(b"storedist"))
                        .then_some(pair[1].as_slice())
                });
                args.first().map(Vec::as_slice).into_iter().chain(stored).collect()
            }
            // key path value key path value ...
            b"json.mset" => args.iter().step_by(3).map(Vec::as_slice).collect(),
            // ... STREAMS key... id...
            b"xread" | b"xreadgroup" => {
                let Some(at) = args.iter().position(|a| a.eq_ignore_ascii_case(b"streams")) else {
                    return Vec::new();
                };
                let rest = &args[at + 1..];
                rest.iter().take(rest.len() / 2).map(Vec::as_slice).collect()
            }
            // key... path
            b"json.mget" => args.iter().take(args.len().saturating_sub(1)).map(Vec::as_slice).collect(),
            _ => args.first().map(Vec::as_slice).into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::protocol::Command;

    fn keys(words: &[&str]) -> Vec<String> {
        let cmd = Command::new(words[0].into(), words[1..].iter().map(|w| w.as_bytes().to_vec()).collect()).unwrap();
        cmd.keys().into_iter().map(|k| String::from_utf8(k.to_vec()).unwrap()).collect()
    }

    #[test]
    fn finds_the_keys_of_each_key_spec_shape() {
        assert_eq!(keys(&["GET", "a"]), ["a"]);
        assert_eq!(keys(&["set", "a", "value", "EX", "10"]), ["a"]);
        assert_eq!(keys(&["del", "a", "b", "c"]), ["a", "b", "c"]);
        assert_eq!(keys(&["mset", "a", "1", "b", "2"]), ["a", "b"]);
        assert_eq!(keys(&["eval", "return 1", "2", "a", "b", "arg"]), ["a", "b"]);
        assert_eq!(keys(&["zunionstore", "d", "2", "a", "b", "WEIGHTS", "1", "2"]), ["d", "a", "b"]);
        assert_eq!(keys(&["zinter", "2", "a", "b"]), ["a", "b"]);
        assert_eq!(keys(&["bitop", "AND", "d", "a", "b"]), ["d", "a", "b"]);
        assert_eq!(keys(&["xread", "COUNT", "2", "STREAMS", "s1", "s2", "0", "0"]), ["s1", "s2"]);
        assert_eq!(keys(&["object", "encoding", "a"]), ["a"]);
        assert_eq!(keys(&["lmove", "a", "b", "LEFT", "RIGHT"]), ["a", "b"]);
        assert_eq!(keys(&["json.mget", "a", "b", "$"]), ["a", "b"]);
        assert_eq!(keys(&["json.mset", "a", "$", "1", "b", "$", "2"]), ["a", "b"]);
        assert_eq!(keys(&["xinfo", "STREAM", "s"]), ["s"]);
        assert_eq!(keys(&["xgroup", "CREATE", "s", "g", "$"]), ["s"]);
        assert_eq!(keys(&["sort", "l", "LIMIT", "0", "5", "STORE", "dst"]), ["l", "dst"]);
        assert_eq!(keys(&["georadius", "g", "0", "0", "5", "km", "STOREDIST", "d"]), ["g", "d"]);
    }

    #[test]
    fn keyless_commands_have_none() {
        assert!(keys(&["ping"]).is_empty());
        assert!(keys(&["publish", "channel", "message"]).is_empty());
        assert!(keys(&["eval", "return 1", "0", "arg"]).is_empty());
        assert!(keys(&["eval", "return 1", "nonsense"]).is_empty());
    }
}

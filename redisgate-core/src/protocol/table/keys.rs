//! Which arguments of a command are keys, following the key specifications of Redis's `COMMAND INFO`
//! (first key, last key, step, or a `numkeys` argument). Used to enforce the per-instance key size limit.

use crate::protocol::Command;

/// Where a command's keys are among its arguments. Positions count as `COMMAND INFO` counts them: the name
/// is 0, its first argument 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keys {
    /// No argument is a key (PING, PUBLISH, SCRIPT LOAD...).
    Keyless,
    /// Every `step`-th argument from position `first` to position `last` (negative: from the end, -1 being
    /// the last argument), as far as there are arguments.
    Range {
        /// The first key's position (1 or more).
        first: usize,
        /// The last key's position, or counted from the end when negative.
        last: isize,
        /// The distance between two keys (1 or more).
        step: usize,
    },
    /// `numkeys` at position `at`, then that many keys (ZUNION and LMPOP at 1, EVAL and FCALL at 2).
    NumKeys {
        /// The position of `numkeys`.
        at: usize,
    },
    /// A destination key, then `numkeys` and that many keys (ZUNIONSTORE, ZINTERSTORE, ZDIFFSTORE).
    DestinationNumKeys,
    /// The first argument, and the argument after each STORE or STOREDIST option (SORT, GEORADIUS).
    FirstAndStores,
    /// The first half of what follows STREAMS (XREAD, XREADGROUP: `STREAMS key... id...`).
    Streams,
}

impl Keys {
    /// The key of a command taking its key first, as most do.
    pub const FIRST: Self = Self::Range { first: 1, last: 1, step: 1 };

    /// The keys among `args` (a command's arguments, after its name).
    #[must_use]
    pub fn of(self, args: &[Vec<u8>]) -> Vec<&[u8]> {
        let counted = |at: usize| {
            let n = args.get(at - 1).and_then(|n| std::str::from_utf8(n).ok()?.parse::<usize>().ok()).unwrap_or(0);
            args.iter().skip(at).take(n).map(Vec::as_slice)
        };
        match self {
            Self::Keyless => Vec::new(),
            Self::Range { first, last, step } => {
                let count = args.len() as isize;
                let last = if last < 0 { count + 1 + last } else { last.min(count) };
                (first as isize..=last).step_by(step).map(|at| args[at as usize - 1].as_slice()).collect()
            }
            Self::NumKeys { at } => counted(at).collect(),
            Self::DestinationNumKeys => args.first().map(Vec::as_slice).into_iter().chain(counted(2)).collect(),
            Self::FirstAndStores => {
                let stored = args.windows(2).filter_map(|pair| {
                    let option = &pair[0];
                    (option.eq_ignore_ascii_case(b"store") || option.eq_ignore_ascii_case(b"storedist"))
                        .then_some(pair[1].as_slice())
                });
                args.first().map(Vec::as_slice).into_iter().chain(stored).collect()
            }
            Self::Streams => {
                let Some(at) = args.iter().position(|a| a.eq_ignore_ascii_case(b"streams")) else {
                    return Vec::new();
                };
                let rest = &args[at + 1..];
                rest.iter().take(rest.len() / 2).map(Vec::as_slice).collect()
            }
        }
    }
}

impl Command {
    /// The arguments that name keys, as its row says. A command without a row is taken to have its key first
    /// (as most do), unless it is classified per subcommand (SCRIPT): its first argument is a subcommand.
    #[must_use]
    pub fn keys(&self) -> Vec<&[u8]> {
        let keys = match self.row() {
            Some(row) => row.keys,
            None if super::has_subcommands(self.name()) => Keys::Keyless,
            None => Keys::FIRST,
        };
        keys.of(self.args())
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

    #[test]
    fn commands_without_a_row_take_their_key_first_unless_classified_per_subcommand() {
        assert_eq!(keys(&["module.command", "k", "v"]), ["k"]);
        assert!(keys(&["script", "no-such-subcommand", "x"]).is_empty());
    }
}

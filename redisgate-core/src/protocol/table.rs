//! The command table: one row for each Redis command (and each subcommand of a command whose subcommands
//! differ), with all the gateway knows about it — whether it runs and for whom, which arguments are keys,
//! and whether it grows a value beyond its arguments. Adding a command is adding one row to [`ROWS`].
//!
//! The rows cover every command of Redis 7.0 and 8.2 (with RedisJSON and vector sets). A command without a
//! row is unclassified: the gateway forwards it (a module of a Redis run in standalone mode may add commands),
//! and on the instances RedisGate provisions the gateway's Redis user still lacks every `@admin` and
//! `@dangerous` command ([`crate::provisioning::acl`]). The integration test
//! `every_command_of_this_redis_is_classified` reads `COMMAND` from the Redis it runs against and fails on any
//! name without a row, so a new Redis version cannot add a command nobody looked at.

mod growth;
mod guard;
mod keys;
mod rows;

use std::sync::LazyLock;

use rustc_hash::FxHashMap;

use crate::protocol::Command;

pub use growth::Growth;
pub use guard::Guard;
pub use keys::Keys;
pub use rows::ROWS;

/// What the gateway knows about one command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Row {
    /// The command's name in lower case, `name|subcommand` for a subcommand that differs from its command.
    pub name: &'static str,
    /// Whether it runs, and for which tokens.
    pub class: Class,
    /// Which of its arguments are keys (for the key size limit).
    pub keys: Keys,
    /// How it grows a value beyond the size of its arguments (for the record size limit), if it does.
    pub growth: Option<Growth>,
    /// What refuses it for some arguments only, if anything does.
    pub guard: Option<Guard>,
}

/// How the REST policy treats one command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// It runs, also with a read-only token.
    Read,
    /// It runs with a full token only: a write, or a read withheld from read-only tokens (KEYS, SCAN...).
    Write,
    /// It is refused for everyone, for this reason.
    Refused(&'static str),
}

impl Row {
    /// Why this row refuses `command` (a command of this row: its arguments may matter), or `None` when it
    /// may run.
    #[must_use]
    pub fn refusal(&self, command: &Command) -> Option<&'static str> {
        match self.class {
            Class::Refused(reason) => Some(reason),
            Class::Read | Class::Write => self.guard.and_then(|guard| guard.refusal(command)),
        }
    }
}

/// The row of the command `name` whose first argument is `subcommand` (both in any case): the subcommand's
/// own row if it has one, else the command's; `None` when nobody classified it.
#[must_use]
pub fn find(name: &str, subcommand: Option<&str>) -> Option<&'static Row> {
    lookup(name.to_ascii_lowercase().as_bytes(), subcommand.map(str::as_bytes))
}

/// The longest `name|subcommand` a row has room for (longer ones have no row).
const LONGEST: usize = 48;

/// What the index knows under one name: its row, and whether the command has rows for subcommands.
#[derive(Default)]
struct Entry {
    row: Option<&'static Row>,
    has_subcommands: bool,
}

/// Every row by its name (`name` and `name|subcommand`), built once from [`ROWS`]: a command is found by
/// one hash of its name, and a subcommand looked for only when its command has some.
static INDEX: LazyLock<FxHashMap<&'static [u8], Entry>> = LazyLock::new(|| {
    let mut index = FxHashMap::<&'static [u8], Entry>::default();
    for row in ROWS {
        index.entry(row.name.as_bytes()).or_default().row = Some(row);
        if let Some((command, _)) = row.name.split_once('|') {
            index.entry(command.as_bytes()).or_default().has_subcommands = true;
        }
    }
    index
});

/// [`find`] with `name` in lower case: the `name|first` row (`first` in any case), else the `name` row.
pub(crate) fn lookup(name: &[u8], first: Option<&[u8]>) -> Option<&'static Row> {
    let entry = INDEX.get(name)?;
    let sub = first.filter(|sub| entry.has_subcommands && name.len() + 1 + sub.len() <= LONGEST);
    let subcommand = sub.and_then(|sub| {
        let mut key = [0_u8; LONGEST];
        let (head, tail) = key.split_at_mut(name.len() + 1);
        head[..name.len()].copy_from_slice(name);
        head[name.len()] = b'|';
        for (to, from) in tail.iter_mut().zip(sub) {
            *to = from.to_ascii_lowercase();
        }
        INDEX.get(&key[..name.len() + 1 + sub.len()])?.row
    });
    subcommand.or(entry.row)
}

/// Whether some row is a subcommand of `name` (SCRIPT's, ACL's...): the first argument of such a command
/// names a subcommand, never a key.
fn has_subcommands(name: &[u8]) -> bool {
    INDEX.get(name).is_some_and(|entry| entry.has_subcommands)
}

#[cfg(test)]
mod tests;

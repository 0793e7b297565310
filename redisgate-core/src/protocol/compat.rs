//! Upstash-only behaviour that code written for Upstash relies on, emulated on plain Redis
//! (protocol.md §M). Each emulation turns the command into one plain Redis understands:
//!
//! - `SCAN <cursor> ... WITHTYPE` → a Lua script that scans and asks `TYPE` for each key, answering
//!   Upstash's flat `[cursor, [key, type, key, type, ...]]`.
//! - `#!lua flags=allow-key-locking` (Upstash's key-level locking, prepended by `@upstash/ratelimit`) is
//!   removed from the shebang of EVAL/EVAL_RO/SCRIPT LOAD scripts. The client computes the SHA-1 of the
//!   *original* script for EVALSHA, so the rewrite records the alias original → normalized SHA in
//!   [`ScriptAliases`], which resolves later EVALSHA and SCRIPT EXISTS calls.
//! - `UNLINK` with no keys is `0` on Upstash → `EVAL "return 0" 0`.
//!
//! [`ScriptAliases::prepare`] is the one entry point: the gateway calls it on every policy-checked command.

use std::collections::HashMap;
use std::sync::{PoisonError, RwLock};

use sha1::{Digest, Sha1};

use crate::protocol::Command;

/// Remembered script aliases (original SHA → normalized SHA), and the emulations that use them.
///
/// The mapping is a pure function of the script, so one map serves every instance of a process; losing it (a
/// restart, another replica) only costs the client its usual NOSCRIPT → EVAL fallback, which records the alias
/// again. Bounded: cleared when full.
#[derive(Debug, Default)]
pub struct ScriptAliases {
    map: RwLock<HashMap<String, String>>,
}

impl ScriptAliases {
    /// Most aliases kept before the map starts over.
    const CAPACITY: usize = 10_000;

    /// Applies the Upstash emulations to a policy-checked command, recording and resolving script aliases.
    pub fn prepare(&self, mut command: Command) -> Command {
        if let Some((original, normalized)) = command.emulate_upstash() {
            let mut map = self.map.write().unwrap_or_else(PoisonError::into_inner);
            if map.len() >= Self::CAPACITY {
                map.clear();
            }
            map.insert(original, normalized);
        }
        command.resolve_script_shas(|sha| self.map.read().unwrap_or_else(PoisonError::into_inner).get(sha).cloned());
        command
    }
}

/// The script `SCAN … WITHTYPE` becomes: `EVAL SCAN_WITHTYPE 0 <cursor> <SCAN's other arguments>`.
pub const SCAN_WITHTYPE: &str = "local r = redis.call('SCAN', unpack(ARGV)) \
local out = {} \
for _, k in ipairs(r[2]) do out[#out + 1] = k; out[#out + 1] = redis.call('TYPE', k).ok end \
return {r[1], out}";

impl Command {
    /// Rewrites Upstash-only forms into plain Redis commands, in place (most commands are none of them, and
    /// are neither moved nor copied); returns the script alias it established, if any: `(sha1 of the script
    /// as the client sent it, sha1 of the script Redis will cache)`, lower-case hex.
    pub fn emulate_upstash(&mut self) -> Option<(String, String)> {
        match self.name() {
            b"scan" if self.args().iter().any(|a| a.eq_ignore_ascii_case(b"withtype")) => {
                let mut args = vec![SCAN_WITHTYPE.as_bytes().to_vec(), b"0".to_vec()];
                args.extend(self.args().iter().filter(|a| !a.eq_ignore_ascii_case(b"withtype")).cloned());
                *self = Self::from_parts(b"eval", args);
                None
            }
            b"unlink" if self.args().is_empty() => {
                *self = Self::from_parts(b"eval", vec![b"return 0".to_vec(), b"0".to_vec()]);
                None
            }
            b"eval" | b"eval_ro" => self.map_script(0),
            b"script" if self.args().first().is_some_and(|a| a.eq_ignore_ascii_case(b"load")) => self.map_script(1),
            _ => None,
        }
    }

    /// Replaces script SHAs (EVALSHA, EVALSHA_RO, SCRIPT EXISTS) for which `lookup` knows an alias.
    pub fn resolve_script_shas(&mut self, lookup: impl Fn(&str) -> Option<String>) {
        let range = match self.name() {
            b"evalsha" | b"evalsha_ro" => 0..1.min(self.args().len()),
            b"script" if self.args().first().is_some_and(|a| a.eq_ignore_ascii_case(b"exists")) => 1..self.args().len(),
            _ => return,
        };
        for index in range {
            let Ok(sha) = std::str::from_utf8(&self.args()[index]) else {
                continue;
            };
            if let Some(alias) = lookup(&sha.to_ascii_lowercase()) {
                self.set_arg(index, alias.into_bytes());
            }
        }
    }

    /// Strips the key-locking flag from the script at `index`, if it has one: the alias that makes.
    fn map_script(&mut self, index: usize) -> Option<(String, String)> {
        let normalized = strip_key_locking(self.args().get(index)?)?;
        let alias = (sha1_hex(&self.args()[index]), sha1_hex(&normalized));
        self.set_arg(index, normalized);
        Some(alias)
    }

    fn from_parts(name: &[u8], args: Vec<Vec<u8>>) -> Self {
        Self::known(name.into(), args.into())
    }
}

/// The script without the `allow-key-locking` flag, or `None` when its shebang does not carry it. A shebang
/// left without flags is blanked (keeping line numbers), so the script runs as an ordinary EVAL script.
fn strip_key_locking(script: &[u8]) -> Option<Vec<u8>> {
    let end = script.iter().position(|&b| b == b'\n').unwrap_or(script.len());
    let first = std::str::from_utf8(&script[..end]).ok()?;
    let rest = first.strip_prefix("#!")?;
    let mut words = rest.split_whitespace();
    let engine = words.next()?;
    let mut kept_options = Vec::new();
    let mut found = false;
    for word in words {
        match word.strip_prefix("flags=") {
            Some(flags) => {
                let others: Vec<&str> = flags.split(',').filter(|f| *f != "allow-key-locking").collect();
                found |= others.len() != flags.split(',').count();
                if !others.is_empty() {
                    kept_options.push(format!("flags={}", others.join(",")));
                }
            }
            None => kept_options.push(word.to_owned()),
        }
    }
    if !found {
        return None;
    }
    let mut out = if kept_options.is_empty() {
        Vec::new()
    } else {
        format!("#!{engine} {}", kept_options.join(" ")).into_bytes()
    };
    out.extend_from_slice(&script[end..]);
    Some(out)
}

/// Lower-case hex SHA-1, as Redis names scripts.
#[must_use]
pub fn sha1_hex(bytes: &[u8]) -> String {
    Sha1::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

//! Script SHA aliases for the `allow-key-locking` emulation (see `redisgate_core::protocol::compat`).
//!
//! The mapping original SHA → normalized SHA is a pure function of the script, so one process-wide map
//! ([`ALIASES`]) serves every instance and every worker, and losing it (a restart, another replica) only costs the client its usual
//! NOSCRIPT → EVAL fallback, which records the alias again.

use std::collections::HashMap;
use std::sync::{LazyLock, RwLock};

use redisgate_core::protocol::Command;

/// The process-wide aliases.
pub static ALIASES: LazyLock<ScriptAliases> = LazyLock::new(ScriptAliases::default);

/// Remembered aliases; bounded, cleared when full.
#[derive(Default)]
pub struct ScriptAliases {
    map: RwLock<HashMap<String, String>>,
}

impl ScriptAliases {
    /// Most aliases kept before the map starts over.
    const CAPACITY: usize = 10_000;

    /// Applies the Upstash emulations to a policy-checked command, recording and resolving script aliases.
    pub fn prepare(&self, command: Command) -> Command {
        let emulated = command.emulate_upstash();
        if let Some((original, normalized)) = emulated.script_alias {
            if let Ok(mut map) = self.map.write() {
                if map.len() >= Self::CAPACITY {
                    map.clear();
                }
                map.insert(original, normalized);
            }
        }
        let mut command = emulated.command;
        command.resolve_script_shas(|sha| self.map.read().ok()?.get(sha).cloned());
        command
    }
}

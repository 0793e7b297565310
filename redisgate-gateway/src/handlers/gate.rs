//! The gate every command of a request passes before it runs: the REST policy and the token's access, the
//! size limits, the Upstash emulations, and the budgets its answer must fit.

use std::sync::Arc;

use redisgate_core::limits::Limits;
use redisgate_core::protocol::compat::ScriptAliases;
use redisgate_core::protocol::{Access, Command};

use crate::replies::ReplyBytes;

/// What every command of one request passes before it runs. Every endpoint that runs commands goes through
/// [`Gate::ready`].
pub struct Gate<'a> {
    /// The token's access.
    pub access: Access,
    /// The instance's and the key's limits combined.
    pub limits: &'a Limits,
    /// The process's script aliases.
    pub scripts: &'a ScriptAliases,
    /// Most bytes this request's answer may take (the server's `--max-response-bytes`, or the instance's
    /// `max_response_size` if smaller).
    pub max_response: usize,
    /// The process's reply budget, and its size.
    pub replies: (&'a Arc<ReplyBytes>, usize),
}

impl Gate<'_> {
    /// Readies one command: the REST policy and the token's access, the size limits, then the Upstash
    /// emulations (script aliases, SCAN WITHTYPE...).
    pub(super) fn ready(&self, command: Command) -> Result<Command, redisgate_core::Error> {
        command.check(self.access)?;
        self.limits.check_command(&command)?;
        Ok(self.scripts.prepare(command))
    }
}

//! The command policy: what may run over REST, and what a read-only token may run.
//!
//! The gateway multiplexes many HTTP requests onto one shared Redis connection, so anything that could block
//! that connection (BLPOP, WAIT, XREAD BLOCK…) or change its state (SELECT, MULTI, CLIENT, SUBSCRIBE…) is
//! refused before it reaches Redis. Pub/sub and MONITOR have their own SSE endpoints. A tenant is contained
//! as on a managed Redis: what would change the server's configuration, its users, its persistence or its
//! replication, or reach other hosts (CONFIG, ACL, SAVE, REPLICAOF, MIGRATE…), is refused too. Scripts are
//! contained inside Redis: the gateway's Redis user lacks those commands ([`crate::provisioning::acl`]).
//!
//! Each command's class (read, write, or refused and why) is its row in [`crate::protocol::table`]; the
//! refusals and their reasons are listed in `docs/protocol.md`.

use crate::protocol::table::Class;
use crate::protocol::Command;
use crate::{Error, Result};

text_enum! {
    /// What a token allows.
    pub enum Access {
        /// Every command the policy allows.
        Full = "full",
        /// Read commands only, and not the "powerful" reads (KEYS, SCAN) — as Upstash's read-only token.
        ReadOnly = "readonly",
    }
}

impl Command {
    /// Checks this command against the REST policy and the caller's access.
    ///
    /// # Errors
    /// [`Error::CommandRefused`] for commands that never run over REST, [`Error::NoPermission`] for a
    /// write attempted with a read-only token (or a command nobody classified).
    pub fn check(&self, access: Access) -> Result<()> {
        let row = self.row();
        if let Some(reason) = row.and_then(|row| row.refusal(self)) {
            return Err(Error::CommandRefused { command: self.name_str(), reason });
        }
        if access == Access::ReadOnly && !row.is_some_and(|row| row.class == Class::Read) {
            return Err(Error::NoPermission(self.name_str()));
        }
        Ok(())
    }
}

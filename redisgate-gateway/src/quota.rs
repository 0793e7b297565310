//! Enforcing the limits of instances and API keys on the data plane, and counting usage.
//!
//! A [`Meter`] holds one instance's (or one key's) limits with the state they need: a GCRA rate limiter
//! (`governor`), the number of requests in progress and, for instances, the day's command count
//! ([`Usage`]). Meters live in [`Meters`], one registry per process shared by every worker, so a limit holds
//! for the whole process whatever worker a request lands on. Directories rebuild their snapshots often; they
//! ask the registry for meters instead of creating them, so counts survive a rebuild, and a meter whose
//! limits changed keeps its usage and its requests in progress.
//!
//! One file per idea: `usage` counts the day's commands, `meter` enforces one instance's or key's limits for
//! a request, `meters` is the registry.
//!
//! The hot path costs a few atomic operations: nothing is locked, nothing waits on the database. The day's
//! count is shared between gateway replicas through PostgreSQL by `redisgate_platform::usage`; rates and
//! concurrent requests are enforced by each process on its own (see docs/configuration.md, "Limits").

mod meter;
mod meters;
mod usage;

use uuid::Uuid;

pub use meter::{Allowance, Meter, Slot};
pub use meters::Meters;
pub use usage::{today, Usage};

/// The instance and organization a usage count is recorded for (platform mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// The instance.
    pub instance: Uuid,
    /// Its organization.
    pub organization: Uuid,
}

//! Model types, one file per resource, each with its queries.

mod api_key;
mod audit;
mod instance;
mod organization;
mod usage;
mod user;

pub use api_key::{ApiKey, NewApiKey};
pub use audit::AuditEntry;
pub use instance::{Instance, InstanceChanges, InstanceToken, NewInstance};
pub use organization::{Membership, Organization};
pub use usage::DailyUsage;
pub use user::User;

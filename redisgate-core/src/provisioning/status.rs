//! Where an instance is in its lifecycle ([`InstanceStatus`]), what can go wrong provisioning it
//! ([`ProvisionError`]), and what the lifecycle does about it ([`InstanceStatus::after_failure`]).
//!
//! ```text
//! pending ──▶ provisioning ──▶ running
//!                  │  ▲            │
//!                  ▼  │            ▼
//!                 failed ◀──── (gone, invalid)
//! any ──▶ deleting ──▶ (row removed) │ failed (deletion failed)
//! ```

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Where an instance is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "store", derive(diesel::AsExpression, diesel::FromSqlRow))]
#[cfg_attr(feature = "store", diesel(sql_type = diesel::sql_types::Text))]
#[serde(rename_all = "lowercase")]
pub enum InstanceStatus {
    /// Recorded; provisioning has not started.
    Pending,
    /// Its server is being started.
    Provisioning,
    /// Its server runs and the gateway serves it.
    Running,
    /// Provisioning (or deletion) failed; `status_message` says why. `PUT …/status` tries again.
    Failed,
    /// Being deleted: its server stops, then its row goes.
    Deleting,
}

/// What the lifecycle does with an instance after a platform restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resume {
    /// Make sure its server runs again (create it afresh if nothing is left and it never ran).
    Adopt,
    /// Start provisioning it.
    Create,
    /// Finish deleting it.
    Delete,
    /// Nothing (a failed instance waits for `PUT …/status`).
    Leave,
}

/// What the lifecycle does after a provisioning attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// Try the same again after this long.
    Retry(Duration),
    /// Nothing is left to adopt: provision it afresh.
    Recreate,
    /// Record the instance `failed`, with the error as its message.
    Fail,
    /// Leave the status as it is (a running instance is not marked failed for a passing error); the next
    /// restart or `PUT …/status` tries again.
    Keep,
}

/// Attempts made for a transient error before giving up.
pub const TRANSIENT_ATTEMPTS: u32 = 5;

impl InstanceStatus {
    /// Every status.
    pub const ALL: [Self; 5] = [Self::Pending, Self::Provisioning, Self::Running, Self::Failed, Self::Deleting];

    /// The name stored and sent (`running`, ...).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Provisioning => "provisioning",
            Self::Running => "running",
            Self::Failed => "failed",
            Self::Deleting => "deleting",
        }
    }

    /// Whether an instance in this status may move to `next`.
    #[must_use]
    pub fn can_become(self, next: Self) -> bool {
        use InstanceStatus::{Deleting, Failed, Pending, Provisioning, Running};
        match (self, next) {
            // Deleting again is harmless (a repeated DELETE).
            (_, Deleting) => true,
            (Pending | Failed | Running, Provisioning) => true,
            (Provisioning | Running, Running) => true,
            (Provisioning | Running | Deleting, Failed) => true,
            _ => false,
        }
    }

    /// The statuses an instance may come from to become `next` (a status update applies only from these).
    pub fn sources(next: Self) -> impl Iterator<Item = Self> {
        Self::ALL.into_iter().filter(move |status| status.can_become(next))
    }

    /// What a platform restart does with an instance recorded in this status.
    #[must_use]
    pub fn on_resume(self) -> Resume {
        match self {
            Self::Running | Self::Provisioning => Resume::Adopt,
            Self::Pending => Resume::Create,
            Self::Deleting => Resume::Delete,
            Self::Failed => Resume::Leave,
        }
    }

    /// What to do after attempt number `attempt` (from 1) to bring up an instance recorded in this status
    /// failed with `error`.
    #[must_use]
    pub fn after_failure(self, error: &ProvisionError, attempt: u32) -> Next {
        match error {
            ProvisionError::Transient(_) if attempt < TRANSIENT_ATTEMPTS => {
                Next::Retry(Duration::from_millis(250) * 2_u32.pow(attempt - 1))
            }
            // A running instance stays running through an outage of the API server: its server most likely
            // still runs, and marking it failed would stop the gateway from serving it.
            ProvisionError::Transient(_) if self == Self::Running => Next::Keep,
            ProvisionError::Transient(_) => Next::Fail,
            // Never ran, or already failed: nothing of value is lost by starting afresh. A running instance
            // whose data vanished is reported, not silently replaced by an empty one.
            ProvisionError::Gone(_) if self != Self::Running => Next::Recreate,
            ProvisionError::Gone(_) | ProvisionError::Invalid(_) | ProvisionError::Refused(_) => Next::Fail,
        }
    }
}

impl std::fmt::Display for InstanceStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for InstanceStatus {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|s| s.as_str() == text).ok_or_else(|| format!("unknown instance status {text:?}"))
    }
}

/// Why a provisioner could not do what was asked. Messages are for the instance's status: no secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProvisionError {
    /// Nothing to adopt: the server and its data are gone, or never were.
    #[error("{0}")]
    Gone(String),
    /// Worth retrying: the API server, the network or the machine had a bad moment.
    #[error("{0}")]
    Transient(String),
    /// Retrying soon will not help: an unusable binary or state directory, an object the cluster refuses, a
    /// server that did not become ready in the time allowed.
    #[error("{0}")]
    Invalid(String),
    /// Not possible for this instance, whatever the retries: a topology or a provisioner that cannot do it,
    /// an RDB file that does not load. Nothing was changed.
    #[error("{0}")]
    Refused(String),
}

impl ProvisionError {
    /// The message for the tenant: host paths (the server binary, the state directory) are replaced by
    /// `<path>`. The whole message goes to the log.
    #[must_use]
    pub fn public_message(&self) -> String {
        let (Self::Gone(message) | Self::Transient(message) | Self::Invalid(message) | Self::Refused(message)) = self;
        message
            .split(' ')
            .map(|word| {
                let start = word.len() - word.trim_start_matches(['"', '\'', '(', '`']).len();
                if word[start..].starts_with('/') {
                    let end = word.rfind(['"', '\'', ')', '`', ',', ':']).filter(|&i| i > start).unwrap_or(word.len());
                    format!("{}<path>{}", &word[..start], &word[end..])
                } else {
                    word.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The same error, its message prefixed with `context` (`"<context>: <message>"`).
    #[must_use]
    pub fn context(self, context: &str) -> Self {
        match self {
            Self::Gone(m) => Self::Gone(format!("{context}: {m}")),
            Self::Transient(m) => Self::Transient(format!("{context}: {m}")),
            Self::Invalid(m) => Self::Invalid(format!("{context}: {m}")),
            Self::Refused(m) => Self::Refused(format!("{context}: {m}")),
        }
    }
}

#[cfg(feature = "store")]
mod column {
    use diesel::deserialize::{self, FromSql};
    use diesel::pg::{Pg, PgValue};
    use diesel::serialize::{self, Output, ToSql};
    use diesel::sql_types::Text;

    use super::InstanceStatus;

    impl FromSql<Text, Pg> for InstanceStatus {
        fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {
            let text = <String as FromSql<Text, Pg>>::from_sql(bytes)?;
            Ok(text.parse()?)
        }
    }

    impl ToSql<Text, Pg> for InstanceStatus {
        fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {
            <str as ToSql<Text, Pg>>::to_sql(self.as_str(), out)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn public_messages_hide_host_paths() {
        let e = super::ProvisionError::Invalid(
            "could not start \"/usr/bin/redis-server\" in /var/lib/redisgate/instances/abc: No such file".into(),
        );
        assert_eq!(e.public_message(), "could not start \"<path>\" in <path>: No such file");
    }

    use super::*;

    #[test]
    fn statuses_read_back_as_written() {
        for status in InstanceStatus::ALL {
            assert_eq!(status.as_str().parse::<InstanceStatus>(), Ok(status));
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
        assert!("Running".parse::<InstanceStatus>().is_err());
    }

    #[test]
    fn transitions_follow_the_lifecycle() {
        use InstanceStatus::*;
        assert!(Pending.can_become(Provisioning) && Provisioning.can_become(Running));
        assert!(Failed.can_become(Provisioning) && Running.can_become(Failed) && Running.can_become(Deleting));
        assert!(!Pending.can_become(Running), "a server is provisioned before it runs");
        assert!(!Deleting.can_become(Provisioning) && !Deleting.can_become(Running));
    }

    #[test]
    fn a_passing_error_never_fails_a_running_instance() {
        let transient = ProvisionError::Transient("the API server is unavailable".into());
        assert_eq!(InstanceStatus::Running.after_failure(&transient, 1), Next::Retry(Duration::from_millis(250)));
        assert_eq!(InstanceStatus::Running.after_failure(&transient, 3), Next::Retry(Duration::from_secs(1)));
        assert_eq!(InstanceStatus::Running.after_failure(&transient, TRANSIENT_ATTEMPTS), Next::Keep);
        assert_eq!(InstanceStatus::Provisioning.after_failure(&transient, TRANSIENT_ATTEMPTS), Next::Fail);
    }

    #[test]
    fn gone_is_recreated_unless_it_ran_and_invalid_fails() {
        let gone = ProvisionError::Gone("no data directory".into());
        assert_eq!(InstanceStatus::Provisioning.after_failure(&gone, 1), Next::Recreate);
        assert_eq!(InstanceStatus::Failed.after_failure(&gone, 1), Next::Recreate);
        assert_eq!(InstanceStatus::Running.after_failure(&gone, 1), Next::Fail);
        let invalid = ProvisionError::Invalid("redis-server not found".into());
        assert_eq!(InstanceStatus::Provisioning.after_failure(&invalid, 1), Next::Fail);
    }
}

//! The client's one error type.

use std::collections::BTreeMap;

/// What can go wrong talking to the server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The token or session was refused (401).
    #[error("authentication failed: {0}")]
    Auth(String),
    /// Redis (or the gateway's command policy) refused the command; the text is Redis's.
    #[error("{0}")]
    Redis(String),
    /// The management API refused the input: one message per field.
    #[error("invalid input: {}", fields.iter().map(|(field, message)| format!("{field}: {message}")).collect::<Vec<_>>().join("; "))]
    Validation {
        /// Field → message.
        fields: BTreeMap<String, String>,
    },
    /// Any other non-2xx answer, with the server's message.
    #[error("HTTP {status}: {message}")]
    Http {
        /// The status code.
        status: u16,
        /// The server's `error` text.
        message: String,
    },
    /// An instance failed to provision; `message` is the provisioner's reason.
    #[error("instance {instance} failed to provision: {message}")]
    ProvisioningFailed {
        /// The instance's name.
        instance: String,
        /// Why.
        message: String,
    },
    /// An instance was still not running when a wait gave up (it may still come up).
    #[error("instance {instance} is still {status} after {} s", waited.as_secs())]
    NotRunning {
        /// The instance's name.
        instance: String,
        /// Its status then (`pending`, `provisioning`...).
        status: redisgate_core::provisioning::InstanceStatus,
        /// How long was waited.
        waited: std::time::Duration,
    },
    /// The reply could not be decoded, or not into the type asked for.
    #[error("cannot decode the reply: {0}")]
    Decode(String),
    /// The request timed out.
    #[error("the request timed out")]
    Timeout,
    /// The server could not be reached, or the connection broke.
    #[error("cannot reach the server: {0}")]
    Transport(#[source] reqwest::Error),
    /// The client was configured wrongly (a missing URL or token, an invalid header).
    #[error("invalid configuration: {0}")]
    Config(String),
}

impl Error {
    /// The HTTP status, for errors that have one.
    #[must_use]
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Auth(_) => Some(401),
            Self::Validation { .. } => Some(422),
            Self::Http { status, .. } => Some(*status),
            _ => None,
        }
    }
}

impl From<reqwest::Error> for Error {
    fn from(error: reqwest::Error) -> Self {
        if error.is_timeout() {
            Self::Timeout
        } else {
            Self::Transport(error)
        }
    }
}

impl From<redis::ParsingError> for Error {
    fn from(error: redis::ParsingError) -> Self {
        Self::Decode(error.to_string())
    }
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

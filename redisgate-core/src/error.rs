//! The one error type of `redisgate-core`.
//!
//! Every variant's `Display` is the exact text a REST client receives in `{"error": "..."}`, in the style of
//! Redis's own error replies (`ERR ...`, `NOPERM ...`), because that is what Upstash clients show their users.

/// Errors produced while turning a request into commands or while checking a command against the policy.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The request could not be understood: malformed JSON, wrong argument types, an empty command.
    #[error("ERR {0}")]
    InvalidRequest(String),
    /// The command exists but is never run over REST (blocking, connection state, pub/sub outside SSE...).
    #[error("ERR command '{command}' is not supported over REST: {reason}")]
    CommandRefused {
        /// Lower-cased command name.
        command: String,
        /// Why the gateway refuses it.
        reason: &'static str,
    },
    /// A read-only token tried to run a command that is not a read.
    #[error("NOPERM this user has no permissions to run the '{0}' command")]
    NoPermission(String),
    /// The `Upstash-Encoding` / `Upstash-Response-Format` headers ask for something unsupported.
    #[error("ERR {0}")]
    InvalidFormat(String),
    /// Redis replied with a type the REST protocol has no shape for (a future `redis::Value` variant).
    #[error("ERR the gateway cannot encode a reply of type {0}")]
    UnsupportedReply(&'static str),
    /// Input of the management API failed validation: field → message.
    #[error("validation failed")]
    Validation(std::collections::BTreeMap<String, String>),
    /// Missing, invalid or expired credentials.
    #[error("invalid or missing credentials")]
    Unauthenticated,
    /// Something that should not fail did (hashing, signing).
    #[error("internal error: {0}")]
    Internal(String),
    /// The request body is larger than the configured limit.
    #[error("ERR max request size exceeded")]
    RequestTooLarge,
    /// The reply is larger than the request may receive (`--max-response-bytes`, or the instance's
    /// `max_response_size`); the limit in bytes.
    #[error("ERR max response size exceeded. Limit: {0} bytes")]
    ResponseTooLarge(u64),
    /// An argument is larger than the instance's record size limit.
    #[error("ERR max single record size exceeded")]
    RecordTooLarge,
    /// A key is larger than the instance's key size limit.
    #[error("ERR max key size exceeded. Limit: {limit} bytes, Actual: {actual} bytes")]
    KeyTooLarge {
        /// The limit in bytes.
        limit: u64,
        /// The offending key's size in bytes.
        actual: u64,
    },
}

/// `Result` with this crate's [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Shorthand for [`Error::InvalidRequest`].
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::InvalidRequest(message.into())
    }
}

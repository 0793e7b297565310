//! The one error type of `redisgate-operator`.
//!
//! Reconcile failures are requeued with backoff and counted in the metrics by [`Error::metric_label`], so
//! every variant names its cause in a stable, low-cardinality label. The Kubernetes provisioner turns these
//! errors into the plain messages the control plane stores, so no variant carries a secret.

/// Everything that can go wrong while reconciling or provisioning.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A call to the Kubernetes API failed (network, RBAC, conflict, server error).
    #[error("Kubernetes API error: {0}")]
    Kube(#[source] kube::Error),
    /// The resource's spec cannot be turned into running objects; it will not fix itself.
    #[error("invalid spec: {0}")]
    InvalidSpec(String),
    /// The password Secret exists but has no usable `password` key.
    #[error("Secret {0} has no non-empty key `password`")]
    SecretInvalid(String),
    /// An object the API returned lacks a field that it always has on a real server.
    #[error("object has no {0}")]
    MissingField(&'static str),
    /// A JSON body could not be built or read.
    #[error("serialization failed: {0}")]
    Serialization(#[source] serde_json::Error),
    /// An instance did not become ready in time.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The operator or provisioner was configured wrongly.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The instance has nothing left on the cluster to adopt.
    #[error("{0}")]
    Gone(String),
    /// A Redis server of an instance could not be reached or refused what the operator asked.
    #[error("{0}")]
    Server(String),
}

/// `Result` with this crate's [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A short label for the `reconcile_failures` metric.
    #[must_use]
    pub fn metric_label(&self) -> &'static str {
        match self {
            Self::Kube(_) => "kube",
            Self::InvalidSpec(_) => "invalid_spec",
            Self::SecretInvalid(_) => "secret_invalid",
            Self::MissingField(_) => "missing_field",
            Self::Serialization(_) => "serialization",
            Self::Timeout(_) => "timeout",
            Self::Config(_) => "config",
            Self::Gone(_) => "gone",
            Self::Server(_) => "server",
        }
    }

    /// Whether the API answered with this HTTP status code.
    #[must_use]
    pub fn is_status(&self, code: u16) -> bool {
        matches!(self, Self::Kube(kube::Error::Api(status)) if status.code == code)
    }
}

impl From<Error> for redisgate_core::provisioning::ProvisionError {
    /// What the control plane's lifecycle needs to know: whether retrying soon can help. The API server's
    /// 5xx, 408 and 429 and a broken connection to it are passing; any other refusal is not, and neither is
    /// a pod that did not become ready within `ready_timeout` (that patience is already spent).
    fn from(error: Error) -> Self {
        let passing = match &error {
            Error::Kube(kube::Error::Api(status)) => status.code >= 500 || matches!(status.code, 408 | 429),
            Error::Kube(_) => true,
            _ => false,
        };
        match error {
            Error::Gone(message) => Self::Gone(message),
            other if passing => Self::Transient(other.to_string()),
            other => Self::Invalid(other.to_string()),
        }
    }
}

impl From<kube::Error> for Error {
    fn from(error: kube::Error) -> Self {
        Self::Kube(error)
    }
}

impl From<serde_json::Error> for Error {
    fn from(error: serde_json::Error) -> Self {
        Self::Serialization(error)
    }
}

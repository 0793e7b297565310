//! [`UpstreamError`]: why a request to Redis got no reply, classified once, where it happened.
//!
//! redis-rs reports every failure as a `RedisError`; which one it is (a refused connection, one that broke
//! under a request, a timeout, a TLS handshake) is read here from its kinds and the `io::Error` and rustls
//! error it wraps, never from its text. The gateway's error type then only picks the status.

use std::error::Error as _;
use std::io;
use std::sync::Arc;

use redis::RedisError;

/// A request that got no reply from Redis, or a transaction Redis refused as a whole.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// The Sentinel-managed master is gone and the sentinels name no other yet (a failover in progress);
    /// retrying in a second may succeed. The detail says what was seen.
    #[error("ERR redis master is failing over, try again in a second")]
    FailingOver(String),
    /// The TLS handshake with Redis failed; the text says why (logged once by the upstream).
    #[error("ERR TLS to redis failed: {0}")]
    Tls(String),
    /// Redis did not answer in time.
    #[error("ERR redis timed out")]
    Timeout(#[source] RedisError),
    /// The connection closed while a request was in flight: Redis stopped, or closed the connection because
    /// a reply outgrew its `client-output-buffer-limit` (64 MiB on the instances RedisGate provisions).
    #[error("ERR redis closed the connection before replying: it stopped, or the reply was over its output limit ({} MiB on RedisGate's instances)", redisgate_core::provisioning::acl::MAX_REPLY_BYTES >> 20)]
    Closed(#[source] RedisError),
    /// Redis could not be reached (refused, unresolvable, not configured right).
    #[error("ERR redis unavailable")]
    Unavailable(#[source] RedisError),
    /// Redis refused a transaction as a whole (EXECABORT): the first queued command's error reply.
    #[error("{}", redisgate_core::protocol::encode::error_text(.0))]
    Refused(redis::ServerError),
    /// The replies weighed more than the request's response limit, which this is: they were dropped as they
    /// came. The gateway's error type answers it as the encoder's own refusal, whose text this is.
    #[error("{}", redisgate_core::Error::ResponseTooLarge(*.0 as u64))]
    TooLarge(usize),
    /// A transaction on a Redis Cluster whose keys span slots: no one node can run it atomically.
    #[error("CROSSSLOT a /multi-exec on a Redis Cluster needs all its keys in one hash slot: give them a common hash tag, such as {{user1}}:a and {{user1}}:b")]
    CrossSlot,
}

impl UpstreamError {
    /// Whether the connection under the request broke (the metrics count these as reconnects).
    #[must_use]
    pub fn broke_connection(&self) -> bool {
        match self {
            Self::Timeout(e) | Self::Closed(e) | Self::Unavailable(e) => e.is_unrecoverable_error(),
            Self::FailingOver(_) | Self::Tls(_) | Self::Refused(_) | Self::CrossSlot | Self::TooLarge(_) => false,
        }
    }

    /// Whether the server the request went to may be gone: for a Sentinel-managed master, time to ask
    /// where it is now.
    #[must_use]
    pub fn lost_server(&self) -> bool {
        match self {
            Self::Timeout(_) | Self::Closed(_) => true,
            Self::Unavailable(e) => e.is_io_error() || e.is_connection_refusal(),
            Self::Refused(e) => e.code() == "READONLY",
            Self::FailingOver(_) | Self::Tls(_) | Self::CrossSlot | Self::TooLarge(_) => false,
        }
    }
}

impl From<RedisError> for UpstreamError {
    fn from(error: RedisError) -> Self {
        if let Some(problem) = tls_problem(&error) {
            return Self::Tls(problem);
        }
        if error.is_timeout() {
            return Self::Timeout(error);
        }
        // redis-rs reports a connection that closed under a request as a broken pipe (its
        // `closed_connection_error`); one that cannot be made is refused, or fails to resolve.
        if io_kind(&error) == Some(io::ErrorKind::BrokenPipe) {
            return Self::Closed(error);
        }
        if error.code().is_some() {
            // An aborted transaction carries its queued commands' errors; the first says what was wrong.
            let first = error.clone().into_server_errors().and_then(|errors| errors.first().map(|(_, e)| e.clone()));
            if let Some(first) = first {
                return Self::Refused(first);
            }
        }
        Self::Unavailable(error)
    }
}

impl From<super::link::Failed> for UpstreamError {
    fn from(failed: super::link::Failed) -> Self {
        match failed {
            super::link::Failed::Redis(error) => error.into(),
            super::link::Failed::TooLarge(limit) => Self::TooLarge(limit),
        }
    }
}

impl From<crate::sentinel::NoMaster> for UpstreamError {
    fn from(crate::sentinel::NoMaster(detail): crate::sentinel::NoMaster) -> Self {
        Self::FailingOver(detail)
    }
}

impl From<redis::ServerError> for UpstreamError {
    fn from(error: redis::ServerError) -> Self {
        Self::Refused(error)
    }
}

type Shared = Arc<dyn std::error::Error + Send + Sync>;

/// The kind of the `io::Error` a `RedisError` wraps (redis-rs keeps it in an `Arc`, behind `source`).
fn io_kind(error: &RedisError) -> Option<io::ErrorKind> {
    let inner = error.source()?;
    let io = inner.downcast_ref::<io::Error>().or_else(|| inner.downcast_ref::<Shared>()?.downcast_ref())?;
    Some(io.kind())
}

/// The rustls error `error` is or wraps: redis-rs keeps an `io::Error` (in an `Arc`) whose payload is the
/// rustls error, and `io::Error::source` skips the payload, so each wrapper is opened by hand.
fn rustls_error<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = error.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    if let Some(io) = error.downcast_ref::<io::Error>() {
        return io.get_ref().and_then(|inner| rustls_error(inner));
    }
    error.downcast_ref::<Shared>().and_then(|inner| rustls_error(&**inner))
}

/// What went wrong in the TLS handshake with Redis, in words, or `None` when `error` is not a TLS failure.
fn tls_problem(error: &RedisError) -> Option<String> {
    use rustls::{AlertDescription, CertificateError, Error as Tls};
    let mut source: Option<&(dyn std::error::Error + 'static)> = error.source();
    while let Some(current) = source {
        if let Some(tls) = rustls_error(current) {
            return Some(match tls {
                Tls::InvalidCertificate(CertificateError::UnknownIssuer) => {
                    "the server's certificate is not signed by a trusted CA (unknown issuer)".to_owned()
                }
                Tls::InvalidCertificate(CertificateError::Expired | CertificateError::ExpiredContext { .. }) => {
                    "the server's certificate has expired".to_owned()
                }
                Tls::InvalidCertificate(
                    CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
                ) => "the server's certificate is not valid for its address (name mismatch)".to_owned(),
                Tls::AlertReceived(AlertDescription::CertificateRequired | AlertDescription::HandshakeFailure) => {
                    "the server refused the handshake: it requires a client certificate".to_owned()
                }
                Tls::AlertReceived(AlertDescription::UnknownCA | AlertDescription::BadCertificate) => {
                    "the server refused the client certificate".to_owned()
                }
                other => other.to_string(),
            });
        }
        source = current.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_classified_by_kind_not_text() {
        let closed = RedisError::from(io::Error::from(io::ErrorKind::BrokenPipe));
        assert!(matches!(UpstreamError::from(closed), UpstreamError::Closed(_)));
        let refused = RedisError::from(io::Error::from(io::ErrorKind::ConnectionRefused));
        let refused = UpstreamError::from(refused);
        assert!(matches!(refused, UpstreamError::Unavailable(_)) && refused.lost_server());
        let timeout = RedisError::from(io::Error::from(io::ErrorKind::TimedOut));
        assert!(matches!(UpstreamError::from(timeout), UpstreamError::Timeout(_)));
        // A message that merely mentions a broken pipe is not one.
        let worded = RedisError::from((redis::ErrorKind::Client, "broken pipe", "said, not seen".to_owned()));
        assert!(matches!(UpstreamError::from(worded), UpstreamError::Unavailable(_)));
        let aborted = UpstreamError::from(redis::make_extension_error("READONLY".into(), Some("replica".into())));
        assert!(matches!(&aborted, UpstreamError::Refused(e) if e.code() == "READONLY") && aborted.lost_server());
        assert_eq!(aborted.to_string(), "READONLY replica");
        let tls = io::Error::other(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer));
        let tls = UpstreamError::from(RedisError::from(tls));
        assert!(matches!(&tls, UpstreamError::Tls(why) if why.contains("unknown issuer")), "{tls:?}");
    }
}

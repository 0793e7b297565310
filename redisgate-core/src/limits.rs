//! Limits of an instance or of an API key: the rates the gateway enforces, and the sizes of what a request
//! may carry. Every field is optional; an unset field means no limit.
//!
//! The same shape is stored in PostgreSQL (as JSON), accepted by the management API and read from the
//! standalone config file. The gateway enforces the rates ([`Limits::max_requests_per_second`], the daily
//! quota, concurrent requests); [`Limits::check_command`] and [`Limits::max_body`] are the pure size checks.

use std::num::{NonZeroU32, NonZeroU64};

use serde::{Deserialize, Serialize};

use crate::protocol::Command;
use crate::{Error, Result};

/// The largest answer to one request unless the gateway is told otherwise (`--max-response-bytes`); an
/// instance's `max_response_size` may only lower it.
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

/// Limits of an instance, or of one API key on top of its instance's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "store", derive(diesel::AsExpression, diesel::FromSqlRow))]
#[cfg_attr(feature = "store", diesel(sql_type = diesel::sql_types::Jsonb))]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Commands per second (a pipeline of ten counts ten), with a burst of one second's worth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_requests_per_second: Option<NonZeroU32>,
    /// Commands per UTC day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_daily_requests: Option<NonZeroU64>,
    /// Requests in progress at once (an open SSE stream counts until it closes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent_connections: Option<NonZeroU32>,
    /// Largest request body in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_request_size: Option<NonZeroU64>,
    /// Largest single argument (a key or a value) in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_record_size: Option<NonZeroU64>,
    /// Largest key in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_key_size: Option<NonZeroU64>,
    /// Largest answer in bytes, as sent (JSON escapes and base64 included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_response_size: Option<NonZeroU64>,
}

impl Limits {
    /// The names of every field, as serialized.
    pub const FIELDS: [&'static str; 7] = [
        "max_requests_per_second",
        "max_daily_requests",
        "max_concurrent_connections",
        "max_request_size",
        "max_record_size",
        "max_key_size",
        "max_response_size",
    ];

    /// No limit at all (`{}`).
    #[must_use]
    pub fn unlimited() -> Self {
        Self::default()
    }

    /// `true` when nothing is limited.
    #[must_use]
    pub fn is_unlimited(&self) -> bool {
        *self == Self::default()
    }

    /// The largest body to read: this limit or `ceiling` (the server's), whichever is smaller.
    #[must_use]
    pub fn max_body(&self, ceiling: usize) -> usize {
        self.max_request_size.map_or(ceiling, |max| usize::try_from(max.get()).unwrap_or(usize::MAX).min(ceiling))
    }

    /// These limits, with `default` as the record size when they set none: every instance's values are
    /// bounded, whatever its plan.
    #[must_use]
    pub fn with_record_size_default(mut self, default: Option<NonZeroU64>) -> Self {
        self.max_record_size = self.max_record_size.or(default);
        self
    }

    /// The largest answer to send: this limit or `ceiling` (the server's), whichever is smaller.
    #[must_use]
    pub fn max_response(&self, ceiling: usize) -> usize {
        self.max_response_size.map_or(ceiling, |max| usize::try_from(max.get()).unwrap_or(usize::MAX).min(ceiling))
    }

    /// Checks the sizes of one command's arguments and keys.
    ///
    /// # Errors
    /// [`Error::RecordTooLarge`] or [`Error::KeyTooLarge`], with Upstash's texts.
    pub fn check_command(&self, command: &Command) -> Result<()> {
        if let Some(max) = self.max_record_size {
            if command.args().iter().any(|arg| arg.len() as u64 > max.get()) {
                return Err(Error::RecordTooLarge);
            }
            // SETRANGE, SETBIT and BITFIELD grow a value to their offset in one small command (their row's growth).
            let grown = command.row().and_then(|row| row.growth?.size(command.args()));
            if grown.is_some_and(|size| size > max.get()) {
                return Err(Error::RecordTooLarge);
            }
        }
        if let Some(max) = self.max_key_size {
            if let Some(key) = command.keys().into_iter().find(|key| key.len() as u64 > max.get()) {
                return Err(Error::KeyTooLarge { limit: max.get(), actual: key.len() as u64 });
            }
        }
        Ok(())
    }

    /// The stricter of two sets of limits, field by field (an instance's and a key's).
    #[must_use]
    pub fn strictest(&self, other: &Self) -> Self {
        fn min<T: Ord + Copy>(a: Option<T>, b: Option<T>) -> Option<T> {
            match (a, b) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        }
        Self {
            max_requests_per_second: min(self.max_requests_per_second, other.max_requests_per_second),
            max_daily_requests: min(self.max_daily_requests, other.max_daily_requests),
            max_concurrent_connections: min(self.max_concurrent_connections, other.max_concurrent_connections),
            max_request_size: min(self.max_request_size, other.max_request_size),
            max_record_size: min(self.max_record_size, other.max_record_size),
            max_key_size: min(self.max_key_size, other.max_key_size),
            max_response_size: min(self.max_response_size, other.max_response_size),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(json: &str) -> Limits {
        serde_json::from_str(json).unwrap()
    }

    fn command(words: &[&[u8]]) -> Command {
        Command::new(words[0].to_vec(), words[1..].iter().map(|w| w.to_vec()).collect()).unwrap()
    }

    #[test]
    fn unset_fields_are_unlimited_and_omitted() {
        let none = limits("{}");
        assert!(none.is_unlimited());
        assert_eq!(serde_json::to_string(&none).unwrap(), "{}");
        let some = limits(r#"{"max_key_size": 4}"#);
        assert_eq!(serde_json::to_string(&some).unwrap(), r#"{"max_key_size":4}"#);
    }

    #[test]
    fn zero_and_unknown_fields_are_refused() {
        assert!(serde_json::from_str::<Limits>(r#"{"max_key_size": 0}"#).is_err());
        assert!(serde_json::from_str::<Limits>(r#"{"max_keys": 1}"#).is_err());
    }

    #[test]
    fn record_and_key_sizes_are_checked() {
        let l = limits(r#"{"max_record_size": 8, "max_key_size": 4}"#);
        assert_eq!(l.check_command(&command(&[b"set", b"abcd", b"12345678"])), Ok(()));
        assert_eq!(l.check_command(&command(&[b"set", b"abcd", b"123456789"])), Err(Error::RecordTooLarge));
        let err = l.check_command(&command(&[b"set", b"abcde", b"1"])).unwrap_err();
        assert_eq!(err, Error::KeyTooLarge { limit: 4, actual: 5 });
        assert_eq!(err.to_string(), "ERR max key size exceeded. Limit: 4 bytes, Actual: 5 bytes");
        // A long argument that is not a key is only a record.
        assert_eq!(l.check_command(&command(&[b"publish", b"channel", b"x"])), Ok(()));
        // An offset grows the value without a long argument.
        assert_eq!(l.check_command(&command(&[b"setrange", b"k", b"7", b"x"])), Ok(()));
        assert_eq!(l.check_command(&command(&[b"setrange", b"k", b"8000000", b"x"])), Err(Error::RecordTooLarge));
        assert_eq!(l.check_command(&command(&[b"setbit", b"k", b"63", b"1"])), Ok(()));
        assert_eq!(l.check_command(&command(&[b"setbit", b"k", b"64", b"1"])), Err(Error::RecordTooLarge));
        // BITFIELD writes as far as its furthest SET or INCRBY field; GET grows nothing.
        let bitfield =
            |args: &[&[u8]]| l.check_command(&command(&[&[b"bitfield".as_slice(), b"k"][..], args].concat()));
        assert_eq!(bitfield(&[b"SET", b"u8", b"#7", b"1"]), Ok(()));
        assert_eq!(bitfield(&[b"SET", b"u8", b"#100000", b"1"]), Err(Error::RecordTooLarge));
        assert_eq!(bitfield(&[b"GET", b"u8", b"0", b"INCRBY", b"i16", b"56", b"1"]), Err(Error::RecordTooLarge));
        assert_eq!(bitfield(&[b"GET", b"u8", b"#100000"]), Ok(()));
        assert_eq!(
            bitfield(&[b"OVERFLOW", b"SAT", b"SET", b"u8", b"999999999999999999999", b"1"]),
            Err(Error::RecordTooLarge)
        );
    }

    #[test]
    fn the_body_limit_never_exceeds_the_server_ceiling() {
        assert_eq!(limits("{}").max_body(100), 100);
        assert_eq!(limits(r#"{"max_request_size": 10}"#).max_body(100), 10);
        assert_eq!(limits(r#"{"max_request_size": 1000}"#).max_body(100), 100);
    }

    #[test]
    fn strictest_takes_the_smaller_of_each_field() {
        let a = limits(r#"{"max_requests_per_second": 10, "max_key_size": 100}"#);
        let b = limits(r#"{"max_requests_per_second": 5, "max_record_size": 7}"#);
        assert_eq!(
            a.strictest(&b),
            limits(r#"{"max_requests_per_second": 5, "max_key_size": 100, "max_record_size": 7}"#)
        );
    }
}

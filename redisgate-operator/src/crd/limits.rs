//! The limits a gateway enforces for an instance it reads from Kubernetes (`spec.limits`): the same seven
//! as a plan's or an instance's in the management API ([`Limits`]), in the CRD's camelCase. Each is at least
//! 1 (the schema says so); an unset one is no limit.

use std::num::{NonZeroU32, NonZeroU64};

use redisgate_core::limits::Limits;
use serde::{Deserialize, Serialize};

/// An instance's limits; every field optional.
#[derive(schemars::JsonSchema, Deserialize, Serialize, Clone, Copy, Debug, Default, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct LimitsSpec {
    /// Commands per second (a pipeline of ten counts ten), with a burst of one second's worth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_requests_per_second: Option<u32>,
    /// Commands per UTC day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_daily_requests: Option<u64>,
    /// Requests in progress at once (an open SSE stream counts until it closes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_concurrent_connections: Option<u32>,
    /// Largest request body in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_request_size: Option<u64>,
    /// Largest single argument (a key or a value) in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_record_size: Option<u64>,
    /// Largest key in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_key_size: Option<u64>,
    /// Largest answer in bytes, as sent (JSON escapes and base64 included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub max_response_size: Option<u64>,
}

impl LimitsSpec {
    /// Whether no limit is set.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// The gateway's form of them (a 0 the schema should have refused counts as unset).
    #[must_use]
    pub fn limits(&self) -> Limits {
        Limits {
            max_requests_per_second: self.max_requests_per_second.and_then(NonZeroU32::new),
            max_daily_requests: self.max_daily_requests.and_then(NonZeroU64::new),
            max_concurrent_connections: self.max_concurrent_connections.and_then(NonZeroU32::new),
            max_request_size: self.max_request_size.and_then(NonZeroU64::new),
            max_record_size: self.max_record_size.and_then(NonZeroU64::new),
            max_key_size: self.max_key_size.and_then(NonZeroU64::new),
            max_response_size: self.max_response_size.and_then(NonZeroU64::new),
        }
    }
}

impl From<Limits> for LimitsSpec {
    fn from(limits: Limits) -> Self {
        Self {
            max_requests_per_second: limits.max_requests_per_second.map(NonZeroU32::get),
            max_daily_requests: limits.max_daily_requests.map(NonZeroU64::get),
            max_concurrent_connections: limits.max_concurrent_connections.map(NonZeroU32::get),
            max_request_size: limits.max_request_size.map(NonZeroU64::get),
            max_record_size: limits.max_record_size.map(NonZeroU64::get),
            max_key_size: limits.max_key_size.map(NonZeroU64::get),
            max_response_size: limits.max_response_size.map(NonZeroU64::get),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_round_trip_and_read_as_the_gateways() {
        let spec: LimitsSpec =
            serde_json::from_value(serde_json::json!({"maxRequestsPerSecond": 100, "maxKeySize": 256})).unwrap();
        let limits = spec.limits();
        assert_eq!(limits.max_requests_per_second.map(NonZeroU32::get), Some(100));
        assert_eq!(limits.max_key_size.map(NonZeroU64::get), Some(256));
        assert_eq!(limits.max_daily_requests, None);
        assert_eq!(LimitsSpec::from(limits), spec);
        assert!(LimitsSpec::default().is_empty() && !spec.is_empty());
    }
}

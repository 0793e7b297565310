//! Limits of instances and keys: laying the `--max-*` flags over current limits, and showing limits.

use std::num::NonZeroU64;

use redisgate_client::management::Limits;

use crate::cli::{KeyLimitArgs, Limit, LimitArgs};
use crate::size::format_size;

/// `slot` after `flag`: set, removed, or (no flag) unchanged.
fn overlay<T>(slot: &mut Option<T>, flag: Option<Limit<T>>) {
    match flag {
        Some(Limit::Set(value)) => *slot = Some(value),
        Some(Limit::Unlimited) => *slot = None,
        None => {}
    }
}

impl KeyLimitArgs {
    /// Whether no flag was given.
    pub fn is_empty(&self) -> bool {
        self.max_requests_per_second.is_none()
            && self.max_concurrent_connections.is_none()
            && self.max_request_size.is_none()
            && self.max_record_size.is_none()
            && self.max_key_size.is_none()
            && self.max_response_size.is_none()
    }

    /// `limits` with the given flags laid over it; the others are kept.
    pub fn overlay(&self, mut limits: Limits) -> Limits {
        overlay(&mut limits.max_requests_per_second, self.max_requests_per_second);
        overlay(&mut limits.max_concurrent_connections, self.max_concurrent_connections);
        overlay(&mut limits.max_request_size, self.max_request_size);
        overlay(&mut limits.max_record_size, self.max_record_size);
        overlay(&mut limits.max_key_size, self.max_key_size);
        overlay(&mut limits.max_response_size, self.max_response_size);
        limits
    }

    /// The limits for a new key: `None` when no flag sets one (nothing is sent).
    pub fn for_new(&self) -> Option<Limits> {
        Some(self.overlay(Limits::default())).filter(|l| !l.is_unlimited())
    }
}

impl LimitArgs {
    /// Whether no flag was given.
    pub fn is_empty(&self) -> bool {
        self.max_daily_requests.is_none() && self.common.is_empty()
    }

    /// `limits` with the given flags laid over it; the others are kept.
    pub fn overlay(&self, limits: Limits) -> Limits {
        let mut limits = self.common.overlay(limits);
        overlay(&mut limits.max_daily_requests, self.max_daily_requests);
        limits
    }

    /// The limits for a new instance: `None` when no flag sets one (nothing is sent).
    pub fn for_new(&self) -> Option<Limits> {
        Some(self.overlay(Limits::default())).filter(|l| !l.is_unlimited())
    }

    /// What `instance limits` should send given the `current` limits: `None` (only show them) without flags
    /// or `--clear`; with `--clear`, the flags over no limits; else the flags over the current limits.
    pub fn plan(&self, current: Limits, clear: bool) -> Option<Limits> {
        if clear {
            Some(self.overlay(Limits::default()))
        } else if self.is_empty() {
            None
        } else {
            Some(self.overlay(current))
        }
    }
}

/// Every limit by its flag's name, `unlimited` where unset (for `instance limits`).
pub fn fields(limits: &Limits) -> Vec<(&'static str, String)> {
    fn count<T: ToString>(value: Option<T>) -> String {
        value.map_or_else(|| "unlimited".to_owned(), |v| v.to_string())
    }
    fn size(value: Option<NonZeroU64>) -> String {
        value.map_or_else(|| "unlimited".to_owned(), |v| format_size(v.get()))
    }
    vec![
        ("max-requests-per-second", count(limits.max_requests_per_second)),
        ("max-daily-requests", count(limits.max_daily_requests)),
        ("max-concurrent-connections", count(limits.max_concurrent_connections)),
        ("max-request-size", size(limits.max_request_size)),
        ("max-record-size", size(limits.max_record_size)),
        ("max-key-size", size(limits.max_key_size)),
        ("max-response-size", size(limits.max_response_size)),
    ]
}

/// `headers` and `rows`, with a LIMITS column added when some row (in `limits`, row by row) has limits:
/// most have none, and an always-empty column would only take width.
pub fn with_column<'a>(
    headers: &[&'static str],
    mut rows: Vec<Vec<String>>,
    limits: impl IntoIterator<Item = &'a Limits> + Clone,
) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let mut headers = headers.to_vec();
    if limits.clone().into_iter().any(|l| !l.is_unlimited()) {
        headers.push("LIMITS");
        for (row, limits) in rows.iter_mut().zip(limits) {
            row.push(summary(limits));
        }
    }
    (headers, rows)
}

/// The set limits on one line (`100 requests/s, 1kb per key`), or `unlimited`.
pub fn summary(limits: &Limits) -> String {
    let mut parts = Vec::new();
    if let Some(n) = limits.max_requests_per_second {
        parts.push(format!("{n} requests/s"));
    }
    if let Some(n) = limits.max_daily_requests {
        parts.push(format!("{n} requests/day"));
    }
    if let Some(n) = limits.max_concurrent_connections {
        parts.push(format!("{n} connections"));
    }
    if let Some(n) = limits.max_request_size {
        let n = n.get();
        parts.push(format!("{} per request", format_size(n)));
    }
    if let Some(n) = limits.max_record_size {
        let n = n.get();
        parts.push(format!("{} per record", format_size(n)));
    }
    if let Some(n) = limits.max_key_size {
        let n = n.get();
        parts.push(format!("{} per key", format_size(n)));
    }
    if let Some(n) = limits.max_response_size {
        parts.push(format!("{} per answer", format_size(n.get())));
    }
    if parts.is_empty() {
        "unlimited".to_owned()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    fn n32(value: u32) -> NonZeroU32 {
        NonZeroU32::new(value).unwrap()
    }

    fn n(value: u64) -> NonZeroU64 {
        NonZeroU64::new(value).unwrap()
    }

    fn current() -> Limits {
        Limits {
            max_requests_per_second: Some(n32(100)),
            max_daily_requests: Some(n(1_000_000)),
            max_key_size: Some(n(1024)),
            ..Limits::default()
        }
    }

    #[test]
    fn flags_change_only_what_they_name() {
        let args = LimitArgs {
            max_daily_requests: None,
            common: KeyLimitArgs {
                max_requests_per_second: Some(Limit::Set(n32(50))),
                max_request_size: Some(Limit::Set(n(1 << 20))),
                max_key_size: Some(Limit::Unlimited),
                max_response_size: Some(Limit::Set(n(4 << 20))),
                ..KeyLimitArgs::default()
            },
        };
        assert_eq!(
            args.plan(current(), false),
            Some(Limits {
                max_requests_per_second: Some(n32(50)),
                max_daily_requests: Some(n(1_000_000)),
                max_request_size: Some(n(1 << 20)),
                max_response_size: Some(n(4 << 20)),
                ..Limits::default()
            })
        );
    }

    #[test]
    fn no_flags_only_show_and_clear_starts_from_nothing() {
        assert_eq!(LimitArgs::default().plan(current(), false), None);
        assert_eq!(LimitArgs::default().plan(current(), true), Some(Limits::default()));
        let args = LimitArgs { max_daily_requests: Some(Limit::Set(n(10))), ..LimitArgs::default() };
        assert_eq!(args.plan(current(), true), Some(Limits { max_daily_requests: Some(n(10)), ..Limits::default() }));
        assert_eq!(args.plan(current(), false).unwrap().max_daily_requests, Some(n(10)));
        assert_eq!(args.plan(current(), false).unwrap().max_key_size, Some(n(1024)));
    }

    #[test]
    fn new_instances_and_keys_send_limits_only_when_set() {
        assert_eq!(LimitArgs::default().for_new(), None);
        let removed = LimitArgs { max_daily_requests: Some(Limit::Unlimited), ..LimitArgs::default() };
        assert_eq!(removed.for_new(), None);
        let args = KeyLimitArgs { max_concurrent_connections: Some(Limit::Set(n32(5))), ..KeyLimitArgs::default() };
        assert_eq!(args.for_new(), Some(Limits { max_concurrent_connections: Some(n32(5)), ..Limits::default() }));
        assert!(!args.is_empty() && KeyLimitArgs::default().is_empty());
    }

    #[test]
    fn limits_read_well() {
        assert_eq!(summary(&Limits::default()), "unlimited");
        assert_eq!(summary(&current()), "100 requests/s, 1000000 requests/day, 1kb per key");
        let shown = fields(&current());
        assert_eq!(shown[0], ("max-requests-per-second", "100".to_owned()));
        assert_eq!(shown[2], ("max-concurrent-connections", "unlimited".to_owned()));
        assert_eq!(shown[5], ("max-key-size", "1kb".to_owned()));
    }
}

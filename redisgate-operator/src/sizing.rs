//! Memory arithmetic: Kubernetes quantities in, Redis `maxmemory` out.
//!
//! The container's memory limit is what the kernel enforces; Redis's `maxmemory` only counts the dataset.
//! The process needs room on top of it (allocator fragmentation, client buffers, the copy-on-write pages of
//! an AOF rewrite), so `maxmemory` is the limit minus a quarter, and at least [`MIN_HEADROOM`] below it.
//! [`limit_for_max_memory`] is the inverse the provisioner uses to turn the management API's `max_memory`
//! into a limit.

use crate::{Error, Result};

const MI: i64 = 1024 * 1024;
/// The least memory left to the process above `maxmemory`.
pub const MIN_HEADROOM: i64 = 16 * MI;
/// Smallest accepted memory limit (the CRD enforces the same bound).
pub const MIN_LIMIT: i64 = 32 * MI;
/// Largest accepted memory limit.
pub const MAX_LIMIT: i64 = 128 * 1024 * MI;

/// Bytes of a binary quantity such as `256Mi`, `2Gi` or `1Ti` (the only forms the CRD admits).
///
/// # Errors
/// [`Error::InvalidSpec`] for any other form.
pub fn parse_binary_quantity(quantity: &str) -> Result<i64> {
    let invalid = || Error::InvalidSpec(format!("`{quantity}` is not a quantity like 256Mi or 2Gi"));
    let split = quantity.find(|c: char| !c.is_ascii_digit()).ok_or_else(invalid)?;
    let (digits, unit) = quantity.split_at(split);
    let scale = match unit {
        "Mi" => MI,
        "Gi" => 1024 * MI,
        "Ti" => 1024 * 1024 * MI,
        _ => return Err(invalid()),
    };
    let value: i64 = digits.parse().map_err(|_| invalid())?;
    value.checked_mul(scale).filter(|v| *v > 0).ok_or_else(invalid)
}

/// Redis's `maxmemory` for a container limit of `limit` bytes.
#[must_use]
pub fn max_memory_from_limit(limit: i64) -> i64 {
    limit - (limit / 4).max(MIN_HEADROOM)
}

/// The memory limit of a spec, checked against the bounds.
///
/// # Errors
/// [`Error::InvalidSpec`] for a malformed quantity or one outside 32Mi..=128Gi.
pub fn memory_limit(memory: &str) -> Result<i64> {
    let limit = parse_binary_quantity(memory)?;
    if !(MIN_LIMIT..=MAX_LIMIT).contains(&limit) {
        return Err(Error::InvalidSpec(format!("memory {memory} is outside 32Mi..128Gi")));
    }
    Ok(limit)
}

/// The smallest limit, in whole MiB as a quantity (`"<n>Mi"`), whose `maxmemory` is at least `max_memory`.
#[must_use]
pub fn limit_for_max_memory(max_memory: i64) -> String {
    // maxmemory(limit) = min(3/4 · limit, limit − 16Mi), so the limit is at least both inverses.
    let by_quarter = (max_memory * 4 + 2) / 3;
    let by_minimum = max_memory + MIN_HEADROOM;
    let mut mib = (by_quarter.max(by_minimum).max(MIN_LIMIT) + MI - 1) / MI;
    while max_memory_from_limit(mib * MI) < max_memory {
        mib += 1;
    }
    format!("{mib}Mi")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_parse_and_reject() {
        assert_eq!(parse_binary_quantity("256Mi").unwrap(), 256 * MI);
        assert_eq!(parse_binary_quantity("2Gi").unwrap(), 2048 * MI);
        for bad in ["", "Mi", "256", "256M", "1.5Gi", "-1Gi", "99999999999999Ti", "0Mi"] {
            assert!(parse_binary_quantity(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn max_memory_leaves_a_quarter_or_the_minimum_headroom() {
        assert_eq!(max_memory_from_limit(1024 * MI), 768 * MI);
        assert_eq!(max_memory_from_limit(32 * MI), 16 * MI);
        assert_eq!(max_memory_from_limit(48 * MI), 32 * MI);
        assert!(memory_limit("16Mi").is_err());
        assert!(memory_limit("129Gi").is_err());
        assert_eq!(memory_limit("64Mi").unwrap(), 64 * MI);
    }

    #[test]
    fn the_limit_for_a_max_memory_is_the_smallest_that_fits() {
        for max in [1, MI, 16 * MI, 16 * MI + 1, 100 * MI, 768 * MI, 1000 * MI, 64 * 1024 * MI] {
            let limit = parse_binary_quantity(&limit_for_max_memory(max)).unwrap();
            assert!(max_memory_from_limit(limit) >= max, "{max}");
            assert!(limit == MIN_LIMIT || max_memory_from_limit(limit - MI) < max, "{max}: {limit} not minimal");
            assert!(memory_limit(&limit_for_max_memory(max)).is_ok());
        }
        assert_eq!(limit_for_max_memory(768 * MI), "1024Mi");
    }
}

//! Commands an instance ran today: counted here, shared with other gateways through PostgreSQL.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Commands an instance ran today.
#[derive(Debug, Default)]
pub struct Usage {
    /// The UTC day (days since 1970-01-01) the counts belong to.
    day: AtomicU32,
    /// Commands this process counted today.
    counted: AtomicU64,
    /// Commands other gateways counted today (from the last flush).
    elsewhere: AtomicU64,
    /// Commands counted but not yet added to PostgreSQL.
    unflushed: AtomicU64,
}

impl Usage {
    /// Starts a new day's count when `today` is a new day. (A command counted by another thread between the
    /// exchange and the reset is lost from the day's local count, not from usage: a few commands at midnight.)
    fn roll(&self, today: u32) {
        let day = self.day.load(Ordering::Relaxed);
        if day != today && self.day.compare_exchange(day, today, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
            self.counted.store(0, Ordering::Relaxed);
            self.elsewhere.store(0, Ordering::Relaxed);
        }
    }

    /// Today's commands, as far as this process knows.
    pub(super) fn today(&self, today: u32) -> u64 {
        self.roll(today);
        self.counted.load(Ordering::Relaxed) + self.elsewhere.load(Ordering::Relaxed)
    }

    pub(super) fn add(&self, commands: u64) {
        self.counted.fetch_add(commands, Ordering::Relaxed);
        self.unflushed.fetch_add(commands, Ordering::Relaxed);
    }

    /// Takes the commands not yet written to PostgreSQL.
    pub fn take_unflushed(&self) -> u64 {
        self.unflushed.swap(0, Ordering::Relaxed)
    }

    /// Gives back commands whose write failed (they go with the next flush).
    pub fn restore_unflushed(&self, commands: u64) {
        self.unflushed.fetch_add(commands, Ordering::Relaxed);
    }

    /// Records `day`'s total over every gateway, as PostgreSQL answered it (ignored once `day` is over, so a
    /// flush that straddles midnight cannot carry yesterday's total into today).
    pub fn set_total(&self, day: u32, total: u64) {
        self.roll(today());
        if self.day.load(Ordering::Relaxed) != day {
            return;
        }
        let here = self.counted.load(Ordering::Relaxed);
        self.elsewhere.store(total.saturating_sub(here), Ordering::Relaxed);
    }

    pub(super) fn has_unflushed(&self) -> bool {
        self.unflushed.load(Ordering::Relaxed) > 0
    }
}

/// The current UTC day, as days since 1970-01-01.
#[must_use]
pub fn today() -> u32 {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    u32::try_from(secs / 86_400).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_total_from_other_gateways_counts_toward_the_quota() {
        let usage = Usage::default();
        usage.add(3);
        usage.set_total(today(), 10);
        assert_eq!(usage.today(today()), 10);
        usage.set_total(today() - 1, 1000);
        assert_eq!(usage.today(today()), 10, "yesterday's total does not count today");
        assert_eq!(usage.take_unflushed(), 3);
        assert_eq!(usage.take_unflushed(), 0);
    }
}

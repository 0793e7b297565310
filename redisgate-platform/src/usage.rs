//! Usage in PostgreSQL: every few seconds each gateway adds the commands it counted to `instance_usage`
//! and reads back the day's totals, which include what the other replicas added. Those totals are what the
//! daily quotas of [`redisgate_gateway::quota`] are checked against, so a quota holds across replicas to within one
//! flush interval of traffic.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use redisgate_core::store::DailyUsage;
use redisgate_gateway::quota::{today, Meters};
use tokio_util::sync::CancellationToken;

use super::Pool;

/// A day number of [`redisgate_gateway::quota::today`] as a date.
#[must_use]
pub fn date(day: u32) -> NaiveDate {
    chrono::DateTime::from_timestamp(i64::from(day) * 86_400, 0).unwrap_or_default().date_naive()
}

/// Adds what this process counted since the last flush, then refreshes the day's totals.
///
/// # Errors
/// Database errors: the counts are kept for the next flush.
pub async fn flush(pool: &Pool, meters: &Meters) -> crate::Result<()> {
    let usage = meters.usage();
    if usage.is_empty() {
        return Ok(());
    }
    let today = today();
    let day = date(today);
    let taken: Vec<u64> = usage.iter().map(|(_, u)| u.take_unflushed()).collect();
    let rows: Vec<DailyUsage> = usage
        .iter()
        .zip(&taken)
        .filter(|(_, n)| **n > 0)
        .map(|((owner, _), n)| DailyUsage {
            instance_id: owner.instance,
            organization_id: owner.organization,
            day,
            commands: i64::try_from(*n).unwrap_or(i64::MAX),
        })
        .collect();
    let ids: Vec<_> = usage.iter().map(|(owner, _)| owner.instance).collect();
    let written = async {
        let mut conn = pool.get().await?;
        DailyUsage::add(&mut conn, &rows).await?;
        Ok::<_, crate::Error>(conn)
    }
    .await;
    // Counts go back only when they were not written; a failure to read the totals afterwards keeps the
    // previous totals (giving the counts back then would count them twice).
    let mut conn = match written {
        Ok(conn) => conn,
        Err(e) => {
            for ((_, u), n) in usage.iter().zip(taken) {
                u.restore_unflushed(n);
            }
            return Err(e);
        }
    };
    let totals = DailyUsage::of_day(&mut conn, day, &ids).await?;
    for (owner, u) in &usage {
        let total = totals.iter().find(|(id, _)| *id == owner.instance).map_or(0, |(_, n)| *n);
        u.set_total(today, u64::try_from(total).unwrap_or(0));
    }
    Ok(())
}

/// The process's counts and where they go, flushed one flush at a time: the background task and an
/// explicit flush never interleave, so a flush that returns has written every count taken before it began.
pub struct Flusher {
    pool: Pool,
    meters: Arc<Meters>,
    turn: tokio::sync::Mutex<()>,
}

impl Flusher {
    /// Flushes `meters` into `pool`'s database.
    #[must_use]
    pub fn new(pool: Pool, meters: Arc<Meters>) -> Self {
        Self { pool, meters, turn: tokio::sync::Mutex::new(()) }
    }

    /// [`flush`], after any flush in progress.
    ///
    /// # Errors
    /// Database errors: the counts are kept for the next flush.
    pub async fn flush(&self) -> crate::Result<()> {
        let _turn = self.turn.lock().await;
        flush(&self.pool, &self.meters).await
    }
}

/// Flushes every `interval` until `stop` (the last flush is the stopping code's: see
/// [`super::ControlPlane::shutdown`]).
pub async fn run(flusher: Arc<Flusher>, interval: Duration, stop: CancellationToken) {
    while stop.run_until_cancelled(tokio::time::sleep(interval)).await.is_some() {
        if let Err(e) = flusher.flush().await {
            tracing::warn!(error = %e, "could not record usage; will retry");
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn day_numbers_are_utc_dates() {
        assert_eq!(super::date(0).to_string(), "1970-01-01");
        assert_eq!(super::date(20_783).to_string(), "2026-11-26");
    }
}

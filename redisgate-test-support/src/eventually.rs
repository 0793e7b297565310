//! Waiting for what a test can only observe by asking.

use std::future::Future;
use std::time::{Duration, Instant};

/// Asks `check` every 20 ms until it holds or `deadline` passes, and answers whether it held. For conditions
/// with no event to await: a revoked token reaching a gateway, a replica catching up, a Sentinel's election.
/// Assert on the answer, with what did not happen.
pub async fn eventually<F, Fut>(deadline: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let until = Instant::now() + deadline;
    loop {
        if check().await {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

//! [`Deadline`]: a reply awaited for at most the response timeout, and for a request that runs scripts, a
//! call to stop them once they have run too long.
//!
//! Timers are the coarse one of the serve loop on this thread when there is one
//! ([`crate::coarse_timer::sleep`]: no entry in the runtime's timer wheel for every command, and a deadline
//! that may pass up to one tick late), else tokio's. A plain struct rather than an `async fn`: an async
//! wrapper would hold the reply's future twice in its state, and every layer of that is copied per request.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use crate::coarse_timer::{self, CoarseSleep};

/// One timer.
enum Timer {
    Coarse(CoarseSleep),
    Tokio(Pin<Box<tokio::time::Sleep>>),
}

impl Timer {
    fn after(duration: Duration) -> Self {
        match coarse_timer::sleep(duration) {
            Some(sleep) => Self::Coarse(sleep),
            None => Self::Tokio(Box::pin(tokio::time::sleep(duration))),
        }
    }

    fn poll(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match self {
            Self::Coarse(sleep) => Pin::new(sleep).poll(cx),
            Self::Tokio(sleep) => sleep.as_mut().poll(cx),
        }
    }
}

/// What to call when a request's scripts have run too long.
type Stop<'a> = Box<dyn FnOnce() + Send + 'a>;

pin_project_lite::pin_project! {
    /// `reply`, or `None` once `timeout` has passed.
    pub struct Deadline<'a, F> {
        #[pin]
        reply: F,
        timer: Timer,
        script: Option<(Timer, Stop<'a>)>,
    }
}

impl<'a, F: Future> Deadline<'a, F> {
    /// Awaits `reply` for at most `timeout`.
    pub fn new(reply: F, timeout: Duration) -> Self {
        Self { reply, timer: Timer::after(timeout), script: None }
    }

    /// Also calls `stop` if the reply has not come after `limit` (the request runs scripts), and waits on.
    pub fn stopping_scripts(mut self, limit: Duration, stop: Option<Stop<'a>>) -> Self {
        self.script = stop.map(|stop| (Timer::after(limit), stop));
        self
    }
}

impl<F: Future> Future for Deadline<'_, F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(reply) = this.reply.poll(cx) {
            return Poll::Ready(Some(reply));
        }
        if let Some((limit, _)) = this.script {
            if limit.poll(cx).is_ready() {
                if let Some((_, stop)) = this.script.take() {
                    stop();
                }
            }
        }
        this.timer.poll(cx).map(|()| None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_reply_in_time_is_kept_and_a_late_one_is_none() {
        assert_eq!(Deadline::new(async { 7 }, Duration::from_millis(50)).await, Some(7));
        let late = Deadline::new(std::future::pending::<u8>(), Duration::from_millis(50));
        assert_eq!(late.await, None);
    }

    #[tokio::test]
    async fn scripts_are_stopped_once_at_their_limit_and_the_reply_awaited_on() {
        let stopped = std::sync::atomic::AtomicUsize::new(0);
        let stop: Stop<'_> = Box::new(|| {
            stopped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        });
        let reply = async {
            tokio::time::sleep(Duration::from_millis(80)).await;
            "killed"
        };
        let answer =
            Deadline::new(reply, Duration::from_secs(5)).stopping_scripts(Duration::from_millis(20), Some(stop)).await;
        assert_eq!((answer, stopped.load(std::sync::atomic::Ordering::Relaxed)), (Some("killed"), 1));
    }
}

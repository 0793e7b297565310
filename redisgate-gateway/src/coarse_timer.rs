//! A coarse timer for the deadlines set for every request and reached by almost none: hyper's header
//! deadline, and the upstream's response timeout ([`sleep`]).
//!
//! hyper arms its header-read timeout for every request on a connection: a tokio `Sleep` created, entered
//! into the runtime's timer wheel when first polled, and taken out again when the request's head has
//! arrived, about 700 instructions per request (docs/benchmarks.md, issue 29). This timer keeps the
//! deadlines of one serve loop in a plain list instead, checked by one task every `tick`: arming one costs a
//! lock and a slot, and a deadline fires up to one tick late, which for a timeout of seconds is nothing.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

/// The deadlines waited on, each with the task to wake until it is woken. A slot belongs to its sleep until
/// the sleep ends or is dropped (the ticker only takes the waker), then it is reused.
#[derive(Default)]
struct Deadlines {
    slots: Vec<Option<(Instant, Option<Waker>)>>,
    free: Vec<usize>,
}

type Shared = Arc<Mutex<Deadlines>>;

fn lock(deadlines: &Mutex<Deadlines>) -> std::sync::MutexGuard<'_, Deadlines> {
    deadlines.lock().unwrap_or_else(PoisonError::into_inner)
}

thread_local! {
    /// The timer of the serve loop on this thread (a worker's current-thread runtime), for [`sleep`].
    static CURRENT: std::cell::RefCell<Weak<Mutex<Deadlines>>> = const { std::cell::RefCell::new(Weak::new()) };
}

/// A sleep of `duration` on the timer of the serve loop running on this thread, or `None` where none runs (a
/// multi-threaded runtime's other threads, a test without a serve loop). It may end up to one tick late.
pub fn sleep(duration: Duration) -> Option<CoarseSleep> {
    let deadlines = CURRENT.with(|current| current.borrow().upgrade())?;
    Some(CoarseSleep { deadline: Instant::now() + duration, slot: None, deadlines })
}

/// A `hyper::rt::Timer` whose sleeps are woken by a task of the current runtime every `tick`.
#[derive(Clone)]
pub struct CoarseTimer {
    deadlines: Shared,
}

impl CoarseTimer {
    /// Starts the task that wakes expired sleeps on the current tokio runtime; it ends once the timer and
    /// every sleep made by it are gone.
    pub fn start(tick: Duration) -> Self {
        let deadlines = Shared::default();
        let weak: Weak<Mutex<Deadlines>> = Arc::downgrade(&deadlines);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(tick);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                let Some(deadlines) = weak.upgrade() else { return };
                let now = Instant::now();
                let expired: Vec<Waker> = lock(&deadlines)
                    .slots
                    .iter_mut()
                    .filter_map(|slot| match slot {
                        Some((deadline, waker)) if *deadline <= now => waker.take(),
                        _ => None,
                    })
                    .collect();
                expired.into_iter().for_each(Waker::wake);
            }
        });
        Self { deadlines }
    }

    /// Makes this the timer [`sleep`] uses on this thread.
    pub fn serve_this_thread(&self) {
        CURRENT.with(|current| *current.borrow_mut() = Arc::downgrade(&self.deadlines));
    }
}

impl hyper::rt::Timer for CoarseTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.sleep_until(Instant::now() + duration)
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(CoarseSleep { deadline, slot: None, deadlines: Arc::clone(&self.deadlines) })
    }
}

/// One deadline of a [`CoarseTimer`].
pub struct CoarseSleep {
    deadline: Instant,
    /// Its slot, once it waits.
    slot: Option<usize>,
    deadlines: Shared,
}

impl Future for CoarseSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if Instant::now() >= this.deadline {
            this.forget();
            return Poll::Ready(());
        }
        let mut deadlines = lock(&this.deadlines);
        let waker = Some(cx.waker().clone());
        match this.slot {
            Some(index) => {
                if let Some((_, slot_waker)) = &mut deadlines.slots[index] {
                    *slot_waker = waker;
                }
            }
            None => {
                let entry = Some((this.deadline, waker));
                let index = match deadlines.free.pop() {
                    Some(index) => {
                        deadlines.slots[index] = entry;
                        index
                    }
                    None => {
                        deadlines.slots.push(entry);
                        deadlines.slots.len() - 1
                    }
                };
                this.slot = Some(index);
            }
        }
        Poll::Pending
    }
}

impl CoarseSleep {
    /// Gives its slot back, if it holds one.
    fn forget(&mut self) {
        if let Some(index) = self.slot.take() {
            let mut deadlines = lock(&self.deadlines);
            deadlines.slots[index] = None;
            deadlines.free.push(index);
        }
    }
}

impl Drop for CoarseSleep {
    fn drop(&mut self) {
        self.forget();
    }
}

impl hyper::rt::Sleep for CoarseSleep {}

#[cfg(test)]
mod tests {
    use futures_util::FutureExt as _;
    use hyper::rt::Timer as _;

    use super::*;

    // Real time: hyper's timers take `std::time::Instant`, which tokio's paused clock does not move.
    #[tokio::test]
    async fn a_sleep_ends_after_its_deadline_and_a_dropped_one_frees_its_slot() {
        let timer = CoarseTimer::start(Duration::from_millis(50));
        let started = Instant::now();
        timer.sleep(Duration::from_millis(120)).await;
        assert!(started.elapsed() >= Duration::from_millis(120), "woken early: {:?}", started.elapsed());
        // A sleep dropped while waiting gives its slot back, and the next one takes it.
        let mut dropped = timer.sleep(Duration::from_secs(60));
        assert!(dropped.as_mut().now_or_never().is_none());
        drop(dropped);
        assert!(lock(&timer.deadlines).slots.iter().all(Option::is_none));
        let mut next = timer.sleep(Duration::from_secs(60));
        assert!(next.as_mut().now_or_never().is_none());
        assert_eq!(lock(&timer.deadlines).slots.len(), 1);
    }

    #[tokio::test]
    async fn sleep_uses_the_timer_of_the_serve_loop_on_this_thread() {
        std::thread::spawn(|| assert!(super::sleep(Duration::from_secs(1)).is_none(), "no serve loop there"))
            .join()
            .unwrap();
        let timer = CoarseTimer::start(Duration::from_millis(20));
        timer.serve_this_thread();
        let started = Instant::now();
        super::sleep(Duration::from_millis(60)).expect("this thread's timer").await;
        assert!(started.elapsed() >= Duration::from_millis(60), "woken early: {:?}", started.elapsed());
    }
}

//! A request budget for one upstream (Keka, Keeper): at most N sends in any interval one window long.
//!
//! Keka allows N requests per fixed 60-second window, and we do not know where its windows
//! start. A token bucket (governor's GCRA) would either burst N requests and then one more a
//! second later inside the same Keka window (a 429), or, with no burst, space every request by
//! 1.2 s and make a 5-page walk take 6 s. A sliding log keeps the burst and is safe for any
//! alignment: if no interval of length `window` ever holds more than N sends, no fixed window
//! does either. Slots are reserved under a short lock, so waiters are served in arrival order
//! and nobody is starved; the wait itself happens outside the lock.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::time::Instant;

/// A request budget as the pacer sees it: this process's [`RateLimiter`], or one window shared by every replica
/// (`store::SharedBudget`). Boxed futures: one per upstream call, next to an HTTP exchange.
pub trait Budget: Send + Sync + std::fmt::Debug {
    /// Waits for a slot and returns how long it waited. Fails at once, without reserving, if the slot is further
    /// than `max_wait` away.
    fn acquire(&self, max_wait: Duration) -> BoxFuture<'_, Result<Duration, SlotTooFar>>;
    /// The upstream said 429: nobody using this budget sends for `wait`.
    fn pause(&self, wait: Duration) -> BoxFuture<'_, ()>;
}

impl Budget for RateLimiter {
    fn acquire(&self, max_wait: Duration) -> BoxFuture<'_, Result<Duration, SlotTooFar>> {
        Box::pin(RateLimiter::acquire(self, max_wait))
    }

    fn pause(&self, wait: Duration) -> BoxFuture<'_, ()> {
        self.pause_until(Instant::now() + wait);
        Box::pin(std::future::ready(()))
    }
}

/// The limiter could not give a slot within the caller's deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotTooFar {
    /// How long the caller would have had to wait.
    pub wait: Duration,
}

#[derive(Debug)]
pub struct RateLimiter {
    capacity: usize,
    /// The window plus a safety margin for clock offset and network latency.
    window: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Send times of the last `capacity` reserved requests, oldest first (some may lie in the future).
    sends: VecDeque<Instant>,
    /// After a 429 nobody sends before this instant.
    paused_until: Option<Instant>,
}

impl RateLimiter {
    /// `capacity` requests per `window`; a capacity of 0 disables limiting.
    pub fn new(capacity: u32, window: Duration) -> Self {
        Self { capacity: capacity as usize, window, state: Mutex::new(State::default()) }
    }

    /// Waits for a slot. Fails at once, without reserving, if the slot is further than `max_wait` away.
    pub async fn acquire(&self, max_wait: Duration) -> Result<Duration, SlotTooFar> {
        let now = Instant::now();
        let slot = self.reserve(now, max_wait)?;
        tokio::time::sleep_until(slot).await;
        Ok(slot.saturating_duration_since(now))
    }

    /// Reserves the earliest slot at or after `now`, or reports how far it is.
    fn reserve(&self, now: Instant, max_wait: Duration) -> Result<Instant, SlotTooFar> {
        if self.capacity == 0 {
            return Ok(now);
        }
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut slot = now;
        if let Some(paused_until) = state.paused_until {
            slot = slot.max(paused_until);
        }
        if state.sends.len() >= self.capacity {
            // The send `capacity` places back must have left the window before we may go.
            let oldest_in_budget = state.sends[state.sends.len() - self.capacity];
            slot = slot.max(oldest_in_budget + self.window);
        }
        let wait = slot.saturating_duration_since(now);
        if wait > max_wait {
            return Err(SlotTooFar { wait });
        }
        state.sends.push_back(slot);
        while state.sends.len() > self.capacity {
            state.sends.pop_front();
        }
        Ok(slot)
    }

    /// Keka said 429: hold every caller until `until`, whatever our own log says.
    pub fn pause_until(&self, until: Instant) {
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        state.paused_until = Some(state.paused_until.map_or(until, |current| current.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: Duration = Duration::from_secs(60);

    fn sends_within(slots: &[Instant], start: Instant, window: Duration) -> usize {
        slots.iter().filter(|slot| **slot >= start && **slot < start + window).count()
    }

    #[test]
    fn a_burst_up_to_capacity_goes_at_once() {
        let limiter = RateLimiter::new(5, MINUTE);
        let now = Instant::now();
        for _ in 0..5 {
            assert_eq!(limiter.reserve(now, Duration::ZERO), Ok(now));
        }
    }

    #[test]
    fn the_request_after_capacity_waits_for_the_oldest_to_leave_the_window() {
        let limiter = RateLimiter::new(3, MINUTE);
        let now = Instant::now();
        for _ in 0..3 {
            limiter.reserve(now, Duration::ZERO).unwrap();
        }
        assert_eq!(limiter.reserve(now, Duration::ZERO), Err(SlotTooFar { wait: MINUTE }));
        assert_eq!(limiter.reserve(now, MINUTE), Ok(now + MINUTE));
    }

    #[test]
    fn no_interval_of_one_window_holds_more_than_capacity() {
        let limiter = RateLimiter::new(4, MINUTE);
        let start = Instant::now();
        let mut slots = Vec::new();
        for i in 0..40u64 {
            let now = start + Duration::from_millis(i * 700);
            slots.push(limiter.reserve(now, Duration::from_secs(3600)).unwrap());
        }
        for slot in &slots {
            assert!(sends_within(&slots, *slot, MINUTE) <= 4);
        }
    }

    #[test]
    fn a_zero_capacity_never_limits() {
        let limiter = RateLimiter::new(0, MINUTE);
        let now = Instant::now();
        for _ in 0..1000 {
            assert_eq!(limiter.reserve(now, Duration::ZERO), Ok(now));
        }
    }

    #[test]
    fn a_pause_holds_every_caller() {
        let limiter = RateLimiter::new(10, MINUTE);
        let now = Instant::now();
        limiter.pause_until(now + Duration::from_secs(5));
        assert_eq!(limiter.reserve(now, Duration::from_secs(10)), Ok(now + Duration::from_secs(5)));
    }

    #[tokio::test(start_paused = true)]
    async fn acquire_waits_on_the_tokio_clock() {
        let limiter = RateLimiter::new(1, MINUTE);
        let start = Instant::now();
        limiter.acquire(Duration::ZERO).await.unwrap();
        limiter.acquire(MINUTE).await.unwrap();
        assert_eq!(Instant::now() - start, MINUTE);
    }
}

//! A request budget for one upstream (Keka, Keeper): at most N sends in any interval one window long.
//!
//! Keka allows N requests per fixed 60-second window, and we do not know where its windows
//! start. A token bucket (governor's GCRA) would either burst N requests and then one more a
//! second later inside the same Keka window (a 429), or, with no burst, space every request by
//! 1.2 s and make a 5-page walk take 6 s. A sliding log keeps the burst and is safe for any
//! alignment: if no interval of length `window` ever holds more than N sends, no fixed window
//! does either. Slots are reserved under a short lock, so waiters are served in arrival order
//! and nobody is starved; the wait itself happens outside the lock.
//!
//! Not every caller may use the whole window ([`Priority`]): a request that already holds calls may, so that it
//! finishes; a request's first call leaves one slot for each request under way; work nobody waits on (rebuilds,
//! syncs) leaves a reserve for interactive requests. A burst of cold queries under a small budget then completes
//! some whole queries instead of starting all of them and finishing none.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::time::Instant;

/// A request budget as the pacer sees it: this process's [`RateLimiter`], or one window shared by every replica
/// (`store::SharedBudget`). Boxed futures: one per upstream call, next to an HTTP exchange.
pub trait Budget: Send + Sync + std::fmt::Debug {
    /// Waits for a slot within the part of the window `priority` may use, and returns how long it waited. Fails at
    /// once, without reserving, if the slot is further than `max_wait` away.
    fn acquire(&self, max_wait: Duration, priority: Priority) -> BoxFuture<'_, Result<Duration, SlotTooFar>>;
    /// The upstream said 429: nobody using this budget sends for `wait`.
    fn pause(&self, wait: Duration) -> BoxFuture<'_, ()>;
}

/// Who asks for a slot, which decides how much of a window of `capacity` it may fill.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Priority {
    /// A request that already holds calls on this budget: the whole window, so that it finishes.
    Continuing,
    /// A request's first call: the window less one slot for each of the `under_way` requests holding calls.
    Starting { under_way: u32 },
    /// Work nobody waits on (rebuilds, syncs): never the last `reserve` slots, kept for interactive requests.
    Background { reserve: u32 },
}

impl Priority {
    /// How many sends of a window of `capacity` this caller may count on (at least one; 0 stays "no limit").
    pub fn share_of(self, capacity: u32) -> u32 {
        let held_back = match self {
            Self::Continuing => 0,
            Self::Starting { under_way } => under_way,
            Self::Background { reserve } => reserve,
        };
        if capacity == 0 { 0 } else { capacity.saturating_sub(held_back).max(1) }
    }
}

impl Budget for RateLimiter {
    fn acquire(&self, max_wait: Duration, priority: Priority) -> BoxFuture<'_, Result<Duration, SlotTooFar>> {
        Box::pin(RateLimiter::acquire(self, max_wait, priority))
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
    pub async fn acquire(&self, max_wait: Duration, priority: Priority) -> Result<Duration, SlotTooFar> {
        let now = Instant::now();
        let slot = self.reserve(now, max_wait, priority)?;
        tokio::time::sleep_until(slot).await;
        Ok(slot.saturating_duration_since(now))
    }

    /// Reserves the earliest slot at or after `now` within `priority`'s share, or reports how far it is.
    fn reserve(&self, now: Instant, max_wait: Duration, priority: Priority) -> Result<Instant, SlotTooFar> {
        if self.capacity == 0 {
            return Ok(now);
        }
        let share = priority.share_of(u32::try_from(self.capacity).unwrap_or(u32::MAX)) as usize;
        let mut state = self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut slot = now;
        if let Some(paused_until) = state.paused_until {
            slot = slot.max(paused_until);
        }
        if state.sends.len() >= share {
            // The send `share` places back (the log is in time order) must have left the window before we may go:
            // then no window holding this send holds more than `share` sends, and never more than the capacity.
            let oldest_in_share = state.sends[state.sends.len() - share];
            slot = slot.max(oldest_in_share + self.window);
        }
        let wait = slot.saturating_duration_since(now);
        if wait > max_wait {
            return Err(SlotTooFar { wait });
        }
        // A caller with a larger share can be given a slot before one reserved earlier by a smaller share.
        let position = state.sends.partition_point(|send| *send <= slot);
        state.sends.insert(position, slot);
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
            assert_eq!(limiter.reserve(now, Duration::ZERO, Priority::Continuing), Ok(now));
        }
    }

    #[test]
    fn the_request_after_capacity_waits_for_the_oldest_to_leave_the_window() {
        let limiter = RateLimiter::new(3, MINUTE);
        let now = Instant::now();
        for _ in 0..3 {
            limiter.reserve(now, Duration::ZERO, Priority::Continuing).unwrap();
        }
        assert_eq!(limiter.reserve(now, Duration::ZERO, Priority::Continuing), Err(SlotTooFar { wait: MINUTE }));
        assert_eq!(limiter.reserve(now, MINUTE, Priority::Continuing), Ok(now + MINUTE));
    }

    #[test]
    fn no_interval_of_one_window_holds_more_than_capacity() {
        let limiter = RateLimiter::new(4, MINUTE);
        let start = Instant::now();
        let mut slots = Vec::new();
        for i in 0..40u64 {
            let now = start + Duration::from_millis(i * 700);
            slots.push(limiter.reserve(now, Duration::from_secs(3600), Priority::Continuing).unwrap());
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
            assert_eq!(limiter.reserve(now, Duration::ZERO, Priority::Continuing), Ok(now));
        }
    }

    #[test]
    fn a_pause_holds_every_caller() {
        let limiter = RateLimiter::new(10, MINUTE);
        let now = Instant::now();
        limiter.pause_until(now + Duration::from_secs(5));
        assert_eq!(
            limiter.reserve(now, Duration::from_secs(10), Priority::Continuing),
            Ok(now + Duration::from_secs(5))
        );
    }

    #[test]
    fn starting_requests_leave_a_slot_for_each_request_under_way_and_background_work_leaves_its_reserve() {
        let limiter = RateLimiter::new(10, MINUTE);
        let now = Instant::now();
        // Five requests start, each counting the ones before it as under way; the sixth would leave them no room.
        for under_way in 0..5 {
            assert_eq!(limiter.reserve(now, Duration::ZERO, Priority::Starting { under_way }), Ok(now));
        }
        let refused = limiter.reserve(now, Duration::ZERO, Priority::Starting { under_way: 5 });
        assert_eq!(refused, Err(SlotTooFar { wait: MINUTE }));
        // Background work may not take the last three; the five requests under way still finish.
        assert!(limiter.reserve(now, Duration::ZERO, Priority::Background { reserve: 3 }).is_ok());
        assert!(limiter.reserve(now, Duration::ZERO, Priority::Background { reserve: 3 }).is_ok());
        assert!(limiter.reserve(now, Duration::ZERO, Priority::Background { reserve: 3 }).is_err());
        for _ in 0..3 {
            assert_eq!(limiter.reserve(now, Duration::ZERO, Priority::Continuing), Ok(now));
        }
        assert!(limiter.reserve(now, Duration::ZERO, Priority::Continuing).is_err());
    }

    #[test]
    fn a_larger_share_may_go_before_a_slot_reserved_later_in_time_and_the_window_still_holds() {
        let limiter = RateLimiter::new(4, MINUTE);
        let start = Instant::now();
        let mut slots = Vec::new();
        for i in 0..60u64 {
            let now = start + Duration::from_millis(i * 900);
            let priority = match i % 3 {
                0 => Priority::Continuing,
                1 => Priority::Starting { under_way: 2 },
                _ => Priority::Background { reserve: 1 },
            };
            slots.push(limiter.reserve(now, Duration::from_secs(3600), priority).unwrap());
        }
        for slot in &slots {
            assert!(sends_within(&slots, *slot, MINUTE) <= 4);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn acquire_waits_on_the_tokio_clock() {
        let limiter = RateLimiter::new(1, MINUTE);
        let start = Instant::now();
        limiter.acquire(Duration::ZERO, Priority::Continuing).await.unwrap();
        limiter.acquire(MINUTE, Priority::Continuing).await.unwrap();
        assert_eq!(Instant::now() - start, MINUTE);
    }
}

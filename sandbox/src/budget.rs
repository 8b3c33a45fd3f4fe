//! Keka's rate limit: a quota of requests per fixed window (50 per 60 s), refilled at window
//! boundaries rather than continuously. Windows are counted from the moment the sandbox starts.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Outcome of asking for budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    Allowed,
    /// Over quota; the current window ends in `retry_after_secs` (rounded up).
    Limited {
        retry_after_secs: u64,
    },
}

/// Fixed-window request budget.
#[derive(Debug)]
pub(crate) struct RateBudget {
    limit: u32,
    window: Duration,
    started: Instant,
    /// (window number, requests admitted in it)
    used: Mutex<(u128, u32)>,
}

impl RateBudget {
    /// `limit` 0 disables limiting.
    pub(crate) fn new(limit: u32, window: Duration) -> Self {
        Self {
            limit,
            // A zero window would divide by zero; treat it as the smallest possible window.
            window: window.max(Duration::from_millis(1)),
            started: Instant::now(),
            used: Mutex::new((0, 0)),
        }
    }

    /// The configured quota per window.
    pub(crate) fn limit(&self) -> u32 {
        self.limit
    }

    /// Takes one unit of budget if the current window has any left.
    pub(crate) fn admit(&self) -> Admission {
        self.admit_at(Instant::now())
    }

    fn admit_at(&self, now: Instant) -> Admission {
        if self.limit == 0 {
            return Admission::Allowed;
        }
        let elapsed = now.saturating_duration_since(self.started);
        let window_nanos = self.window.as_nanos();
        let current = elapsed.as_nanos() / window_nanos;
        let mut used = self.used.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if used.0 != current {
            *used = (current, 0);
        }
        if used.1 < self.limit {
            used.1 += 1;
            return Admission::Allowed;
        }
        let remaining_nanos = (current + 1) * window_nanos - elapsed.as_nanos();
        let retry_after_secs = u64::try_from(remaining_nanos.div_ceil(1_000_000_000)).unwrap_or(u64::MAX);
        Admission::Limited { retry_after_secs }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_windows_refill_at_the_boundary() {
        let budget = RateBudget::new(2, Duration::from_secs(60));
        let t0 = budget.started;
        assert_eq!(budget.admit_at(t0), Admission::Allowed);
        assert_eq!(budget.admit_at(t0 + Duration::from_secs(1)), Admission::Allowed);
        assert_eq!(budget.admit_at(t0 + Duration::from_millis(30_500)), Admission::Limited { retry_after_secs: 30 });
        assert_eq!(budget.admit_at(t0 + Duration::from_secs(60)), Admission::Allowed);
        assert_eq!(budget.admit_at(t0 + Duration::from_secs(61)), Admission::Allowed);
        assert!(matches!(budget.admit_at(t0 + Duration::from_secs(62)), Admission::Limited { .. }));
    }

    #[test]
    fn zero_limit_disables() {
        let budget = RateBudget::new(0, Duration::from_secs(60));
        for _ in 0..1000 {
            assert_eq!(budget.admit(), Admission::Allowed);
        }
    }
}

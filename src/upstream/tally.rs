//! What one unit of work (one GraphQL request) cost the upstreams (requests sent, the age of the oldest stale data
//! it was served), and its deadline, which every upstream call made for it respects.
//!
//! The tally travels as a tokio task-local, so it follows the work into every future it awaits; work spawned onto
//! other tasks is counted when it is spawned through [`RequestTally::scope`].

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

tokio::task_local! {
    static CURRENT: Arc<Counts>;
}

#[derive(Debug, Default)]
struct Counts {
    /// Upstream calls made for this work must end by then: waits, timeouts and retries are cut to fit.
    deadline: Option<tokio::time::Instant>,
    requests: AtomicU64,
    /// Age in milliseconds of the oldest stale value served, plus one (0: none).
    stale_millis_plus_one: AtomicU64,
    /// Failure kinds this request has already logged at WARN.
    failures_logged: std::sync::Mutex<Vec<&'static str>>,
}

#[derive(Debug, Clone, Default)]
pub struct RequestTally(Arc<Counts>);

impl RequestTally {
    pub fn new() -> Self {
        Self::default()
    }

    /// A tally whose upstream calls must end within `budget` from now.
    pub fn with_deadline(budget: Duration) -> Self {
        Self(Arc::new(Counts { deadline: Some(tokio::time::Instant::now() + budget), ..Counts::default() }))
    }

    /// `limit`, shortened to the time left before the current work's deadline (zero once it has passed).
    pub(crate) fn capped(limit: Duration) -> Duration {
        CURRENT
            .try_with(|counts| counts.deadline)
            .ok()
            .flatten()
            .map_or(limit, |deadline| limit.min(deadline.saturating_duration_since(tokio::time::Instant::now())))
    }

    /// Waits for `work` (typically someone else's upstream call this one shares) no longer than the current work's
    /// deadline allows.
    pub(crate) async fn within_deadline<T>(work: impl Future<Output = T>) -> Result<T, DeadlinePassed> {
        // Boxed: the shared work can be a large future, and this wrapper sits in deep call chains.
        let work = Box::pin(work);
        let Some(deadline) = CURRENT.try_with(|counts| counts.deadline).ok().flatten() else {
            return Ok(work.await);
        };
        tokio::time::timeout_at(deadline, work).await.map_err(|_| DeadlinePassed)
    }

    /// Whether waiting `wait` now would end past the current work's deadline.
    pub(crate) fn would_pass_deadline(wait: Duration) -> bool {
        Self::capped(wait) < wait
    }

    /// Runs `work` so that upstream requests it makes are counted here.
    pub fn scope<F: Future>(&self, work: F) -> impl Future<Output = F::Output> + use<F> {
        CURRENT.scope(self.0.clone(), work)
    }

    /// Upstream requests counted so far (retries included).
    pub fn count(&self) -> u64 {
        self.0.requests.load(Ordering::Relaxed)
    }

    /// The age of the oldest stale value this work was served, if any.
    pub fn stale_age(&self) -> Option<Duration> {
        match self.0.stale_millis_plus_one.load(Ordering::Relaxed) {
            0 => None,
            millis => Some(Duration::from_millis(millis - 1)),
        }
    }

    /// Called by the clients for every request they send.
    pub(crate) fn record_request() {
        let _outside_any_scope = CURRENT.try_with(|counts| counts.requests.fetch_add(1, Ordering::Relaxed));
    }

    /// True the first time the current request meets a failure of this kind (and outside any request): a page
    /// whose hundred fields fail alike logs one warning, not a hundred.
    pub fn first_failure_of(kind: &'static str) -> bool {
        CURRENT
            .try_with(|counts| {
                let mut logged = counts.failures_logged.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let first = !logged.contains(&kind);
                if first {
                    logged.push(kind);
                }
                first
            })
            .unwrap_or(true)
    }

    /// Called when a value past its TTL is served (grace period or stale-if-error).
    pub(crate) fn record_stale(age: Duration) {
        let millis = u64::try_from(age.as_millis()).unwrap_or(u64::MAX - 1) + 1;
        let _outside_any_scope =
            CURRENT.try_with(|counts| counts.stale_millis_plus_one.fetch_max(millis, Ordering::Relaxed));
    }
}

/// The current work's deadline passed while it waited on something it shares with other work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadlinePassed;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failure_kind_is_first_once_per_request() {
        let firsts = RequestTally::new()
            .scope(async {
                [
                    RequestTally::first_failure_of("UPSTREAM_UNAVAILABLE"),
                    RequestTally::first_failure_of("UPSTREAM_UNAVAILABLE"),
                    RequestTally::first_failure_of("UPSTREAM_RATE_LIMITED"),
                ]
            })
            .await;
        let in_another_request =
            RequestTally::new().scope(async { RequestTally::first_failure_of("UPSTREAM_UNAVAILABLE") }).await;

        assert_eq!(firsts, [true, false, true]);
        assert!(in_another_request);
        assert!(RequestTally::first_failure_of("UPSTREAM_UNAVAILABLE"), "outside any request, always logged");
    }
}

//! The request context: what one GraphQL request carries into every upstream call made for it.
//!
//! - its **deadline**, which every wait, timeout and retry is cut to;
//! - its **counts**: upstream requests sent, and the age of the oldest stale value it was served;
//! - its **holds** on upstream budgets: a request that holds calls on a budget is under way, and goes before
//!   requests that have not started ([`Priority`]);
//! - the failure kinds it has already logged, so a page of failing fields logs once.
//!
//! It travels as a tokio task-local, so it follows the request into every future it awaits; work spawned onto
//! other tasks carries it when spawned through [`RequestContext::scope`]. Work outside any request (background
//! rebuilds) has none: it has no deadline and ranks as background work.

use std::future::Future;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use super::Priority;

tokio::task_local! {
    static CURRENT: Arc<Carried>;
}

#[derive(Debug, Default)]
struct Carried {
    /// Upstream calls made for this work must end by then: waits, timeouts and retries are cut to fit.
    deadline: Option<tokio::time::Instant>,
    requests: AtomicU64,
    /// The age of the oldest stale value served.
    oldest_stale: Mutex<Option<Duration>>,
    /// Failure kinds this request has already logged at WARN.
    failures_logged: Mutex<Vec<&'static str>>,
    /// The budgets this request holds calls on; each is released when the request ends.
    holds: Mutex<Vec<Hold>>,
}

/// Requests under way on one budget: those holding calls on it.
#[derive(Debug, Default)]
pub(crate) struct UnderWay(AtomicU32);

/// One request's hold on one budget; dropped with the request.
#[derive(Debug)]
struct Hold(Arc<UnderWay>);

impl Drop for Hold {
    fn drop(&mut self) {
        self.0.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[derive(Debug, Clone, Default)]
pub struct RequestContext(Arc<Carried>);

impl RequestContext {
    pub fn new() -> Self {
        Self::default()
    }

    /// A context whose upstream calls must end within `budget` from now.
    pub fn with_deadline(budget: Duration) -> Self {
        Self(Arc::new(Carried { deadline: Some(tokio::time::Instant::now() + budget), ..Carried::default() }))
    }

    /// The context of the current work, if it runs within one: to carry it into a task spawned for it.
    pub fn current() -> Option<Self> {
        CURRENT.try_with(|carried| Self(carried.clone())).ok()
    }

    /// How a call made now ranks on the budget whose requests under way are `under_way`, and, for a request's first
    /// call, its hold on that budget (the call counts as under way from now; drop the hold if no slot is granted).
    /// Outside any request: background work, keeping `reserve` slots for requests.
    pub(crate) fn rank(under_way: &Arc<UnderWay>, reserve: u32) -> (Priority, Option<PendingHold>) {
        let ranked = CURRENT.try_with(|carried| {
            let holds = carried.holds.lock().unwrap_or_else(PoisonError::into_inner);
            if holds.iter().any(|hold| Arc::ptr_eq(&hold.0, under_way)) {
                return (Priority::Continuing, None);
            }
            // Counted before the slot is asked for: a burst of first calls sees each other.
            let others = under_way.0.fetch_add(1, Ordering::Relaxed);
            (
                Priority::Starting { under_way: others },
                Some(PendingHold { carried: carried.clone(), hold: Some(Hold(under_way.clone())) }),
            )
        });
        ranked.unwrap_or((Priority::Background { reserve }, None))
    }

    /// `limit`, shortened to the time left before the current work's deadline (zero once it has passed).
    pub(crate) fn capped(limit: Duration) -> Duration {
        CURRENT
            .try_with(|carried| carried.deadline)
            .ok()
            .flatten()
            .map_or(limit, |deadline| limit.min(deadline.saturating_duration_since(tokio::time::Instant::now())))
    }

    /// Waits for `work` (typically someone else's upstream call this one shares) no longer than the current work's
    /// deadline allows.
    pub(crate) async fn within_deadline<T>(work: impl Future<Output = T>) -> Result<T, DeadlinePassed> {
        // Boxed: the shared work can be a large future, and this wrapper sits in deep call chains.
        let work = Box::pin(work);
        let Some(deadline) = CURRENT.try_with(|carried| carried.deadline).ok().flatten() else {
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
        *self.0.oldest_stale.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Called by the clients for every request they send.
    pub(crate) fn record_request() {
        let _outside_any_scope = CURRENT.try_with(|carried| carried.requests.fetch_add(1, Ordering::Relaxed));
    }

    /// True the first time the current request meets a failure of this kind (and outside any request): a page
    /// whose hundred fields fail alike logs one warning, not a hundred.
    pub fn first_failure_of(kind: &'static str) -> bool {
        CURRENT
            .try_with(|carried| {
                let mut logged = carried.failures_logged.lock().unwrap_or_else(PoisonError::into_inner);
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
        let _outside_any_scope = CURRENT.try_with(|carried| {
            let mut oldest = carried.oldest_stale.lock().unwrap_or_else(PoisonError::into_inner);
            *oldest = Some(oldest.map_or(age, |oldest| oldest.max(age)));
        });
    }
}

/// A request's first hold on a budget, counted as under way while its first call waits for a slot: kept by the
/// request once granted ([`PendingHold::keep`]), released if dropped before.
pub(crate) struct PendingHold {
    carried: Arc<Carried>,
    hold: Option<Hold>,
}

impl PendingHold {
    /// The slot was granted: the request holds calls on this budget until it ends.
    pub(crate) fn keep(mut self) {
        if let Some(hold) = self.hold.take() {
            self.carried.holds.lock().unwrap_or_else(PoisonError::into_inner).push(hold);
        }
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
        let firsts = RequestContext::new()
            .scope(async {
                [
                    RequestContext::first_failure_of("UPSTREAM_UNAVAILABLE"),
                    RequestContext::first_failure_of("UPSTREAM_UNAVAILABLE"),
                    RequestContext::first_failure_of("UPSTREAM_RATE_LIMITED"),
                ]
            })
            .await;
        let in_another_request =
            RequestContext::new().scope(async { RequestContext::first_failure_of("UPSTREAM_UNAVAILABLE") }).await;

        assert_eq!(firsts, [true, false, true]);
        assert!(in_another_request);
        assert!(RequestContext::first_failure_of("UPSTREAM_UNAVAILABLE"), "outside any request, always logged");
    }
}

//! The one send loop of every upstream call (Keka's API, Keka's token endpoint, Keeper): a budget slot before each
//! attempt, and after a failed one the wait the retry rules call for (or none), all within the current request's
//! deadline. What an attempt is, and what a final failure means, stay with each client.

use std::sync::Arc;
use std::time::Duration;

use super::request_context::UnderWay;
use super::retry::{self, AttemptOutcome, Decision, RetryPolicy};
use super::{Budget, RequestContext, UpstreamMetrics};

pub struct Pacer {
    upstream: &'static str,
    /// `None`: calls outside any budget (Keka's token endpoint is not counted in the API's).
    budget: Option<Arc<dyn Budget>>,
    /// This process's requests holding calls on the budget ([`super::Priority::Starting`]).
    under_way: Arc<UnderWay>,
    /// Slots background work leaves to requests ([`super::Priority::Background`]).
    reserve: u32,
    retry: RetryPolicy,
    metrics: Arc<UpstreamMetrics>,
}

/// What one attempt came to.
pub enum Attempt<T, E> {
    Success(T),
    /// Failed; the retry rules judge `outcome`, and `error` is what the caller says if it gives up.
    Failed(AttemptOutcome, E),
    /// A credential was refreshed: try again (with a slot of its own) without counting a retry.
    Refreshed,
    /// Give up now with `error`, whatever the retry rules would say.
    Abort(E),
}

/// Why the loop gave up.
#[derive(Debug)]
pub enum GaveUp<E> {
    NoSlot(NoSlot),
    Failed(E),
}

/// No budget slot within the wait allowed (the configured one, cut to the request's deadline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoSlot {
    pub wait: Duration,
    pub max_wait: Duration,
}

impl Pacer {
    /// `upstream` names it in metrics and logs (`keka`, `keeper`).
    pub fn new(
        upstream: &'static str,
        budget: Arc<dyn Budget>,
        reserve: u32,
        retry: RetryPolicy,
        metrics: Arc<UpstreamMetrics>,
    ) -> Self {
        Self { upstream, budget: Some(budget), under_way: Arc::default(), reserve, retry, metrics }
    }

    /// A pacer for calls that no budget counts (the retry rules and the deadline still apply).
    pub fn unbudgeted(upstream: &'static str, retry: RetryPolicy, metrics: Arc<UpstreamMetrics>) -> Self {
        Self { upstream, budget: None, under_way: Arc::default(), reserve: 0, retry, metrics }
    }

    /// The send loop: `attempt` until it succeeds, aborts, or the retry rules (or the budget, within the deadline)
    /// say to give up.
    pub async fn send<T, E, F, Fut>(&self, endpoint: &'static str, mut attempt: F) -> Result<T, GaveUp<E>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Attempt<T, E>>,
    {
        let mut retries_done = 0;
        loop {
            self.slot().await.map_err(GaveUp::NoSlot)?;
            match attempt().await {
                Attempt::Success(value) => return Ok(value),
                Attempt::Refreshed => {}
                Attempt::Abort(error) => return Err(GaveUp::Failed(error)),
                Attempt::Failed(outcome, error) => {
                    if !self.retry_after(endpoint, retries_done, outcome).await {
                        return Err(GaveUp::Failed(error));
                    }
                    retries_done += 1;
                }
            }
        }
    }

    /// Waits for a budget slot, never past the request's deadline (the router gives up at 30 s; partial data beats
    /// none).
    async fn slot(&self) -> Result<(), NoSlot> {
        let Some(budget) = &self.budget else {
            return Ok(());
        };
        let max_wait = RequestContext::capped(self.retry.max_wait);
        let (priority, first_hold) = RequestContext::rank(&self.under_way, self.reserve);
        let waited =
            budget.acquire(max_wait, priority).await.map_err(|too_far| NoSlot { wait: too_far.wait, max_wait })?;
        if let Some(hold) = first_hold {
            hold.keep();
        }
        self.metrics.waited_for_budget(self.upstream, waited);
        Ok(())
    }

    /// After a failed attempt (`retries_done` before it): waits as the retry rules say and returns true, or returns
    /// false when the call should give up (not retryable, out of retries, or a wait past the request's deadline).
    async fn retry_after(&self, endpoint: &'static str, retries_done: u32, outcome: AttemptOutcome) -> bool {
        let wait = match retry::decide(&self.retry, retries_done, outcome, rand::random()) {
            Decision::RetryAfter(wait) if !RequestContext::would_pass_deadline(wait) => wait,
            Decision::RetryAfter(_) | Decision::GiveUp => return false,
        };
        self.metrics.retried(self.upstream);
        if let AttemptOutcome::Status { status: 429, .. } = outcome
            && let Some(budget) = &self.budget
        {
            // The budget is spent for everyone using this key or token, not just this call.
            budget.pause(wait).await;
        }
        tracing::warn!(
            upstream = self.upstream,
            endpoint,
            ?outcome,
            attempt = retries_done + 1,
            wait_ms = wait.as_millis() as u64,
            "retrying an upstream call"
        );
        tokio::time::sleep(wait).await;
        true
    }
}

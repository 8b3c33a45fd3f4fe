//! Counts the Keka requests made on behalf of one unit of work (e.g. one GraphQL request).
//!
//! The count travels as a tokio task-local, so it follows the work into every future it
//! awaits; work spawned onto other tasks is counted when it is spawned through [`RequestTally::scope`].

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

tokio::task_local! {
    static CURRENT: Arc<AtomicU64>;
}

#[derive(Debug, Clone, Default)]
pub struct RequestTally(Arc<AtomicU64>);

impl RequestTally {
    pub fn new() -> Self {
        Self::default()
    }

    /// Runs `work` so that Keka requests it makes are counted here.
    pub fn scope<F: Future>(&self, work: F) -> impl Future<Output = F::Output> + use<F> {
        CURRENT.scope(self.0.clone(), work)
    }

    /// Keka requests counted so far (retries included).
    pub fn count(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Called by the client for every request it sends.
    pub(crate) fn record_request() {
        let _outside_any_scope = CURRENT.try_with(|count| count.fetch_add(1, Ordering::Relaxed));
    }
}

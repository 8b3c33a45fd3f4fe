//! What every upstream client shares (Keka's and Keeper's): the request budget, the retry rules, a value rebuilt
//! from one walk of the upstream and served with a TTL, a grace period and stale-if-error, the per-request context
//! and the metrics.
//!
//! Knows nothing of any one upstream's API.

pub mod as_of;
pub mod metrics;
mod pacer;
pub mod rate_limit;
pub mod refreshing;
mod request_context;
pub mod retry;

pub use metrics::UpstreamMetrics;
pub use pacer::{Attempt, GaveUp, NoSlot, Pacer};
pub use rate_limit::{Budget, Priority, RateLimiter, SlotTooFar};
pub use refreshing::{Freshness, Refreshing, serve_stale};
pub use request_context::{DeadlinePassed, RequestContext};

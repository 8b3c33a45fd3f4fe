//! What every upstream client shares (Keka's and Keeper's): the request budget, the retry rules, and a value
//! rebuilt from one walk of the upstream and served with a TTL, a grace period and stale-if-error.
//!
//! Knows nothing of any one upstream's API.

pub mod rate_limit;
pub mod refreshing;
pub mod retry;

pub use rate_limit::{RateLimiter, SlotTooFar};
pub use refreshing::{Freshness, Refreshing};

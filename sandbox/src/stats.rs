//! Request counters, so tests and benchmarks can assert how many calls a client made
//! (e.g. "the dataloader batched 50 lookups into one request", "the client backed off after a 429").

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

/// Route template recorded for requests under `/api/v1` that matched no route.
pub(crate) const UNMATCHED_API_ROUTE: &str = "/api/v1/{*rest}";
/// Route template recorded for other requests that matched no route.
pub(crate) const UNMATCHED_ROUTE: &str = "/{*rest}";
/// The token endpoint's route.
pub(crate) const TOKEN_ROUTE: &str = "/connect/token";

/// A snapshot of the counters.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SandboxStats {
    /// Every counted request (token endpoint, API, unmatched; not the admin endpoints, and not
    /// the Keeper SCIM node's requests, which `KeeperStats` counts).
    pub total: u64,
    /// Requests answered 429.
    pub rate_limited: u64,
    /// Requests to the token endpoint (any outcome).
    pub token_requests: u64,
    /// Counts per (method, route template, status), sorted by route, method, status.
    pub by_route: Vec<RouteStat>,
    /// HR changes applied to the tenant (admin route and the background task).
    #[serde(default)]
    pub hr_changes: u64,
    /// Event Trigger webhooks delivered with a 2xx answer.
    #[serde(default)]
    pub webhooks_sent: u64,
    /// Event Trigger webhooks that failed (no answer in time, connection error, non-2xx, queue full).
    #[serde(default)]
    pub webhooks_failed: u64,
}

/// One counter of [`SandboxStats::by_route`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RouteStat {
    /// HTTP method, e.g. `GET`.
    pub method: String,
    /// Route template, e.g. `/api/v1/hris/employees/{id}`.
    pub route: String,
    /// Final status code, including 401/429/fault responses.
    pub status: u16,
    /// Number of requests.
    pub count: u64,
}

impl SandboxStats {
    /// Requests to `route` (a template), all methods and statuses.
    pub fn count(&self, route: &str) -> u64 {
        self.by_route.iter().filter(|r| r.route == route).map(|r| r.count).sum()
    }

    /// Requests to `route` answered with `status`.
    pub fn count_status(&self, route: &str, status: u16) -> u64 {
        self.by_route.iter().filter(|r| r.route == route && r.status == status).map(|r| r.count).sum()
    }

    /// Requests under `/api/v1` (any route, including unmatched ones).
    pub fn api_requests(&self) -> u64 {
        self.by_route.iter().filter(|r| r.route.starts_with("/api/v1")).map(|r| r.count).sum()
    }
}

#[derive(Debug, Default)]
struct Counters {
    total: u64,
    rate_limited: u64,
    token_requests: u64,
    /// (route, method, status) → count; the key order gives a stable snapshot order.
    by_route: BTreeMap<(String, String, u16), u64>,
    hr_changes: u64,
    webhooks_sent: u64,
    webhooks_failed: u64,
}

/// The live counters. A plain mutex: the critical sections are tiny and never span an await.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    counters: Mutex<Counters>,
}

impl Stats {
    /// Counts one finished request.
    pub(crate) fn record(&self, method: &str, route: &str, status: u16) {
        let mut c = self.counters.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        c.total += 1;
        if status == 429 {
            c.rate_limited += 1;
        }
        if route == TOKEN_ROUTE {
            c.token_requests += 1;
        }
        *c.by_route.entry((route.to_owned(), method.to_owned(), status)).or_insert(0) += 1;
    }

    /// Counts applied HR changes.
    pub(crate) fn record_hr_changes(&self, count: u64) {
        self.counters.lock().unwrap_or_else(std::sync::PoisonError::into_inner).hr_changes += count;
    }

    /// Counts one webhook delivery attempt.
    pub(crate) fn record_webhook(&self, delivered: bool) {
        let mut c = self.counters.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if delivered {
            c.webhooks_sent += 1;
        } else {
            c.webhooks_failed += 1;
        }
    }

    /// A copy of the counters.
    pub(crate) fn snapshot(&self) -> SandboxStats {
        let c = self.counters.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        SandboxStats {
            total: c.total,
            rate_limited: c.rate_limited,
            token_requests: c.token_requests,
            by_route: c
                .by_route
                .iter()
                .map(|((route, method, status), count)| RouteStat {
                    method: method.clone(),
                    route: route.clone(),
                    status: *status,
                    count: *count,
                })
                .collect(),
            hr_changes: c.hr_changes,
            webhooks_sent: c.webhooks_sent,
            webhooks_failed: c.webhooks_failed,
        }
    }

    /// Zeroes every counter.
    pub(crate) fn reset(&self) {
        *self.counters.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Counters::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_route_and_status() {
        let stats = Stats::default();
        stats.record("POST", TOKEN_ROUTE, 200);
        stats.record("GET", "/api/v1/hris/employees", 200);
        stats.record("GET", "/api/v1/hris/employees", 200);
        stats.record("GET", "/api/v1/hris/employees", 429);
        stats.record("GET", UNMATCHED_API_ROUTE, 404);
        stats.record("GET", UNMATCHED_ROUTE, 404);
        let s = stats.snapshot();
        assert_eq!(s.total, 6);
        assert_eq!(s.rate_limited, 1);
        assert_eq!(s.token_requests, 1);
        assert_eq!(s.count("/api/v1/hris/employees"), 3);
        assert_eq!(s.count_status("/api/v1/hris/employees", 200), 2);
        assert_eq!(s.api_requests(), 4);
        assert_eq!((s.hr_changes, s.webhooks_sent, s.webhooks_failed), (0, 0, 0));
        stats.record_hr_changes(3);
        stats.record_webhook(true);
        stats.record_webhook(false);
        stats.record_webhook(false);
        let s = stats.snapshot();
        assert_eq!((s.hr_changes, s.webhooks_sent, s.webhooks_failed), (3, 1, 2));
        stats.reset();
        assert_eq!(stats.snapshot().total, 0);
        assert_eq!(stats.snapshot().hr_changes, 0);
    }

    #[test]
    fn snapshots_without_the_newer_counters_still_parse() {
        let old = r#"{"total":1,"rate_limited":0,"token_requests":1,"by_route":[]}"#;
        let s: SandboxStats = serde_json::from_str(old).unwrap();
        assert_eq!((s.total, s.hr_changes, s.webhooks_sent, s.webhooks_failed), (1, 0, 0, 0));
    }
}

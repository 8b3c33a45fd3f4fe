//! What the upstream clients count for `/metrics`: requests by endpoint and status, time spent waiting for the
//! request budget, 429s, retries, token refreshes, and cache hits and misses.
//!
//! One instance is shared by every upstream (the `upstream` label tells them apart) and registered once in the
//! server's registry; a client built without one gets its own unregistered instance, so counting never needs an
//! `Option`.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub upstream: &'static str,
    /// The route's template (`/hris/employees/{id}`), never a concrete path: bounded cardinality, no ids.
    pub endpoint: &'static str,
    /// The HTTP status, or `timeout` / `connection` when none arrived.
    pub status: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpstreamLabel {
    pub upstream: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CacheLabels {
    pub cache: &'static str,
    pub result: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SyncLabels {
    /// `delta`, `full` (a walk of everyone) or `follow` (a round another replica led, applied here).
    pub kind: &'static str,
    pub outcome: &'static str,
}

#[derive(Debug)]
pub struct UpstreamMetrics {
    requests: Family<RequestLabels, Counter>,
    rate_limit_wait: Family<UpstreamLabel, Histogram>,
    throttled: Family<UpstreamLabel, Counter>,
    retries: Family<UpstreamLabel, Counter>,
    token_refreshes: Family<UpstreamLabel, Counter>,
    cache: Family<CacheLabels, Counter>,
    sync_rounds: Family<SyncLabels, Counter>,
    sync_changes: Counter,
}

fn wait_histogram() -> Histogram {
    // From "no wait" to Keka's whole 60 s window.
    Histogram::new([0.001, 0.01, 0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0])
}

impl Default for UpstreamMetrics {
    fn default() -> Self {
        Self {
            requests: Family::default(),
            rate_limit_wait: Family::new_with_constructor(wait_histogram),
            throttled: Family::default(),
            retries: Family::default(),
            token_refreshes: Family::default(),
            cache: Family::default(),
            sync_rounds: Family::default(),
            sync_changes: Counter::default(),
        }
    }
}

impl UpstreamMetrics {
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "upstream_requests",
            "HTTP requests sent to an upstream (Keka, Keeper), by endpoint template and status",
            self.requests.clone(),
        );
        registry.register(
            "upstream_rate_limit_wait_seconds",
            "Time a request waited for a slot in the upstream's request budget",
            self.rate_limit_wait.clone(),
        );
        registry.register("upstream_throttled", "429 answers from an upstream", self.throttled.clone());
        registry.register("upstream_retries", "Requests sent again after a failure or a 429", self.retries.clone());
        registry.register("upstream_token_refreshes", "Access tokens fetched", self.token_refreshes.clone());
        registry.register("cache_requests", "Cache lookups by cache and result (hit or miss)", self.cache.clone());
        registry.register("sync_rounds", "Sync rounds by kind and outcome", self.sync_rounds.clone());
        registry.register("sync_changes", "Changed employees applied to the org snapshot", self.sync_changes.clone());
    }

    pub fn request(&self, upstream: &'static str, endpoint: &'static str, status: impl Into<String>) {
        self.requests.get_or_create(&RequestLabels { upstream, endpoint, status: status.into() }).inc();
    }

    pub fn waited_for_budget(&self, upstream: &'static str, wait: std::time::Duration) {
        self.rate_limit_wait.get_or_create(&UpstreamLabel { upstream }).observe(wait.as_secs_f64());
    }

    pub fn throttled(&self, upstream: &'static str) {
        self.throttled.get_or_create(&UpstreamLabel { upstream }).inc();
    }

    pub fn retried(&self, upstream: &'static str) {
        self.retries.get_or_create(&UpstreamLabel { upstream }).inc();
    }

    pub fn token_refreshed(&self, upstream: &'static str) {
        self.token_refreshes.get_or_create(&UpstreamLabel { upstream }).inc();
    }

    pub fn sync_round(&self, kind: &'static str, ok: bool) {
        let outcome = if ok { "ok" } else { "failed" };
        self.sync_rounds.get_or_create(&SyncLabels { kind, outcome }).inc();
    }

    pub fn sync_changes(&self, changed: usize) {
        self.sync_changes.inc_by(changed as u64);
    }

    pub fn cache_lookup(&self, cache: &'static str, hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        self.cache.get_or_create(&CacheLabels { cache, result }).inc();
    }
}

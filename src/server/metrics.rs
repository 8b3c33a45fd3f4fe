//! `GET /metrics` in Prometheus' text format: GraphQL requests by operation and outcome with latency histograms,
//! requests in flight and shed, snapshot ages, plus everything the upstream clients count ([`UpstreamMetrics`]).

use crate::store::StoreState;
use std::collections::HashSet;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use crate::upstream::UpstreamMetrics;

/// Operation names are chosen by clients: past this many distinct ones, new names are counted as `other`, so a
/// client cannot grow the metrics without bound.
const MAX_OPERATION_NAMES: usize = 200;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    operation: String,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StoreLabel {
    state: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SnapshotLabel {
    snapshot: &'static str,
}

/// How a GraphQL request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Data and no errors.
    Ok,
    /// Data with some errors (a failed field).
    Partial,
    /// No data: refused before execution or failed entirely.
    Failed,
    /// Turned away because too many requests were in flight.
    Shed,
    /// Turned away by router authentication.
    Unauthenticated,
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Partial => "partial",
            Self::Failed => "failed",
            Self::Shed => "shed",
            Self::Unauthenticated => "unauthenticated",
        }
    }
}

type AgeOf = Box<dyn Fn() -> Option<Duration> + Send + Sync>;
type StateOf = Box<dyn Fn() -> StoreState + Send + Sync>;

pub struct ServerMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<OperationLabel, Histogram>,
    in_flight: Gauge,
    snapshot_age: Family<SnapshotLabel, Gauge<f64, AtomicU64>>,
    snapshots: Vec<(&'static str, AgeOf)>,
    store: Family<StoreLabel, Gauge>,
    store_state: Option<StateOf>,
    generation_changes: Counter,
    operations: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for ServerMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerMetrics").finish_non_exhaustive()
    }
}

fn latency_histogram() -> Histogram {
    Histogram::new([0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0])
}

impl ServerMetrics {
    pub fn new(upstream: &UpstreamMetrics) -> Self {
        let mut registry = Registry::with_prefix("keka_subgraph");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<OperationLabel, Histogram>::new_with_constructor(latency_histogram);
        let in_flight = Gauge::default();
        let snapshot_age = Family::<SnapshotLabel, Gauge<f64, AtomicU64>>::default();
        registry.register("graphql_requests", "GraphQL requests by operation name and outcome", requests.clone());
        registry.register(
            "graphql_request_duration_seconds",
            "Time to answer a GraphQL request, by operation name",
            latency.clone(),
        );
        registry.register("graphql_requests_in_flight", "GraphQL requests being answered now", in_flight.clone());
        registry.register(
            "snapshot_age_seconds",
            "Age of the snapshot built from an upstream walk (served stale past its TTL)",
            snapshot_age.clone(),
        );
        let store = Family::<StoreLabel, Gauge>::default();
        registry.register(
            "store_state",
            "Where shared state lives: 1 for the current state (local, attached to Redis, or detached from it)",
            store.clone(),
        );
        let generation_changes = Counter::default();
        registry.register(
            "store_generation_changes",
            "Times Redis's data was found replaced (restarted empty, or invalidated) and in-process copies dropped",
            generation_changes.clone(),
        );
        upstream.register(&mut registry);
        Self {
            registry,
            requests,
            latency,
            in_flight,
            snapshot_age,
            snapshots: Vec::new(),
            store,
            store_state: None,
            generation_changes,
            operations: Mutex::new(HashSet::new()),
        }
    }

    /// Reports `age()` as `snapshot_age_seconds{snapshot="name"}` at each scrape.
    pub fn watch_snapshot(&mut self, name: &'static str, age: impl Fn() -> Option<Duration> + Send + Sync + 'static) {
        self.snapshots.push((name, Box::new(age)));
    }

    /// Reports `state()` as `store_state{state="…"} 1` at each scrape.
    pub fn watch_store(&mut self, state: impl Fn() -> StoreState + Send + Sync + 'static) {
        self.store_state = Some(Box::new(state));
    }

    /// Counts one change of the fleet's generation.
    pub fn generation_changed(&self) {
        self.generation_changes.inc();
    }

    /// Counts a request in flight until the guard drops.
    pub fn start_request(self: &Arc<Self>) -> InFlight {
        self.in_flight.inc();
        InFlight(self.clone())
    }

    pub fn in_flight(&self) -> i64 {
        self.in_flight.get()
    }

    pub fn finish_request(&self, operation: Option<&str>, outcome: Outcome, took: Duration) {
        let operation = self.operation_label(operation);
        self.latency.get_or_create(&OperationLabel { operation: operation.clone() }).observe(took.as_secs_f64());
        self.requests.get_or_create(&RequestLabels { operation, outcome: outcome.label() }).inc();
    }

    fn operation_label(&self, operation: Option<&str>) -> String {
        let Some(name) = operation.filter(|name| {
            !name.is_empty() && name.len() <= 64 && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        }) else {
            return if operation.is_some() { "other".to_owned() } else { "anonymous".to_owned() };
        };
        let mut known = self.operations.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if known.contains(name) {
            return name.to_owned();
        }
        if known.len() < MAX_OPERATION_NAMES {
            known.insert(name.to_owned());
            return name.to_owned();
        }
        "other".to_owned()
    }

    /// The text exposition of every metric.
    pub fn render(&self) -> String {
        for (name, age) in &self.snapshots {
            let gauge = self.snapshot_age.get_or_create(&SnapshotLabel { snapshot: name });
            gauge.set(age().map_or(-1.0, |age| age.as_secs_f64()));
        }
        if let Some(state) = &self.store_state {
            let current = state();
            for each in [StoreState::Local, StoreState::Attached, StoreState::Detached] {
                self.store.get_or_create(&StoreLabel { state: each.label() }).set(i64::from(each == current));
            }
        }
        let mut text = String::new();
        if let Err(error) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::error!(%error, "cannot encode the metrics");
        }
        text
    }
}

/// A request being answered; counted in `graphql_requests_in_flight` until dropped.
pub struct InFlight(Arc<ServerMetrics>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_requests_latency_in_flight_snapshot_age_and_upstream_counters() {
        let upstream = UpstreamMetrics::default();
        upstream.request("keka", "/hris/employees", "200");
        upstream.cache_lookup("groups", true);
        let mut metrics = ServerMetrics::new(&upstream);
        metrics.watch_snapshot("org", || Some(Duration::from_secs(12)));
        let metrics = Arc::new(metrics);
        let guard = metrics.start_request();
        metrics.finish_request(Some("OrgChart"), Outcome::Partial, Duration::from_millis(3));
        let text = metrics.render();
        drop(guard);
        for expected in [
            "keka_subgraph_graphql_requests_total{operation=\"OrgChart\",outcome=\"partial\"} 1",
            "keka_subgraph_graphql_request_duration_seconds_count{operation=\"OrgChart\"} 1",
            "keka_subgraph_graphql_requests_in_flight 1",
            "keka_subgraph_snapshot_age_seconds{snapshot=\"org\"} 12",
            "keka_subgraph_upstream_requests_total{upstream=\"keka\",endpoint=\"/hris/employees\",status=\"200\"} 1",
            "keka_subgraph_cache_requests_total{cache=\"groups\",result=\"hit\"} 1",
        ] {
            assert!(text.contains(expected), "missing {expected} in\n{text}");
        }
        assert_eq!(metrics.in_flight(), 0);
    }

    #[test]
    fn operation_names_are_bounded() {
        let metrics = ServerMetrics::new(&UpstreamMetrics::default());
        assert_eq!(metrics.operation_label(None), "anonymous");
        assert_eq!(metrics.operation_label(Some("bad name {")), "other");
        for index in 0..MAX_OPERATION_NAMES {
            assert_eq!(metrics.operation_label(Some(&format!("Op{index}"))), format!("Op{index}"));
        }
        assert_eq!(metrics.operation_label(Some("OneTooMany")), "other");
        assert_eq!(metrics.operation_label(Some("Op7")), "Op7");
    }
}

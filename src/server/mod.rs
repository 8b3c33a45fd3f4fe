//! The subgraph's HTTP layer (the embedded sandbox is another crate with routes of its own; `embedded_sandbox`
//! starts it).
//!
//! `POST /graphql` (and `GET` for queries; see [`graphql`]), GraphiQL at `GET /` (and `GET /graphql` for
//! browsers; can be switched off), `GET /healthz` (process up), `GET /readyz` (a Keka token can be obtained),
//! `GET /metrics` (Prometheus, see [`metrics`]). Router authentication: [`router_auth`].

mod graphiql;
mod graphql;
pub mod metrics;
pub mod router_auth;
mod webhooks;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower_http::limit::RequestBodyLimitLayer;

pub use self::graphql::{DATA_STALE, REQUEST_ID};
use self::metrics::ServerMetrics;
pub use self::router_auth::{JwtKeys, RouterAuth};
pub use self::webhooks::WebhookConfig;
use crate::graphql::{
    AccessDirectives, DocumentCache, GraphContext, GraphLimits, KekaSchema, Today, Writes, build_schema,
};
use crate::keeper::{Directory, KeeperClient, KeeperConfig};
use crate::keka::{CacheConfig, CachedKeka, KekaClient, KekaConfig, OrgSnapshot, OrgSync, SnapshotSource, SyncConfig};
use crate::store::{Store, StoreConfig, StoreState, WriteLedger};
use crate::upstream::{Freshness, UpstreamMetrics};

/// Parsed documents kept for reuse (see [`DocumentCache`]).
const CACHED_DOCUMENTS: u64 = 1_000;

/// What the server needs to start.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    pub keka: KekaConfig,
    /// Keeper's SCIM node; `None` switches the directory off.
    pub keeper: Option<KeeperConfig>,
    pub cache: CacheConfig,
    /// How long a stale org snapshot may still be served while it is rebuilt.
    pub snapshot_grace: Duration,
    /// How long past its TTL a snapshot is still served when a rebuild fails.
    pub stale_if_error: Duration,
    pub limits: GraphLimits,
    pub today: Today,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Access-control markers in the published SDL.
    pub access_directives: AccessDirectives,
    /// GraphQL requests answered at once; more are shed with 503 `SERVICE_OVERLOADED`.
    pub max_concurrent_requests: usize,
    /// Upstream calls made for one request end by then (waits, timeouts and retries are cut to fit), so the
    /// answer, partial if need be, arrives before the router gives up (Apollo Router: 30 s).
    pub request_deadline: Duration,
    /// Whether GraphiQL is served at `/`.
    pub graphiql: bool,
    /// Who may call `/graphql`.
    pub router_auth: RouterAuth,
    /// Where state shared by replicas lives (Redis), if anywhere.
    pub store: StoreConfig,
    /// How the org snapshot is kept fresh (Keka's deltas).
    pub sync: SyncConfig,
    /// Keka's Event Trigger webhooks (`POST /webhooks/keka`); `None`: no such route.
    pub webhooks: Option<WebhookConfig>,
    /// The data is the embedded sandbox's simulation: every answer (`x-keka-sandbox: simulated`) and `/readyz` say so.
    pub simulated: bool,
    /// Whether mutations run while router authentication is off (`ALLOW_UNAUTHENTICATED_WRITES`).
    pub allow_unauthenticated_writes: bool,
}

impl ServerSettings {
    /// How snapshots built from an upstream are served.
    pub fn freshness(&self) -> Freshness {
        Freshness { ttl: self.cache.ttl, grace: self.snapshot_grace, stale_if_error: self.stale_if_error }
    }
}

#[derive(Clone)]
struct AppState {
    schema: KekaSchema,
    keka: CachedKeka,
    snapshot: Arc<SnapshotSource>,
    access_directives: AccessDirectives,
    limits: GraphLimits,
    documents: Arc<DocumentCache>,
    concurrency: Arc<Semaphore>,
    request_deadline: Duration,
    graphiql: bool,
    router_auth: Arc<RouterAuth>,
    metrics: Arc<ServerMetrics>,
    /// Whether the data is the embedded sandbox's simulation, which every answer and `/readyz` then say.
    simulated: bool,
    store: Store,
    sync: Arc<OrgSync>,
}

/// A built server: bound to its port, ready to run.
pub struct Application {
    listener: TcpListener,
    router: Router,
    keka: CachedKeka,
    /// Drops in-process copies when the fleet's shared state is replaced, and syncs the org snapshot; runs while
    /// the server does.
    follow: futures::future::BoxFuture<'static, ()>,
}

impl Application {
    /// Builds the Keka client, the schema and the routes, and binds the listener (port 0 picks a free port).
    pub async fn build(settings: ServerSettings) -> anyhow::Result<Self> {
        let upstream_metrics = Arc::new(UpstreamMetrics::default());
        let store = Store::new(&settings.store)?;
        let client =
            KekaClient::with_store(settings.keka.clone(), upstream_metrics.clone(), store.clone(), settings.cache.ttl)?;
        let keka = CachedKeka::new(client, CacheConfig { stale_if_error: settings.stale_if_error, ..settings.cache });
        let snapshot = OrgSnapshot::source(keka.clone(), settings.freshness());
        let sync = OrgSync::new(keka.clone(), snapshot.clone(), store.clone(), settings.sync);
        let directory = match &settings.keeper {
            Some(config) => {
                let client = KeeperClient::with_metrics(config.clone(), upstream_metrics.clone())?;
                Some(Directory::source(client, settings.freshness()))
            }
            None => None,
        };
        let schema = build_schema(GraphContext {
            keka: keka.clone(),
            snapshot: snapshot.clone(),
            directory: directory.clone(),
            joins: Default::default(),
            limits: settings.limits,
            today: settings.today,
            writes: Writes {
                // A write ends within the request's deadline: a key held longer than that is abandoned.
                ledger: Arc::new(WriteLedger::new(store.clone(), settings.request_deadline + WRITE_LEASE_MARGIN)),
                sync: sync.clone(),
                allow_unauthenticated: settings.allow_unauthenticated_writes,
            },
        });
        let mut metrics = ServerMetrics::new(&upstream_metrics);
        let watched = snapshot.clone();
        metrics.watch_snapshot("org", move || watched.age());
        if let Some(directory) = directory.clone() {
            metrics.watch_snapshot("keeper_directory", move || directory.age());
        }
        let watched = store.clone();
        metrics.watch_store(move || watched.state());
        let state = AppState {
            schema,
            keka: keka.clone(),
            snapshot,
            access_directives: settings.access_directives,
            limits: settings.limits,
            documents: Arc::new(DocumentCache::new(CACHED_DOCUMENTS)),
            concurrency: Arc::new(Semaphore::new(settings.max_concurrent_requests.max(1))),
            request_deadline: settings.request_deadline,
            graphiql: settings.graphiql,
            router_auth: Arc::new(settings.router_auth.clone()),
            metrics: Arc::new(metrics),
            simulated: settings.simulated,
            store,
            sync: sync.clone(),
        };
        let follow = {
            let (store, keka, snapshot, metrics) =
                (state.store.clone(), keka.clone(), state.snapshot.clone(), state.metrics.clone());
            Box::pin(async move {
                let generation = store.follow_generation(|| {
                    keka.forget_answers();
                    snapshot.expire();
                    metrics.generation_changed();
                });
                futures::join!(generation, sync.clone().run(), sync.follow_leave());
            })
        };
        let router = router(state, settings.max_body_bytes, settings.webhooks);
        let listener = TcpListener::bind(settings.listen).await?;
        Ok(Self { listener, router, keka, follow })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// The Keka access the server uses (for tests and benchmarks: request counters).
    pub fn keka(&self) -> &CachedKeka {
        &self.keka
    }

    /// Serves until `shutdown` resolves, then drains in-flight requests.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let Self { listener, router, follow, .. } = self;
        let following = tokio::spawn(follow);
        let served = axum::serve(listener, router).with_graceful_shutdown(shutdown).await;
        following.abort();
        Ok(served?)
    }
}

/// How long an idempotency key stays held past the request's deadline before its write counts as abandoned.
const WRITE_LEASE_MARGIN: Duration = Duration::from_secs(10);

/// Set on every answer while the data is the embedded sandbox's simulation: `x-keka-sandbox: simulated`.
pub const KEKA_SANDBOX: header::HeaderName = header::HeaderName::from_static("x-keka-sandbox");

fn router(state: AppState, max_body_bytes: usize, webhooks: Option<WebhookConfig>) -> Router {
    let simulated = state.simulated;
    let mut router = if state.graphiql {
        Router::new().route("/", get(graphiql)).route(graphiql::ASSETS_ROUTE, get(graphiql::asset))
    } else {
        Router::new()
    };
    if let Some(config) = webhooks {
        router = router.merge(webhooks::routes(config, state.sync.clone()));
    }
    router
        .route("/graphql", get(graphql::graphql_get).post(graphql::graphql_post))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .layer(RequestBodyLimitLayer::new(max_body_bytes))
        .layer(axum::middleware::map_response(move |response: Response| async move {
            let mut response = coded_payload_too_large(response, max_body_bytes);
            if simulated {
                response.headers_mut().insert(KEKA_SANDBOX, header::HeaderValue::from_static("simulated"));
            }
            response
        }))
        .with_state(state)
}

/// The body limit's 413 (from the limit layer or the body extractor) as a GraphQL error with a code.
fn coded_payload_too_large(response: Response, max_body_bytes: usize) -> Response {
    if response.status() != StatusCode::PAYLOAD_TOO_LARGE {
        return response;
    }
    let body = serde_json::json!({ "errors": [{
        "message": format!("the request body is larger than {max_body_bytes} bytes"),
        "extensions": { "code": crate::graphql::error::code::PAYLOAD_TOO_LARGE },
    }] });
    (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(body)).into_response()
}

async fn metrics_text(State(state): State<AppState>) -> Response {
    let content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8";
    ([(header::CONTENT_TYPE, content_type)], state.metrics.render()).into_response()
}

/// The GraphiQL page; its assets come from this server too (see [`graphiql`](mod@graphiql)).
async fn graphiql() -> Response {
    graphiql::page()
}

async fn healthz() -> &'static str {
    "ok"
}

/// Ready once a Keka token can be obtained. A detached Redis leaves the replica ready (it answers from its local
/// state and share of the budget: failing readiness would take the whole fleet out of the router during a Redis
/// outage), and the body says so.
async fn readyz(State(state): State<AppState>) -> Response {
    let store = match state.store.check().await {
        StoreState::Local => "",
        StoreState::Attached => "; shared state: Redis attached",
        StoreState::Detached => {
            "; shared state: Redis UNREACHABLE, running on local state and a local share of the budget"
        }
    };
    match state.keka.client().check_credentials().await {
        Ok(()) if state.simulated => (
            StatusCode::OK,
            format!("ready (serving SIMULATED data from the embedded Keka sandbox, not a Keka tenant){store}"),
        )
            .into_response(),
        Ok(()) => (StatusCode::OK, format!("ready{store}")).into_response(),
        Err(error) => {
            tracing::warn!(%error, "not ready: no Keka token");
            (StatusCode::SERVICE_UNAVAILABLE, format!("cannot obtain a Keka access token{store}")).into_response()
        }
    }
}

//! The HTTP server: the only place axum appears.
//!
//! `POST /graphql` (and `GET` for queries), GraphiQL at `GET /` (and `GET /graphql` for
//! browsers), `GET /healthz` (process up), `GET /readyz` (a Keka token can be obtained).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_graphql::http::GraphiQLSource;
use async_graphql::{ErrorExtensionValues, Value};
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tokio::net::TcpListener;
use tokio::time::Instant;
use tower_http::limit::RequestBodyLimitLayer;

use crate::graphql::{
    AccessDirectives, BatchGate, GraphContext, GraphLimits, KekaSchema, RequestLoaders, Today, build_schema,
    check_representations,
};
use crate::keka::{CacheConfig, CachedKeka, KekaClient, KekaConfig, OrgSnapshot, RequestTally, SnapshotSource};
use crate::sandbox::RunningSandbox;
use crate::upstream::Freshness;

/// What the server needs to start.
#[derive(Debug, Clone)]
pub struct ServerSettings {
    pub listen: SocketAddr,
    pub keka: KekaConfig,
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
}

/// A built server: bound to its port, ready to run.
pub struct Application {
    listener: TcpListener,
    router: Router,
    keka: CachedKeka,
    /// The embedded sandbox this server talks to, if any; stopped with the server.
    sandbox: Option<RunningSandbox>,
}

impl Application {
    /// Builds the Keka client, the schema and the routes, and binds the listener (port 0 picks a free port).
    pub async fn build(settings: ServerSettings, sandbox: Option<RunningSandbox>) -> anyhow::Result<Self> {
        let client = KekaClient::new(settings.keka.clone())?;
        let keka = CachedKeka::new(client, settings.cache);
        let snapshot = OrgSnapshot::source(keka.clone(), settings.freshness());
        let schema = build_schema(GraphContext {
            keka: keka.clone(),
            snapshot: snapshot.clone(),
            limits: settings.limits,
            today: settings.today,
        });
        let state = AppState { schema, keka: keka.clone(), snapshot, access_directives: settings.access_directives };
        let router = router(state, settings.max_body_bytes);
        let listener = TcpListener::bind(settings.listen).await?;
        Ok(Self { listener, router, keka, sandbox })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    /// The Keka access the server uses (for tests and benchmarks: request counters).
    pub fn keka(&self) -> &CachedKeka {
        &self.keka
    }

    pub fn sandbox(&self) -> Option<&RunningSandbox> {
        self.sandbox.as_ref()
    }

    /// Serves until `shutdown` resolves, then drains in-flight requests and stops the sandbox.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let Self { listener, router, sandbox, .. } = self;
        axum::serve(listener, router).with_graceful_shutdown(shutdown).await?;
        if let Some(sandbox) = sandbox {
            sandbox.shutdown().await;
        }
        Ok(())
    }
}

fn router(state: AppState, max_body_bytes: usize) -> Router {
    Router::new()
        .route("/", get(graphiql))
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .layer(RequestBodyLimitLayer::new(max_body_bytes))
        .with_state(state)
}

async fn graphiql() -> Html<String> {
    Html(GraphiQLSource::build().endpoint("/graphql").title("keka-subgraph").finish())
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.keka.client().check_credentials().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(error) => {
            tracing::warn!(%error, "not ready: no Keka token");
            (StatusCode::SERVICE_UNAVAILABLE, "cannot obtain a Keka access token").into_response()
        }
    }
}

async fn graphql_get(State(state): State<AppState>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_html && query.is_none() {
        return graphiql().await.into_response();
    }
    match async_graphql::http::parse_query_string(query.as_deref().unwrap_or_default()) {
        Ok(request) => execute(&state, request).await,
        Err(error) => bad_request(&format!("cannot read the GraphQL request from the query string: {error}")),
    }
}

async fn graphql_post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let is_json = headers.get(header::CONTENT_TYPE).and_then(|value| value.to_str().ok()).is_none_or(|content_type| {
        content_type.starts_with("application/json") || content_type.starts_with("application/graphql-response+json")
    });
    if !is_json {
        return bad_request("send the GraphQL request as application/json");
    }
    match serde_json::from_slice::<async_graphql::Request>(&body) {
        Ok(request) => execute(&state, request).await,
        Err(error) => bad_request(&format!("the body is not a GraphQL request: {error}")),
    }
}

/// Runs one GraphQL request with its own loaders, counting the Keka requests it causes.
async fn execute(state: &AppState, request: async_graphql::Request) -> Response {
    let started = Instant::now();
    let bad_representations = check_representations(&request.variables);
    if !bad_representations.is_empty() {
        tracing::warn!(errors = bad_representations.len(), "refused _entities representations");
        let response = async_graphql::Response::from_errors(bad_representations);
        return async_graphql_axum::GraphQLResponse::from(response).into_response();
    }
    let tally = RequestTally::new();
    let gate = BatchGate::new();
    let loaders = {
        let (tally, gate) = (tally.clone(), gate.clone());
        RequestLoaders::new(&state.keka, &state.snapshot, move |batch| gate.hold(Box::pin(tally.scope(batch))))
    };
    let operation = request.operation_name.clone();
    let mut response = tally.scope(gate.run(state.schema.execute(request.data(loaders)))).await;
    add_missing_codes(&mut response);
    state.access_directives.apply_to_response(&mut response);
    tracing::info!(
        operation = operation.as_deref().unwrap_or("-"),
        latency_ms = started.elapsed().as_millis() as u64,
        keka_requests = tally.count(),
        errors = response.errors.len(),
        "graphql request"
    );
    let response = async_graphql::BatchResponse::Single(response);
    async_graphql_axum::GraphQLResponse::from(response).into_response()
}

/// Every error carries `extensions.code`: parse and validation errors (which never reached a
/// resolver) get Apollo's codes, anything else uncoded is internal.
fn add_missing_codes(response: &mut async_graphql::Response) {
    let before_execution =
        matches!(response.data, Value::Null) && response.errors.iter().all(|error| error.path.is_empty());
    for error in &mut response.errors {
        let has_code = error.extensions.as_ref().is_some_and(|extensions| extensions.get("code").is_some());
        if has_code {
            continue;
        }
        let parse_failure = error.message.contains("Parse error")
            || error.message.starts_with(" --> ")
            || error.message.contains("expected");
        let code = if before_execution && parse_failure {
            "GRAPHQL_PARSE_FAILED"
        } else if before_execution {
            "GRAPHQL_VALIDATION_FAILED"
        } else {
            "INTERNAL_SERVER_ERROR"
        };
        error.extensions.get_or_insert_with(ErrorExtensionValues::default).set("code", code);
    }
}

fn bad_request(message: &str) -> Response {
    let body = serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": "BAD_REQUEST" } }] });
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

/// Starts the embedded sandbox for a server with no Keka credentials and returns a client configuration for it.
pub async fn start_embedded_sandbox(
    config: crate::sandbox::SandboxConfig,
) -> anyhow::Result<(RunningSandbox, KekaConfig)> {
    let sandbox = RunningSandbox::start(config).await?;
    let keka = keka_config_for(&sandbox)?;
    Ok((sandbox, keka))
}

/// A Keka client configuration pointed at a running sandbox, with its credentials.
pub fn keka_config_for(sandbox: &RunningSandbox) -> anyhow::Result<KekaConfig> {
    let credentials = sandbox.credentials();
    Ok(KekaConfig::new(
        url::Url::parse(&sandbox.base_url())?,
        url::Url::parse(&sandbox.token_url())?,
        crate::keka::KekaCredentials {
            client_id: credentials.client_id.clone(),
            client_secret: secrecy::SecretString::from(credentials.client_secret.clone()),
            api_key: secrecy::SecretString::from(credentials.api_key.clone()),
        },
    ))
}

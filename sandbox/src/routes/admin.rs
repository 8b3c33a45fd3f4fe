//! Admin endpoints under `/__sandbox`: never authenticated, rate limited, faulted or counted.
//! They let a developer or a test inspect counters, inject faults and revoke tokens over HTTP,
//! for the Keka API and (under `/__sandbox/keeper/`) for the Keeper SCIM node, and play the
//! HR team (`POST /__sandbox/hr/changes`: hires, exits, moves, renames, leave requests, new
//! departments).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;

use crate::config::FaultConfig;
use crate::hr::{self, HrChangeRequest};
use crate::keeper;
use crate::respond;
use crate::state::AppState;

pub(super) fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/__sandbox", get(info))
        .route("/__sandbox/", get(info))
        .route("/__sandbox/stats", get(stats))
        .route("/__sandbox/stats/reset", post(reset_stats))
        .route("/__sandbox/faults", get(faults).put(set_faults))
        .route("/__sandbox/revoke-tokens", post(revoke_tokens))
        .route("/__sandbox/hr/changes", post(hr_changes))
        .route("/__sandbox/keeper/stats", get(keeper_stats))
        .route("/__sandbox/keeper/stats/reset", post(reset_keeper_stats))
        .route("/__sandbox/keeper/faults", get(keeper_faults).put(set_keeper_faults))
        .route("/__sandbox/keeper/rotate-token", post(rotate_keeper_token))
}

/// How to point a client at this sandbox.
async fn info(State(app): State<Arc<AppState>>) -> Response {
    let c = &app.config;
    let tenant = app.tenant();
    respond::json(
        StatusCode::OK,
        &json!({
            "service": "Keka API sandbox",
            "baseUrl": format!("{}/api/v1", app.origin),
            "tokenUrl": format!("{}/connect/token", app.origin),
            "grantType": "kekaapi",
            "scope": "kekaapi",
            "credentials": {
                "clientId": c.credentials.client_id,
                "clientSecret": c.credentials.client_secret,
                "apiKey": c.credentials.api_key,
            },
            "tenant": {
                "company": tenant.company.name,
                "subDomain": tenant.company.subdomain,
                "employees": tenant.employees.len(),
                "seed": c.seed,
                "today": tenant.today.to_string(),
            },
            "hr": {
                "changesPerHour": c.changes_per_hour,
                "webhook": c.webhook_url.as_ref().map(|url| json!({
                    "url": hr::redacted(url),
                    "header": c.webhook_header,
                    "secretConfigured": c.webhook_secret.is_some(),
                })),
            },
            "rateLimit": {
                "requestsPerWindow": c.rate_limit_per_minute,
                "windowSecs": c.rate_limit_window.as_secs_f64(),
                "retryAfterHeader": c.retry_after_header,
            },
            "tokenTtlSecs": c.token_ttl.as_secs(),
            "hireListShape": c.hire_list_shape,
            "faults": app.faults.current(),
            "admin": {
                "stats": "/__sandbox/stats",
                "resetStats": "POST /__sandbox/stats/reset",
                "faults": "GET|PUT /__sandbox/faults",
                "revokeTokens": "POST /__sandbox/revoke-tokens",
                "hrChanges": "POST /__sandbox/hr/changes {\"hires\":1,\"exits\":1,\"moves\":1,\"renames\":1,\"leaves\":1,\"departments\":1} or {\"count\":N} (random kinds, never departments)",
                "keeperStats": "/__sandbox/keeper/stats",
                "resetKeeperStats": "POST /__sandbox/keeper/stats/reset",
                "keeperFaults": "GET|PUT /__sandbox/keeper/faults",
                "rotateKeeperToken": "POST /__sandbox/keeper/rotate-token",
            },
            "keeper": {
                "service": "Keeper SCIM 2.0 node sandbox",
                "baseUrl": format!("{}{}/{}", app.origin, keeper::routes::SCIM_PREFIX, c.keeper.node_id),
                "nodeId": c.keeper.node_id,
                "token": app.keeper.token(),
                "users": app.keeper.directory.accounts.len(),
                "teams": app.keeper.directory.teams.len(),
                "paging": {"defaultCount": c.keeper.default_count, "maxCount": c.keeper.max_count},
                "rateLimit": {
                    "requestsPerWindow": c.keeper.rate_limit_per_window,
                    "windowSecs": c.keeper.rate_limit_window.as_secs_f64(),
                    "retryAfterHeader": c.keeper.retry_after_header,
                },
                "faults": app.keeper.faults.current(),
            },
        }),
    )
}

async fn stats(State(app): State<Arc<AppState>>) -> Response {
    respond::json(StatusCode::OK, &app.stats.snapshot())
}

async fn reset_stats(State(app): State<Arc<AppState>>) -> StatusCode {
    app.stats.reset();
    StatusCode::NO_CONTENT
}

/// Applies HR changes now: `{"hires":2,"exits":1,"moves":3,"renames":2,"leaves":1,"departments":1}`
/// (any subset) or `{"count":N}` for a random mix (never a department). Answers the applied
/// changes; a bad body gets a 400.
async fn hr_changes(State(app): State<Arc<AppState>>, body: Bytes) -> Response {
    let plan = match HrChangeRequest::parse(&body).and_then(|request| request.plan()) {
        Ok(plan) => plan,
        Err(message) => return respond::json(StatusCode::BAD_REQUEST, &json!({ "error": message })),
    };
    let worker = Arc::clone(&app);
    match tokio::task::spawn_blocking(move || hr::apply(&worker, &plan)).await {
        Ok(changes) => respond::json(StatusCode::OK, &changes),
        Err(err) => {
            tracing::error!(error = %err, "sandbox HR change panicked");
            respond::json(StatusCode::INTERNAL_SERVER_ERROR, &json!({ "error": "applying the changes failed" }))
        }
    }
}

async fn faults(State(app): State<Arc<AppState>>) -> Response {
    respond::json(StatusCode::OK, &app.faults.current())
}

async fn set_faults(State(app): State<Arc<AppState>>, Json(faults): Json<FaultConfig>) -> Response {
    app.faults.set(faults);
    respond::json(StatusCode::OK, &app.faults.current())
}

async fn revoke_tokens(State(app): State<Arc<AppState>>) -> StatusCode {
    app.tokens.revoke_all();
    StatusCode::NO_CONTENT
}

async fn keeper_stats(State(app): State<Arc<AppState>>) -> Response {
    respond::json(StatusCode::OK, &app.keeper.stats())
}

async fn reset_keeper_stats(State(app): State<Arc<AppState>>) -> StatusCode {
    app.keeper.stats.reset();
    StatusCode::NO_CONTENT
}

async fn keeper_faults(State(app): State<Arc<AppState>>) -> Response {
    respond::json(StatusCode::OK, &app.keeper.faults.current())
}

async fn set_keeper_faults(State(app): State<Arc<AppState>>, Json(faults): Json<FaultConfig>) -> Response {
    app.keeper.faults.set(faults);
    respond::json(StatusCode::OK, &app.keeper.faults.current())
}

/// Issues a new Keeper token (the old one stops working) and returns it.
async fn rotate_keeper_token(State(app): State<Arc<AppState>>) -> Response {
    respond::json(StatusCode::OK, &json!({ "token": app.keeper.rotate_token() }))
}

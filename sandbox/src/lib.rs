//! A simulated Keka HR tenant served over HTTP on loopback.
//!
//! The sandbox speaks Keka's wire format (paths, envelopes, paging, token endpoint, 401/429
//! behaviour) from its own definitions, so the product's Keka client can run against it
//! unchanged: the binary starts it when no Keka credentials are configured, and tests and
//! benchmarks use it with request counters and fault injection.
//!
//! - `config`: [`SandboxConfig`], [`FaultConfig`], the `sandbox` subcommand's [`SandboxArgs`].
//! - [`tenant`]: the generated data (deterministic in seed, size and "today").
//! - `wire`: Keka's JSON shapes; `respond`: envelopes; `query`: ASP.NET-style query parsing.
//! - `auth`, `budget`, `faults`, `stats`: token endpoint and bearer check, fixed-window rate
//!   limit, failure injection, request counters.
//! - `routes`: the axum router.
//! - `hr`: the tenant behind copy-on-write, HR changes (hires, exits, moves, renames, leave
//!   requests; new departments on request only) from the admin route or a background task at
//!   `changes_per_hour`, leave requested through the API (`POST /time/leaverequests`, the one
//!   write), and Keka-style Event Trigger webhooks announcing them (none for a department:
//!   Keka has no such event).
//! - [`keeper`]: a simulated Keeper SCIM 2.0 node on the same listener
//!   (`/api/rest/scim/v2/{node_id}`), whose accounts are derived from the tenant's employees.

mod auth;
mod budget;
mod config;
mod faults;
mod hr;
mod ids;
pub mod keeper;
mod query;
mod respond;
mod routes;
mod state;
mod stats;
pub mod tenant;
mod wire;

#[cfg(test)]
mod tests;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use config::{
    FaultConfig, HireListShape, HrArgs, KeeperSandboxConfig, SandboxArgs, SandboxConfig, SandboxCredentials,
};
pub use hr::{HrChange, HrChangeRequest};
pub use keeper::{KeeperAccount, KeeperAccountCategory, KeeperDirectory, KeeperStats, KeeperTeam};
pub use stats::{RouteStat, SandboxStats};
pub use tenant::{ChangeKind as HrChangeKind, Tenant};

use state::AppState;
use tenant::TenantParams;

/// How long [`RunningSandbox::shutdown`] waits for in-flight requests before aborting.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// A sandbox serving in a background task. Dropping it stops the server.
#[derive(Debug)]
pub struct RunningSandbox {
    state: Arc<AppState>,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
    /// HR changes over time and the webhook sender.
    background: Vec<JoinHandle<()>>,
}

impl RunningSandbox {
    /// Generates the tenant, binds `config.listen` (port 0 allowed), serves in a spawned tokio task.
    pub async fn start(config: SandboxConfig) -> anyhow::Result<RunningSandbox> {
        let params = TenantParams {
            seed: config.seed,
            employees: config.employees,
            today: config.today,
            location_ids_match_groups: config.location_ids_match_groups,
        };
        // Generation is CPU work (tens of milliseconds for 10,000 employees in release builds);
        // keep it off the async worker threads.
        keeper::validate(&config.keeper)?;
        hr::validate(&config)?;
        // Generation stamps records up to the end of office hours of "today", which may still
        // lie ahead: cap them an hour before the start, so that a client's first delta query
        // (`lastModified=<its UTC now minus a margin>`) sees HR changes only.
        let quiet_since = chrono::Utc::now().naive_utc() - chrono::TimeDelta::hours(1);
        let (tenant, directory) = tokio::task::spawn_blocking(move || {
            let mut tenant = Tenant::generate(params);
            let directory = KeeperDirectory::generate(&tenant);
            tenant.cap_last_modified(quiet_since);
            (tenant, directory)
        })
        .await
        .context("tenant generation panicked")?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding the Keka sandbox to {}", config.listen))?;
        let addr = listener.local_addr().context("reading the sandbox's bound address")?;
        let state = Arc::new(AppState::new(config, Arc::new(tenant), Arc::new(directory), addr));
        let background = hr::spawn(&state)?;
        let app = routes::router(state.clone());

        let (shutdown, signal) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    // A dropped sender also means "stop".
                    let _ = signal.await;
                })
                .await;
            if let Err(err) = served {
                tracing::error!(error = %err, "Keka sandbox server failed");
            }
        });
        tracing::info!(
            %addr,
            employees = state.tenant().employees.len(),
            keeper_accounts = state.keeper.directory.accounts.len(),
            seed = state.config.seed,
            changes_per_hour = state.config.changes_per_hour,
            webhook = state.config.webhook_url.as_ref().map(hr::redacted),
            "Keka sandbox listening (with a Keeper SCIM node)"
        );
        Ok(RunningSandbox { state, addr, shutdown: Some(shutdown), task: Some(task), background })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// e.g. `http://127.0.0.1:PORT/api/v1` (what `KEKA_BASE_URL` should be).
    pub fn base_url(&self) -> String {
        format!("{}/api/v1", self.state.origin)
    }

    /// e.g. `http://127.0.0.1:PORT/connect/token` (what `KEKA_TOKEN_URL` should be).
    pub fn token_url(&self) -> String {
        format!("{}/connect/token", self.state.origin)
    }

    /// The credentials the token endpoint accepts.
    pub fn credentials(&self) -> &SandboxCredentials {
        &self.state.config.credentials
    }

    /// Snapshot of request counters.
    pub fn stats(&self) -> SandboxStats {
        self.state.stats.snapshot()
    }

    /// Zeroes the request counters.
    pub fn reset_stats(&self) {
        self.state.stats.reset();
    }

    /// Replaces the fault configuration at runtime.
    pub fn set_faults(&self, faults: FaultConfig) {
        self.state.faults.set(faults);
    }

    /// Invalidates every issued access token (the next API call with one gets 401).
    pub fn revoke_tokens(&self) {
        self.state.tokens.revoke_all();
    }

    /// The tenant as it is now: a snapshot that later HR changes do not alter (call again to
    /// see them).
    pub fn tenant(&self) -> Arc<Tenant> {
        self.state.tenant()
    }

    /// Shared handle to the tenant as it is now (outlives the server if kept); the same
    /// snapshot as [`Self::tenant`].
    pub fn tenant_arc(&self) -> Arc<Tenant> {
        self.state.tenant()
    }

    /// Applies HR changes now, as `POST /__sandbox/hr/changes` does (same change stream, same
    /// counters, same webhooks). The error is the message the route would answer with a 400.
    pub async fn apply_hr_changes(&self, request: HrChangeRequest) -> Result<Vec<HrChange>, String> {
        let plan = request.plan()?;
        let state = Arc::clone(&self.state);
        tokio::task::spawn_blocking(move || hr::apply(&state, &plan)).await.map_err(|e| e.to_string())
    }

    /// e.g. `http://127.0.0.1:PORT/api/rest/scim/v2/512540212789503`: the Keeper SCIM base URL
    /// (what the Admin Console shows as the node's SCIM URL).
    pub fn keeper_base_url(&self) -> String {
        format!("{}{}/{}", self.state.origin, keeper::routes::SCIM_PREFIX, self.state.config.keeper.node_id)
    }

    /// The Keeper node id in the base URL.
    pub fn keeper_node_id(&self) -> &str {
        &self.state.config.keeper.node_id
    }

    /// The bearer token the Keeper node accepts now (changes with [`Self::rotate_keeper_token`]).
    pub fn keeper_token(&self) -> String {
        self.state.keeper.token()
    }

    /// Issues a new Keeper token and returns it; the previous one is answered 401 from now on.
    pub fn rotate_keeper_token(&self) -> String {
        self.state.keeper.rotate_token()
    }

    /// Read-only access to the Keeper node's generated users and teams.
    pub fn keeper_directory(&self) -> &KeeperDirectory {
        &self.state.keeper.directory
    }

    /// Shared handle to the Keeper node's data (outlives the server if kept).
    pub fn keeper_directory_arc(&self) -> Arc<KeeperDirectory> {
        Arc::clone(&self.state.keeper.directory)
    }

    /// Snapshot of the Keeper request counters (separate from [`Self::stats`]).
    pub fn keeper_stats(&self) -> KeeperStats {
        self.state.keeper.stats()
    }

    /// Zeroes the Keeper request counters.
    pub fn reset_keeper_stats(&self) {
        self.state.keeper.stats.reset();
    }

    /// Replaces the Keeper routes' fault configuration at runtime (`token_endpoint_down` is ignored).
    pub fn set_keeper_faults(&self, faults: FaultConfig) {
        self.state.keeper.faults.set(faults);
    }

    /// Graceful stop: stops accepting connections, lets in-flight requests finish (up to a
    /// few seconds), then returns.
    pub async fn shutdown(mut self) {
        for task in self.background.drain(..) {
            task.abort();
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let Some(mut task) = self.task.take() else {
            return;
        };
        if tokio::time::timeout(SHUTDOWN_GRACE, &mut task).await.is_err() {
            task.abort();
        }
    }
}

impl Drop for RunningSandbox {
    fn drop(&mut self) {
        // Signal open connections to finish and stop the accept loop right away; the server
        // task (and the HR tasks) must not outlive its handle.
        for task in self.background.drain(..) {
            task.abort();
        }
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

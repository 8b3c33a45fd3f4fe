//! The command line: subcommands, and flags that fall back to environment variables. Their values are checked, and
//! turned into typed settings, in one place: [`crate::settings`].

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand};
use secrecy::SecretString;
use url::Url;

use crate::embedded_sandbox;
use crate::graphql::AccessDirectives;
use crate::keeper::DataCentre;
use crate::keka::KekaEnvironment;
use crate::server::Application;
use crate::settings::{Settings, Source};
use crate::telemetry::LogFormat;
use keka_sandbox::{RunningSandbox, SandboxArgs};

#[derive(Debug, Parser)]
#[command(name = "keka-subgraph", version, about = "Apollo Federation 2 subgraph over the Keka HR API")]
pub struct Cli {
    /// Log line format.
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Human, global = true)]
    pub log_format: LogFormat,
    /// Export traces (each GraphQL request with its Keka and Keeper calls) to this OpenTelemetry collector over
    /// OTLP/HTTP, e.g. `http://127.0.0.1:4318`. Off when unset.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT", global = true)]
    pub otlp_endpoint: Option<Url>,
    /// The `service.name` of exported traces.
    #[arg(long, env = "OTEL_SERVICE_NAME", default_value = "keka-subgraph", global = true)]
    pub otel_service_name: String,
    /// What to do; without a subcommand the subgraph is served (`serve`).
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the subgraph (the default). Uses the embedded sandbox when no Keka credentials are set.
    Serve,
    /// Run the simulated Keka tenant on its own, to develop or test against.
    Sandbox(SandboxArgs),
    /// Print the schema SDL (what `schema.graphql` holds).
    PrintSchema,
}

/// Settings of the subgraph server.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "LISTEN_ADDR", default_value = "127.0.0.1:4001")]
    pub listen: SocketAddr,
    /// How long Keka answers are cached, in seconds (at least 1).
    #[arg(long, env = "CACHE_TTL_SECS", default_value_t = 300)]
    pub cache_ttl_secs: u64,
    /// How long a stale org snapshot is still served while it is rebuilt, in seconds (0: not at all).
    #[arg(long, env = "SNAPSHOT_GRACE_SECS", default_value_t = 600)]
    pub snapshot_grace_secs: u64,
    /// How long leave and attendance windows reaching into this week (and leave balances) are cached, in seconds (at
    /// least 1; clamped to at most CACHE_TTL_SECS). A leave webhook drops a person's windows at once.
    #[arg(long, env = "CURRENT_WINDOW_TTL_SECS", default_value_t = 60)]
    pub current_window_ttl_secs: u64,
    /// How long leave and attendance windows that closed before this week are cached, in seconds (at least 1; clamped
    /// to at least CACHE_TTL_SECS). A leave webhook drops a person's windows at once.
    #[arg(long, env = "PAST_WINDOW_TTL_SECS", default_value_t = 3600)]
    pub past_window_ttl_secs: u64,
    /// How long past its TTL any cached Keka answer (the snapshot, a list, a page, a window, an employee) is still
    /// served, marked stale, when Keka fails to give it again (stale-if-error), in seconds (0: never).
    #[arg(long, env = "STALE_IF_ERROR_SECS", default_value_t = 3600)]
    pub stale_if_error_secs: u64,
    /// Seconds between two delta syncs of the org snapshot (Keka's `lastModified`: one request a round on a quiet
    /// tenant); 0 switches syncing off, and the snapshot is walked again when CACHE_TTL_SECS runs out.
    #[arg(long, env = "SYNC_INTERVAL_SECS", default_value_t = 30)]
    pub sync_interval_secs: u64,
    /// Seconds between two full walks of every employee while syncing (a safety net; deltas do the work); at least 60.
    #[arg(long, env = "FULL_SYNC_INTERVAL_SECS", default_value_t = 24 * 60 * 60)]
    pub full_sync_interval_secs: u64,
    /// Seconds each delta reaches back before the snapshot's date: Keka's timestamps carry no offset, so this covers
    /// clock skew and, for a tenant whose Keka time zone is west of UTC, that offset too.
    #[arg(long, env = "SYNC_OVERLAP_SECS", default_value_t = 300)]
    pub sync_overlap_secs: u64,
    /// Seconds between two syncs of the org's small lists (groups, departments, locations, job titles, by Keka's
    /// `lastModified`), at least 1: keep it under CACHE_TTL_SECS, or they expire and reload whole between two rounds.
    #[arg(long, env = "LIST_SYNC_INTERVAL_SECS", default_value_t = 240)]
    pub list_sync_interval_secs: u64,
    /// The shared secret Keka's Event Trigger webhooks carry; enables `POST /webhooks/keka` (empty: off). Secret:
    /// prefer the environment variable.
    #[arg(long, env = "KEKA_WEBHOOK_SECRET", hide_env_values = true)]
    pub keka_webhook_secret: Option<SecretString>,
    /// The header the webhooks carry the secret in (configured with it in Keka's Event Trigger settings).
    #[arg(long, env = "KEKA_WEBHOOK_HEADER", default_value = "X-Webhook-Secret")]
    pub keka_webhook_header: String,
    /// Largest `first`/`last` on a connection (at least 1).
    #[arg(long, env = "MAX_PAGE_SIZE", default_value_t = 100)]
    pub max_page_size: usize,
    /// Largest request body, in bytes (at least 1).
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 256 * 1024)]
    pub max_body_bytes: usize,
    /// Access-control directive on personal-data fields in the published SDL: `none` (any router),
    /// `requires-scopes` (`@requiresScopes`, needs a licensed Apollo Router) or `authenticated`.
    #[arg(long, env = "ACCESS_DIRECTIVES", default_value = "none", global = true)]
    pub access_directives: AccessDirectives,
    /// Employees in the embedded sandbox (used only without Keka credentials).
    #[arg(long, env = "SANDBOX_EMPLOYEES", default_value_t = 250)]
    pub sandbox_employees: usize,
    /// Seed of the embedded sandbox's data.
    #[arg(long, env = "SANDBOX_SEED", default_value_t = 42)]
    pub sandbox_seed: u64,
    /// Embedded sandbox only: changes (hires, exits, moves, renames, leave requests) its simulated HR team makes per
    /// hour (0 or more).
    #[arg(long, env = "SANDBOX_CHANGES_PER_HOUR", default_value_t = 0.0)]
    pub sandbox_changes_per_hour: f64,
    /// Serve the embedded sandbox's simulated data: unset means "when there are no Keka credentials and the listen
    /// address is loopback"; `true` allows it on any address (a demo on purpose); `false` never.
    #[arg(long, env = "KEKA_SANDBOX", action = clap::ArgAction::Set)]
    pub keka_sandbox: Option<bool>,
    /// Allow mutations (`requestTimeoff`) while router authentication is off, for anyone who can reach the
    /// subgraph. Unset means on for the embedded sandbox and off for a Keka tenant; with router authentication on,
    /// mutations need their scopes instead and this is not read.
    #[arg(long, env = "ALLOW_UNAUTHENTICATED_WRITES", action = clap::ArgAction::Set)]
    pub allow_unauthenticated_writes: Option<bool>,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub router_auth: RouterAuthArgs,
    #[command(flatten)]
    pub keka: KekaArgs,
    #[command(flatten)]
    pub keeper: KeeperArgs,
    #[command(flatten)]
    pub store: StoreArgs,
}

/// State shared by replicas. Off (everything in-process) unless `REDIS_URL` is set.
#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Redis shared by every replica (`redis://[user:password@]host:port[/db]`, `rediss://…` for TLS): one Keka
    /// budget for the fleet. Secret (it may hold a password): prefer the environment variable.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<SecretString>,
    /// Prefix of every Redis key; replicas of one tenant must share it (default `keka-subgraph:v1:{Keka host}:`).
    #[arg(long, env = "REDIS_KEY_PREFIX")]
    pub redis_key_prefix: Option<String>,
    /// Keka requests a minute one replica allows itself while Redis is unreachable (a conservative share of the
    /// budget, never all of it; default: a fifth of KEKA_RATE_LIMIT_PER_MINUTE). At least 1, at most
    /// KEKA_RATE_LIMIT_PER_MINUTE.
    #[arg(long, env = "KEKA_FALLBACK_RATE_LIMIT_PER_MINUTE")]
    pub keka_fallback_rate_limit_per_minute: Option<u32>,
    /// Longest one Redis call may take, in milliseconds, before it counts as a failure and the replica runs on its
    /// local state for a moment (10 to 10000).
    #[arg(long, env = "REDIS_CALL_TIMEOUT_MS", default_value_t = 250)]
    pub redis_call_timeout_ms: u64,
    /// PEM file of the certificate authority a `rediss://` server's certificate must chain to (default: the
    /// system's roots).
    #[arg(long, env = "REDIS_TLS_CA_FILE")]
    pub redis_tls_ca_file: Option<std::path::PathBuf>,
}

/// Keeper's SCIM node (the directory joined to employees). Off unless `KEEPER_TOKEN` is set; with no Keka
/// credentials either, the embedded sandbox's Keeper node is used.
#[derive(Debug, Clone, Args)]
pub struct KeeperArgs {
    /// Keeper data centre of the tenant.
    #[arg(long, env = "KEEPER_DATA_CENTRE", value_enum)]
    pub keeper_data_centre: Option<DataCentre>,
    /// The node's numeric id (Admin Console: the node's SCIM provisioning page).
    #[arg(long, env = "KEEPER_NODE_ID")]
    pub keeper_node_id: Option<String>,
    /// The full SCIM base URL (`https://…/api/rest/scim/v2/<node id>`); overrides data centre and node id.
    #[arg(long, env = "KEEPER_BASE_URL")]
    pub keeper_base_url: Option<String>,
    /// The node's SCIM provisioning token. Secret: prefer the environment variable.
    #[arg(long, env = "KEEPER_TOKEN", hide_env_values = true)]
    pub keeper_token: Option<SecretString>,
    /// Requests a minute this subgraph allows itself against the node (Keeper publishes no limit); 0: no limit.
    #[arg(long, env = "KEEPER_RATE_LIMIT_PER_MINUTE", default_value_t = 60)]
    pub keeper_rate_limit_per_minute: u32,
}

/// What one request may ask for, and how many may run at once.
#[derive(Debug, Clone, Args)]
pub struct LimitArgs {
    /// Deepest selection nesting (GraphiQL's introspection query needs 13); at least 1.
    #[arg(long, env = "MAX_DEPTH", default_value_t = 15)]
    pub max_depth: usize,
    /// Most fields in one document (fragments expanded); at least 1.
    #[arg(long, env = "MAX_COMPLEXITY", default_value_t = 1000)]
    pub max_complexity: usize,
    /// Most aliased fields in one document (0: none allowed).
    #[arg(long, env = "MAX_ALIASES", default_value_t = 30)]
    pub max_aliases: usize,
    /// Most directives in one document (0: none allowed).
    #[arg(long, env = "MAX_DIRECTIVES", default_value_t = 50)]
    pub max_directives: usize,
    /// Most lexical tokens in one document (counted before parsing); at least 1.
    #[arg(long, env = "MAX_TOKENS", default_value_t = 5000)]
    pub max_tokens: usize,
    /// Most `_entities` representations in one request (0: none allowed).
    #[arg(long, env = "MAX_REPRESENTATIONS", default_value_t = 1000)]
    pub max_representations: usize,
    /// GraphQL requests answered at once (at least 1); more get 503 `SERVICE_OVERLOADED` at once.
    #[arg(long, env = "MAX_CONCURRENT_REQUESTS", default_value_t = 256)]
    pub max_concurrent_requests: usize,
    /// Seconds within which one request's Keka and Keeper calls end (partial data after that); below the router's
    /// timeout (Apollo Router: 30 s); at least 1.
    #[arg(long, env = "REQUEST_DEADLINE_SECS", default_value_t = 25)]
    pub request_deadline_secs: u64,
    /// Answer introspection (`__schema`, `__type`); `false` for a private schema in production.
    #[arg(long, env = "INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set)]
    pub introspection: bool,
    /// Serve GraphiQL at `/`.
    #[arg(long, env = "GRAPHIQL", default_value_t = true, action = clap::ArgAction::Set)]
    pub graphiql: bool,
}

/// Router authentication: off unless a secret or a JWT key is configured.
#[derive(Debug, Clone, Args)]
pub struct RouterAuthArgs {
    /// The header the router proves itself in.
    #[arg(long, env = "ROUTER_AUTH_HEADER", default_value = "router-authorization")]
    pub router_auth_header: String,
    /// A shared secret the router sends in that header (instead of a JWT key). Secret: prefer the environment
    /// variable.
    #[arg(long, env = "ROUTER_SECRET", hide_env_values = true)]
    pub router_secret: Option<SecretString>,
    /// With a shared secret: the header holding the caller's scopes (space-separated).
    #[arg(long, env = "ROUTER_SCOPES_HEADER", default_value = "x-auth-scopes")]
    pub router_scopes_header: String,
    /// With a shared secret: the header holding the caller's email (who a write acts for).
    #[arg(long, env = "ROUTER_EMAIL_HEADER", default_value = "x-auth-email")]
    pub router_email_header: String,
    /// With a JWT: the claim holding the caller's email (who a write acts for), e.g. `email`, `upn`.
    #[arg(long, env = "JWT_EMAIL_CLAIM", default_value = "email")]
    pub jwt_email_claim: String,
    /// A JWKS file whose keys may sign the router's JWT (one of the three JWT keys).
    #[arg(long, env = "JWT_JWKS_FILE")]
    pub jwt_jwks_file: Option<std::path::PathBuf>,
    /// A PEM public key (RSA, EC, Ed25519) that may sign the router's JWT (one of the three JWT keys).
    #[arg(long, env = "JWT_PUBLIC_KEY_FILE")]
    pub jwt_public_key_file: Option<std::path::PathBuf>,
    /// An HMAC secret (HS256/384/512) that may sign the router's JWT (one of the three JWT keys). Secret: prefer the
    /// environment variable.
    #[arg(long, env = "JWT_HMAC_SECRET", hide_env_values = true)]
    pub jwt_hmac_secret: Option<SecretString>,
    /// Required `iss` of the router's JWT (needs a JWT key).
    #[arg(long, env = "JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// Required `aud` of the router's JWT (needs a JWT key).
    #[arg(long, env = "JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
}

/// Where Keka is and how to authenticate. Without credentials the product uses the embedded sandbox.
#[derive(Debug, Clone, Args)]
pub struct KekaArgs {
    /// Tenant subdomain: `acme` for `acme.keka.com`.
    #[arg(long, env = "KEKA_COMPANY")]
    pub keka_company: Option<String>,
    /// `keka` (production) or `kekademo` (partner sandbox).
    #[arg(long, env = "KEKA_ENVIRONMENT", default_value = "keka")]
    pub keka_environment: KekaEnvironment,
    /// API root; overrides the one derived from company and environment.
    #[arg(long, env = "KEKA_BASE_URL")]
    pub keka_base_url: Option<Url>,
    /// Token endpoint; overrides the one derived from the environment.
    #[arg(long, env = "KEKA_TOKEN_URL")]
    pub keka_token_url: Option<Url>,
    /// The API key's client id; a real tenant needs it, KEKA_CLIENT_SECRET and KEKA_API_KEY.
    #[arg(long, env = "KEKA_CLIENT_ID")]
    pub keka_client_id: Option<String>,
    /// Secret: prefer the environment variable to the flag (flags show up in `ps`).
    #[arg(long, env = "KEKA_CLIENT_SECRET", hide_env_values = true)]
    pub keka_client_secret: Option<SecretString>,
    /// Secret: prefer the environment variable to the flag.
    #[arg(long, env = "KEKA_API_KEY", hide_env_values = true)]
    pub keka_api_key: Option<SecretString>,
    /// Requests Keka allows per window for this API key; 0: no limit (a load test against a sandbox that has none).
    #[arg(long, env = "KEKA_RATE_LIMIT_PER_MINUTE", default_value_t = 50)]
    pub keka_rate_limit_per_minute: u32,
    /// Slots of each minute that background work (snapshot rebuilds) leaves to requests; below
    /// KEKA_RATE_LIMIT_PER_MINUTE.
    #[arg(long, env = "KEKA_INTERACTIVE_RESERVE", default_value_t = 10)]
    pub keka_interactive_reserve: u32,
    /// Longest a request waits for a rate-limit slot before failing, in seconds (0: never waits).
    #[arg(long, env = "KEKA_MAX_RATE_LIMIT_WAIT_SECS", default_value_t = 20)]
    pub keka_max_rate_limit_wait_secs: u64,
    /// Timeout of one HTTP exchange with Keka, in seconds (at least 1).
    #[arg(long, env = "KEKA_REQUEST_TIMEOUT_SECS", default_value_t = 10)]
    pub keka_request_timeout_secs: u64,
    /// Retries after a failed attempt (429, 5xx, timeouts, connection errors).
    #[arg(long, env = "KEKA_MAX_RETRIES", default_value_t = 3)]
    pub keka_max_retries: u32,
}

/// Runs the chosen subcommand until it ends or the process is asked to stop.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(cli.serve).await,
        Command::PrintSchema => {
            print!("{}", crate::graphql::schema_sdl(cli.serve.access_directives));
            Ok(())
        }
        Command::Sandbox(args) => {
            let sandbox = RunningSandbox::start(args.into_config()).await?;
            let credentials = sandbox.credentials();
            tracing::info!(
                base_url = %sandbox.base_url(),
                token_url = %sandbox.token_url(),
                client_id = %credentials.client_id,
                "Keka sandbox listening; point a client at it with KEKA_BASE_URL={} KEKA_TOKEN_URL={} KEKA_CLIENT_ID={} KEKA_CLIENT_SECRET=… KEKA_API_KEY=… (see GET {}/__sandbox/)",
                sandbox.base_url(),
                sandbox.token_url(),
                credentials.client_id,
                format_args!("http://{}", sandbox.addr()),
            );
            shutdown_signal().await;
            tracing::info!("shutting down the sandbox");
            sandbox.shutdown().await;
            Ok(())
        }
    }
}

/// Checks every setting first (nothing is bound or started with a bad one), then starts the embedded sandbox if it
/// serves, then the server.
async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let Settings { source, server } = Settings::from_args(&args)?;
    let (settings, sandbox) = match source {
        Source::Keka(keka) => (server.with_keka(keka, None), None),
        Source::Sandbox(config) => {
            let employees = config.employees;
            let (sandbox, keka) = embedded_sandbox::start(config).await?;
            let keeper = embedded_sandbox::keeper_config_for(&sandbox)?;
            tracing::warn!(
                keka = %sandbox.base_url(),
                employees,
                data_source = "sandbox",
                "no Keka credentials configured (KEKA_CLIENT_ID, KEKA_CLIENT_SECRET, KEKA_API_KEY): serving SIMULATED data from the embedded Keka sandbox"
            );
            (server.with_keka(keka, Some(keeper)), Some(sandbox))
        }
    };
    let application = Application::build(settings).await?;
    let address = application.local_addr();
    tracing::info!(graphiql = %format_args!("http://{address}/"), graphql = %format_args!("http://{address}/graphql"), "keka-subgraph listening; GraphiQL at http://{address}/");
    let served = application.run_until_stopped(shutdown_signal()).await;
    if let Some(sandbox) = sandbox {
        sandbox.shutdown().await;
    }
    served
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

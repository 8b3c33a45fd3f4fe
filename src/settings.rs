//! The one place where `serve`'s flags and environment variables are checked and turned into typed settings.
//!
//! It runs once, at start-up, before anything binds or starts. Each bad value gets its own line, naming the variable
//! and its flag, the value given (never a secret's) and what is allowed, and every such line comes back in one error:
//! a deployment is put right in one round, not in one restart per mistake. A value that is out of bounds is refused,
//! not quietly replaced; the only values adjusted here are the two window TTLs, bounded by `CACHE_TTL_SECS` on purpose
//! (their defaults then follow a shorter or longer TTL).

use std::fmt;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::time::Duration;

use secrecy::{ExposeSecret as _, SecretString};

use crate::cli::{KeeperArgs, KekaArgs, RouterAuthArgs, ServeArgs, StoreArgs};
use crate::embedded_sandbox;
use crate::graphql::{AccessDirectives, GraphLimits, Today};
use crate::keeper::{KeeperConfig, KeeperError};
use crate::keka::{CacheConfig, KekaConfig, KekaCredentials, SyncConfig};
use crate::server::{JwtKeys, RouterAuth, ServerSettings, WebhookConfig};
use crate::store::StoreConfig;
use keka_sandbox::SandboxConfig;

/// `serve`'s settings, checked: where the data comes from, and everything else the server needs.
#[derive(Debug)]
pub struct Settings {
    pub source: Source,
    pub server: PendingServer,
}

/// Where the data comes from.
pub enum Source {
    /// A real tenant.
    Keka(KekaConfig),
    /// The embedded sandbox, to be started with this configuration (through [`crate::embedded_sandbox`]).
    Sandbox(SandboxConfig),
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Keka(config) => f.debug_tuple("Keka").field(config).finish(),
            // The sandbox's configuration holds its credentials (and the webhook secret it announces changes with).
            Self::Sandbox(config) => f
                .debug_struct("Sandbox")
                .field("employees", &config.employees)
                .field("seed", &config.seed)
                .field("changes_per_hour", &config.changes_per_hour)
                .finish_non_exhaustive(),
        }
    }
}

/// The server's settings but for the Keka client and the store's defaults derived from it: with the embedded sandbox
/// those are known only once it has started (its address, its credentials).
#[derive(Debug)]
pub struct PendingServer {
    listen: SocketAddr,
    keka: KekaTuning,
    keeper: Option<KeeperConfig>,
    store: StoreSettings,
    cache: CacheConfig,
    snapshot_grace: Duration,
    stale_if_error: Duration,
    limits: GraphLimits,
    max_body_bytes: usize,
    access_directives: AccessDirectives,
    max_concurrent_requests: usize,
    request_deadline: Duration,
    graphiql: bool,
    router_auth: RouterAuth,
    sync: SyncConfig,
    webhooks: Option<WebhookConfig>,
    simulated: bool,
    allow_unauthenticated_writes: bool,
}

impl PendingServer {
    /// The server's settings, with this Keka client; `sandbox_keeper` is the embedded sandbox's Keeper node, used
    /// when no Keeper node is configured.
    pub fn with_keka(self, mut keka: KekaConfig, sandbox_keeper: Option<KeeperConfig>) -> ServerSettings {
        self.keka.apply_to(&mut keka);
        let store = self.store.for_keka(&keka);
        ServerSettings {
            listen: self.listen,
            keka,
            keeper: self.keeper.or(sandbox_keeper),
            cache: self.cache,
            snapshot_grace: self.snapshot_grace,
            stale_if_error: self.stale_if_error,
            limits: self.limits,
            today: Today::System,
            max_body_bytes: self.max_body_bytes,
            access_directives: self.access_directives,
            max_concurrent_requests: self.max_concurrent_requests,
            request_deadline: self.request_deadline,
            graphiql: self.graphiql,
            router_auth: self.router_auth,
            store,
            sync: self.sync,
            webhooks: self.webhooks,
            simulated: self.simulated,
            allow_unauthenticated_writes: self.allow_unauthenticated_writes,
        }
    }
}

/// The Keka client's budgets and patience, the same for a real tenant and for the embedded sandbox.
#[derive(Debug, Clone, Copy)]
struct KekaTuning {
    rate_limit_per_window: u32,
    interactive_reserve: u32,
    max_rate_limit_wait: Duration,
    request_timeout: Duration,
    max_retries: u32,
}

impl KekaTuning {
    fn apply_to(self, keka: &mut KekaConfig) {
        keka.rate_limit_per_window = self.rate_limit_per_window;
        keka.interactive_reserve = self.interactive_reserve;
        keka.max_rate_limit_wait = self.max_rate_limit_wait;
        keka.request_timeout = self.request_timeout;
        keka.max_retries = self.max_retries;
    }
}

/// The store's settings; its defaults (key prefix, fallback budget) derive from the Keka client.
struct StoreSettings {
    redis_url: Option<SecretString>,
    key_prefix: Option<String>,
    fallback_per_window: Option<u32>,
    call_timeout: Duration,
    tls_ca: Option<Vec<u8>>,
}

impl StoreSettings {
    fn for_keka(self, keka: &KekaConfig) -> StoreConfig {
        let local = StoreConfig::local(keka);
        StoreConfig {
            redis_url: self.redis_url,
            key_prefix: self.key_prefix.unwrap_or(local.key_prefix),
            fallback_per_window: self.fallback_per_window.unwrap_or(local.fallback_per_window),
            call_timeout: self.call_timeout,
            tls_ca: self.tls_ca,
        }
    }
}

impl fmt::Debug for StoreSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreSettings")
            .field("redis_url", &self.redis_url.as_ref().map(|_| "[redacted]"))
            .field("key_prefix", &self.key_prefix)
            .field("fallback_per_window", &self.fallback_per_window)
            .field("call_timeout", &self.call_timeout)
            .field("tls_ca", &self.tls_ca.as_ref().map(|_| "PEM"))
            .finish()
    }
}

/// Every bad value of the configuration, one line each. No line holds a secret.
#[derive(Debug)]
pub struct SettingsError {
    problems: Vec<String>,
}

impl SettingsError {
    /// One line per bad value.
    pub fn problems(&self) -> &[String] {
        &self.problems
    }
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.problems.as_slice() {
            [one] => write!(f, "invalid configuration: {one}"),
            many => {
                write!(f, "invalid configuration ({} problems):", many.len())?;
                many.iter().try_for_each(|problem| write!(f, "\n  - {problem}"))
            }
        }
    }
}

impl std::error::Error for SettingsError {}

/// Where the data comes from, before its configuration is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Keka,
    Sandbox,
}

impl Settings {
    /// Checks every value and builds the settings, or says what is wrong with each bad value. Reads the files named
    /// (JWT keys, Redis's CA) but binds, starts and connects nothing.
    pub fn from_args(args: &ServeArgs) -> Result<Self, SettingsError> {
        let mut problems = Problems::default();
        let p = &mut problems;

        p.at_least("CACHE_TTL_SECS", args.cache_ttl_secs, 1);
        p.at_least("CURRENT_WINDOW_TTL_SECS", args.current_window_ttl_secs, 1);
        p.at_least("PAST_WINDOW_TTL_SECS", args.past_window_ttl_secs, 1);
        p.at_least("FULL_SYNC_INTERVAL_SECS", args.full_sync_interval_secs, 60);
        p.at_least("LIST_SYNC_INTERVAL_SECS", args.list_sync_interval_secs, 1);
        p.at_least("MAX_PAGE_SIZE", args.max_page_size, 1);
        p.at_least("MAX_BODY_BYTES", args.max_body_bytes, 1);
        p.at_least("MAX_DEPTH", args.limits.max_depth, 1);
        p.at_least("MAX_COMPLEXITY", args.limits.max_complexity, 1);
        p.at_least("MAX_TOKENS", args.limits.max_tokens, 1);
        p.at_least("MAX_CONCURRENT_REQUESTS", args.limits.max_concurrent_requests, 1);
        p.at_least("REQUEST_DEADLINE_SECS", args.limits.request_deadline_secs, 1);
        p.at_least("KEKA_REQUEST_TIMEOUT_SECS", args.keka.keka_request_timeout_secs, 1);
        let changes = args.sandbox_changes_per_hour;
        if !(changes.is_finite() && changes >= 0.0) {
            p.bad("SANDBOX_CHANGES_PER_HOUR", changes, "must be a number, 0 or more");
        }
        let (limit, reserve) = (args.keka.keka_rate_limit_per_minute, args.keka.keka_interactive_reserve);
        // With no limit (0) there is nothing to reserve.
        if limit > 0 && reserve >= limit {
            p.bad(
                "KEKA_INTERACTIVE_RESERVE",
                reserve,
                format_args!(
                    "must be below KEKA_RATE_LIMIT_PER_MINUTE ({limit}), or background work (snapshot rebuilds, syncs) \
                     would get no slot"
                ),
            );
        }

        let backend = match choose_backend(has_credentials(&args.keka), args.listen, args.keka_sandbox) {
            Ok(backend) => Some(backend),
            Err(refused) => {
                p.problems.push(refused);
                None
            }
        };
        let webhooks = webhook_config(args, p);
        let source = match backend {
            Some(Backend::Keka) => keka_config(&args.keka, p).map(Source::Keka),
            Some(Backend::Sandbox) => {
                sandbox_config(args, webhooks.as_ref().and_then(Option::as_ref), p).map(Source::Sandbox)
            }
            None => None,
        };
        let keeper = keeper_config(&args.keeper, p);
        let store = store_settings(&args.store, limit, p);
        let router_auth = router_auth(&args.router_auth, p);

        // A part built after a problem was reported may be partial: nothing is used unless there is none.
        let (true, Some(source), Some(webhooks), Some(keeper), Some(router_auth)) =
            (problems.problems.is_empty(), source, webhooks, keeper, router_auth)
        else {
            return Err(SettingsError { problems: problems.problems });
        };
        let ttl = Duration::from_secs(args.cache_ttl_secs);
        let server = PendingServer {
            listen: args.listen,
            keka: KekaTuning {
                rate_limit_per_window: limit,
                interactive_reserve: reserve,
                max_rate_limit_wait: Duration::from_secs(args.keka.keka_max_rate_limit_wait_secs),
                request_timeout: Duration::from_secs(args.keka.keka_request_timeout_secs),
                max_retries: args.keka.keka_max_retries,
            },
            keeper,
            store,
            cache: CacheConfig {
                ttl,
                // Bounded by the TTL on purpose (documented as clamped): lowering or raising CACHE_TTL_SECS alone
                // keeps the windows' defaults sensible.
                current_window_ttl: Duration::from_secs(args.current_window_ttl_secs).min(ttl),
                past_window_ttl: Duration::from_secs(args.past_window_ttl_secs).max(ttl),
                ..CacheConfig::default()
            },
            snapshot_grace: Duration::from_secs(args.snapshot_grace_secs),
            stale_if_error: Duration::from_secs(args.stale_if_error_secs),
            limits: GraphLimits {
                max_page_size: args.max_page_size,
                max_depth: args.limits.max_depth,
                max_complexity: args.limits.max_complexity,
                max_aliases: args.limits.max_aliases,
                max_directives: args.limits.max_directives,
                max_tokens: args.limits.max_tokens,
                max_representations: args.limits.max_representations,
                introspection: args.limits.introspection,
            },
            max_body_bytes: args.max_body_bytes,
            access_directives: args.access_directives,
            max_concurrent_requests: args.limits.max_concurrent_requests,
            request_deadline: Duration::from_secs(args.limits.request_deadline_secs),
            graphiql: args.limits.graphiql,
            router_auth,
            sync: SyncConfig {
                interval: Duration::from_secs(args.sync_interval_secs),
                full_interval: Duration::from_secs(args.full_sync_interval_secs),
                overlap: Duration::from_secs(args.sync_overlap_secs),
                lists_interval: Duration::from_secs(args.list_sync_interval_secs),
                ..SyncConfig::default()
            },
            webhooks,
            simulated: backend == Some(Backend::Sandbox),
            // The sandbox's data is made up: writing to it needs no one's permission.
            allow_unauthenticated_writes: args
                .allow_unauthenticated_writes
                .unwrap_or(backend == Some(Backend::Sandbox)),
        };
        Ok(Self { source, server })
    }
}

/// The bad values found so far, one line each.
#[derive(Default)]
struct Problems {
    problems: Vec<String>,
}

impl Problems {
    /// `ENV (--flag) is VALUE: ALLOWED`.
    fn bad(&mut self, env: &str, value: impl fmt::Display, allowed: impl fmt::Display) {
        self.problems.push(format!("{} is {value}: {allowed}", named(env)));
    }

    /// `ENV (--flag) WHAT`, for a value that is missing, or that is not shown (a secret): `what` says `is …`.
    fn about(&mut self, env: &str, what: impl fmt::Display) {
        self.problems.push(format!("{} {what}", named(env)));
    }

    /// `ENV (--flag): FAILURE`, when what failed already shows the value (a file that cannot be read).
    fn failed(&mut self, env: &str, failure: impl fmt::Display) {
        self.problems.push(format!("{}: {failure}", named(env)));
    }

    fn at_least<T: PartialOrd + fmt::Display>(&mut self, env: &str, value: T, min: T) {
        if value < min {
            self.bad(env, value, format_args!("must be at least {min}"));
        }
    }

    fn within<T: PartialOrd + fmt::Display>(&mut self, env: &str, value: T, range: RangeInclusive<T>) {
        if !range.contains(&value) {
            self.bad(env, value, format_args!("must be from {} to {}", range.start(), range.end()));
        }
    }

    /// A secret, refused when it is set but empty (an empty shared secret or HMAC key is no protection).
    fn secret(&mut self, env: &str, secret: Option<&SecretString>) -> Option<SecretString> {
        let secret = secret?;
        if secret.expose_secret().is_empty() {
            self.about(env, "is set but empty: give it a value, or unset it");
            return None;
        }
        Some(secret.clone())
    }

    /// A header name (not a secret: shown as given).
    fn header(&mut self, env: &str, name: &str) -> Option<http::HeaderName> {
        let parsed = http::HeaderName::try_from(name.trim()).ok();
        if parsed.is_none() {
            self.bad(env, format_args!("`{name}`"), "must be an HTTP header name (letters, digits and `-`)");
        }
        parsed
    }
}

/// How a message names a setting: its environment variable and its flag, as `--help` shows them.
fn named(env: &str) -> String {
    // The one flag not spelled as its variable.
    let flag = if env == "LISTEN_ADDR" { "listen".to_owned() } else { env.to_ascii_lowercase().replace('_', "-") };
    format!("{env} (--{flag})")
}

/// True when credentials for a real tenant are configured (any part of the triple).
fn has_credentials(keka: &KekaArgs) -> bool {
    keka.keka_client_id.is_some() || keka.keka_client_secret.is_some() || keka.keka_api_key.is_some()
}

/// Real Keka when credentials are set; the embedded sandbox for a developer on loopback, or anywhere when asked for
/// with `KEKA_SANDBOX=true`. A deployment that lost a secret must not look healthy while it serves invented people,
/// so without credentials on any other address the subgraph refuses to start.
fn choose_backend(has_credentials: bool, listen: SocketAddr, keka_sandbox: Option<bool>) -> Result<Backend, String> {
    match (has_credentials, keka_sandbox) {
        (true, Some(true)) => Err(String::from(
            "KEKA_SANDBOX=true but Keka credentials are set: unset KEKA_SANDBOX to serve the real tenant, or unset \
             KEKA_CLIENT_ID, KEKA_CLIENT_SECRET and KEKA_API_KEY to serve the sandbox",
        )),
        (true, _) => Ok(Backend::Keka),
        (false, Some(true)) => Ok(Backend::Sandbox),
        (false, None) if listen.ip().is_loopback() => Ok(Backend::Sandbox),
        (false, keka_sandbox) => Err(format!(
            "no Keka credentials: set KEKA_COMPANY, KEKA_CLIENT_ID, KEKA_CLIENT_SECRET and KEKA_API_KEY to serve a real \
             tenant{}, or KEKA_SANDBOX=true to serve the embedded sandbox's SIMULATED data on {listen} on purpose",
            if keka_sandbox == Some(false) {
                " (KEKA_SANDBOX=false)"
            } else {
                " (the simulated sandbox is served without them only on a loopback address)"
            }
        )),
    }
}

/// The client configuration of a real tenant; every missing or bad part is named.
fn keka_config(args: &KekaArgs, p: &mut Problems) -> Option<KekaConfig> {
    let derived = match &args.keka_company {
        Some(company) => match KekaConfig::tenant_urls(company, args.keka_environment) {
            Ok(urls) => Some(urls),
            Err(error) => {
                p.bad(
                    "KEKA_COMPANY",
                    format_args!("`{company}`"),
                    format_args!("must be a tenant subdomain, part of a host name ({error})"),
                );
                None
            }
        },
        None => None,
    };
    let base_url = match (&args.keka_base_url, &derived) {
        (Some(url), _) => Some(url.clone()),
        (None, Some((base, _))) => Some(base.clone()),
        (None, None) if args.keka_company.is_some() => None,
        (None, None) => {
            p.about("KEKA_COMPANY", "is not set: set it (or KEKA_BASE_URL) to reach a Keka tenant");
            None
        }
    };
    let token_url = match (&args.keka_token_url, &derived) {
        (Some(url), _) => Some(url.clone()),
        (None, Some((_, token))) => Some(token.clone()),
        (None, None) => KekaConfig::tenant_urls("unused", args.keka_environment).ok().map(|(_, token)| token),
    };
    let needed = "a real tenant needs all three of KEKA_CLIENT_ID, KEKA_CLIENT_SECRET and KEKA_API_KEY";
    if args.keka_client_id.is_none() {
        p.about("KEKA_CLIENT_ID", format_args!("is not set: {needed}"));
    }
    for (env, secret) in [("KEKA_CLIENT_SECRET", &args.keka_client_secret), ("KEKA_API_KEY", &args.keka_api_key)] {
        if secret.is_none() {
            p.about(env, format_args!("is not set: {needed}"));
        }
    }
    let client_secret = p.secret("KEKA_CLIENT_SECRET", args.keka_client_secret.as_ref());
    let api_key = p.secret("KEKA_API_KEY", args.keka_api_key.as_ref());
    let credentials =
        KekaCredentials { client_id: args.keka_client_id.clone()?, client_secret: client_secret?, api_key: api_key? };
    Some(KekaConfig::new(base_url?, token_url?, credentials))
}

/// The embedded sandbox's configuration; with a webhook secret, its simulated HR team announces its changes here.
fn sandbox_config(args: &ServeArgs, webhooks: Option<&WebhookConfig>, p: &mut Problems) -> Option<SandboxConfig> {
    let mut config = SandboxConfig {
        employees: args.sandbox_employees,
        seed: args.sandbox_seed,
        changes_per_hour: args.sandbox_changes_per_hour,
        today: chrono::Utc::now().date_naive(),
        rate_limit_per_minute: args.keka.keka_rate_limit_per_minute,
        ..SandboxConfig::default()
    };
    if let Some(webhooks) = webhooks
        && let Err(error) = embedded_sandbox::announce_changes_to(
            &mut config,
            args.listen,
            args.keka_webhook_header.trim(),
            &webhooks.secret,
        )
    {
        p.bad("LISTEN_ADDR", args.listen, format_args!("the sandbox cannot announce its changes there ({error})"));
        return None;
    }
    Some(config)
}

/// The webhook route's settings: `Some(None)` without a secret (the route then does not exist).
fn webhook_config(args: &ServeArgs, p: &mut Problems) -> Option<Option<WebhookConfig>> {
    let header = p.header("KEKA_WEBHOOK_HEADER", &args.keka_webhook_header);
    // An empty secret switches the route off, as an unset one does.
    let Some(secret) = args.keka_webhook_secret.clone().filter(|secret| !secret.expose_secret().is_empty()) else {
        return Some(None);
    };
    Some(Some(WebhookConfig { header: header?, secret }))
}

/// The configured Keeper node, `Some(None)` when there is none.
fn keeper_config(args: &KeeperArgs, p: &mut Problems) -> Option<Option<KeeperConfig>> {
    let Some(token) = args.keeper_token.as_ref() else {
        let dangling: Vec<&str> =
            [("KEEPER_BASE_URL", args.keeper_base_url.is_some()), ("KEEPER_NODE_ID", args.keeper_node_id.is_some())]
                .into_iter()
                .filter_map(|(env, set)| set.then_some(env))
                .collect();
        for env in &dangling {
            p.about(env, "is set but KEEPER_TOKEN is not: set the node's SCIM token too, or unset it");
        }
        return dangling.is_empty().then_some(None);
    };
    let token = p.secret("KEEPER_TOKEN", Some(token))?;
    let shown = |error: KeeperError| match error {
        KeeperError::Config(message) => message,
        other => other.to_string(),
    };
    let config = match (&args.keeper_base_url, args.keeper_data_centre, &args.keeper_node_id) {
        (Some(base_url), _, _) => {
            KeeperConfig::with_base_url(base_url, token).map_err(|error| p.failed("KEEPER_BASE_URL", shown(error))).ok()
        }
        (None, Some(data_centre), Some(node_id)) => KeeperConfig::for_node(data_centre, node_id, token)
            .map_err(|error| p.failed("KEEPER_NODE_ID", shown(error)))
            .ok(),
        _ => {
            p.about(
                "KEEPER_TOKEN",
                "is set: also set KEEPER_BASE_URL, or KEEPER_DATA_CENTRE and KEEPER_NODE_ID, to say which node",
            );
            None
        }
    };
    let mut config = config?;
    config.rate_limit_per_window = args.keeper_rate_limit_per_minute;
    Some(Some(config))
}

/// The store's settings; `limit` is Keka's budget a minute (0: none).
fn store_settings(args: &StoreArgs, limit: u32, p: &mut Problems) -> StoreSettings {
    p.within("REDIS_CALL_TIMEOUT_MS", args.redis_call_timeout_ms, 10..=10_000);
    if let Some(fallback) = args.keka_fallback_rate_limit_per_minute {
        // 0 would be "no limit" to the limiter: the opposite of a conservative share.
        if fallback == 0 || (limit > 0 && fallback > limit) {
            let most =
                if limit > 0 { format!(" and at most KEKA_RATE_LIMIT_PER_MINUTE ({limit})") } else { String::new() };
            p.bad("KEKA_FALLBACK_RATE_LIMIT_PER_MINUTE", fallback, format_args!("must be at least 1{most}"));
        }
    }
    if let Some(url) = &args.redis_url {
        // The URL may hold a password: the message never shows it.
        if redis::IntoConnectionInfo::into_connection_info(url.expose_secret()).is_err() {
            p.about(
                "REDIS_URL",
                "is not a Redis URL (not shown: it may hold a password): expected \
                 redis://[user:password@]host:port[/db] or rediss://… for TLS",
            );
        }
    }
    let tls_ca = match &args.redis_tls_ca_file {
        Some(path) => match std::fs::read(path) {
            Ok(pem) => Some(pem),
            Err(error) => {
                p.bad("REDIS_TLS_CA_FILE", path.display(), format_args!("cannot be read ({error})"));
                None
            }
        },
        None => None,
    };
    StoreSettings {
        redis_url: args.redis_url.clone(),
        key_prefix: args.redis_key_prefix.clone(),
        fallback_per_window: args.keka_fallback_rate_limit_per_minute,
        call_timeout: Duration::from_millis(args.redis_call_timeout_ms),
        tls_ca,
    }
}

/// Who may call `/graphql`: a shared secret, a JWT key, or nobody checked.
fn router_auth(args: &RouterAuthArgs, p: &mut Problems) -> Option<RouterAuth> {
    let header = p.header("ROUTER_AUTH_HEADER", &args.router_auth_header);
    let scopes_header = p.header("ROUTER_SCOPES_HEADER", &args.router_scopes_header);
    let email_header = p.header("ROUTER_EMAIL_HEADER", &args.router_email_header);
    let email_claim = args.jwt_email_claim.trim();
    if email_claim.is_empty() {
        p.bad("JWT_EMAIL_CLAIM", "\"\"", "must name a claim");
    }
    let secret = p.secret("ROUTER_SECRET", args.router_secret.as_ref());
    let hmac = p.secret("JWT_HMAC_SECRET", args.jwt_hmac_secret.as_ref());
    let given: Vec<&str> = [
        ("JWT_JWKS_FILE", args.jwt_jwks_file.is_some()),
        ("JWT_PUBLIC_KEY_FILE", args.jwt_public_key_file.is_some()),
        ("JWT_HMAC_SECRET", args.jwt_hmac_secret.is_some()),
    ]
    .into_iter()
    .filter_map(|(env, set)| set.then_some(env))
    .collect();
    if given.len() > 1 {
        let names: Vec<String> = given.iter().map(|env| named(env)).collect();
        p.problems.push(format!("{} are all set: set only one JWT key", names.join(", ")));
    }
    if !given.is_empty() && args.router_secret.is_some() {
        p.about(
            "ROUTER_SECRET",
            format_args!("is set, and so is {}: set a shared secret or a JWT key", given.join(", ")),
        );
    }
    if given.is_empty() {
        for (env, set) in [("JWT_ISSUER", args.jwt_issuer.is_some()), ("JWT_AUDIENCE", args.jwt_audience.is_some())] {
            if set {
                let keys = "JWT_JWKS_FILE, JWT_PUBLIC_KEY_FILE or JWT_HMAC_SECRET";
                p.about(env, format_args!("is set but no JWT key is ({keys}): it would check nothing"));
            }
        }
    }
    // Every key given is loaded, so that each unreadable file is reported in this round.
    let mut keys = hmac.as_ref().map(JwtKeys::from_hmac_secret);
    let files = [
        args.jwt_jwks_file.as_deref().map(|path| ("JWT_JWKS_FILE", JwtKeys::from_jwks_file(path))),
        args.jwt_public_key_file.as_deref().map(|path| ("JWT_PUBLIC_KEY_FILE", JwtKeys::from_pem_file(path))),
    ];
    for (env, loaded) in files.into_iter().flatten() {
        match loaded {
            Ok(loaded) => keys = Some(loaded),
            Err(error) => p.failed(env, format_args!("{error:#}")),
        }
    }
    let (header, scopes_header, email_header) = (header?, scopes_header?, email_header?);
    Some(match (keys, secret) {
        (Some(keys), _) => RouterAuth::Jwt {
            header,
            keys,
            issuer: args.jwt_issuer.clone(),
            audience: args.jwt_audience.clone(),
            email_claim: email_claim.to_owned(),
        },
        (None, Some(secret)) => RouterAuth::SharedSecret { header, secret, scopes_header, email_header },
        (None, None) => RouterAuth::Off,
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;
    use url::Url;

    use super::*;
    use crate::cli::Cli;

    /// The settings of `keka-subgraph serve` with these flags (no environment variable is set by the tests: they run
    /// in parallel).
    fn settings(flags: &[&str]) -> Result<Settings, SettingsError> {
        let cli = Cli::try_parse_from(std::iter::once("keka-subgraph").chain(flags.iter().copied())).unwrap();
        Settings::from_args(&cli.serve)
    }

    fn problems(flags: &[&str]) -> Vec<String> {
        settings(flags).expect_err("a bad configuration is refused").problems().to_vec()
    }

    /// A real tenant's flags.
    const TENANT: [&str; 8] = [
        "--keka-company",
        "acme",
        "--keka-client-id",
        "client-id",
        "--keka-client-secret",
        "cl1ent-s3cret-value",
        "--keka-api-key",
        "ap1-k3y-value",
    ];

    #[test]
    fn the_defaults_validate_and_serve_the_sandbox_on_loopback() {
        let Settings { source, server } = settings(&[]).unwrap();
        let Source::Sandbox(sandbox) = source else { panic!("the defaults serve the embedded sandbox") };
        assert_eq!((sandbox.employees, sandbox.seed, sandbox.rate_limit_per_minute), (250, 42, 50));
        let keka = KekaConfig::new(
            Url::parse("http://127.0.0.1:1/api/v1").unwrap(),
            Url::parse("http://127.0.0.1:1/connect/token").unwrap(),
            KekaCredentials {
                client_id: "id".to_owned(),
                client_secret: SecretString::from("s"),
                api_key: SecretString::from("k"),
            },
        );
        let built = server.with_keka(keka, None);
        assert!(built.simulated);
        assert_eq!(built.cache.ttl, Duration::from_secs(300));
        assert_eq!(built.cache.current_window_ttl, Duration::from_secs(60));
        assert_eq!(built.cache.past_window_ttl, Duration::from_secs(3600));
        assert_eq!(built.sync.full_interval, Duration::from_secs(24 * 60 * 60));
        assert_eq!(built.sync.lists_interval, Duration::from_secs(240));
        assert_eq!(built.limits.max_page_size, 100);
        assert_eq!(built.request_deadline, Duration::from_secs(25));
        assert_eq!((built.keka.rate_limit_per_window, built.keka.interactive_reserve), (50, 10));
        assert_eq!(built.keka.request_timeout, Duration::from_secs(10));
        assert_eq!(built.store.call_timeout, StoreConfig::CALL_TIMEOUT);
        assert_eq!(built.store.fallback_per_window, 10);
        assert_eq!(built.store.key_prefix, "keka-subgraph:v1:127.0.0.1:1:");
        assert!(built.webhooks.is_none() && built.keeper.is_none());
        assert!(matches!(built.router_auth, RouterAuth::Off));
    }

    #[test]
    fn a_real_tenant_validates_with_its_urls_derived_from_the_company() {
        let Settings { source, server } = settings(&TENANT).unwrap();
        let Source::Keka(keka) = source else { panic!("credentials serve the real tenant") };
        assert_eq!(keka.base_url.as_str(), "https://acme.keka.com/api/v1");
        assert_eq!(keka.token_url.as_str(), "https://login.keka.com/connect/token");
        let built = server.with_keka(keka, None);
        assert!(!built.simulated);
        assert_eq!(built.store.key_prefix, "keka-subgraph:v1:acme.keka.com:");
    }

    #[test]
    fn each_rule_refuses_its_bad_value_naming_the_variable_the_flag_the_value_and_what_is_allowed() {
        let cases: [(&[&str], &str); 15] = [
            (&["--cache-ttl-secs", "0"], "CACHE_TTL_SECS (--cache-ttl-secs) is 0: must be at least 1"),
            (&["--current-window-ttl-secs", "0"], "CURRENT_WINDOW_TTL_SECS (--current-window-ttl-secs) is 0"),
            (&["--past-window-ttl-secs", "0"], "PAST_WINDOW_TTL_SECS (--past-window-ttl-secs) is 0"),
            (
                &["--full-sync-interval-secs", "59"],
                "FULL_SYNC_INTERVAL_SECS (--full-sync-interval-secs) is 59: must be at least 60",
            ),
            (&["--list-sync-interval-secs", "0"], "LIST_SYNC_INTERVAL_SECS (--list-sync-interval-secs) is 0"),
            (&["--max-page-size", "0"], "MAX_PAGE_SIZE (--max-page-size) is 0: must be at least 1"),
            (&["--max-body-bytes", "0"], "MAX_BODY_BYTES (--max-body-bytes) is 0"),
            (&["--max-depth", "0"], "MAX_DEPTH (--max-depth) is 0"),
            (&["--max-concurrent-requests", "0"], "MAX_CONCURRENT_REQUESTS (--max-concurrent-requests) is 0"),
            (&["--request-deadline-secs", "0"], "REQUEST_DEADLINE_SECS (--request-deadline-secs) is 0"),
            (&["--keka-request-timeout-secs", "0"], "KEKA_REQUEST_TIMEOUT_SECS (--keka-request-timeout-secs) is 0"),
            (
                &["--redis-call-timeout-ms", "5"],
                "REDIS_CALL_TIMEOUT_MS (--redis-call-timeout-ms) is 5: must be from 10 to 10000",
            ),
            (
                &["--keka-interactive-reserve", "50"],
                "KEKA_INTERACTIVE_RESERVE (--keka-interactive-reserve) is 50: must be below \
                 KEKA_RATE_LIMIT_PER_MINUTE (50)",
            ),
            (
                &["--keka-fallback-rate-limit-per-minute", "0"],
                "KEKA_FALLBACK_RATE_LIMIT_PER_MINUTE (--keka-fallback-rate-limit-per-minute) is 0: must be at least 1",
            ),
            (
                &["--sandbox-changes-per-hour=-1"],
                "SANDBOX_CHANGES_PER_HOUR (--sandbox-changes-per-hour) is -1: must be a number, 0 or more",
            ),
        ];
        for (flags, expected) in cases {
            let problems = problems(flags);
            assert_eq!(problems.len(), 1, "{flags:?}: {problems:?}");
            assert!(problems[0].starts_with(expected), "{flags:?}: {problems:?}");
        }
        // The bounds themselves are allowed.
        for flags in [
            &["--redis-call-timeout-ms", "10"][..],
            &["--redis-call-timeout-ms", "10000"],
            &["--full-sync-interval-secs", "60"],
            &["--keka-interactive-reserve", "49"],
            &["--keka-fallback-rate-limit-per-minute", "50"],
            // 0 is "no limit": nothing to reserve.
            &["--keka-rate-limit-per-minute", "0", "--keka-interactive-reserve", "10"],
            &["--sync-interval-secs", "0", "--stale-if-error-secs", "0", "--snapshot-grace-secs", "0"],
        ] {
            assert!(settings(flags).is_ok(), "{flags:?}");
        }
    }

    #[test]
    fn rules_between_settings_and_around_keys_name_each_setting_involved() {
        let above = problems(&["--keka-fallback-rate-limit-per-minute", "51"]);
        assert!(above[0].contains("at most KEKA_RATE_LIMIT_PER_MINUTE (50)"), "{above:?}");

        let half_keeper = problems(&["--keeper-node-id", "123"]);
        assert!(half_keeper[0].starts_with("KEEPER_NODE_ID (--keeper-node-id) is set but KEEPER_TOKEN is not"));
        let no_node = problems(&["--keeper-token", "t0ken"]);
        assert!(no_node[0].starts_with("KEEPER_TOKEN (--keeper-token) is set: also set KEEPER_BASE_URL"));

        let two_keys = problems(&["--jwt-hmac-secret", "k3y", "--jwt-jwks-file", "/nonexistent/jwks.json"]);
        assert!(two_keys.iter().any(|problem| problem.contains("set only one JWT key")), "{two_keys:?}");
        assert!(two_keys.iter().any(|problem| problem.starts_with("JWT_JWKS_FILE (--jwt-jwks-file): cannot read")));
        let both = problems(&["--jwt-hmac-secret", "k3y", "--router-secret", "s3cret"]);
        assert!(both[0].starts_with("ROUTER_SECRET (--router-secret) is set, and so is JWT_HMAC_SECRET"), "{both:?}");
        let issuer_alone = problems(&["--jwt-issuer", "https://issuer.example"]);
        assert!(issuer_alone[0].starts_with("JWT_ISSUER (--jwt-issuer) is set but no JWT key is"), "{issuer_alone:?}");

        let header = problems(&["--router-auth-header", "not a header"]);
        assert!(header[0].starts_with("ROUTER_AUTH_HEADER (--router-auth-header) is `not a header`"), "{header:?}");
        let missing = problems(&["--keka-client-id", "id", "--keka-company", "acme"]);
        assert_eq!(missing.len(), 2, "{missing:?}");
        assert!(missing[0].starts_with("KEKA_CLIENT_SECRET (--keka-client-secret) is not set"));
        assert!(missing[1].starts_with("KEKA_API_KEY (--keka-api-key) is not set"));
    }

    #[test]
    fn several_bad_values_are_reported_together_one_line_each() {
        let error = settings(&[
            "--cache-ttl-secs",
            "0",
            "--max-page-size",
            "0",
            "--redis-call-timeout-ms",
            "20000",
            "--keka-rate-limit-per-minute",
            "5",
            "--full-sync-interval-secs",
            "1",
            "--keka-webhook-header",
            "bad header",
        ])
        .unwrap_err();
        let named = ["CACHE_TTL_SECS", "FULL_SYNC_INTERVAL_SECS", "MAX_PAGE_SIZE", "KEKA_INTERACTIVE_RESERVE"];
        let named = named.into_iter().chain(["KEKA_WEBHOOK_HEADER", "REDIS_CALL_TIMEOUT_MS"]);
        assert_eq!(error.problems().len(), 6, "{error}");
        let shown = error.to_string();
        assert!(shown.starts_with("invalid configuration (6 problems):\n  - "), "{shown}");
        for (problem, env) in error.problems().iter().zip(named) {
            assert!(problem.starts_with(env), "{problem}");
            assert!(shown.contains(&format!("\n  - {problem}")), "{shown}");
        }
    }

    #[test]
    fn no_secret_reaches_an_error_message_or_the_debug_output() {
        let secrets = ["cl1ent-s3cret-value", "ap1-k3y-value", "r3dis-passw0rd", "w3bhook-s3cret", "r0uter-s3cret"];
        // Each secret next to a bad value, so that the error is about the setting that holds it or its neighbours.
        let mut bad: Vec<&str> = TENANT.to_vec();
        bad.extend([
            "--redis-url",
            "http://user:r3dis-passw0rd@redis.internal:6379",
            "--keka-webhook-secret",
            "w3bhook-s3cret",
            "--keka-webhook-header",
            "bad header",
            "--router-secret",
            "r0uter-s3cret",
            "--jwt-hmac-secret",
            "",
            "--keka-sandbox",
            "true",
        ]);
        let error = settings(&bad).unwrap_err();
        assert!(error.problems().len() >= 4, "{error}");
        assert!(error.to_string().contains("REDIS_URL (--redis-url) is not a Redis URL"), "{error}");
        let mut good: Vec<&str> = TENANT.to_vec();
        good.extend([
            "--redis-url",
            "redis://user:r3dis-passw0rd@redis.internal:6379",
            "--keka-webhook-secret",
            "w3bhook-s3cret",
            "--router-secret",
            "r0uter-s3cret",
        ]);
        let cli = Cli::try_parse_from(std::iter::once("keka-subgraph").chain(good.iter().copied())).unwrap();
        let parsed = format!("{cli:?}");
        let checked = Settings::from_args(&cli.serve).unwrap();
        let checked_debug = format!("{checked:?}");
        let Settings { source: Source::Keka(keka), server } = checked else { panic!("a real tenant") };
        let built = format!("{:?}", server.with_keka(keka, None));
        let sandbox = format!("{:?}", settings(&["--keka-webhook-secret", "w3bhook-s3cret"]).unwrap());
        for (what, text) in [
            ("the error", error.to_string()),
            ("the error's Debug", format!("{error:?}")),
            ("the parsed flags", parsed),
            ("the settings", checked_debug),
            ("the server's settings", built),
            ("the sandbox's settings", sandbox.clone()),
        ] {
            for secret in secrets {
                assert!(!text.contains(secret), "{what} show {secret}: {text}");
            }
        }
        // The embedded sandbox's own credentials are secrets in its logs too.
        assert!(!sandbox.contains("sandbox-client-secret") && !sandbox.contains("sandbox-api-key"), "{sandbox}");
    }

    #[test]
    fn every_flag_is_named_as_its_environment_variable_says() {
        // Messages name a flag from its variable (`named`): the two must not drift apart.
        let command = <ServeArgs as clap::Args>::augment_args(clap::Command::new("serve"));
        let mut checked = 0;
        for argument in command.get_arguments() {
            let (Some(env), Some(long)) = (argument.get_env(), argument.get_long()) else { continue };
            let env = env.to_str().unwrap();
            assert_eq!(named(env), format!("{env} (--{long})"));
            checked += 1;
        }
        assert!(checked > 50, "{checked}");
    }

    #[test]
    fn the_sandbox_serves_on_loopback_or_on_purpose_and_never_by_accident() {
        let loopback: SocketAddr = "127.0.0.1:4001".parse().unwrap();
        let loopback_v6: SocketAddr = "[::1]:4001".parse().unwrap();
        let everywhere: SocketAddr = "0.0.0.0:4001".parse().unwrap();
        assert_eq!(choose_backend(false, loopback, None).unwrap(), Backend::Sandbox);
        assert_eq!(choose_backend(false, loopback_v6, None).unwrap(), Backend::Sandbox);
        assert_eq!(choose_backend(false, everywhere, Some(true)).unwrap(), Backend::Sandbox);
        assert_eq!(choose_backend(true, everywhere, None).unwrap(), Backend::Keka);
        assert_eq!(choose_backend(true, loopback, Some(false)).unwrap(), Backend::Keka);

        let refused = choose_backend(false, everywhere, None).unwrap_err();
        for named in ["KEKA_COMPANY", "KEKA_CLIENT_ID", "KEKA_CLIENT_SECRET", "KEKA_API_KEY", "KEKA_SANDBOX=true"] {
            assert!(refused.contains(named), "{refused}");
        }
        assert!(choose_backend(false, loopback, Some(false)).unwrap_err().contains("KEKA_SANDBOX=false"));
        assert!(choose_backend(true, loopback, Some(true)).is_err());
    }
}

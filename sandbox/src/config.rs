//! Settings for the sandbox: the programmatic [`SandboxConfig`] (with the Keeper SCIM node's
//! [`KeeperSandboxConfig`]), the runtime-replaceable [`FaultConfig`], and the
//! `keka-subgraph sandbox` command-line flags ([`SandboxArgs`]).

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use chrono::NaiveDate;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use url::Url;

/// How `/hire/jobs` and `/hire/jobs/{jobId}/candidates` shape their list responses.
///
/// Keka's own spec documents bare arrays, while some clients assume the standard list
/// envelope; the sandbox can serve either so that both decoding paths get exercised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum HireListShape {
    /// A bare JSON array holding the requested page.
    #[default]
    Array,
    /// The standard `{succeeded, data, pageNumber, ...}` list envelope.
    Envelope,
}

/// The API key triple a client must present at `/connect/token`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxCredentials {
    /// `client_id` form field.
    pub client_id: String,
    /// `client_secret` form field.
    pub client_secret: String,
    /// `api_key` form field.
    pub api_key: String,
}

impl Default for SandboxCredentials {
    fn default() -> Self {
        Self {
            client_id: "sandbox-client-id".to_owned(),
            client_secret: "sandbox-client-secret".to_owned(),
            api_key: "sandbox-api-key".to_owned(),
        }
    }
}

/// Failure injection for `/api/v1/...` responses (and the token endpoint outage switch).
///
/// Rates are fractions in `[0, 1]`. One random draw per API request decides the outcome,
/// checked in the order error → HTML error → malformed JSON → commit then fail, so the rates
/// add up. What each does to a write (`POST /time/leaverequests`; the employee search is a
/// POST but reads): an error or HTML page answers before the write, which is not applied; a
/// malformed body and commit-then-fail answer after it, which is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultConfig {
    /// Fraction of API requests answered `500` with Keka's error envelope.
    pub error_rate: f64,
    /// Delay added to every API response.
    #[serde(rename = "latency_ms", with = "duration_ms")]
    pub latency: Duration,
    /// Fraction of API requests answered `200` with a truncated (invalid) JSON body.
    pub malformed_json_rate: f64,
    /// Fraction of API requests answered `502` with an HTML page, as a proxy in front of Keka would.
    pub html_error_rate: f64,
    /// Fraction of API writes whose answer is lost: the write is applied (even if the client
    /// hangs up meanwhile), then, after [`Self::commit_then_fail_delay`], the answer is a
    /// `500` with Keka's error envelope whatever the write's own answer was. A client that
    /// retries on it sends the write twice. Reads drawing this fault are answered normally.
    pub commit_then_fail_rate: f64,
    /// How long a commit-then-fail answer is held back; past the client's timeout, the client
    /// gets no answer at all (the write is applied all the same).
    #[serde(rename = "commit_then_fail_delay_ms", with = "duration_ms")]
    pub commit_then_fail_delay: Duration,
    /// When true the token endpoint answers `503`.
    pub token_endpoint_down: bool,
}

/// Serialises a [`Duration`] as whole milliseconds.
mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(value: &Duration, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::try_from(value.as_millis()).unwrap_or(u64::MAX))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}

/// The simulated Keeper SCIM 2.0 node served next to the Keka API (see `super::keeper`).
///
/// Keeper publishes no page-size or rate-limit numbers of its own; the defaults follow the
/// third-party figures in the research notes (page of 100 when `count` is omitted, at most
/// 1000) and leave the rate limit off.
#[derive(Debug, Clone, PartialEq)]
pub struct KeeperSandboxConfig {
    /// The node id in `/api/rest/scim/v2/{node_id}` (ASCII digits; Keeper's are 15 long).
    pub node_id: String,
    /// The static bearer token the node accepts (until rotated at runtime).
    pub token: String,
    /// Page size when a list request has no `count` (clamped to `max_count`).
    pub default_count: usize,
    /// Largest page served; a larger `count` is clamped to it.
    pub max_count: usize,
    /// Authorised Keeper requests allowed per window; 0 (the default) disables the limit.
    pub rate_limit_per_window: u32,
    /// Length of the fixed rate-limit window.
    pub rate_limit_window: Duration,
    /// Send `Retry-After` on Keeper 429s.
    pub retry_after_header: bool,
    /// Initial fault injection for the Keeper routes (`token_endpoint_down` is ignored).
    pub faults: FaultConfig,
}

impl KeeperSandboxConfig {
    /// The default node id.
    pub const DEFAULT_NODE_ID: &'static str = "512540212789503";
    /// The default bearer token.
    pub const DEFAULT_TOKEN: &'static str = "sandbox-keeper-token";
}

impl Default for KeeperSandboxConfig {
    fn default() -> Self {
        Self {
            node_id: Self::DEFAULT_NODE_ID.to_owned(),
            token: Self::DEFAULT_TOKEN.to_owned(),
            default_count: 100,
            max_count: 1000,
            rate_limit_per_window: 0,
            rate_limit_window: Duration::from_secs(60),
            retry_after_header: false,
            faults: FaultConfig::default(),
        }
    }
}

/// Everything needed to start a [`RunningSandbox`](super::RunningSandbox).
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Address to bind; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Number of employees in the generated tenant.
    pub employees: usize,
    /// Seed for all generated data (and for fault decisions).
    pub seed: u64,
    /// Authorised API requests allowed per window; 0 disables the limit.
    pub rate_limit_per_minute: u32,
    /// Length of the fixed rate-limit window (Keka: 60 s).
    pub rate_limit_window: Duration,
    /// Send `Retry-After` on 429s (Keka does not document doing so).
    pub retry_after_header: bool,
    /// Lifetime of issued access tokens (`expires_in`).
    pub token_ttl: Duration,
    /// Shape of the hire list endpoints.
    pub hire_list_shape: HireListShape,
    /// Reference date for generated data ("today" inside the tenant).
    pub today: NaiveDate,
    /// Whether `/hris/locations` ids equal the ids of the OrgLocation groups.
    pub location_ids_match_groups: bool,
    /// Credentials the token endpoint accepts.
    pub credentials: SandboxCredentials,
    /// Initial fault injection settings (Keka API routes).
    pub faults: FaultConfig,
    /// The simulated Keeper SCIM node on the same listener.
    pub keeper: KeeperSandboxConfig,
    /// Average number of random HR changes (hires, exits, moves, renames, leave requests) the
    /// running sandbox applies per hour, at exponentially distributed intervals; 0 (the
    /// default) applies none.
    pub changes_per_hour: f64,
    /// Where to POST a Keka-style Event Trigger webhook after each HR change; none by default.
    pub webhook_url: Option<Url>,
    /// Name of the custom header carrying [`Self::webhook_secret`] (an admin-configured header
    /// in Keka's webhook action).
    pub webhook_header: String,
    /// Value of the custom header; without it no header is sent.
    pub webhook_secret: Option<SecretString>,
}

impl SandboxConfig {
    /// The default name of the webhook's custom header.
    pub const DEFAULT_WEBHOOK_HEADER: &'static str = "X-Webhook-Secret";
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            employees: 250,
            seed: 42,
            rate_limit_per_minute: 50,
            rate_limit_window: Duration::from_secs(60),
            retry_after_header: false,
            token_ttl: Duration::from_secs(86_400),
            hire_list_shape: HireListShape::Array,
            today: chrono::Utc::now().date_naive(),
            location_ids_match_groups: true,
            credentials: SandboxCredentials::default(),
            faults: FaultConfig::default(),
            keeper: KeeperSandboxConfig::default(),
            changes_per_hour: 0.0,
            webhook_url: None,
            webhook_header: Self::DEFAULT_WEBHOOK_HEADER.to_owned(),
            webhook_secret: None,
        }
    }
}

/// Flags of the `keka-subgraph sandbox` subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct SandboxArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "SANDBOX_LISTEN", default_value = "127.0.0.1:4010")]
    pub listen: SocketAddr,

    /// Number of employees to generate.
    #[arg(long, env = "SANDBOX_EMPLOYEES", default_value_t = 250)]
    pub employees: usize,

    /// Seed for the generated tenant; the same seed gives the same ids and data.
    #[arg(long, env = "SANDBOX_SEED", default_value_t = 42)]
    pub seed: u64,

    /// Authorised API requests allowed per rate-limit window (Keka: 50); 0 disables the limit.
    #[arg(long, env = "SANDBOX_RATE_LIMIT_PER_MINUTE", default_value_t = 50)]
    pub rate_limit_per_minute: u32,

    /// Length of the fixed rate-limit window in seconds.
    #[arg(long, env = "SANDBOX_RATE_LIMIT_WINDOW_SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub rate_limit_window_secs: u64,

    /// Send a `Retry-After` header with 429 responses (real Keka is not documented to).
    #[arg(long, env = "SANDBOX_RETRY_AFTER_HEADER")]
    pub retry_after_header: bool,

    /// Lifetime of issued access tokens in seconds.
    #[arg(long, env = "SANDBOX_TOKEN_TTL_SECS", default_value_t = 86_400)]
    pub token_ttl_secs: u64,

    /// Response shape of /hire/jobs and /hire/jobs/{jobId}/candidates.
    #[arg(long, env = "SANDBOX_HIRE_LIST_SHAPE", value_enum, default_value_t = HireListShape::Array)]
    pub hire_list_shape: HireListShape,

    /// Reference date (YYYY-MM-DD) for generated data; defaults to today (UTC).
    #[arg(long, env = "SANDBOX_TODAY")]
    pub today: Option<NaiveDate>,

    /// Give /hris/locations ids of their own instead of the OrgLocation group ids.
    #[arg(long, env = "SANDBOX_DISTINCT_LOCATION_IDS")]
    pub distinct_location_ids: bool,

    /// Fraction (0..1) of API requests answered 500 with Keka's error envelope.
    #[arg(long, env = "SANDBOX_ERROR_RATE", default_value_t = 0.0, value_parser = parse_rate)]
    pub error_rate: f64,

    /// Milliseconds of latency added to every API response.
    #[arg(long, env = "SANDBOX_LATENCY_MS", default_value_t = 0)]
    pub latency_ms: u64,

    /// Fraction (0..1) of API requests answered 200 with a truncated JSON body.
    #[arg(long, env = "SANDBOX_MALFORMED_JSON_RATE", default_value_t = 0.0, value_parser = parse_rate)]
    pub malformed_json_rate: f64,

    /// Fraction (0..1) of API requests answered 502 with an HTML error page.
    #[arg(long, env = "SANDBOX_HTML_ERROR_RATE", default_value_t = 0.0, value_parser = parse_rate)]
    pub html_error_rate: f64,

    /// Make the token endpoint answer 503.
    #[arg(long, env = "SANDBOX_TOKEN_ENDPOINT_DOWN")]
    pub token_endpoint_down: bool,

    /// Node id of the simulated Keeper SCIM node (digits), as in /api/rest/scim/v2/{node_id}.
    #[arg(long, env = "SANDBOX_KEEPER_NODE_ID", default_value = KeeperSandboxConfig::DEFAULT_NODE_ID, value_parser = parse_node_id)]
    pub keeper_node_id: String,

    /// Bearer token the simulated Keeper SCIM node accepts.
    #[arg(long, env = "SANDBOX_KEEPER_TOKEN", default_value = KeeperSandboxConfig::DEFAULT_TOKEN)]
    pub keeper_token: String,

    /// Keeper SCIM page size when a request has no `count`.
    #[arg(long, env = "SANDBOX_KEEPER_DEFAULT_COUNT", default_value_t = 100)]
    pub keeper_default_count: usize,

    /// Largest Keeper SCIM page; larger `count` values are clamped to it.
    #[arg(long, env = "SANDBOX_KEEPER_MAX_COUNT", default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..))]
    pub keeper_max_count: u64,

    /// Authorised Keeper SCIM requests allowed per minute; 0 (the default, as Keeper publishes none) disables the limit.
    #[arg(long, env = "SANDBOX_KEEPER_RATE_LIMIT_PER_MINUTE", default_value_t = 0)]
    pub keeper_rate_limit_per_minute: u32,

    /// HR changes over time and their webhooks (boxed: keeps the CLI's command enum small).
    #[command(flatten)]
    pub hr: Box<HrArgs>,
}

/// The `sandbox` flags for HR changes over time and the Event Trigger webhooks announcing them.
#[derive(Debug, Clone, clap::Args)]
pub struct HrArgs {
    /// Average number of random HR changes (hires, exits, manager moves, renames, leave requests) per hour; 0
    /// disables them.
    #[arg(long, env = "SANDBOX_CHANGES_PER_HOUR", default_value_t = 0.0, value_parser = parse_per_hour)]
    pub changes_per_hour: f64,

    /// URL to POST a Keka-style Event Trigger webhook to after each HR change (http or https).
    #[arg(long, env = "SANDBOX_WEBHOOK_URL", value_parser = parse_webhook_url)]
    pub webhook_url: Option<Url>,

    /// Name of the custom header that carries the webhook secret.
    #[arg(long, env = "SANDBOX_WEBHOOK_HEADER", default_value = SandboxConfig::DEFAULT_WEBHOOK_HEADER, value_parser = parse_header_name)]
    pub webhook_header: String,

    /// Value of the webhook's custom header (a shared secret); no header is sent without it.
    #[arg(long, env = "SANDBOX_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,
}

/// Accepts a finite, non-negative number.
fn parse_per_hour(raw: &str) -> Result<f64, String> {
    let value: f64 = raw.trim().parse().map_err(|e| format!("not a number: {e}"))?;
    if value.is_finite() && value >= 0.0 { Ok(value) } else { Err(format!("{value} is not a non-negative number")) }
}

/// Accepts an absolute `http` or `https` URL.
fn parse_webhook_url(raw: &str) -> Result<Url, String> {
    let url = Url::parse(raw.trim()).map_err(|e| format!("not a URL: {e}"))?;
    if matches!(url.scheme(), "http" | "https") {
        Ok(url)
    } else {
        Err(format!("{} is not an http(s) URL", super::hr::redacted(&url)))
    }
}

/// Accepts a valid HTTP header name.
fn parse_header_name(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    http::HeaderName::from_bytes(raw.as_bytes())
        .map(|_| raw.to_owned())
        .map_err(|_| format!("{raw:?} is not a header name"))
}

/// Accepts a non-empty string of ASCII digits.
fn parse_node_id(raw: &str) -> Result<String, String> {
    let raw = raw.trim();
    if !raw.is_empty() && raw.bytes().all(|b| b.is_ascii_digit()) {
        Ok(raw.to_owned())
    } else {
        Err(format!("{raw:?} is not a Keeper node id (digits only)"))
    }
}

/// Accepts a fraction in `[0, 1]`.
fn parse_rate(raw: &str) -> Result<f64, String> {
    let value: f64 = raw.trim().parse().map_err(|e| format!("not a number: {e}"))?;
    if (0.0..=1.0).contains(&value) { Ok(value) } else { Err(format!("{value} is not between 0 and 1")) }
}

impl SandboxArgs {
    /// Turns the flags into a [`SandboxConfig`] (credentials keep their defaults).
    pub fn into_config(self) -> SandboxConfig {
        let defaults = SandboxConfig::default();
        SandboxConfig {
            listen: self.listen,
            employees: self.employees,
            seed: self.seed,
            rate_limit_per_minute: self.rate_limit_per_minute,
            rate_limit_window: Duration::from_secs(self.rate_limit_window_secs),
            retry_after_header: self.retry_after_header,
            token_ttl: Duration::from_secs(self.token_ttl_secs),
            hire_list_shape: self.hire_list_shape,
            today: self.today.unwrap_or(defaults.today),
            location_ids_match_groups: !self.distinct_location_ids,
            credentials: defaults.credentials,
            faults: FaultConfig {
                error_rate: self.error_rate,
                latency: Duration::from_millis(self.latency_ms),
                malformed_json_rate: self.malformed_json_rate,
                html_error_rate: self.html_error_rate,
                token_endpoint_down: self.token_endpoint_down,
                // Lost answers are for tests of a client's writes: set at runtime (admin route).
                ..FaultConfig::default()
            },
            keeper: KeeperSandboxConfig {
                node_id: self.keeper_node_id,
                token: self.keeper_token,
                default_count: self.keeper_default_count,
                max_count: usize::try_from(self.keeper_max_count).unwrap_or(usize::MAX),
                rate_limit_per_window: self.keeper_rate_limit_per_minute,
                ..defaults.keeper
            },
            changes_per_hour: self.hr.changes_per_hour,
            webhook_url: self.hr.webhook_url,
            webhook_header: self.hr.webhook_header,
            webhook_secret: self.hr.webhook_secret.filter(|s| !s.is_empty()).map(SecretString::from),
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use secrecy::ExposeSecret as _;

    use super::*;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        sandbox: SandboxArgs,
    }

    fn parse(args: &[&str]) -> Result<SandboxConfig, clap::Error> {
        Cli::try_parse_from(std::iter::once("sandbox").chain(args.iter().copied())).map(|c| c.sandbox.into_config())
    }

    #[test]
    fn hr_change_and_webhook_flags() {
        let config = parse(&[]).unwrap();
        assert_eq!(config.changes_per_hour, 0.0);
        assert!(config.webhook_url.is_none() && config.webhook_secret.is_none());
        assert_eq!(config.webhook_header, "X-Webhook-Secret");
        assert_eq!(SandboxConfig::default().changes_per_hour, 0.0);

        let config = parse(&[
            "--changes-per-hour",
            "12.5",
            "--webhook-url",
            "http://127.0.0.1:8080/keka/events",
            "--webhook-header",
            "X-Keka-Token",
            "--webhook-secret",
            "s3cret",
        ])
        .unwrap();
        assert_eq!(config.changes_per_hour, 12.5);
        assert_eq!(config.webhook_url.unwrap().as_str(), "http://127.0.0.1:8080/keka/events");
        assert_eq!(config.webhook_header, "X-Keka-Token");
        assert_eq!(config.webhook_secret.unwrap().expose_secret(), "s3cret");
        assert!(!format!("{:?}", parse(&["--webhook-secret", "s3cret"]).unwrap()).contains("s3cret"));

        for bad in [
            &["--changes-per-hour", "-1"][..],
            &["--changes-per-hour", "inf"],
            &["--webhook-url", "ftp://example.com/x"],
            &["--webhook-url", "not a url"],
            &["--webhook-header", "bad header"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}

//! Settings of the Keka client: where Keka is, the credentials, and the budgets the client keeps.

use std::fmt;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

/// Keka's two hosting environments: production tenants live on `keka.com`, partner sandboxes on `kekademo.com`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KekaEnvironment {
    #[default]
    Production,
    Demo,
}

impl KekaEnvironment {
    /// The second-level domain Keka uses for this environment.
    pub fn domain(self) -> &'static str {
        match self {
            Self::Production => "keka",
            Self::Demo => "kekademo",
        }
    }
}

impl std::str::FromStr for KekaEnvironment {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value.trim().to_ascii_lowercase().as_str() {
            "keka" | "production" | "prod" => Ok(Self::Production),
            "kekademo" | "demo" | "sandbox" => Ok(Self::Demo),
            other => Err(format!("unknown Keka environment `{other}` (expected `keka` or `kekademo`)")),
        }
    }
}

/// The API key triple an admin creates in Keka (Global admin settings → Integrations & Automations → API access).
#[derive(Clone)]
pub struct KekaCredentials {
    pub client_id: String,
    pub client_secret: SecretString,
    pub api_key: SecretString,
}

impl fmt::Debug for KekaCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The client id is not a secret on its own, but it is half of the pair: show only a prefix.
        let id_hint: String = self.client_id.chars().take(4).collect();
        f.debug_struct("KekaCredentials")
            .field("client_id", &format_args!("{id_hint}…"))
            .field("client_secret", &"[redacted]")
            .field("api_key", &"[redacted]")
            .finish()
    }
}

/// Everything the Keka client needs. Built by the CLI from flags and environment variables.
#[derive(Debug, Clone)]
pub struct KekaConfig {
    /// API root, e.g. `https://acme.keka.com/api/v1` (`KEKA_BASE_URL`, or derived from company + environment).
    pub base_url: Url,
    /// OAuth token endpoint, e.g. `https://login.keka.com/connect/token` (`KEKA_TOKEN_URL`, or derived).
    pub token_url: Url,
    pub credentials: KekaCredentials,
    /// Requests allowed per rate-limit window for this API key (Keka: 50 per minute).
    pub rate_limit_per_window: u32,
    /// Length of Keka's fixed quota window (60 s).
    pub rate_limit_window: Duration,
    /// Extra spacing kept beyond the window, because our clock and Keka's windows are not aligned
    /// and requests reach Keka a little after we send them.
    pub rate_limit_margin: Duration,
    /// Slots of each window that background work (snapshot rebuilds, syncs) leaves to requests.
    pub interactive_reserve: u32,
    /// Longest a request may wait for a rate-limit slot (or a 429 back-off) before it fails.
    /// Below Apollo Router's 30 s request timeout, so the client gets a coded error, not a 504.
    pub max_rate_limit_wait: Duration,
    /// Timeout of one HTTP exchange with Keka.
    pub request_timeout: Duration,
    /// Retries after the first attempt, for 429s, 5xx, timeouts and connection errors.
    pub max_retries: u32,
    /// First back-off delay; doubles per attempt, with jitter.
    pub backoff_base: Duration,
    /// Ceiling of one back-off delay.
    pub backoff_max: Duration,
    /// The token is refreshed this long before Keka says it expires.
    pub token_refresh_margin: Duration,
    /// Page size used when walking lists (Keka's maximum is 200).
    pub page_size: u32,
    /// Ids per `employeeIds=` request; keeps URLs a sane length (a GUID plus comma is 37 characters).
    pub ids_per_request: usize,
    /// Sent on every request: Keka rejects some clients that send none.
    pub user_agent: String,
}

impl KekaConfig {
    /// Keka's largest page size.
    pub const MAX_PAGE_SIZE: u32 = 200;

    /// URLs of a real tenant: `https://{company}.{environment}.com/api/v1` and `https://login.{environment}.com/connect/token`.
    pub fn tenant_urls(company: &str, environment: KekaEnvironment) -> Result<(Url, Url), url::ParseError> {
        let domain = environment.domain();
        let base = Url::parse(&format!("https://{company}.{domain}.com/api/v1"))?;
        let token = Url::parse(&format!("https://login.{domain}.com/connect/token"))?;
        Ok((base, token))
    }

    /// A configuration with Keka's documented limits and conservative client defaults.
    pub fn new(base_url: Url, token_url: Url, credentials: KekaCredentials) -> Self {
        Self {
            base_url,
            token_url,
            credentials,
            rate_limit_per_window: 50,
            rate_limit_window: Duration::from_secs(60),
            rate_limit_margin: Duration::from_secs(1),
            interactive_reserve: 10,
            max_rate_limit_wait: Duration::from_secs(20),
            request_timeout: Duration::from_secs(10),
            max_retries: 3,
            backoff_base: Duration::from_millis(250),
            backoff_max: Duration::from_secs(4),
            token_refresh_margin: Duration::from_secs(120),
            page_size: Self::MAX_PAGE_SIZE,
            ids_per_request: 50,
            user_agent: concat!("keka-subgraph/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use super::*;

    #[test]
    fn tenant_urls_follow_keka_host_pattern() {
        let (base, token) = KekaConfig::tenant_urls("acme", KekaEnvironment::Demo).unwrap();
        assert_eq!(base.as_str(), "https://acme.kekademo.com/api/v1");
        assert_eq!(token.as_str(), "https://login.kekademo.com/connect/token");
        let (base, _) = KekaConfig::tenant_urls("acme", KekaEnvironment::Production).unwrap();
        assert_eq!(base.as_str(), "https://acme.keka.com/api/v1");
    }

    #[test]
    fn debug_output_redacts_secrets() {
        let credentials = KekaCredentials {
            client_id: "client-1234567".to_owned(),
            client_secret: SecretString::from("very-secret-value"),
            api_key: SecretString::from("api-key-value"),
        };
        let shown = format!("{credentials:?}");
        assert!(!shown.contains("very-secret-value"), "{shown}");
        assert!(!shown.contains("api-key-value"), "{shown}");
        assert!(!shown.contains("client-1234567"), "{shown}");
    }
}

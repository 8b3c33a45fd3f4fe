//! Settings of the Keeper SCIM client: which data centre and node, the provisioning token, and the budgets the client
//! keeps.

use std::fmt;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

use super::error::KeeperError;

/// The Keeper data centre a tenant lives in. The SCIM host is the tenant's regular Keeper host; the wrong one answers
/// 401 or 404, never a helpful message, so configuration errors name the data centre.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum DataCentre {
    Us,
    Eu,
    Au,
    Jp,
    Ca,
    /// US Government cloud: a different domain, not just a different TLD.
    Gov,
}

impl DataCentre {
    pub const ALL: [Self; 6] = [Self::Us, Self::Eu, Self::Au, Self::Jp, Self::Ca, Self::Gov];

    /// The Keeper host of this data centre.
    pub fn host(self) -> &'static str {
        match self {
            Self::Us => "keepersecurity.com",
            Self::Eu => "keepersecurity.eu",
            Self::Au => "keepersecurity.com.au",
            Self::Jp => "keepersecurity.jp",
            Self::Ca => "keepersecurity.ca",
            Self::Gov => "govcloud.keepersecurity.us",
        }
    }

    /// A short human name for messages: `US`, `EU`, … `US Government`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Us => "US",
            Self::Eu => "EU",
            Self::Au => "AU",
            Self::Jp => "JP",
            Self::Ca => "CA",
            Self::Gov => "US Government",
        }
    }
}

impl fmt::Display for DataCentre {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.host())
    }
}

/// Everything the Keeper client needs. `Debug` is written by hand: the token never shows.
#[derive(Clone)]
pub struct KeeperConfig {
    /// `https://{host}/api/rest/scim/v2/{node_id}`, without a trailing slash.
    pub base_url: Url,
    /// The node's SCIM provisioning token: long-lived, node-wide, and able to create and lock users.
    pub token: SecretString,
    /// `count` sent on every list call (Keeper's documented maximum is 1000).
    pub page_size: u32,
    /// Requests allowed per window for this node; 0 disables the limiter. Keeper publishes no limit: stay modest.
    pub rate_limit_per_window: u32,
    pub rate_limit_window: Duration,
    /// Longest a request may wait for a rate-limit slot (or a 429's `Retry-After`) before it fails.
    pub max_rate_limit_wait: Duration,
    /// Timeout of one HTTP exchange with Keeper.
    pub request_timeout: Duration,
    /// Retries after the first attempt, for 429s, 5xx, timeouts and connection errors. A 401 is never retried.
    pub max_retries: u32,
    /// First back-off delay; doubles per retry, with jitter.
    pub backoff_base: Duration,
    /// Ceiling of one back-off delay.
    pub backoff_max: Duration,
}

impl fmt::Debug for KeeperConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeeperConfig")
            .field("base_url", &self.base_url.as_str())
            .field("token", &"[redacted]")
            .field("page_size", &self.page_size)
            .field("rate_limit_per_window", &self.rate_limit_per_window)
            .field("rate_limit_window", &self.rate_limit_window)
            .field("max_rate_limit_wait", &self.max_rate_limit_wait)
            .field("request_timeout", &self.request_timeout)
            .field("max_retries", &self.max_retries)
            .field("backoff_base", &self.backoff_base)
            .field("backoff_max", &self.backoff_max)
            .finish()
    }
}

impl KeeperConfig {
    /// Keeper's documented largest page.
    pub const MAX_PAGE_SIZE: u32 = 1000;

    /// The SCIM endpoint of `node_id` in `data_centre`. The node id is Keeper's numeric node id (the Admin Console
    /// shows it on the node's SCIM provisioning page).
    pub fn for_node(data_centre: DataCentre, node_id: &str, token: SecretString) -> Result<Self, KeeperError> {
        let node_id = node_id.trim();
        if node_id.is_empty() || node_id.len() > 20 || !node_id.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(KeeperError::Config(format!(
                "the Keeper node id for data centre {data_centre} must be Keeper's numeric node id \
                 (digits only, as shown on the node's SCIM provisioning page), got `{node_id}`"
            )));
        }
        let host = data_centre.host();
        let base_url = Url::parse(&format!("https://{host}/api/rest/scim/v2/{node_id}")).map_err(|error| {
            KeeperError::Config(format!("cannot build the Keeper SCIM URL for data centre {data_centre}: {error}"))
        })?;
        Ok(Self::new(base_url, token))
    }

    /// A SCIM endpoint given as a whole URL (`KEEPER_BASE_URL`, as the Admin Console shows it, or a sandbox). A
    /// trailing slash is tolerated; the last path segment is the node id.
    pub fn with_base_url(base_url: &str, token: SecretString) -> Result<Self, KeeperError> {
        // A URL with `@` may carry credentials: never echo it.
        let shown = if base_url.contains('@') { "(not shown)" } else { base_url.trim() };
        let invalid = |why: &str| KeeperError::Config(format!("invalid Keeper SCIM base URL `{shown}`: {why}"));
        let mut url = Url::parse(base_url.trim()).map_err(|error| invalid(&error.to_string()))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(invalid("the scheme must be https (or http for a local sandbox)"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(invalid("no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            // Credentials in a URL end up in logs; the token goes in the Authorization header only.
            return Err(invalid("it must not carry credentials (the token goes in KEEPER_TOKEN)"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("it must not have a query or a fragment"));
        }
        let path = url.path().trim_end_matches('/').to_owned();
        if path.rsplit('/').next().is_none_or(str::is_empty) {
            return Err(invalid("it must end with the node id (…/api/rest/scim/v2/{node_id})"));
        }
        url.set_path(&path);
        Ok(Self::new(url, token))
    }

    /// A configuration with conservative client defaults.
    fn new(base_url: Url, token: SecretString) -> Self {
        Self {
            base_url,
            token,
            page_size: Self::MAX_PAGE_SIZE,
            rate_limit_per_window: 60,
            rate_limit_window: Duration::from_secs(60),
            max_rate_limit_wait: Duration::from_secs(20),
            request_timeout: Duration::from_secs(10),
            max_retries: 3,
            backoff_base: Duration::from_millis(250),
            backoff_max: Duration::from_secs(4),
        }
    }

    /// The node this endpoint serves: the last path segment of the base URL.
    pub fn node_id(&self) -> String {
        self.base_url.path().trim_end_matches('/').rsplit('/').next().unwrap_or_default().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> SecretString {
        SecretString::from("tok-very-secret-value")
    }

    #[test]
    fn every_data_centre_builds_its_documented_url() {
        let expected = [
            (DataCentre::Us, "https://keepersecurity.com/api/rest/scim/v2/345074852429829"),
            (DataCentre::Eu, "https://keepersecurity.eu/api/rest/scim/v2/345074852429829"),
            (DataCentre::Au, "https://keepersecurity.com.au/api/rest/scim/v2/345074852429829"),
            (DataCentre::Jp, "https://keepersecurity.jp/api/rest/scim/v2/345074852429829"),
            (DataCentre::Ca, "https://keepersecurity.ca/api/rest/scim/v2/345074852429829"),
            (DataCentre::Gov, "https://govcloud.keepersecurity.us/api/rest/scim/v2/345074852429829"),
        ];
        for (data_centre, url) in expected {
            let config = KeeperConfig::for_node(data_centre, "345074852429829", token()).unwrap();
            assert_eq!(config.base_url.as_str(), url, "{data_centre}");
            assert_eq!(config.node_id(), "345074852429829");
        }
        assert_eq!(DataCentre::ALL.len(), expected.len());
    }

    #[test]
    fn clap_names_are_short_lowercase() {
        use clap::ValueEnum;
        let names: Vec<String> = DataCentre::value_variants()
            .iter()
            .map(|variant| variant.to_possible_value().unwrap().get_name().to_owned())
            .collect();
        assert_eq!(names, ["us", "eu", "au", "jp", "ca", "gov"]);
        assert_eq!(DataCentre::from_str("gov", true), Ok(DataCentre::Gov));
    }

    #[test]
    fn a_node_id_that_is_not_digits_is_refused_naming_the_data_centre() {
        for bad in ["", "abc", "12 34", "12/34", "-1", "+1", "123456789012345678901"] {
            let error = KeeperConfig::for_node(DataCentre::Eu, bad, token()).unwrap_err();
            let message = error.to_string();
            assert!(matches!(error, KeeperError::Config(_)), "{bad}: {error:?}");
            assert!(message.contains("EU (keepersecurity.eu)"), "{message}");
        }
        let config = KeeperConfig::for_node(DataCentre::Us, " 42 ", token()).unwrap();
        assert_eq!(config.node_id(), "42");
    }

    #[test]
    fn a_base_url_override_tolerates_a_trailing_slash() {
        let config =
            KeeperConfig::with_base_url("https://keepersecurity.eu/api/rest/scim/v2/123456/", token()).unwrap();
        assert_eq!(config.base_url.as_str(), "https://keepersecurity.eu/api/rest/scim/v2/123456");
        assert_eq!(config.node_id(), "123456");
        let local = KeeperConfig::with_base_url("http://127.0.0.1:8081/api/rest/scim/v2/77", token()).unwrap();
        assert_eq!(local.node_id(), "77");
    }

    #[test]
    fn a_base_url_override_is_checked() {
        for bad in [
            "not a url",
            "ftp://keepersecurity.com/api/rest/scim/v2/1",
            "https://keepersecurity.com/",
            "https://keepersecurity.com/api/rest/scim/v2/1?token=x",
            "https://user:pass@keepersecurity.com/api/rest/scim/v2/1",
        ] {
            let error = KeeperConfig::with_base_url(bad, token()).unwrap_err();
            assert!(matches!(error, KeeperError::Config(_)), "{bad}: {error:?}");
        }
        let error = KeeperConfig::with_base_url("https://user:pass@keepersecurity.com/api/rest/scim/v2/1", token())
            .unwrap_err()
            .to_string();
        assert!(!error.contains("pass"), "{error}");
    }

    #[test]
    fn defaults_follow_the_brief() {
        let config = KeeperConfig::for_node(DataCentre::Us, "1", token()).unwrap();
        assert_eq!(config.page_size, 1000);
        assert_eq!(config.rate_limit_per_window, 60);
        assert_eq!(config.rate_limit_window, Duration::from_secs(60));
        assert_eq!(config.max_rate_limit_wait, Duration::from_secs(20));
        assert_eq!(config.request_timeout, Duration::from_secs(10));
        assert_eq!(config.max_retries, 3);
    }

    #[test]
    fn debug_output_redacts_the_token() {
        let config = KeeperConfig::for_node(DataCentre::Us, "1", token()).unwrap();
        let shown = format!("{config:?}");
        assert!(!shown.contains("tok-very-secret-value"), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
    }
}

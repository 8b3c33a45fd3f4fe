//! Read-only calls to one node's SCIM endpoint over one private pipeline: rate-limit slot → request → classify →
//! retry ([`crate::upstream::retry::decide`]) → decode. One `KeeperClient` (cheap to clone) serves the whole process.
//!
//! Only the four GETs are here; Keeper's token can also create and lock users, so nothing else is ever sent.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Utc;
use http::HeaderValue;
use secrecy::ExposeSecret;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

use super::config::KeeperConfig;
use super::directory::normalise_email;
use super::error::{ErrorBody, KeeperError};
use super::models::{ListResponse, ScimGroup, ScimUser};
use super::paging::{self, PageRequest};
use crate::upstream::retry::{self, AttemptOutcome, RetryPolicy};
use tracing::Instrument as _;

use crate::upstream::{Attempt, GaveUp, Pacer, RateLimiter, RequestContext, UpstreamMetrics};

#[derive(Clone)]
pub struct KeeperClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    /// The base URL without a trailing slash.
    base_url: String,
    node_id: String,
    /// `Bearer <token>`, marked sensitive.
    authorization: HeaderValue,
    pacer: Pacer,
    config: KeeperConfig,
    requests_sent: AtomicU64,
    metrics: Arc<UpstreamMetrics>,
}

/// The `upstream` label of Keeper's metrics.
const UPSTREAM: &str = "keeper";

impl std::fmt::Debug for KeeperClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeeperClient")
            .field("base_url", &self.inner.base_url)
            .field("node_id", &self.inner.node_id)
            .finish_non_exhaustive()
    }
}

impl KeeperClient {
    pub fn new(config: KeeperConfig) -> Result<Self, KeeperError> {
        Self::with_metrics(config, Arc::default())
    }

    /// A client that counts its requests, waits and retries in `metrics`.
    pub fn with_metrics(config: KeeperConfig, metrics: Arc<UpstreamMetrics>) -> Result<Self, KeeperError> {
        if config.page_size == 0 {
            return Err(KeeperError::Config("the Keeper page size must be at least 1".to_owned()));
        }
        let token = config.token.expose_secret().trim();
        if token.is_empty() {
            return Err(KeeperError::Config("the Keeper SCIM token is empty".to_owned()));
        }
        let mut authorization = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            KeeperError::Config("the Keeper SCIM token holds characters that cannot go in a header".to_owned())
        })?;
        authorization.set_sensitive(true);
        let http = reqwest::Client::builder()
            .user_agent(concat!("keka-subgraph/", env!("CARGO_PKG_VERSION")))
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout.min(Duration::from_secs(10)))
            // A redirect means a wrong base URL; never carry the token anywhere else.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|error| KeeperError::Config(format!("cannot build the HTTP client: {error}")))?;
        let retry = RetryPolicy {
            max_retries: config.max_retries,
            backoff_base: config.backoff_base,
            backoff_max: config.backoff_max,
            rate_limit_window: config.rate_limit_window,
            max_wait: config.max_rate_limit_wait,
        };
        let limiter = RateLimiter::new(config.rate_limit_per_window, config.rate_limit_window);
        // Keeper's directory is walked on demand, in requests: no background work to hold back.
        let pacer = Pacer::new(UPSTREAM, Arc::new(limiter), 0, retry, metrics.clone());
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base_url: config.base_url.as_str().trim_end_matches('/').to_owned(),
                node_id: config.node_id(),
                authorization,
                pacer,
                config,
                requests_sent: AtomicU64::new(0),
                metrics,
            }),
        })
    }

    /// The node this client reads (the last path segment of the base URL).
    pub fn node_id(&self) -> String {
        self.inner.node_id.clone()
    }

    pub fn config(&self) -> &KeeperConfig {
        &self.inner.config
    }

    /// Requests sent to Keeper so far, retries included.
    pub fn requests_sent(&self) -> u64 {
        self.inner.requests_sent.load(Ordering::Relaxed)
    }

    /// Every user of the node: `GET /Users`, paged by the client rule of [`super::paging`].
    pub async fn all_users(&self) -> Result<Vec<ScimUser>, KeeperError> {
        paging::walk("/Users", self.inner.config.page_size, |page| self.list_page("/Users", "Users", page)).await
    }

    /// Every team of the node: `GET /Groups`, paged the same way.
    pub async fn all_groups(&self) -> Result<Vec<ScimGroup>, KeeperError> {
        paging::walk("/Groups", self.inner.config.page_size, |page| self.list_page("/Groups", "Groups", page)).await
    }

    /// `GET /Users/{id}`; `None` when the node has no such user (404).
    pub async fn user(&self, id: &str) -> Result<Option<ScimUser>, KeeperError> {
        // `.` and `..` would be resolved away by URL parsing and read the list instead: no user has such an id.
        if id.is_empty() || id == "." || id == ".." {
            return Ok(None);
        }
        let endpoint = "/Users/{id}";
        let url = format!("{}/Users/{}", self.inner.base_url, percent_encode(id));
        let user: ScimUser = match self.fetch(endpoint, &url).await {
            Ok(user) => user,
            Err(KeeperError::NotFound) => return Ok(None),
            Err(error) => return Err(error),
        };
        if user.id.is_empty() {
            return Err(KeeperError::Decode {
                endpoint: endpoint.to_owned(),
                path: "id".to_owned(),
                message: "the user has no id".to_owned(),
            });
        }
        Ok(Some(user))
    }

    /// The user whose `userName` (or one of whose `emails`) is `email`: `GET /Users?filter=userName eq "…"`.
    ///
    /// Filters are an optimisation: every returned user is checked against the address (trimmed, case-folded), and
    /// users that do not match are dropped, so a server that ignores the filter cannot produce a wrong answer. A
    /// `None` here means "not found by the filter"; the caller should consult the directory before saying "no
    /// account".
    pub async fn user_by_user_name(&self, email: &str) -> Result<Option<ScimUser>, KeeperError> {
        let wanted = normalise_email(email);
        if wanted.is_empty() {
            return Ok(None);
        }
        let filter = format!("userName eq \"{}\"", escape_filter_value(email.trim()));
        let url = format!(
            "{}/Users?filter={}&startIndex=1&count={}",
            self.inner.base_url,
            percent_encode(&filter),
            self.inner.config.page_size
        );
        let page: ListResponse<ScimUser> = self.fetch("/Users?filter", &url).await?;
        let returned = page.resources.len();
        let found = page.resources.into_iter().find(|user| holds_address(user, &wanted));
        if found.is_none() && returned > 0 {
            tracing::debug!(returned, "Keeper's userName filter returned users, none of them with the address");
        }
        Ok(found)
    }

    async fn list_page<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        path: &str,
        page: PageRequest,
    ) -> Result<ListResponse<T>, KeeperError> {
        let url = format!("{}/{path}?startIndex={}&count={}", self.inner.base_url, page.start_index, page.count);
        self.fetch(endpoint, &url).await
    }

    // ---- The pipeline --------------------------------------------------------------------

    async fn fetch<T: DeserializeOwned>(&self, endpoint: &'static str, url: &str) -> Result<T, KeeperError> {
        let body = self.send(endpoint, url).instrument(tracing::info_span!("keeper_call", endpoint)).await?;
        decode(endpoint, &body)
    }

    async fn send(&self, endpoint: &'static str, url: &str) -> Result<bytes::Bytes, KeeperError> {
        let inner = &*self.inner;
        let sent = inner
            .pacer
            .send(endpoint, || async {
                match self.attempt(endpoint, url).await {
                    Ok(body) => Attempt::Success(body),
                    Err(failure) => Attempt::Failed(failure.outcome, failure),
                }
            })
            .await;
        match sent {
            Ok(body) => Ok(body),
            Err(GaveUp::NoSlot(no_slot)) => {
                Err(KeeperError::RateLimitDeadline { wait: no_slot.wait, max_wait: no_slot.max_wait })
            }
            Err(GaveUp::Failed(failure)) => {
                let error = classify_failure(endpoint, failure, inner.config.token.expose_secret());
                if !matches!(error, KeeperError::NotFound) {
                    tracing::warn!(endpoint, node = %inner.node_id, %error, "Keeper call failed");
                }
                Err(error)
            }
        }
    }

    /// One HTTP exchange, reduced to what the retry rules need.
    async fn attempt(&self, endpoint: &'static str, url: &str) -> Result<bytes::Bytes, Failure> {
        let inner = &*self.inner;
        let timeout = RequestContext::capped(inner.config.request_timeout);
        if timeout.is_zero() {
            let message = Some("the request's deadline has passed".to_owned());
            return Err(Failure { outcome: AttemptOutcome::Timeout, body: None, message });
        }
        let request = inner
            .http
            .get(url)
            .timeout(timeout)
            .header(http::header::AUTHORIZATION, inner.authorization.clone())
            .header(http::header::ACCEPT, "application/scim+json, application/json");
        inner.requests_sent.fetch_add(1, Ordering::Relaxed);
        RequestContext::record_request();
        let started = Instant::now();
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                inner.metrics.request(UPSTREAM, endpoint, if error.is_timeout() { "timeout" } else { "connection" });
                return Err(Failure::transport(endpoint, &error));
            }
        };
        let status = response.status();
        inner.metrics.request(UPSTREAM, endpoint, status.as_str());
        if status.as_u16() == 429 {
            inner.metrics.throttled(UPSTREAM);
        }
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| retry::parse_retry_after(value, Utc::now()));
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(error) => return Err(Failure::transport(endpoint, &error)),
        };
        tracing::debug!(
            endpoint,
            status = status.as_u16(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "Keeper call"
        );
        if status.is_success() {
            Ok(body)
        } else {
            Err(Failure {
                outcome: AttemptOutcome::Status { status: status.as_u16(), retry_after },
                body: Some(body),
                message: None,
            })
        }
    }
}

/// A failed attempt: what the retry rules see, plus what the error will say.
struct Failure {
    outcome: AttemptOutcome,
    body: Option<bytes::Bytes>,
    /// For transport failures: the cause, without the URL.
    message: Option<String>,
}

impl Failure {
    fn transport(endpoint: &'static str, error: &reqwest::Error) -> Self {
        let message = describe_transport_error(error);
        tracing::debug!(endpoint, error = %message, "Keeper call failed in transport");
        let outcome = if error.is_timeout() { AttemptOutcome::Timeout } else { AttemptOutcome::Connection };
        Self { outcome, body: None, message: Some(message) }
    }
}

/// A reqwest error's causes, without the URL reqwest would print.
fn describe_transport_error(error: &reqwest::Error) -> String {
    let mut message = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else if error.is_body() || error.is_decode() {
        "the answer broke off"
    } else {
        "request failed"
    }
    .to_owned();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// Turns the last failed attempt into the layer's error. Text taken from the answer never carries the token, even
/// if the server echoed it.
fn classify_failure(endpoint: &'static str, failure: Failure, token: &str) -> KeeperError {
    let redact = |text: String| {
        let token = token.trim();
        if token.is_empty() { text } else { text.replace(token, "[redacted]") }
    };
    match failure.outcome {
        AttemptOutcome::Timeout => KeeperError::Timeout,
        AttemptOutcome::Connection => KeeperError::Unavailable {
            endpoint: endpoint.to_owned(),
            status: None,
            detail: failure.message.map(redact),
        },
        AttemptOutcome::Status { status, .. } => {
            let body = failure.body.as_deref().map(ErrorBody::parse).unwrap_or_default();
            match status {
                401 => KeeperError::Unauthorized,
                404 => KeeperError::NotFound,
                429 => KeeperError::RateLimited,
                500..=599 => KeeperError::Unavailable {
                    endpoint: endpoint.to_owned(),
                    status: Some(status),
                    detail: body.detail.map(redact),
                },
                _ => {
                    KeeperError::Scim { status, scim_type: body.scim_type.map(redact), detail: body.detail.map(redact) }
                }
            }
        }
    }
}

/// Decodes an answer (either content type), reporting the JSON path that failed.
pub(super) fn decode<T: DeserializeOwned>(endpoint: &'static str, body: &[u8]) -> Result<T, KeeperError> {
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| KeeperError::Decode {
        endpoint: endpoint.to_owned(),
        path: error.path().to_string(),
        message: error.inner().to_string(),
    })
}

/// Whether `user` holds the normalised address `wanted` as its `userName` or one of its `emails`.
fn holds_address(user: &ScimUser, wanted: &str) -> bool {
    normalise_email(&user.user_name) == wanted
        || user.emails.iter().any(|email| normalise_email(&email.value) == wanted)
}

/// A value inside a SCIM filter's double quotes: `\` and `"` escaped (RFC 7644 §3.4.2.2, JSON string rules).
pub(crate) fn escape_filter_value(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len() + 2);
    for character in value.chars() {
        if matches!(character, '"' | '\\') {
            escaped.push('\\');
        }
        escaped.push(character);
    }
    escaped
}

/// Percent-encodes everything but RFC 3986's unreserved characters, for a path segment or a query value (a space
/// becomes `%20`, never `+`).
pub(crate) fn percent_encode(value: &str) -> String {
    let mut encoded = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_values_escape_quotes_and_backslashes() {
        assert_eq!(escape_filter_value("a@b.example"), "a@b.example");
        assert_eq!(escape_filter_value(r#"x"y\z"#), r#"x\"y\\z"#);
    }

    #[test]
    fn percent_encoding_keeps_only_unreserved_characters() {
        assert_eq!(percent_encode("GDjSrBE2ICe0XyRExVOBNQ-_"), "GDjSrBE2ICe0XyRExVOBNQ-_");
        assert_eq!(percent_encode("a/b c+%"), "a%2Fb%20c%2B%25");
        assert_eq!(percent_encode(r#"userName eq "a@b""#), "userName%20eq%20%22a%40b%22");
        assert_eq!(percent_encode("é"), "%C3%A9");
    }

    fn failure(status: u16, body: &str) -> Failure {
        Failure {
            outcome: AttemptOutcome::Status { status, retry_after: None },
            body: Some(bytes::Bytes::copy_from_slice(body.as_bytes())),
            message: None,
        }
    }

    #[test]
    fn failures_are_classified_by_status() {
        assert_eq!(classify_failure("/Users", failure(401, "{}"), "t0ken"), KeeperError::Unauthorized);
        assert_eq!(classify_failure("/Users", failure(404, ""), "t0ken"), KeeperError::NotFound);
        assert_eq!(classify_failure("/Users", failure(429, ""), "t0ken"), KeeperError::RateLimited);
        assert_eq!(
            classify_failure("/Users", failure(400, r#"{"status":"400","scimType":"invalidFilter"}"#), "t0ken"),
            KeeperError::Scim { status: 400, scim_type: Some("invalidFilter".to_owned()), detail: None }
        );
        assert_eq!(
            classify_failure("/Users", failure(503, "busy"), "t0ken"),
            KeeperError::Unavailable {
                endpoint: "/Users".to_owned(),
                status: Some(503),
                detail: Some("busy".to_owned())
            }
        );
        let timeout = Failure { outcome: AttemptOutcome::Timeout, body: None, message: Some("timed out".to_owned()) };
        assert_eq!(classify_failure("/Users", timeout, "t0ken"), KeeperError::Timeout);
    }

    #[test]
    fn an_echoed_token_is_redacted_from_error_text() {
        let error =
            classify_failure("/Users", failure(400, r#"{"detail":"bad header Bearer t0ken-xyz"}"#), "t0ken-xyz");
        let shown = format!("{error:?} {error}");
        assert!(!shown.contains("t0ken-xyz"), "{shown}");
        assert!(shown.contains("[redacted]"), "{shown}");
    }

    #[test]
    fn the_filter_result_is_verified_against_user_name_and_emails() {
        let user = ScimUser {
            user_name: "Priya.Nair@Acme.example ".to_owned(),
            emails: vec![super::super::models::ScimEmail {
                value: "alias@acme.example".to_owned(),
                ..Default::default()
            }],
            ..ScimUser::default()
        };
        assert!(holds_address(&user, "priya.nair@acme.example"));
        assert!(holds_address(&user, "alias@acme.example"));
        assert!(!holds_address(&user, "someone@acme.example"));
    }
}

//! The OAuth token for Keka's `kekaapi` grant: fetched with the `oauth2` crate, cached until
//! shortly before it expires, refreshed by one caller at a time.
//!
//! `oauth2`'s client-credentials request fixes `grant_type=client_credentials`, which Keka
//! rejects with `unsupported_grant_type`. The crate lets us bring our own HTTP client, so
//! [`KekaGrantTransport`] rewrites that one form field to `kekaapi` and leaves the rest of the
//! request (client id, secret, scope, `api_key`) and all response handling to the crate.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use oauth2::basic::{BasicClient, BasicErrorResponseType};
use oauth2::{
    AccessToken, AsyncHttpClient, AuthType, ClientId, ClientSecret, EndpointNotSet, EndpointSet, HttpRequest,
    HttpResponse, RequestTokenError, Scope, TokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::KekaConfig;
use super::error::KekaError;
use crate::upstream::retry::{self, AttemptOutcome, RetryPolicy};
use crate::upstream::{Attempt, GaveUp, Pacer, UpstreamMetrics};

type KekaOAuthClient = BasicClient<EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// Used when Keka omits `expires_in` (it documents 86 400 s; an hour is the cautious guess).
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

pub(crate) struct TokenSource {
    oauth: KekaOAuthClient,
    transport: KekaGrantTransport,
    api_key: SecretString,
    refresh_margin: Duration,
    /// The send loop, outside the API's budget: the token endpoint is not counted in it.
    pacer: Pacer,
    /// Held across a refresh, so concurrent callers wait for one token request instead of each sending one.
    current: Mutex<Option<CachedToken>>,
    fetched: AtomicU64,
    metrics: std::sync::Arc<UpstreamMetrics>,
}

struct CachedToken {
    token: AccessToken,
    refresh_at: Instant,
}

impl TokenSource {
    pub(crate) fn new(
        config: &KekaConfig,
        http: reqwest::Client,
        retry: RetryPolicy,
        metrics: std::sync::Arc<UpstreamMetrics>,
    ) -> Result<Self, KekaError> {
        let token_url = TokenUrl::from_url(config.token_url.clone());
        let oauth = BasicClient::new(ClientId::new(config.credentials.client_id.clone()))
            .set_client_secret(ClientSecret::new(config.credentials.client_secret.expose_secret().to_owned()))
            .set_auth_type(AuthType::RequestBody)
            .set_token_uri(token_url);
        Ok(Self {
            oauth,
            transport: KekaGrantTransport { http },
            api_key: config.credentials.api_key.clone(),
            refresh_margin: config.token_refresh_margin,
            pacer: Pacer::unbudgeted(super::client::UPSTREAM, retry, metrics.clone()),
            current: Mutex::new(None),
            fetched: AtomicU64::new(0),
            metrics,
        })
    }

    /// A valid access token, fetching a new one if the cached one is missing or about to expire.
    pub(crate) async fn bearer(&self) -> Result<AccessToken, KekaError> {
        let mut current = self.current.lock().await;
        if let Some(cached) = current.as_ref()
            && Instant::now() < cached.refresh_at
        {
            return Ok(cached.token.clone());
        }
        let fresh = self.fetch().await?;
        let token = fresh.token.clone();
        *current = Some(fresh);
        Ok(token)
    }

    /// Forgets `stale` after Keka refused it, unless another caller already replaced it.
    pub(crate) async fn invalidate(&self, stale: &AccessToken) {
        let mut current = self.current.lock().await;
        if current.as_ref().is_some_and(|cached| cached.token.secret() == stale.secret()) {
            *current = None;
        }
    }

    /// How many tokens have been fetched from the token endpoint.
    pub(crate) fn tokens_fetched(&self) -> u64 {
        self.fetched.load(Ordering::Relaxed)
    }

    async fn fetch(&self) -> Result<CachedToken, KekaError> {
        let fetched = self
            .pacer
            .send("token endpoint", || async {
                let started = Instant::now();
                let result = self
                    .oauth
                    .exchange_client_credentials()
                    .add_scope(Scope::new("kekaapi".to_owned()))
                    .add_extra_param("api_key", self.api_key.expose_secret().to_owned())
                    .request_async(&self.transport)
                    .await;
                match result {
                    Ok(response) => Attempt::Success((response, started)),
                    // Only a transport failure (no answer, 5xx, 429) is worth another try.
                    Err(RequestTokenError::Request(transport)) => {
                        Attempt::Failed(transport.outcome, transport_error(&transport))
                    }
                    Err(failure) => Attempt::Abort(token_error(&failure)),
                }
            })
            .await;
        let (response, started) = match fetched {
            Ok(fetched) => fetched,
            Err(GaveUp::Failed(error)) => return Err(error),
            // Not met: this pacer has no budget to wait for.
            Err(GaveUp::NoSlot(no_slot)) => {
                return Err(KekaError::RateLimitDeadline { wait: no_slot.wait, max_wait: no_slot.max_wait });
            }
        };
        self.fetched.fetch_add(1, Ordering::Relaxed);
        self.metrics.token_refreshed(super::client::UPSTREAM);
        let lifetime = response.expires_in().unwrap_or(DEFAULT_TOKEN_LIFETIME);
        let usable_for = if lifetime > self.refresh_margin.saturating_mul(2) {
            lifetime - self.refresh_margin
        } else {
            lifetime / 2
        };
        tracing::debug!(expires_in_secs = lifetime.as_secs(), "fetched a Keka access token");
        Ok(CachedToken { token: response.access_token().clone(), refresh_at: started + usable_for })
    }
}

/// Maps the token endpoint's failures. Bodies are never echoed: a success body that failed to parse may hold a token.
fn token_error(error: &RequestTokenError<TransportError, oauth2::basic::BasicErrorResponse>) -> KekaError {
    const ENDPOINT: &str = "token endpoint";
    match error {
        RequestTokenError::ServerResponse(response) => {
            let reason = match response.error() {
                BasicErrorResponseType::InvalidClient => "invalid_client (wrong client id or secret)".to_owned(),
                BasicErrorResponseType::InvalidGrant => "invalid_grant (wrong API key?)".to_owned(),
                BasicErrorResponseType::InvalidScope => "invalid_scope".to_owned(),
                BasicErrorResponseType::UnsupportedGrantType => "unsupported_grant_type".to_owned(),
                other => other.to_string(),
            };
            KekaError::Unauthorized { reason }
        }
        RequestTokenError::Request(transport) => transport_error(transport),
        RequestTokenError::Parse(parse, _body) => KekaError::Decode {
            endpoint: ENDPOINT.to_owned(),
            path: parse.path().to_string(),
            message: "the token response is not the expected JSON".to_owned(),
        },
        RequestTokenError::Other(message) => KekaError::Unauthorized { reason: message.clone() },
    }
}

/// A token request that got no usable answer (no answer, 5xx, 429).
fn transport_error(transport: &TransportError) -> KekaError {
    const ENDPOINT: &str = "token endpoint";
    match transport.outcome {
        AttemptOutcome::Status { status: 429, retry_after } => {
            KekaError::RateLimited { endpoint: ENDPOINT.to_owned(), retry_after }
        }
        AttemptOutcome::Status { status, .. } => {
            KekaError::Upstream { endpoint: ENDPOINT.to_owned(), status, errors: Vec::new() }
        }
        AttemptOutcome::Timeout | AttemptOutcome::Connection => KekaError::Transport {
            endpoint: ENDPOINT.to_owned(),
            message: transport.message.clone(),
            timed_out: transport.outcome == AttemptOutcome::Timeout,
        },
    }
}

/// The HTTP client handed to `oauth2`: reqwest, plus the `grant_type=kekaapi` rewrite.
struct KekaGrantTransport {
    http: reqwest::Client,
}

/// A token request that got no usable answer. 5xx and 429 are reported here (not to `oauth2`'s
/// error-body parser) so they are retried like any other Keka outage.
#[derive(Debug)]
pub(crate) struct TransportError {
    outcome: AttemptOutcome,
    message: String,
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for TransportError {}

impl<'c> AsyncHttpClient<'c> for KekaGrantTransport {
    type Error = TransportError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, TransportError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let (parts, body) = request.into_parts();
            let response = self
                .http
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(use_kekaapi_grant(&body))
                .send()
                .await
                .map_err(|error| TransportError::from_reqwest(&error))?;
            let status = response.status();
            if status.is_server_error() || status.as_u16() == 429 {
                let retry_after = response
                    .headers()
                    .get(http::header::RETRY_AFTER)
                    .and_then(|value| value.to_str().ok())
                    .and_then(|value| retry::parse_retry_after(value, chrono::Utc::now()));
                return Err(TransportError {
                    outcome: AttemptOutcome::Status { status: status.as_u16(), retry_after },
                    message: format!("token endpoint answered {status}"),
                });
            }
            let mut builder = http::Response::builder().status(status);
            for (name, value) in response.headers() {
                builder = builder.header(name, value);
            }
            let body = response.bytes().await.map_err(|error| TransportError::from_reqwest(&error))?;
            builder.body(body.to_vec()).map_err(|error| TransportError {
                outcome: AttemptOutcome::Connection,
                message: format!("unusable token response: {error}"),
            })
        })
    }
}

impl TransportError {
    fn from_reqwest(error: &reqwest::Error) -> Self {
        let outcome = if error.is_timeout() { AttemptOutcome::Timeout } else { AttemptOutcome::Connection };
        // `without_url`: the token URL carries no secret today, but keep messages free of URLs anyway.
        Self { outcome, message: describe_reqwest_error(error) }
    }
}

/// A reqwest error's chain of causes, without the URL.
pub(crate) fn describe_reqwest_error(error: &reqwest::Error) -> String {
    let mut message = if error.is_timeout() {
        "timed out".to_owned()
    } else if error.is_connect() {
        "connection failed".to_owned()
    } else if error.is_body() || error.is_decode() {
        "the answer broke off".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = StdError::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

/// Replaces `grant_type` in an `application/x-www-form-urlencoded` body with Keka's custom grant.
fn use_kekaapi_grant(form: &[u8]) -> Vec<u8> {
    let mut rewritten = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in url::form_urlencoded::parse(form) {
        if name == "grant_type" {
            rewritten.append_pair("grant_type", "kekaapi");
        } else {
            rewritten.append_pair(&name, &value);
        }
    }
    rewritten.finish().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grant_is_rewritten_and_everything_else_kept() {
        let body = b"grant_type=client_credentials&scope=kekaapi&api_key=k%26y&client_id=id&client_secret=s%3Dx";
        let rewritten = String::from_utf8(use_kekaapi_grant(body)).unwrap();
        assert_eq!(rewritten, "grant_type=kekaapi&scope=kekaapi&api_key=k%26y&client_id=id&client_secret=s%3Dx");
    }
}

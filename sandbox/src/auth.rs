//! Authentication: the `POST /connect/token` endpoint (Keka's custom `kekaapi` grant) and the
//! bearer-token check in front of every API route.
//!
//! Tokens are opaque to the sandbox (it only remembers which strings it issued and when they
//! expire) but are shaped like the RS256 JWTs Keka issues, with a readable payload, so a
//! client that peeks at `exp` works the same against both.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use serde_json::json;
use tokio::time::Instant;

use super::faults::html_page;
use super::respond::json;
use super::state::AppState;

/// The grant type and scope Keka's token endpoint expects.
const KEKA_GRANT: &str = "kekaapi";

/// Issued tokens and their expiry.
#[derive(Debug)]
pub(crate) struct TokenStore {
    ttl: Duration,
    tokens: Mutex<HashMap<String, Instant>>,
}

/// Result of checking an `Authorization` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BearerCheck {
    Valid,
    /// No `Authorization: Bearer ...` header at all.
    Missing,
    /// A bearer token this sandbox did not issue, or one that expired or was revoked.
    Invalid,
}

impl TokenStore {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self { ttl, tokens: Mutex::new(HashMap::new()) }
    }

    /// Configured token lifetime.
    pub(crate) fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Issues a new token for `client_id`, valid for the configured lifetime.
    pub(crate) fn issue(&self, issuer: &str, client_id: &str) -> String {
        // Tokens come from the OS-seeded thread RNG, not the tenant seed: two sandboxes with
        // the same seed must not accept each other's tokens.
        let mut rng = rand::rng();
        let now_unix = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let header = json!({"alg": "RS256", "kid": "sandbox", "typ": "at+jwt"});
        let payload = json!({
            "iss": issuer,
            "nbf": now_unix,
            "iat": now_unix,
            "exp": now_unix + self.ttl.as_secs(),
            "aud": KEKA_GRANT,
            "scope": [KEKA_GRANT],
            "client_id": client_id,
            "jti": format!("{:032x}", rng.random::<u128>()),
        });
        let signature: [u8; 64] = std::array::from_fn(|_| rng.random());
        let token = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(payload.to_string()),
            URL_SAFE_NO_PAD.encode(signature)
        );
        let now = Instant::now();
        let mut tokens = self.tokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // Forget expired tokens so the map does not grow without bound.
        tokens.retain(|_, expiry| *expiry > now);
        tokens.insert(token.clone(), now + self.ttl);
        token
    }

    /// Checks the `Authorization` header of an API request.
    pub(crate) fn check(&self, headers: &HeaderMap) -> BearerCheck {
        let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
            return BearerCheck::Missing;
        };
        let mut parts = value.trim().splitn(2, ' ');
        let scheme = parts.next().unwrap_or_default();
        let token = parts.next().unwrap_or_default().trim();
        if !scheme.eq_ignore_ascii_case("bearer") {
            return BearerCheck::Missing;
        }
        let tokens = self.tokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match tokens.get(token) {
            Some(expiry) if *expiry > Instant::now() => BearerCheck::Valid,
            _ => BearerCheck::Invalid,
        }
    }

    /// Forgets every issued token.
    pub(crate) fn revoke_all(&self) {
        self.tokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
    }
}

/// The 401 for a failed bearer check: empty body plus a `WWW-Authenticate` challenge, as
/// ASP.NET's JWT bearer handler sends.
pub(crate) fn unauthorized(check: BearerCheck) -> Response {
    let challenge = match check {
        BearerCheck::Missing => HeaderValue::from_static("Bearer"),
        _ => HeaderValue::from_static("Bearer error=\"invalid_token\""),
    };
    let mut response = StatusCode::UNAUTHORIZED.into_response();
    response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
    response
}

/// An OAuth error response: `400 {"error": code}`.
fn oauth_error(code: &str) -> Response {
    no_store(json(StatusCode::BAD_REQUEST, &json!({ "error": code })))
}

/// Token responses must not be cached (RFC 6749 §5.1).
fn no_store(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

/// `POST /connect/token`.
pub(crate) async fn token(State(app): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    if app.faults.current().token_endpoint_down {
        return html_page(StatusCode::SERVICE_UNAVAILABLE);
    }
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    let mut form: HashMap<String, String> = HashMap::new();
    if is_form {
        for (k, v) in url::form_urlencoded::parse(&body) {
            form.entry(k.into_owned()).or_insert_with(|| v.into_owned());
        }
    }
    let field = |name: &str| form.get(name).map(String::as_str).filter(|v| !v.is_empty());
    let (Some(grant_type), Some(scope), Some(client_id), Some(client_secret), Some(api_key)) =
        (field("grant_type"), field("scope"), field("client_id"), field("client_secret"), field("api_key"))
    else {
        return oauth_error("invalid_request");
    };

    let expected = &app.config.credentials;
    if grant_type != KEKA_GRANT {
        return oauth_error("unsupported_grant_type");
    }
    if client_id != expected.client_id || client_secret != expected.client_secret {
        return oauth_error("invalid_client");
    }
    if scope != KEKA_GRANT {
        return oauth_error("invalid_scope");
    }
    if api_key != expected.api_key {
        return oauth_error("invalid_grant");
    }

    let access_token = app.tokens.issue(&app.origin, client_id);
    no_store(json(
        StatusCode::OK,
        &json!({
            "access_token": access_token,
            "expires_in": app.tokens.ttl().as_secs(),
            "token_type": "Bearer",
            "scope": KEKA_GRANT,
        }),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(token: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {token}")).unwrap());
        h
    }

    #[test]
    fn issued_tokens_validate_until_revoked() {
        let store = TokenStore::new(Duration::from_secs(60));
        let t = store.issue("http://x", "id");
        assert_eq!(t.split('.').count(), 3);
        assert_eq!(store.check(&bearer(&t)), BearerCheck::Valid);
        assert_eq!(store.check(&bearer("nope")), BearerCheck::Invalid);
        assert_eq!(store.check(&HeaderMap::new()), BearerCheck::Missing);
        store.revoke_all();
        assert_eq!(store.check(&bearer(&t)), BearerCheck::Invalid);
    }

    #[test]
    fn zero_ttl_tokens_are_expired_at_once() {
        let store = TokenStore::new(Duration::ZERO);
        let t = store.issue("http://x", "id");
        assert_eq!(store.check(&bearer(&t)), BearerCheck::Invalid);
    }

    #[test]
    fn payload_is_readable_json() {
        let store = TokenStore::new(Duration::from_secs(86_400));
        let t = store.issue("http://x", "client");
        let payload = t.split('.').nth(1).unwrap();
        let claims: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
        assert_eq!(claims["client_id"], "client");
        assert_eq!(claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(), 86_400);
    }
}

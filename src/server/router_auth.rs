//! Who may call `/graphql`: only the router, proven by a shared secret or a JWT in a configured header.
//!
//! Apollo Router forwards no client headers unless told to, so the convention is a header the router adds itself
//! (`Router-Authorization`): a static secret, or a JWT the router forwards or mints. With a JWT, its `scope` (or
//! `scp`) claim is also what the personal-data fields check; with a shared secret the router passes the caller's
//! scopes in a second header. Health endpoints never ask. The caller's email (what writes need to know whose time off
//! the caller may request) comes from the JWT's email claim, or from a third header with a shared secret.

use std::collections::HashSet;
use std::path::Path;

use axum::http::{HeaderMap, HeaderName};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::graphql::access_control::{Caller, CallerScopes};

/// How requests to `/graphql` are authenticated.
#[derive(Clone, Default)]
pub enum RouterAuth {
    /// Anyone on the network may call (the default; fine behind a private network or the router's own auth).
    #[default]
    Off,
    /// The header must carry this secret (optionally as `Bearer <secret>`).
    SharedSecret { header: HeaderName, secret: SecretString, scopes_header: HeaderName, email_header: HeaderName },
    /// The header must carry a JWT (optionally as `Bearer <jwt>`) signed by one of `keys`; `email_claim` names the
    /// claim that holds the caller's email.
    Jwt { header: HeaderName, keys: JwtKeys, issuer: Option<String>, audience: Option<String>, email_claim: String },
}

impl std::fmt::Debug for RouterAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Off => f.write_str("Off"),
            Self::SharedSecret { header, scopes_header, email_header, .. } => f
                .debug_struct("SharedSecret")
                .field("header", header)
                .field("secret", &"[redacted]")
                .field("scopes_header", scopes_header)
                .field("email_header", email_header)
                .finish(),
            Self::Jwt { header, keys, issuer, audience, email_claim } => f
                .debug_struct("Jwt")
                .field("header", header)
                .field("keys", &keys.keys.len())
                .field("issuer", issuer)
                .field("audience", audience)
                .field("email_claim", email_claim)
                .finish(),
        }
    }
}

/// The keys a router JWT may be signed with.
#[derive(Clone)]
pub struct JwtKeys {
    keys: Vec<JwtKey>,
}

#[derive(Clone)]
struct JwtKey {
    id: Option<String>,
    algorithms: Vec<Algorithm>,
    key: DecodingKey,
}

impl JwtKeys {
    /// Every usable key of a JWKS document (keys of unsupported types are skipped with a warning).
    pub fn from_jwks_file(path: &Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|error| anyhow::anyhow!("cannot read the JWKS file {}: {error}", path.display()))?;
        let set: JwkSet = serde_json::from_str(&text)
            .map_err(|error| anyhow::anyhow!("the JWKS file {} is not a JWK set: {error}", path.display()))?;
        let mut keys = Vec::new();
        for jwk in &set.keys {
            let algorithms = match jwk.common.key_algorithm.and_then(|algorithm| algorithm.to_string().parse().ok()) {
                Some(algorithm) => vec![algorithm],
                None => algorithms_for(&jwk.algorithm),
            };
            match DecodingKey::from_jwk(jwk) {
                Ok(key) => keys.push(JwtKey { id: jwk.common.key_id.clone(), algorithms, key }),
                Err(error) => tracing::warn!(kid = ?jwk.common.key_id, %error, "skipping an unusable JWKS key"),
            }
        }
        anyhow::ensure!(!keys.is_empty(), "the JWKS file {} has no usable key", path.display());
        Ok(Self { keys })
    }

    /// One public key in PEM (RSA, EC P-256/P-384 or Ed25519).
    pub fn from_pem_file(path: &Path) -> anyhow::Result<Self> {
        let pem = std::fs::read(path)
            .map_err(|error| anyhow::anyhow!("cannot read the JWT public key {}: {error}", path.display()))?;
        let (key, algorithms) = if let Ok(key) = DecodingKey::from_rsa_pem(&pem) {
            let rsa = [Algorithm::RS256, Algorithm::RS384, Algorithm::RS512, Algorithm::PS256, Algorithm::PS384];
            (key, rsa.to_vec())
        } else if let Ok(key) = DecodingKey::from_ec_pem(&pem) {
            (key, vec![Algorithm::ES256, Algorithm::ES384])
        } else if let Ok(key) = DecodingKey::from_ed_pem(&pem) {
            (key, vec![Algorithm::EdDSA])
        } else {
            anyhow::bail!("{} is not an RSA, EC or Ed25519 public key in PEM", path.display());
        };
        Ok(Self { keys: vec![JwtKey { id: None, algorithms, key }] })
    }

    /// A shared HMAC secret (HS256/384/512).
    pub fn from_hmac_secret(secret: &SecretString) -> Self {
        let key = DecodingKey::from_secret(secret.expose_secret().as_bytes());
        Self {
            keys: vec![JwtKey {
                id: None,
                algorithms: vec![Algorithm::HS256, Algorithm::HS384, Algorithm::HS512],
                key,
            }],
        }
    }
}

fn algorithms_for(parameters: &jsonwebtoken::jwk::AlgorithmParameters) -> Vec<Algorithm> {
    use jsonwebtoken::jwk::AlgorithmParameters as Parameters;
    match parameters {
        Parameters::RSA(_) => vec![Algorithm::RS256, Algorithm::RS384, Algorithm::RS512],
        Parameters::EllipticCurve(_) => vec![Algorithm::ES256, Algorithm::ES384],
        Parameters::OctetKeyPair(_) => vec![Algorithm::EdDSA],
        Parameters::OctetKey(_) => vec![Algorithm::HS256, Algorithm::HS384, Algorithm::HS512],
    }
}

/// Why a request was turned away (said to the caller as is: it names no secret).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("this subgraph only answers its router: the `{0}` header is missing")]
    Missing(String),
    #[error("the `{0}` header does not carry the router's secret")]
    WrongSecret(String),
    #[error("the router token in `{header}` was refused: {reason}")]
    BadToken { header: String, reason: String },
}

#[derive(Debug, Deserialize)]
struct Claims {
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    scp: Option<ScopeList>,
    /// The rest, where the configured email claim is.
    #[serde(flatten)]
    other: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ScopeList {
    Spaced(String),
    List(Vec<String>),
}

fn spaced(scopes: &str) -> impl Iterator<Item = String> + '_ {
    scopes.split_whitespace().map(str::to_owned)
}

fn without_bearer(value: &str) -> &str {
    let value = value.trim();
    match value.get(..7) {
        Some(prefix) if prefix.eq_ignore_ascii_case("bearer ") => value[7..].trim(),
        _ => value,
    }
}

impl RouterAuth {
    pub fn is_on(&self) -> bool {
        !matches!(self, Self::Off)
    }

    /// Checks a request's headers and says what the router vouches for: its caller's scopes and email.
    pub fn check(&self, headers: &HeaderMap) -> Result<Caller, Rejection> {
        let (header, value) = match self {
            Self::Off => return Ok(Caller::UNCHECKED),
            Self::SharedSecret { header, .. } | Self::Jwt { header, .. } => {
                let value = headers
                    .get(header)
                    .and_then(|value| value.to_str().ok())
                    .map(without_bearer)
                    .filter(|value| !value.is_empty())
                    .ok_or_else(|| Rejection::Missing(header.to_string()))?;
                (header, value)
            }
        };
        match self {
            Self::Off => Ok(Caller::UNCHECKED),
            Self::SharedSecret { secret, scopes_header, email_header, .. } => {
                if !constant_time_eq(value.as_bytes(), secret.expose_secret().as_bytes()) {
                    return Err(Rejection::WrongSecret(header.to_string()));
                }
                let scopes = headers.get(scopes_header).and_then(|value| value.to_str().ok()).unwrap_or_default();
                let email = headers.get(email_header).and_then(|value| value.to_str().ok()).and_then(an_email);
                Ok(Caller { scopes: CallerScopes::Granted(spaced(scopes).collect()), email })
            }
            Self::Jwt { keys, issuer, audience, email_claim, .. } => {
                let claims = verify(value, keys, issuer.as_deref(), audience.as_deref())
                    .map_err(|reason| Rejection::BadToken { header: header.to_string(), reason })?;
                let mut scopes: HashSet<String> =
                    claims.scope.as_deref().map(|s| spaced(s).collect()).unwrap_or_default();
                match claims.scp {
                    Some(ScopeList::Spaced(list)) => scopes.extend(spaced(&list)),
                    Some(ScopeList::List(list)) => scopes.extend(list),
                    None => {}
                }
                let email = claims.other.get(email_claim).and_then(serde_json::Value::as_str).and_then(an_email);
                Ok(Caller { scopes: CallerScopes::Granted(scopes), email })
            }
        }
    }
}

/// A value that can be an email (trimmed, with an `@`); anything else is no email at all.
fn an_email(value: &str) -> Option<String> {
    let value = value.trim();
    (value.contains('@') && value.len() <= 320).then(|| value.to_owned())
}

fn verify(token: &str, keys: &JwtKeys, issuer: Option<&str>, audience: Option<&str>) -> Result<Claims, String> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| "not a JWT".to_owned())?;
    let candidates = keys.keys.iter().filter(|key| {
        key.algorithms.contains(&header.alg) && (header.kid.is_none() || key.id.is_none() || key.id == header.kid)
    });
    let mut last_reason = format!("no configured key accepts algorithm {:?}", header.alg);
    for key in candidates {
        let mut validation = Validation::new(header.alg);
        validation.leeway = 30;
        match issuer {
            Some(issuer) => validation.set_issuer(&[issuer]),
            None => validation.iss = None,
        }
        match audience {
            Some(audience) => validation.set_audience(&[audience]),
            None => validation.validate_aud = false,
        }
        match jsonwebtoken::decode::<Claims>(token, &key.key, &validation) {
            Ok(data) => return Ok(data.claims),
            Err(error) => last_reason = describe(&error),
        }
    }
    Err(last_reason)
}

/// A reason for the caller that never echoes the token.
fn describe(error: &jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind;
    match error.kind() {
        ErrorKind::ExpiredSignature => "it has expired".to_owned(),
        ErrorKind::ImmatureSignature => "it is not valid yet".to_owned(),
        ErrorKind::InvalidSignature => "its signature does not match".to_owned(),
        ErrorKind::InvalidIssuer => "wrong issuer".to_owned(),
        ErrorKind::InvalidAudience => "wrong audience".to_owned(),
        ErrorKind::MissingRequiredClaim(claim) => format!("the `{claim}` claim is missing"),
        ErrorKind::InvalidAlgorithm => "its algorithm does not match the key".to_owned(),
        _ => "it could not be verified".to_owned(),
    }
}

/// Compares without an early exit, so the time taken says nothing about how much of the secret matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut difference = a.len() ^ b.len();
    for (index, byte) in a.iter().enumerate() {
        difference |= usize::from(byte ^ b.get(index % b.len().max(1)).copied().unwrap_or(0));
    }
    difference == 0
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use jsonwebtoken::{EncodingKey, Header};

    use super::*;

    fn headers(name: &str, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(HeaderName::from_bytes(name.as_bytes()).unwrap(), HeaderValue::from_str(value).unwrap());
        headers
    }

    fn hmac(secret: &str) -> RouterAuth {
        RouterAuth::Jwt {
            header: HeaderName::from_static("router-authorization"),
            keys: JwtKeys::from_hmac_secret(&SecretString::from(secret.to_owned())),
            issuer: Some("router".to_owned()),
            audience: None,
            email_claim: "email".to_owned(),
        }
    }

    /// The secret `s3cret-value` in `router-authorization`, scopes in `x-auth-scopes`, email in `x-auth-email`.
    fn shared_secret() -> RouterAuth {
        RouterAuth::SharedSecret {
            header: HeaderName::from_static("router-authorization"),
            secret: SecretString::from("s3cret-value".to_owned()),
            scopes_header: HeaderName::from_static("x-auth-scopes"),
            email_header: HeaderName::from_static("x-auth-email"),
        }
    }

    fn token(secret: &str, claims: serde_json::Value) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret.as_bytes()))
            .unwrap()
    }

    fn in_an_hour() -> i64 {
        chrono::Utc::now().timestamp() + 3600
    }

    #[test]
    fn a_shared_secret_is_checked_and_scopes_come_from_their_header() {
        let auth = shared_secret();
        let mut good = headers("router-authorization", "Bearer s3cret-value");
        good.insert("x-auth-scopes", HeaderValue::from_static("read:employee_pii other"));
        assert!(auth.check(&good).unwrap().scopes.allows("read:employee_pii"));
        assert!(
            !auth.check(&headers("router-authorization", "s3cret-value")).unwrap().scopes.allows("read:employee_pii")
        );
        assert!(matches!(auth.check(&headers("router-authorization", "s3cret")), Err(Rejection::WrongSecret(_))));
        assert!(matches!(auth.check(&HeaderMap::new()), Err(Rejection::Missing(_))));
    }

    #[test]
    fn a_jwt_is_verified_with_issuer_and_expiry_and_grants_its_scopes() {
        let auth = hmac("k3y");
        let good =
            token("k3y", serde_json::json!({"iss": "router", "exp": in_an_hour(), "scope": "read:employee_pii"}));
        assert!(
            auth.check(&headers("router-authorization", &format!("Bearer {good}")))
                .unwrap()
                .scopes
                .allows("read:employee_pii")
        );
        let scp = token("k3y", serde_json::json!({"iss": "router", "exp": in_an_hour(), "scp": ["a", "b"]}));
        assert!(auth.check(&headers("router-authorization", &scp)).unwrap().scopes.allows("b"));

        let cases = [
            (token("other", serde_json::json!({"iss": "router", "exp": in_an_hour()})), "signature"),
            (token("k3y", serde_json::json!({"iss": "router", "exp": 1_000})), "expired"),
            (token("k3y", serde_json::json!({"iss": "someone", "exp": in_an_hour()})), "issuer"),
            (token("k3y", serde_json::json!({"iss": "router"})), "`exp`"),
            ("not-a-jwt".to_owned(), "not a JWT"),
        ];
        for (token, reason) in cases {
            match auth.check(&headers("router-authorization", &token)) {
                Err(Rejection::BadToken { reason: found, .. }) => {
                    assert!(found.contains(reason), "{found} vs {reason}")
                }
                other => panic!("expected a refusal for {reason}, got {other:?}"),
            }
        }
    }

    #[test]
    fn the_callers_email_comes_from_the_configured_claim_or_header() {
        let mut auth = hmac("k3y");
        let claims = serde_json::json!({"iss": "router", "exp": in_an_hour(), "email": "a@x.io", "upn": "b@x.io"});
        let jwt = token("k3y", claims);
        assert_eq!(auth.check(&headers("router-authorization", &jwt)).unwrap().email.as_deref(), Some("a@x.io"));
        if let RouterAuth::Jwt { email_claim, .. } = &mut auth {
            *email_claim = "upn".to_owned();
        }
        assert_eq!(auth.check(&headers("router-authorization", &jwt)).unwrap().email.as_deref(), Some("b@x.io"));
        let no_email = token("k3y", serde_json::json!({"iss": "router", "exp": in_an_hour(), "upn": "not an email"}));
        assert_eq!(auth.check(&headers("router-authorization", &no_email)).unwrap().email, None);

        let auth = shared_secret();
        let mut request = headers("router-authorization", "s3cret-value");
        request.insert("x-auth-email", HeaderValue::from_static(" c@x.io "));
        assert_eq!(auth.check(&request).unwrap().email.as_deref(), Some("c@x.io"));
    }

    #[test]
    fn constant_time_comparison_is_plain_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
        assert!(!constant_time_eq(b"", b"a"));
        assert!(constant_time_eq(b"", b""));
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let auth = shared_secret();
        assert!(!format!("{auth:?}").contains("s3cret-value"));
    }
}

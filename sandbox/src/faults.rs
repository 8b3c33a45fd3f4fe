//! Fault injection for API responses: server errors, proxy HTML pages, truncated JSON, and
//! writes whose answer is lost after they were applied.
//!
//! One random draw per API request (from an RNG seeded from the tenant seed) picks the
//! outcome, so a given seed and request sequence fails the same way every run.

use std::sync::{Mutex, RwLock};

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::config::FaultConfig;
use super::respond::{GENERIC_ERROR, error_envelope};

/// What to do with one API request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    None,
    /// 500 with Keka's error envelope.
    ServerError,
    /// 502 with an HTML page.
    HtmlError,
    /// 200 with the real body cut in half.
    MalformedJson,
    /// A write applied, then its answer lost: 500 with Keka's error envelope after a delay.
    CommitThenFail,
}

/// The current fault settings plus the RNG that applies them.
#[derive(Debug)]
pub(crate) struct FaultInjector {
    config: RwLock<FaultConfig>,
    rng: Mutex<ChaCha8Rng>,
}

impl FaultInjector {
    pub(crate) fn new(config: FaultConfig, seed: u64) -> Self {
        // A different stream from the tenant generator, so faults do not mirror data choices.
        Self::with_stream(config, seed, 0xfa17)
    }

    /// An injector drawing from its own RNG stream (the Keeper node's faults use another
    /// stream than Keka's, so the two do not fail in lockstep).
    pub(crate) fn with_stream(config: FaultConfig, seed: u64, stream: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(stream);
        Self { config: RwLock::new(config), rng: Mutex::new(rng) }
    }

    /// The settings in force.
    pub(crate) fn current(&self) -> FaultConfig {
        self.config.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Replaces the settings.
    pub(crate) fn set(&self, config: FaultConfig) {
        *self.config.write().unwrap_or_else(std::sync::PoisonError::into_inner) = config;
    }

    /// Draws the fault for one request. Rates are checked cumulatively in the order
    /// error → HTML → malformed → commit then fail, so they partition `[0, 1)`. A read that
    /// draws commit-then-fail gets no fault (one draw per request all the same, so the faults
    /// of a seed do not depend on which requests write).
    pub(crate) fn draw(&self, write: bool) -> Fault {
        let config = self.current();
        let x: f64 = self.rng.lock().unwrap_or_else(std::sync::PoisonError::into_inner).random();
        let mut edge = config.error_rate;
        if x < edge {
            return Fault::ServerError;
        }
        edge += config.html_error_rate;
        if x < edge {
            return Fault::HtmlError;
        }
        edge += config.malformed_json_rate;
        if x < edge {
            return Fault::MalformedJson;
        }
        edge += config.commit_then_fail_rate;
        if write && x < edge {
            return Fault::CommitThenFail;
        }
        Fault::None
    }
}

/// The 500 response.
pub(crate) fn server_error() -> Response {
    error_envelope(
        StatusCode::INTERNAL_SERVER_ERROR,
        GENERIC_ERROR,
        vec!["An unexpected error occurred. Please try again later.".to_owned()],
    )
}

/// An HTML error page of the kind a gateway in front of Keka serves.
pub(crate) fn html_page(status: StatusCode) -> Response {
    let code = status.as_u16();
    let reason = status.canonical_reason().unwrap_or("Error");
    let body = format!(
        "<!DOCTYPE html>\n<html>\n<head><title>{code} {reason}</title></head>\n<body>\n\
         <center><h1>{code} {reason}</h1></center>\n<hr><center>gateway</center>\n</body>\n</html>\n"
    );
    let mut response = (status, body).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    response
}

/// Cuts a JSON body in half. A proper prefix of an object or array lacks its closing
/// bracket, so the result never parses; anything else is replaced by a broken snippet.
pub(crate) fn truncate(body: &[u8]) -> Vec<u8> {
    if body.len() >= 2 && matches!(body[0], b'{' | b'[') {
        body[..body.len() / 2].to_vec()
    } else {
        b"{\"succeeded\":tr".to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn rates_partition_the_draws() {
        let f = FaultInjector::new(FaultConfig::default(), 1);
        assert!((0..200).all(|_| f.draw(false) == Fault::None));
        f.set(FaultConfig { error_rate: 1.0, ..FaultConfig::default() });
        assert!((0..200).all(|_| f.draw(false) == Fault::ServerError));
        f.set(FaultConfig { html_error_rate: 1.0, ..FaultConfig::default() });
        assert!((0..200).all(|_| f.draw(false) == Fault::HtmlError));
        f.set(FaultConfig {
            error_rate: 0.25,
            html_error_rate: 0.25,
            malformed_json_rate: 0.25,
            latency: Duration::ZERO,
            commit_then_fail_rate: 0.0,
            commit_then_fail_delay: Duration::ZERO,
            token_endpoint_down: false,
        });
        let draws: Vec<Fault> = (0..4000).map(|_| f.draw(false)).collect();
        for kind in [Fault::None, Fault::ServerError, Fault::HtmlError, Fault::MalformedJson] {
            let n = draws.iter().filter(|d| **d == kind).count();
            assert!((800..1200).contains(&n), "{kind:?}: {n}");
        }
    }

    #[test]
    fn only_writes_lose_their_answer() {
        let f = FaultInjector::new(FaultConfig { commit_then_fail_rate: 1.0, ..FaultConfig::default() }, 1);
        assert!((0..200).all(|_| f.draw(false) == Fault::None));
        assert!((0..200).all(|_| f.draw(true) == Fault::CommitThenFail));
        // The band comes after the others: with every rate at a quarter, writes split four ways
        // plus the lost answers, and reads see no fault where writes lose theirs.
        f.set(FaultConfig {
            error_rate: 0.25,
            html_error_rate: 0.25,
            malformed_json_rate: 0.25,
            commit_then_fail_rate: 0.25,
            ..FaultConfig::default()
        });
        let writes: Vec<Fault> = (0..4000).map(|_| f.draw(true)).collect();
        for kind in [Fault::ServerError, Fault::HtmlError, Fault::MalformedJson, Fault::CommitThenFail] {
            let n = writes.iter().filter(|d| **d == kind).count();
            assert!((800..1200).contains(&n), "{kind:?}: {n}");
        }
        assert!(!writes.contains(&Fault::None));
        let reads: Vec<Fault> = (0..4000).map(|_| f.draw(false)).collect();
        assert!(!reads.contains(&Fault::CommitThenFail));
        let n = reads.iter().filter(|d| **d == Fault::None).count();
        assert!((800..1200).contains(&n), "None: {n}");
    }

    #[test]
    fn truncated_json_never_parses() {
        for body in [&b"{}"[..], b"[]", b"{\"a\":[1,2,3]}", b"\"x\"", b"1", b""] {
            assert!(serde_json::from_slice::<serde_json::Value>(&truncate(body)).is_err());
        }
    }

    #[test]
    fn fault_config_serde_uses_latency_ms() {
        let cfg: FaultConfig = serde_json::from_str(r#"{"error_rate":0.5,"latency_ms":250}"#).unwrap();
        assert_eq!(cfg.latency, Duration::from_millis(250));
        assert_eq!(cfg.error_rate, 0.5);
        let json = serde_json::to_value(&cfg).unwrap();
        assert_eq!(json["latency_ms"], 250);
        let cfg: FaultConfig =
            serde_json::from_str(r#"{"commit_then_fail_rate":1.0,"commit_then_fail_delay_ms":30000}"#).unwrap();
        assert_eq!((cfg.commit_then_fail_rate, cfg.commit_then_fail_delay), (1.0, Duration::from_secs(30)));
        assert_eq!(serde_json::to_value(&cfg).unwrap()["commit_then_fail_delay_ms"], 30_000);
    }
}

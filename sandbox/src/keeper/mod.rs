//! A simulated Keeper SCIM 2.0 node on the sandbox's listener, whose users are derived from
//! the Keka tenant's employees.
//!
//! It follows the research notes in `shared/reference/keeper-scim.md`: base path
//! `/api/rest/scim/v2/{node_id}`, read-only `GET /Users`, `/Users/{id}`, `/Groups`,
//! `/Groups/{id}`, a static bearer token (401 with a SCIM error body otherwise), SCIM list
//! responses with `startIndex`/`count` paging (default 100, maximum 1000), the single filter
//! `userName eq "…"` (case-insensitive; anything else is 400 `invalidFilter`), SCIM error
//! bodies, `application/scim+json`. It has its own token, fault injection, rate budget
//! (off by default) and request counters, separate from the Keka API's.
//!
//! - [`directory`]: the generated users and teams ([`KeeperDirectory`]).
//! - `wire`: Keeper's JSON shapes, defined here independently of the product's client.
//! - `routes`: the axum routes and their gate.

pub mod directory;
pub(crate) mod routes;
mod wire;

use std::sync::{Arc, RwLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use serde::{Deserialize, Serialize};

pub use directory::{KeeperAccount, KeeperAccountCategory, KeeperDirectory, KeeperEmail, KeeperName, KeeperTeam};

use super::budget::RateBudget;
use super::config::KeeperSandboxConfig;
use super::faults::FaultInjector;
use super::stats::{RouteStat, SandboxStats, Stats};

/// RNG stream of the Keeper fault draws (Keka's use `0xfa17`).
const FAULT_STREAM: u64 = 0x6b66_a017;

/// The live Keeper node: its data, current token and the machinery around it.
#[derive(Debug)]
pub(crate) struct KeeperState {
    pub(crate) directory: Arc<KeeperDirectory>,
    token: RwLock<String>,
    pub(crate) budget: RateBudget,
    pub(crate) faults: FaultInjector,
    pub(crate) stats: Stats,
}

impl KeeperState {
    pub(crate) fn new(config: &KeeperSandboxConfig, directory: Arc<KeeperDirectory>, seed: u64) -> Self {
        Self {
            directory,
            token: RwLock::new(config.token.clone()),
            budget: RateBudget::new(config.rate_limit_per_window, config.rate_limit_window),
            faults: FaultInjector::with_stream(config.faults.clone(), seed, FAULT_STREAM),
            stats: Stats::default(),
        }
    }

    /// The token the node accepts now.
    pub(crate) fn token(&self) -> String {
        self.token.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Replaces the token with a fresh random one, as Commander's `scim edit` does (32 random
    /// bytes, base64url without padding: 43 characters), and returns it. The old one stops
    /// working at once.
    pub(crate) fn rotate_token(&self) -> String {
        // OS-seeded, not the tenant seed: a rotated token must not be predictable from the seed.
        let token = URL_SAFE_NO_PAD.encode(rand::rng().random::<[u8; 32]>());
        *self.token.write().unwrap_or_else(std::sync::PoisonError::into_inner) = token.clone();
        token
    }

    /// A snapshot of the Keeper request counters.
    pub(crate) fn stats(&self) -> KeeperStats {
        KeeperStats::from(self.stats.snapshot())
    }
}

/// Validates the Keeper settings before the sandbox starts.
pub(crate) fn validate(config: &KeeperSandboxConfig) -> anyhow::Result<()> {
    anyhow::ensure!(
        !config.node_id.is_empty() && config.node_id.bytes().all(|b| b.is_ascii_digit()),
        "the Keeper sandbox node id must be ASCII digits, got {:?}",
        config.node_id
    );
    anyhow::ensure!(!config.token.trim().is_empty(), "the Keeper sandbox token must not be empty");
    anyhow::ensure!(config.max_count > 0, "the Keeper sandbox max_count must be at least 1");
    Ok(())
}

/// A snapshot of the Keeper node's request counters (separate from [`SandboxStats`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KeeperStats {
    /// Every counted request under `/api/rest/scim/v2` (any status, matched or not).
    pub total: u64,
    /// Requests answered 429.
    pub rate_limited: u64,
    /// Counts per (method, route template, status), sorted by route, method, status. Templates
    /// are e.g. `/api/rest/scim/v2/{node_id}/Users`; unmatched paths count as
    /// `/api/rest/scim/v2/{*rest}`.
    pub by_route: Vec<RouteStat>,
}

impl KeeperStats {
    /// Requests to `route` (a template), all methods and statuses.
    pub fn count(&self, route: &str) -> u64 {
        self.by_route.iter().filter(|r| r.route == route).map(|r| r.count).sum()
    }

    /// Requests to `route` answered with `status`.
    pub fn count_status(&self, route: &str, status: u16) -> u64 {
        self.by_route.iter().filter(|r| r.route == route && r.status == status).map(|r| r.count).sum()
    }

    /// Requests to the SCIM API (every route, including unmatched paths under the prefix).
    pub fn api_requests(&self) -> u64 {
        self.by_route.iter().filter(|r| r.route.starts_with(routes::SCIM_PREFIX)).map(|r| r.count).sum()
    }
}

impl From<SandboxStats> for KeeperStats {
    fn from(s: SandboxStats) -> Self {
        Self { total: s.total, rate_limited: s.rate_limited, by_route: s.by_route }
    }
}

/// Route templates of the Keeper node, for reading [`KeeperStats`].
pub mod route {
    /// `GET /Users`
    pub const USERS: &str = "/api/rest/scim/v2/{node_id}/Users";
    /// `GET /Users/{id}`
    pub const USER: &str = "/api/rest/scim/v2/{node_id}/Users/{id}";
    /// `GET /Groups`
    pub const GROUPS: &str = "/api/rest/scim/v2/{node_id}/Groups";
    /// `GET /Groups/{id}`
    pub const GROUP: &str = "/api/rest/scim/v2/{node_id}/Groups/{id}";
    /// Any other path under `/api/rest/scim/v2`.
    pub const UNMATCHED: &str = "/api/rest/scim/v2/{*rest}";
}

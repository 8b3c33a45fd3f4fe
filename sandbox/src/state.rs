//! Shared state of a running sandbox: the tenant plus the mutable machinery around it.

use std::net::SocketAddr;
use std::sync::Arc;

use super::auth::TokenStore;
use super::budget::RateBudget;
use super::config::SandboxConfig;
use super::faults::FaultInjector;
use super::hr::{Hr, TenantCell};
use super::keeper::{KeeperDirectory, KeeperState};
use super::stats::Stats;
use super::tenant::Tenant;

/// Everything handlers and middleware need; shared behind an `Arc`.
#[derive(Debug)]
pub(crate) struct AppState {
    /// The tenant, replaced as a whole by HR changes: read it through [`AppState::tenant`].
    pub(crate) tenant: TenantCell,
    /// HR changes: the change stream and the webhook queue.
    pub(crate) hr: Hr,
    pub(crate) config: SandboxConfig,
    /// `http://host:port` that clients should use (loopback when bound to a wildcard address).
    pub(crate) origin: String,
    pub(crate) tokens: TokenStore,
    pub(crate) budget: RateBudget,
    pub(crate) faults: FaultInjector,
    pub(crate) stats: Stats,
    /// The simulated Keeper SCIM node (its own token, budget, faults and counters).
    pub(crate) keeper: KeeperState,
}

impl AppState {
    pub(crate) fn new(
        config: SandboxConfig,
        tenant: Arc<Tenant>,
        keeper: Arc<KeeperDirectory>,
        addr: SocketAddr,
    ) -> Self {
        Self {
            keeper: KeeperState::new(&config.keeper, keeper, config.seed),
            origin: origin_for(addr),
            tokens: TokenStore::new(config.token_ttl),
            budget: RateBudget::new(config.rate_limit_per_minute, config.rate_limit_window),
            faults: FaultInjector::new(config.faults.clone(), config.seed),
            stats: Stats::default(),
            tenant: TenantCell::new(tenant),
            hr: Hr::new(&config),
            config,
        }
    }

    /// The tenant as it is now. A request takes this once and reads the same snapshot to the
    /// end, even if an HR change lands meanwhile.
    pub(crate) fn tenant(&self) -> Arc<Tenant> {
        self.tenant.load()
    }
}

/// The URL origin for a bound address; a wildcard address is reached through loopback.
pub(crate) fn origin_for(addr: SocketAddr) -> String {
    let mut reachable = addr;
    if addr.ip().is_unspecified() {
        reachable.set_ip(match addr {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        });
    }
    format!("http://{reachable}")
}

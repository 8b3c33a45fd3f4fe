//! Where state shared by replicas lives. Without `REDIS_URL` there is nothing to share: each process keeps its own
//! (the default, what `cargo run` needs). With it, the Keka request budget is one window in Redis, shared by every
//! replica using the same key prefix and budget id.
//!
//! Redis failing is a fault like Keka failing: every call has a short timeout, a failure detaches the store for a
//! moment (no call waits on a dead Redis), and meanwhile each replica spends a conservative local share of the
//! budget, never the whole of it. Nothing secret is written to Redis: not Keka's client secret, API key or tokens;
//! key names derive from the tenant, never from a secret.

mod answers;
mod redis;
mod sync_log;
mod write_ledger;

use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

pub use self::redis::{RedisStore, SharedBudget};
pub use self::sync_log::{LeaveChange, RoundKind, SyncRound};
pub use self::write_ledger::{Claim, KEPT_FOR, LedgerUnavailable, WriteLedger};
use bytes::Bytes;

use crate::upstream::{Budget, DeadlinePassed, RateLimiter};

/// How often a replica checks the fleet's generation: how long an in-process copy can outlive Redis's data.
pub const GENERATION_POLL: Duration = Duration::from_secs(1);

/// How replicas share state.
#[derive(Clone)]
pub struct StoreConfig {
    /// `redis://[user:password@]host:port[/db]` or `rediss://…`; `None` keeps every state in this process.
    pub redis_url: Option<SecretString>,
    /// Prefix of every key (default: derived from the Keka tenant, see [`StoreConfig::default_prefix`]).
    pub key_prefix: String,
    /// Requests a minute this replica allows itself against Keka while Redis is unreachable.
    pub fallback_per_window: u32,
    /// Longest one Redis call may take before it counts as a failure (and detaches the store for a moment).
    pub call_timeout: Duration,
    /// PEM certificates that a `rediss://` server's certificate must chain to, instead of the system's roots.
    pub tls_ca: Option<Vec<u8>>,
}

impl std::fmt::Debug for StoreConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreConfig")
            .field("redis_url", &self.redis_url.as_ref().map(|_| "[redacted]"))
            .field("key_prefix", &self.key_prefix)
            .field("fallback_per_window", &self.fallback_per_window)
            .field("call_timeout", &self.call_timeout)
            .field("tls_ca", &self.tls_ca.as_ref().map(|_| "PEM"))
            .finish()
    }
}

impl StoreConfig {
    /// Connection refused fails at once; a Redis that hangs, or a lost link, costs a request this much once, then the
    /// breaker stops calling it.
    pub const CALL_TIMEOUT: Duration = Duration::from_millis(250);

    /// Every state in this process (no Redis).
    pub fn local(keka: &crate::keka::KekaConfig) -> Self {
        Self {
            redis_url: None,
            key_prefix: Self::default_prefix(&keka.base_url),
            fallback_per_window: (keka.rate_limit_per_window / 5).max(1),
            call_timeout: Self::CALL_TIMEOUT,
            tls_ca: None,
        }
    }

    /// `keka-subgraph:v1:{host}:` for a Keka API root: one tenant, one prefix, whatever the replica.
    pub fn default_prefix(keka_base_url: &url::Url) -> String {
        let host = keka_base_url.host_str().unwrap_or("keka");
        let port = keka_base_url.port().map(|port| format!(":{port}")).unwrap_or_default();
        format!("keka-subgraph:v1:{host}{port}:")
    }
}

/// This process's state, or the fleet's.
#[derive(Debug, Clone)]
pub enum Store {
    Local,
    Redis(Arc<RedisStore>),
}

/// What `/readyz` and `/metrics` say about the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreState {
    /// No Redis configured: every state is in-process.
    Local,
    /// Redis answers: state is shared.
    Attached,
    /// Redis failed recently: this replica runs on its local share until it answers again.
    Detached,
}

impl StoreState {
    pub fn label(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Attached => "attached",
            Self::Detached => "detached",
        }
    }
}

impl Store {
    /// Connects lazily: a Redis that is down at start is a fault like any other, not a reason not to start.
    pub fn new(config: &StoreConfig) -> anyhow::Result<Self> {
        match &config.redis_url {
            None => Ok(Self::Local),
            Some(url) => Ok(Self::Redis(Arc::new(RedisStore::connect(url.expose_secret(), config)?))),
        }
    }

    /// A budget of `capacity` requests per `window` for `name` (e.g. Keka's API key's): the fleet's one when Redis
    /// is configured, this process's own otherwise.
    pub fn budget(&self, name: &str, capacity: u32, window: Duration) -> Arc<dyn Budget> {
        match self {
            Self::Local => Arc::new(RateLimiter::new(capacity, window)),
            Self::Redis(store) => Arc::new(SharedBudget::new(store.clone(), name, capacity, window)),
        }
    }

    /// The answer to one upstream GET (`request`: its method, path and query, nothing secret): with Redis, from the
    /// fleet's cache, or fetched by `fetch` here or by another replica under a lease; in-process, `fetch` itself.
    /// `ttl`: how long a new answer is shared. An answer another replica fetched earlier is noted as that old
    /// ([`crate::upstream::as_of`]).
    pub async fn answer<E: From<DeadlinePassed>>(
        &self,
        request: &str,
        ttl: Duration,
        fetch: impl Future<Output = Result<Bytes, E>>,
    ) -> Result<Bytes, E> {
        match self {
            Self::Local => fetch.await,
            // Boxed: the fetch is a whole upstream exchange, and this sits deep in resolvers' call chains.
            Self::Redis(store) => Box::pin(store.answer(request, ttl, fetch)).await,
        }
    }

    /// Watches the fleet's generation (polled every [`GENERATION_POLL`]) and calls `changed` when it moves: Redis came
    /// back empty, or the fleet's state was invalidated. In-process copies of shared state must then go, since this
    /// replica cannot know what changed while it was not looking. Never returns (pending at once without Redis).
    pub async fn follow_generation(&self, changed: impl Fn()) {
        let Self::Redis(store) = self else {
            return std::future::pending().await;
        };
        let mut known: Option<String> = None;
        loop {
            if let Some(current) = store.generation().await {
                if known.as_ref().is_some_and(|known| *known != current) {
                    tracing::info!(
                        "Redis's generation changed (restarted empty, or invalidated): dropping in-process copies"
                    );
                    changed();
                }
                known = Some(current);
            }
            let jitter = rand::random_range(0..=GENERATION_POLL.as_millis() as u64 / 4);
            tokio::time::sleep(GENERATION_POLL + Duration::from_millis(jitter)).await;
        }
    }

    /// Whether this replica leads the sync for the next `term`: always without Redis; with it, whoever holds the
    /// lease. `None` while Redis is unreachable: the replica then syncs for itself.
    pub async fn lead_sync(&self, term: Duration) -> Option<bool> {
        match self {
            Self::Local => Some(true),
            Self::Redis(store) => store.lead_sync(term).await,
        }
    }

    /// Records a sync round for the fleet's followers (nothing to record without Redis).
    pub async fn record_round(&self, round: &SyncRound) {
        if let Self::Redis(store) = self {
            store.record_round(round).await;
        }
    }

    /// The fleet's recent sync rounds, oldest first: empty without Redis, `None` while it is unreachable.
    pub async fn rounds(&self) -> Option<Vec<SyncRound>> {
        match self {
            Self::Local => Some(Vec::new()),
            Self::Redis(store) => store.rounds().await,
        }
    }

    /// Asks whoever leads the sync for a round now (a webhook arrived here). Without Redis, this process leads and
    /// needs no message.
    pub async fn nudge_sync(&self, expires: Duration) {
        if let Self::Redis(store) = self {
            store.nudge_sync(expires).await;
        }
    }

    /// Whether some replica asked for a round since the last look (taking the request).
    pub async fn take_sync_nudge(&self) -> bool {
        match self {
            Self::Local => false,
            Self::Redis(store) => store.take_sync_nudge().await,
        }
    }

    /// Tells every replica that someone's leave changed (nothing to tell without Redis).
    pub async fn record_leave_change(&self, employee_id: Option<&str>) {
        if let Self::Redis(store) = self {
            store.record_leave_change(employee_id).await;
        }
    }

    /// The leave changes recorded after `position` (all that are kept, without one): empty without Redis, `None`
    /// while it is unreachable.
    pub async fn leave_changes_after(&self, position: Option<&str>) -> Option<Vec<LeaveChange>> {
        match self {
            Self::Local => Some(Vec::new()),
            Self::Redis(store) => store.leave_changes_after(position).await,
        }
    }

    /// Whether replicas share state (and the sync log) through Redis.
    pub fn is_shared(&self) -> bool {
        matches!(self, Self::Redis(_))
    }

    pub fn state(&self) -> StoreState {
        match self {
            Self::Local => StoreState::Local,
            Self::Redis(store) if store.is_attached() => StoreState::Attached,
            Self::Redis(_) => StoreState::Detached,
        }
    }

    /// Asks Redis now (for `/readyz`): a failure detaches the store like any other.
    pub async fn check(&self) -> StoreState {
        if let Self::Redis(store) = self {
            store.ping().await;
        }
        self.state()
    }
}

/// 32 hex digits of `bytes`' SHA-256: how text a client or Keka sent becomes part of a key name (bounded, and holding
/// none of the text), or a fingerprint that tells inputs apart.
pub fn digest_hex(bytes: &[u8]) -> String {
    use sha2::{Digest as _, Sha256};
    Sha256::digest(bytes)[..16].iter().map(|byte| format!("{byte:02x}")).collect()
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_redis_url_and_its_password_never_show() {
        let config = StoreConfig {
            redis_url: Some(SecretString::from("redis://user:hunter2-secret@127.0.0.1:1/0")),
            key_prefix: "p:".to_owned(),
            fallback_per_window: 1,
            call_timeout: StoreConfig::CALL_TIMEOUT,
            tls_ca: None,
        };
        assert!(!format!("{config:?}").contains("hunter2"));
        let bad = StoreConfig { redis_url: Some(SecretString::from("redis://user:hunter2-secret@[::1")), ..config };
        let error = Store::new(&bad).unwrap_err().to_string();
        assert!(error.contains("REDIS_URL") && !error.contains("hunter2"), "{error}");
    }

    #[test]
    fn the_default_prefix_names_the_tenant_not_a_secret() {
        let url = url::Url::parse("https://acme.keka.com/api/v1").unwrap();
        assert_eq!(StoreConfig::default_prefix(&url), "keka-subgraph:v1:acme.keka.com:");
        let sandbox = url::Url::parse("http://127.0.0.1:4010/api/v1").unwrap();
        assert_eq!(StoreConfig::default_prefix(&sandbox), "keka-subgraph:v1:127.0.0.1:4010:");
    }
}

//! The Redis backend: one `ConnectionManager` (multiplexed, reconnecting by itself), every call under a short
//! timeout, and a breaker that stops calling a Redis that just failed.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::future::BoxFuture;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::answers::Scripts;
use super::millis;
use super::write_ledger::WriteScripts;
use crate::upstream::{Budget, Priority, RateLimiter, SlotTooFar};

/// How long the store stays detached after a failure before a call tries Redis again.
const DETACHED_FOR: Duration = Duration::from_secs(2);

/// A sliding log of grants per budget, on Redis's clock (so replicas' clocks never matter): no interval of
/// `window` ms ever holds more than `limit` grants, whatever Keka's window alignment. A grant may lie in the future
/// (a reserved slot): the caller then sleeps until it. A pause (a 429 seen by any replica) holds every grant back.
/// The limit is the caller's share of the window ([`Priority::share_of`]): the grant `limit` places back, in time
/// order, must have left the window.
/// KEYS: log, pause. ARGV: limit, window in ms, a member unique to this grant, the longest wait in ms.
/// Returns {1, wait} for a grant (then reserved) or {0, wait} when the slot is further than allowed.
const ACQUIRE: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local slot = now
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > slot then slot = paused end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  local oldest_in_budget = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
  local free = tonumber(oldest_in_budget[2]) + window
  if free > slot then slot = free end
end
local wait = slot - now
if wait > tonumber(ARGV[4]) then return {0, wait} end
redis.call('ZADD', KEYS[1], slot, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window + wait + 1000)
return {1, wait}
";

/// Holds every grant of a budget back for `ARGV[1]` ms from Redis's now (never shortening a longer pause).
const PAUSE: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local pause_until = now + tonumber(ARGV[1])
if pause_until > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], pause_until, 'PX', tonumber(ARGV[1]) + 1000)
end
return 0
";

/// Puts this replica's recent sends back into a budget's log, after Redis was unreachable (and may have come back
/// empty): otherwise the fleet would spend a full window that Keka has partly seen already. Members are the ones the
/// grants had (`NX`: a send the log still holds is left as it is); each score is Redis's now less the send's age.
/// KEYS: log. ARGV: window in ms, then pairs of (age in ms, negative for a slot still ahead; member).
const RESEED: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
for i = 2, #ARGV, 2 do
  redis.call('ZADD', KEYS[1], 'NX', now - tonumber(ARGV[i]), ARGV[i + 1])
end
redis.call('PEXPIRE', KEYS[1], 2 * tonumber(ARGV[1]))
return 0
";

/// The fleet's generation: a random token, set by the first replica to find none. Replicas compare it with the one
/// they saw last; a new one means Redis lost its data (restarted empty) or the fleet's cached state was invalidated.
/// KEYS: generation. ARGV: a fresh token, used if there is none.
const GENERATION: &str = r"
local current = redis.call('GET', KEYS[1])
if current then return current end
redis.call('SET', KEYS[1], ARGV[1])
return ARGV[1]
";

pub struct RedisStore {
    connection: ConnectionManager,
    prefix: String,
    /// Names this process in the members it writes (with a counter): two replicas' grants never collide.
    replica: String,
    grants: AtomicU64,
    /// Until when no call goes to Redis, after a failure.
    detached_until: Mutex<Option<tokio::time::Instant>>,
    /// What each budget allows itself per window while detached.
    fallback_per_window: u32,
    /// Longest one call may take ([`super::StoreConfig::call_timeout`]).
    call_timeout: Duration,
    acquire: redis::Script,
    pause: redis::Script,
    answers: Scripts,
    writes: WriteScripts,
    generation: redis::Script,
    reseed: redis::Script,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore").field("prefix", &self.prefix).field("replica", &self.replica).finish()
    }
}

impl RedisStore {
    /// A lazy connection: nothing is sent until the first call.
    pub fn connect(url: &str, settings: &super::StoreConfig) -> anyhow::Result<Self> {
        if url.starts_with("rediss") {
            // redis-rs's rustls uses the process's default provider; reqwest brings ring.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        // The URL may hold a password: its parse error is shown without it.
        let client = match &settings.tls_ca {
            Some(roots) => redis::Client::build_with_tls(
                url,
                redis::TlsCertificates { client_tls: None, root_cert: Some(roots.clone()) },
            ),
            None => redis::Client::open(url),
        }
        .map_err(|error| anyhow::anyhow!("REDIS_URL is not a valid Redis URL ({:?})", error.kind()))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(settings.call_timeout * 2))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_secs(1));
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|error| anyhow::anyhow!("cannot set up the Redis connection ({:?})", error.kind()))?;
        Ok(Self {
            connection,
            prefix: settings.key_prefix.clone(),
            replica: format!("{:016x}", rand::random::<u64>()),
            grants: AtomicU64::new(0),
            detached_until: Mutex::new(None),
            fallback_per_window: settings.fallback_per_window,
            call_timeout: settings.call_timeout,
            acquire: redis::Script::new(ACQUIRE),
            pause: redis::Script::new(PAUSE),
            answers: Scripts::default(),
            writes: WriteScripts::default(),
            generation: redis::Script::new(GENERATION),
            reseed: redis::Script::new(RESEED),
        })
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// This process's name in the fleet (random, per process).
    pub(super) fn replica(&self) -> &str {
        &self.replica
    }

    pub(super) fn connection(&self) -> ConnectionManager {
        self.connection.clone()
    }

    pub(super) fn scripts(&self) -> &Scripts {
        &self.answers
    }

    pub(super) fn writes(&self) -> &WriteScripts {
        &self.writes
    }

    /// Unique across the fleet: this replica's id and a counter. Names budget grants and lease holders.
    pub(super) fn unique_token(&self) -> String {
        format!("{}:{}", self.replica, self.grants.fetch_add(1, Ordering::Relaxed))
    }

    /// False for a moment after a call failed.
    pub fn is_attached(&self) -> bool {
        let detached_until = self.detached_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        detached_until.is_none_or(|until| tokio::time::Instant::now() >= until)
    }

    /// Runs one Redis call within the call timeout, unless the store is detached. A failure detaches it.
    pub(super) async fn call<T>(
        &self,
        what: &'static str,
        call: impl Future<Output = redis::RedisResult<T>>,
    ) -> Option<T> {
        if !self.is_attached() {
            return None;
        }
        let failure = match tokio::time::timeout(self.call_timeout, call).await {
            Ok(Ok(value)) => {
                *self.detached_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
                return Some(value);
            }
            Ok(Err(error)) => format!("{:?}: {}", error.kind(), error.detail().unwrap_or_default()),
            Err(_) => format!("no answer within {} ms", self.call_timeout.as_millis()),
        };
        let mut detached_until = self.detached_until.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if detached_until.is_none() {
            tracing::warn!(what, error = %failure, "Redis failed: this replica runs on its local state until it answers");
        }
        *detached_until = Some(tokio::time::Instant::now() + DETACHED_FOR);
        None
    }

    /// The fleet's generation (see [`GENERATION`]); `None` while Redis is unreachable.
    pub(super) async fn generation(&self) -> Option<String> {
        let mut connection = self.connection.clone();
        let mut invocation = self.generation.key(format!("{}generation", self.prefix));
        invocation.arg(self.unique_token());
        self.call("generation", invocation.invoke_async(&mut connection)).await
    }

    /// `PING`: reattaches the store when Redis answers (after the detached moment).
    pub async fn ping(&self) {
        let mut connection = self.connection.clone();
        let _: Option<String> = self.call("ping", redis::cmd("PING").query_async(&mut connection)).await;
    }
}

/// One budget shared by every replica: a sliding log in Redis ([`ACQUIRE`]); while Redis is unreachable, a local
/// log allowing only the configured share.
#[derive(Debug)]
pub struct SharedBudget {
    store: Arc<RedisStore>,
    log_key: String,
    pause_key: String,
    capacity: u32,
    window: Duration,
    fallback: RateLimiter,
    /// This replica's sends of the last window (slot, member), shared or local: what to put back into the log when
    /// Redis answers again.
    sent: std::sync::Mutex<std::collections::VecDeque<(tokio::time::Instant, String)>>,
    /// Set by a grant from the local share; cleared once the sends are back in Redis's log.
    reseed: std::sync::atomic::AtomicBool,
}

impl SharedBudget {
    pub fn new(store: Arc<RedisStore>, name: &str, capacity: u32, window: Duration) -> Self {
        let fallback = RateLimiter::new(store.fallback_per_window.min(capacity).max(1), window);
        Self {
            log_key: format!("{}budget:{name}", store.prefix),
            pause_key: format!("{}budget:{name}:pause", store.prefix),
            store,
            capacity,
            window,
            fallback,
            sent: Default::default(),
            reseed: Default::default(),
        }
    }

    /// Remembers a send for the window.
    fn record(&self, slot: tokio::time::Instant, member: String) {
        let mut sent = self.sent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = tokio::time::Instant::now();
        while sent.front().is_some_and(|(at, _)| *at + self.window < now) {
            sent.pop_front();
        }
        sent.push_back((slot, member));
    }

    /// After a spell on the local share: this replica's sends of the last window back into Redis's log. Returns
    /// whether Redis took them.
    async fn reseed(&self) -> bool {
        let now = tokio::time::Instant::now();
        let ages: Vec<(i64, String)> = {
            let sent = self.sent.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            sent.iter()
                .filter(|(at, _)| *at + self.window >= now)
                .map(|(at, member)| {
                    let age = i64::try_from(now.saturating_duration_since(*at).as_millis()).unwrap_or(i64::MAX);
                    let ahead = i64::try_from(at.saturating_duration_since(now).as_millis()).unwrap_or(i64::MAX);
                    (age - ahead, member.clone())
                })
                .collect()
        };
        let mut connection = self.store.connection.clone();
        let mut invocation = self.store.reseed.key(&self.log_key);
        invocation.arg(millis(self.window));
        for (age, member) in ages {
            invocation.arg(age).arg(member);
        }
        let reseeded: Option<u8> = self.store.call("budget reseed", invocation.invoke_async(&mut connection)).await;
        reseeded.is_some()
    }

    /// Asks Redis for a grant: `Some(Ok(wait))` reserved, `Some(Err(..))` too far, `None` when Redis failed.
    async fn shared(&self, max_wait: Duration, priority: Priority) -> Option<Result<Duration, SlotTooFar>> {
        if self.reseed.load(Ordering::Relaxed) && self.store.is_attached() {
            if !self.reseed().await {
                return None;
            }
            self.reseed.store(false, Ordering::Relaxed);
        }
        let member = self.store.unique_token();
        let mut connection = self.store.connection.clone();
        let mut invocation = self.store.acquire.key(&self.log_key);
        let share = priority.share_of(self.capacity);
        invocation.key(&self.pause_key).arg(share).arg(millis(self.window)).arg(&member).arg(millis(max_wait));
        let (granted, wait): (u8, u64) = self.store.call("budget", invocation.invoke_async(&mut connection)).await?;
        let wait = Duration::from_millis(wait);
        if granted == 1 {
            self.record(tokio::time::Instant::now() + wait, member);
            Some(Ok(wait))
        } else {
            Some(Err(SlotTooFar { wait }))
        }
    }
}

impl Budget for SharedBudget {
    fn acquire(&self, max_wait: Duration, priority: Priority) -> BoxFuture<'_, Result<Duration, SlotTooFar>> {
        Box::pin(async move {
            if self.capacity == 0 {
                return Ok(Duration::ZERO);
            }
            match self.shared(max_wait, priority).await {
                Some(Ok(wait)) => {
                    tokio::time::sleep(wait).await;
                    Ok(wait)
                }
                Some(Err(too_far)) => Err(too_far),
                None => {
                    let requested = tokio::time::Instant::now();
                    let waited = self.fallback.acquire(max_wait, priority).await?;
                    self.record(requested + waited, self.store.unique_token());
                    self.reseed.store(true, Ordering::Relaxed);
                    Ok(waited)
                }
            }
        })
    }

    fn pause(&self, wait: Duration) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            self.fallback.pause_until(tokio::time::Instant::now() + wait);
            let mut connection = self.store.connection.clone();
            let mut invocation = self.store.pause.key(&self.pause_key);
            invocation.arg(millis(wait));
            let _: Option<u8> = self.store.call("pause", invocation.invoke_async(&mut connection)).await;
        })
    }
}

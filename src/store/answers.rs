//! The fleet's cache of upstream answers, with single flight: whatever one replica fetched from Keka, every replica
//! reads from Redis until it expires, and a request no replica has answered yet is fetched by one replica while the
//! others wait for its answer.
//!
//! - An answer is the body of a successful GET, zstd-compressed, under a key hashed from the request (ids and emails
//!   in query strings never appear in key names). It lives for the cache TTL; readers learn how much of it is left,
//!   so their in-process copies expire with it ([`crate::upstream::as_of`]).
//! - Single flight is a lease: `SET NX PX` taken in the same script that finds no answer, renewed while the fetch
//!   runs (a fetch can wait on the budget for many seconds), released when it ends. A replica that dies mid-fetch
//!   loses its lease within [`LEASE_FOR`], and the next waiter takes over. The lease is an efficiency lock, not a
//!   correctness one: two replicas that both fetch write the same kind of answer, and the budget caps the waste.
//! - Waiters poll with backoff, within their request's deadline. A Redis that fails mid-wait detaches the store, and
//!   the waiter fetches for itself.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;

use super::millis;
use super::redis::RedisStore;
use crate::upstream::{DeadlinePassed, RequestContext, as_of};

/// How long a lease lasts without renewal: how long a dead holder can keep others waiting.
pub(crate) const LEASE_FOR: Duration = Duration::from_secs(5);
/// The longest pause between two looks at a busy answer.
const MAX_POLL: Duration = Duration::from_millis(250);
/// zstd's default level: a 200-person page of about 900 KB compresses to about a tenth in a few milliseconds.
const COMPRESSION_LEVEL: i32 = 3;

/// Finds the answer, or takes the lease to fetch it, or says who is fetching it.
/// KEYS: answer, lease. ARGV: this fetch's token, the lease in ms.
/// Returns {1, answer, ms left} | {2, '', 0} (the lease is ours) | {0, '', ms left on the other's lease}.
const LOOK_OR_LEASE: &str = r"
local answer = redis.call('GET', KEYS[1])
if answer then return {1, answer, redis.call('PTTL', KEYS[1])} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', tonumber(ARGV[2])) then return {2, '', 0} end
return {0, '', redis.call('PTTL', KEYS[2])}
";

/// Stores the answer, then ends the lease if it is still ours. KEYS: answer, lease. ARGV: answer, ttl ms, token.
const PUBLISH: &str = r"
redis.call('SET', KEYS[1], ARGV[1], 'PX', tonumber(ARGV[2]))
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return 1
";

/// Renews (ARGV[2] > 0) or ends (ARGV[2] = 0) the lease if it is still ours. KEYS: lease. ARGV: token, ms.
const RENEW_OR_RELEASE: &str = r"
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if tonumber(ARGV[2]) > 0 then return redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2])) end
return redis.call('DEL', KEYS[1])
";

pub(super) struct Scripts {
    look_or_lease: redis::Script,
    publish: redis::Script,
    renew_or_release: redis::Script,
}

impl Default for Scripts {
    fn default() -> Self {
        Self {
            look_or_lease: redis::Script::new(LOOK_OR_LEASE),
            publish: redis::Script::new(PUBLISH),
            renew_or_release: redis::Script::new(RENEW_OR_RELEASE),
        }
    }
}

enum Look {
    Found { body: Bytes, left: Duration },
    Ours,
    Busy,
}

/// The keys of one answer.
struct Keys {
    answer: String,
    lease: String,
}

impl Keys {
    fn new(prefix: &str, request: &str) -> Self {
        let hash = super::digest_hex(request.as_bytes());
        Self { answer: format!("{prefix}answer:{hash}"), lease: format!("{prefix}answer:{hash}:lease") }
    }
}

impl RedisStore {
    /// The answer to `request` (a canonical description of one GET: method, path and query), from the fleet's cache
    /// or fetched by `fetch` (here or, under its lease, by another replica). `ttl`: how long a new answer is shared.
    pub(crate) async fn answer<E>(
        self: &Arc<Self>,
        request: &str,
        ttl: Duration,
        fetch: impl Future<Output = Result<Bytes, E>>,
    ) -> Result<Bytes, E>
    where
        E: From<DeadlinePassed>,
    {
        let keys = Keys::new(self.prefix(), request);
        let token = self.unique_token();
        let mut pause = Duration::from_millis(20);
        let leased = loop {
            match self.look_or_lease(&keys, &token).await {
                None => break false,
                Some(Look::Found { body, left }) => {
                    let age = ttl.saturating_sub(left);
                    let fetched_at =
                        tokio::time::Instant::now().checked_sub(age).unwrap_or_else(tokio::time::Instant::now);
                    if !as_of::usable(fetched_at) {
                        // Older than the work asking may use: fetch it again, and replace it for everyone.
                        let fetched = fetch.await;
                        if let Ok(body) = &fetched {
                            self.publish(&keys, body, ttl, &token).await;
                        }
                        return fetched;
                    }
                    match decompress(&body) {
                        Some(body) => {
                            as_of::note(fetched_at);
                            return Ok(body);
                        }
                        None => {
                            tracing::warn!("an answer in Redis does not decompress; fetching it here");
                            break false;
                        }
                    }
                }
                Some(Look::Ours) => break true,
                Some(Look::Busy) => {
                    let jitter = Duration::from_millis(rand::random_range(0..=pause.as_millis() as u64 / 2));
                    RequestContext::within_deadline(tokio::time::sleep(pause + jitter)).await.map_err(E::from)?;
                    pause = (pause * 2).min(MAX_POLL);
                }
            }
        };
        if !leased {
            return fetch.await;
        }
        let lease = Lease { store: self.clone(), key: keys.lease.clone(), token, ended: false };
        let renewing = async {
            loop {
                tokio::time::sleep(LEASE_FOR / 3).await;
                lease.renew().await;
            }
        };
        let fetched = tokio::select! {
            fetched = fetch => fetched,
            never = renewing => match never {},
        };
        let mut lease = lease;
        if let Ok(body) = &fetched {
            self.publish(&keys, body, ttl, &lease.token).await;
            lease.ended = true;
        }
        fetched
    }

    async fn look_or_lease(&self, keys: &Keys, token: &str) -> Option<Look> {
        let mut connection = self.connection();
        let mut invocation = self.scripts().look_or_lease.key(&keys.answer);
        invocation.key(&keys.lease).arg(token).arg(millis(LEASE_FOR));
        let (kind, body, left): (u8, Vec<u8>, i64) =
            self.call("answer", invocation.invoke_async(&mut connection)).await?;
        Some(match kind {
            1 => Look::Found { body: Bytes::from(body), left: Duration::from_millis(left.max(0).unsigned_abs()) },
            2 => Look::Ours,
            _ => Look::Busy,
        })
    }

    async fn publish(&self, keys: &Keys, body: &Bytes, ttl: Duration, token: &str) {
        let compressed = match zstd::bulk::compress(body, COMPRESSION_LEVEL) {
            Ok(compressed) => compressed,
            Err(error) => {
                tracing::warn!(%error, "cannot compress an answer for Redis; it stays in this replica");
                return;
            }
        };
        let mut connection = self.connection();
        let mut invocation = self.scripts().publish.key(&keys.answer);
        invocation.key(&keys.lease).arg(compressed).arg(millis(ttl).max(1)).arg(token);
        let _: Option<u8> = self.call("publish answer", invocation.invoke_async(&mut connection)).await;
    }

    async fn renew_or_release(&self, lease_key: &str, token: &str, renew_for: Duration) {
        let mut connection = self.connection();
        let mut invocation = self.scripts().renew_or_release.key(lease_key);
        invocation.arg(token).arg(millis(renew_for));
        let _: Option<u8> = self.call("lease", invocation.invoke_async(&mut connection)).await;
    }
}

/// A lease held while fetching. Dropped unfinished (the fetch failed, or the request was cancelled), it is released
/// at once so the next waiter need not wait for it to expire.
struct Lease {
    store: Arc<RedisStore>,
    key: String,
    token: String,
    ended: bool,
}

impl Lease {
    async fn renew(&self) {
        self.store.renew_or_release(&self.key, &self.token, LEASE_FOR).await;
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if self.ended {
            return;
        }
        let (store, key, token) = (self.store.clone(), std::mem::take(&mut self.key), std::mem::take(&mut self.token));
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { store.renew_or_release(&key, &token, Duration::ZERO).await });
        }
    }
}

/// Bounded by the size the frame declares (our frames always do): a page is under a megabyte before compression,
/// and a frame claiming far more is not ours.
fn decompress(body: &[u8]) -> Option<Bytes> {
    const MAX_ANSWER: u64 = 64 * 1024 * 1024;
    let size = zstd::zstd_safe::get_frame_content_size(body).ok().flatten().filter(|size| *size <= MAX_ANSWER)?;
    zstd::bulk::decompress(body, usize::try_from(size).ok()?).ok().map(Bytes::from)
}

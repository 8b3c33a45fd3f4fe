//! Idempotency keys of writes: what each key's write came to, remembered for [`KEPT_FOR`], in this process or, with
//! Redis, for the fleet, so a client that retries a write (after a timeout, a dropped connection, a router retry)
//! gets the first answer instead of a second write.
//!
//! A key moves through three states:
//! - **pending**: a caller holds it and is writing; the hold is a lease (the request's deadline and a margin), so a
//!   caller that dies mid-write does not keep the key forever;
//! - **settled**: the write's outcome (opaque text, written by whoever owns the write) is the key's answer from now
//!   on;
//! - **pending, lease gone**: the holder died, or gave up without knowing whether the upstream applied the write.
//!   The next claim gets [`Claim::Unsure`] and must find out before writing again.
//!
//! The record holds a fingerprint of the write's input: the same key with another input is refused, not answered
//! with the first write's outcome. Key names hash the client's key, so nothing a client sent appears in Redis's key
//! space, and neither the input nor anything secret is stored: only the fingerprint and the outcome.

use std::time::Duration;

use super::Store;
use super::millis;
use super::redis::RedisStore;

/// How long a settled key answers for itself (Stripe's and Adyen's choice: a day of retries).
pub const KEPT_FOR: Duration = Duration::from_secs(24 * 3600);

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Nobody used it: the caller holds it now and writes.
    Fresh,
    /// Its write is done: this is its outcome.
    Settled(String),
    /// Another caller holds it and is writing now.
    InFlight,
    /// Its write may or may not have happened (its holder died or could not tell): the caller holds it now and must
    /// find out before writing.
    Unsure,
    /// It was used with another input.
    Mismatch,
}

/// The fleet's ledger cannot be read (Redis unreachable): a key cannot be checked, so the write must not go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the shared store of idempotency keys is unreachable")]
pub struct LedgerUnavailable;

/// Claims a key: KEYS: record (hash: `fp`, `outcome`), lease. ARGV: fingerprint, lease ms, record ms.
/// Returns {state} or {'settled', outcome}.
const CLAIM: &str = r"
local fp = redis.call('HGET', KEYS[1], 'fp')
if not fp then
  redis.call('HSET', KEYS[1], 'fp', ARGV[1])
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]))
  redis.call('SET', KEYS[2], '1', 'PX', tonumber(ARGV[2]))
  return {'fresh'}
end
if fp ~= ARGV[1] then return {'mismatch'} end
local outcome = redis.call('HGET', KEYS[1], 'outcome')
if outcome then return {'settled', outcome} end
if redis.call('SET', KEYS[2], '1', 'PX', tonumber(ARGV[2]), 'NX') then return {'unsure'} end
return {'in_flight'}
";

/// Settles a key: KEYS: record, lease. ARGV: outcome, record ms.
const SETTLE: &str = r"
redis.call('HSET', KEYS[1], 'outcome', ARGV[1])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
redis.call('DEL', KEYS[2])
return 0
";

/// Where keys are remembered: in this process, or in the fleet's Redis.
#[derive(Debug)]
pub struct WriteLedger {
    store: Store,
    /// How long a claim holds its key before the write counts as abandoned.
    lease: Duration,
    local: moka::sync::Cache<String, LocalRecord>,
}

#[derive(Debug, Clone)]
struct LocalRecord {
    fingerprint: String,
    outcome: Option<String>,
    leased_until: Option<std::time::Instant>,
}

impl WriteLedger {
    /// `lease`: longer than any one write can take (the request's deadline and a margin).
    pub fn new(store: Store, lease: Duration) -> Self {
        let local = moka::sync::Cache::builder().max_capacity(100_000).time_to_live(KEPT_FOR).build();
        Self { store, lease, local }
    }

    /// Claims `key` for a write whose input has `fingerprint`.
    pub async fn claim(&self, key: &str, fingerprint: &str) -> Result<Claim, LedgerUnavailable> {
        match &self.store {
            Store::Local => Ok(self.claim_here(key, fingerprint)),
            Store::Redis(redis) => {
                redis.claim_write(&hashed(key), fingerprint, self.lease).await.ok_or(LedgerUnavailable)
            }
        }
    }

    /// Records the outcome of the write `key` was claimed for: from now on, the key's answer.
    pub async fn settle(&self, key: &str, outcome: &str) {
        match &self.store {
            Store::Local => {
                self.local.entry(key.to_owned()).and_compute_with(|found| match found {
                    Some(found) => {
                        let record =
                            LocalRecord { outcome: Some(outcome.to_owned()), leased_until: None, ..found.into_value() };
                        moka::ops::compute::Op::Put(record)
                    }
                    None => moka::ops::compute::Op::Nop,
                });
            }
            Store::Redis(redis) => {
                if !redis.settle_write(&hashed(key), outcome).await {
                    // The key stays pending; once its lease lapses the next claim is `Unsure` and finds out.
                    tracing::error!("could not record the outcome of an idempotent write in Redis");
                }
            }
        }
    }

    /// Forgets `key`: its write surely did not happen (refused before it was sent), so a retry may write.
    pub async fn release(&self, key: &str) {
        match &self.store {
            Store::Local => self.local.invalidate(key),
            Store::Redis(redis) => redis.release_write(&hashed(key)).await,
        }
    }

    /// Gives `key` up without knowing whether its write happened: the next claim is [`Claim::Unsure`].
    pub async fn give_up_unsure(&self, key: &str) {
        match &self.store {
            Store::Local => {
                self.local.entry(key.to_owned()).and_compute_with(|found| match found {
                    Some(found) => {
                        moka::ops::compute::Op::Put(LocalRecord { leased_until: None, ..found.into_value() })
                    }
                    None => moka::ops::compute::Op::Nop,
                });
            }
            Store::Redis(redis) => redis.release_write_lease(&hashed(key)).await,
        }
    }

    fn claim_here(&self, key: &str, fingerprint: &str) -> Claim {
        let now = std::time::Instant::now();
        let mut claim = Claim::Fresh;
        self.local.entry(key.to_owned()).and_compute_with(|found| {
            use moka::ops::compute::Op;
            let Some(found) = found else {
                let record = LocalRecord {
                    fingerprint: fingerprint.to_owned(),
                    outcome: None,
                    leased_until: Some(now + self.lease),
                };
                return Op::Put(record);
            };
            let record = found.into_value();
            if record.fingerprint != fingerprint {
                claim = Claim::Mismatch;
                return Op::Nop;
            }
            if let Some(outcome) = &record.outcome {
                claim = Claim::Settled(outcome.clone());
                return Op::Nop;
            }
            if record.leased_until.is_some_and(|until| until > now) {
                claim = Claim::InFlight;
                return Op::Nop;
            }
            claim = Claim::Unsure;
            Op::Put(LocalRecord { leased_until: Some(now + self.lease), ..record })
        });
        claim
    }
}

/// The record's name part: a client's key, hashed (bounded, and nothing a client wrote appears in key names).
fn hashed(key: &str) -> String {
    super::digest_hex(key.as_bytes())
}

impl RedisStore {
    fn write_keys(&self, hashed: &str) -> (String, String) {
        let record = format!("{}write:{hashed}", self.prefix());
        let lease = format!("{record}:lease");
        (record, lease)
    }

    async fn claim_write(&self, hashed: &str, fingerprint: &str, lease: Duration) -> Option<Claim> {
        let (record, lease_key) = self.write_keys(hashed);
        let mut invocation = self.writes().claim.key(record);
        invocation.key(lease_key).arg(fingerprint).arg(millis(lease)).arg(millis(KEPT_FOR));
        let mut connection = self.connection();
        let answer: Vec<String> = self.call("claim_write", invocation.invoke_async(&mut connection)).await?;
        match answer.first().map(String::as_str) {
            Some("fresh") => Some(Claim::Fresh),
            Some("settled") => Some(Claim::Settled(answer.get(1).cloned().unwrap_or_default())),
            Some("in_flight") => Some(Claim::InFlight),
            Some("unsure") => Some(Claim::Unsure),
            Some("mismatch") => Some(Claim::Mismatch),
            other => {
                tracing::error!(?other, "the write-claim script answered something unexpected");
                None
            }
        }
    }

    async fn settle_write(&self, hashed: &str, outcome: &str) -> bool {
        let (record, lease_key) = self.write_keys(hashed);
        let mut invocation = self.writes().settle.key(record);
        invocation.key(lease_key).arg(outcome).arg(millis(KEPT_FOR));
        let mut connection = self.connection();
        self.call("settle_write", invocation.invoke_async::<i64>(&mut connection)).await.is_some()
    }

    async fn release_write(&self, hashed: &str) {
        let (record, lease_key) = self.write_keys(hashed);
        let mut connection = self.connection();
        let command = redis::cmd("DEL").arg(record).arg(lease_key).to_owned();
        let _: Option<i64> = self.call("release_write", command.query_async(&mut connection)).await;
    }

    async fn release_write_lease(&self, hashed: &str) {
        let (_, lease_key) = self.write_keys(hashed);
        let mut connection = self.connection();
        let command = redis::cmd("DEL").arg(lease_key).to_owned();
        let _: Option<i64> = self.call("release_write_lease", command.query_async(&mut connection)).await;
    }
}

/// The ledger's Lua scripts, loaded once per store.
pub(super) struct WriteScripts {
    claim: redis::Script,
    settle: redis::Script,
}

impl Default for WriteScripts {
    fn default() -> Self {
        Self { claim: redis::Script::new(CLAIM), settle: redis::Script::new(SETTLE) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_key_is_fresh_then_in_flight_then_settled_and_refuses_another_input() {
        let ledger = WriteLedger::new(Store::Local, Duration::from_secs(60));
        assert_eq!(ledger.claim("k", "fp").await, Ok(Claim::Fresh));
        assert_eq!(ledger.claim("k", "fp").await, Ok(Claim::InFlight));
        assert_eq!(ledger.claim("k", "other").await, Ok(Claim::Mismatch));
        ledger.settle("k", "filed:1").await;
        assert_eq!(ledger.claim("k", "fp").await, Ok(Claim::Settled("filed:1".to_owned())));
        assert_eq!(ledger.claim("k", "other").await, Ok(Claim::Mismatch));
    }

    #[tokio::test]
    async fn a_released_key_is_fresh_again_and_one_given_up_is_unsure_once() {
        let ledger = WriteLedger::new(Store::Local, Duration::from_secs(60));
        assert_eq!(ledger.claim("k", "fp").await, Ok(Claim::Fresh));
        ledger.release("k").await;
        assert_eq!(ledger.claim("k", "fp").await, Ok(Claim::Fresh));
        ledger.give_up_unsure("k").await;
        assert_eq!(ledger.claim("k", "fp").await, Ok(Claim::Unsure));
        // The unsure claimer holds it now.
        assert_eq!(ledger.claim("k", "fp").await, Ok(Claim::InFlight));
    }

    #[tokio::test]
    async fn a_lapsed_lease_makes_the_key_unsure() {
        let ledger = WriteLedger::new(Store::Local, Duration::ZERO);
        assert_eq!(ledger.claim("k", "fp").await, Ok(Claim::Fresh));
        assert_eq!(ledger.claim("k", "fp").await, Ok(Claim::Unsure));
    }

    #[test]
    fn key_names_hold_no_client_text() {
        let name = hashed("order-42 for alice@example.com");
        assert_eq!(name.len(), 32);
        assert!(name.chars().all(|c| c.is_ascii_hexdigit()));
    }
}

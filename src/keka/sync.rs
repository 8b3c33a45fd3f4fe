//! Keeping the org snapshot fresh for a few requests a minute: Keka's `lastModified` deltas, applied to the snapshot
//! instead of walking everyone again.
//!
//! - **Rounds.** Every [`SyncConfig::interval`] (or at once, debounced, when a webhook nudges), the leading replica
//!   asks Keka for everyone modified since its snapshot's date less [`SyncConfig::overlap`] (Keka's timestamps carry
//!   no offset: the overlap absorbs clock and time-zone differences; a change seen twice is applied twice, harmlessly).
//!   A quiet tenant costs one request a round. The changes (hires, exits, moves, renames) replace their people in the
//!   snapshot, whose indexes are derived again, and the snapshot is dated by the round.
//! - **Full walks** only when there is no snapshot, every [`SyncConfig::full_interval`], or when a delta does not fit
//!   the snapshot (someone reports to a manager it does not hold). A full walk reads Keka, not any cache.
//! - **The fleet.** With Redis, one replica leads (a lease) and records each round in the fleet's log; every replica
//!   applies the rounds its snapshot lacks, reading the changes from the fleet's cache of answers, where the leader's
//!   fetch put them ([`crate::store::SyncRound`]). A replica whose snapshot is older than the log catches up with one
//!   delta of its own. While Redis is unreachable, each replica syncs for itself on its local share of the budget.
//! - **Every view follows.** Look-ups by id answer from the snapshot first; pages, email look-ups and the small lists
//!   held here are dropped when a round changes what they list ([`CachedKeka::absorb_changes`]).
//!
//! Sync work runs outside any request: it ranks as background work on the budget, and never takes the slots kept for
//! requests.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::cache::CachedKeka;
use super::models::Employee;
use super::snapshot::{OrgSnapshot, SnapshotSource};
use crate::store::{RoundKind, Store, SyncRound};
use crate::upstream::as_of;

/// How often a replica looks at the fleet's sync log and lease (with Redis).
const FOLLOW_POLL: Duration = Duration::from_secs(1);

/// When and how far back to sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncConfig {
    /// Between two rounds; zero switches syncing off (the snapshot is then walked again when its TTL runs out).
    pub interval: Duration,
    /// Between two full walks.
    pub full_interval: Duration,
    /// How far before the snapshot's date each round asks from.
    pub overlap: Duration,
    /// How long a nudge waits for more nudges before the round it asks for.
    pub debounce: Duration,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(30),
            full_interval: Duration::from_secs(24 * 60 * 60),
            overlap: Duration::from_secs(5 * 60),
            debounce: Duration::from_secs(2),
        }
    }
}

impl SyncConfig {
    /// No syncing: the snapshot lives for its TTL and is walked again.
    pub fn off() -> Self {
        Self { interval: Duration::ZERO, ..Self::default() }
    }

    pub fn is_on(&self) -> bool {
        !self.interval.is_zero()
    }

    /// How long a leader keeps the lease without renewing it: a dead leader is replaced within this.
    fn lease_term(&self) -> Duration {
        FOLLOW_POLL * 10
    }
}

/// The sync of one tenant's org snapshot (see the module's doc).
pub struct OrgSync {
    keka: CachedKeka,
    snapshot: Arc<SnapshotSource>,
    store: Store,
    config: SyncConfig,
    nudged: Notify,
    full: Mutex<FullWalks>,
    /// The snapshot the last round was applied to (as amended by it) and that round's date: exact, where a date
    /// read back from the snapshot's age would drift by the clocks' rounding.
    applied: Mutex<Option<(Arc<OrgSnapshot>, DateTime<Utc>)>>,
}

struct FullWalks {
    /// The last full walk this replica led (or its start: a new leader does not walk at once).
    last: Instant,
    /// A delta did not fit the snapshot: walk at the next round.
    wanted: bool,
}

impl std::fmt::Debug for OrgSync {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrgSync").field("config", &self.config).finish_non_exhaustive()
    }
}

impl OrgSync {
    pub fn new(keka: CachedKeka, snapshot: Arc<SnapshotSource>, store: Store, config: SyncConfig) -> Arc<Self> {
        Arc::new(Self {
            keka,
            snapshot,
            store,
            config,
            nudged: Notify::new(),
            full: Mutex::new(FullWalks { last: Instant::now(), wanted: false }),
            applied: Mutex::new(None),
        })
    }

    pub fn config(&self) -> SyncConfig {
        self.config
    }

    /// Asks for a round now (a webhook said something changed). Rounds asked for while one waits are one round.
    pub async fn nudge(&self) {
        if !self.config.is_on() {
            return;
        }
        self.nudged.notify_one();
        // Whoever leads may be another replica; it takes this at its next look.
        self.store.nudge_sync(self.config.interval).await;
    }

    /// Syncs until dropped (pending forever when syncing is off).
    pub async fn run(self: Arc<Self>) {
        if !self.config.is_on() {
            return std::future::pending().await;
        }
        let shared = self.store.is_shared();
        let look_every = if shared { FOLLOW_POLL } else { self.config.interval };
        let mut next_round = Instant::now() + self.config.interval;
        loop {
            let nudged = tokio::select! {
                () = self.nudged.notified() => true,
                () = tokio::time::sleep_until(next_round.min(Instant::now() + look_every)) => false,
            };
            if nudged {
                // A burst of webhooks: the rest of it arrives while this waits, and makes at most one more round.
                tokio::time::sleep(self.config.debounce).await;
            }
            match self.store.lead_sync(self.config.lease_term()).await {
                Some(true) => {
                    let asked = shared && self.store.take_sync_nudge().await;
                    if nudged || asked || Instant::now() >= next_round {
                        next_round = Instant::now() + self.config.interval;
                        self.lead_round(shared).await;
                    }
                }
                // Someone else leads: its rounds arrive through the log.
                Some(false) => {}
                // Redis is unreachable: sync for this replica alone, recording nothing.
                None => {
                    if nudged || Instant::now() >= next_round {
                        next_round = Instant::now() + self.config.interval;
                        self.lead_round(false).await;
                    }
                }
            }
            if shared {
                self.follow().await;
            }
        }
    }

    /// One round, led by this replica: a delta, or a full walk when one is due. `record`: for the fleet's followers.
    async fn lead_round(&self, record: bool) {
        if self.snapshot.peek().is_none() {
            // Nothing to bring up to date: build the first snapshot (through the fleet's cache of pages), then bring
            // it up to date like any other.
            if let Err(error) = self.snapshot.get().await {
                tracing::warn!(%error, "sync: cannot build the org snapshot; trying again next round");
                return;
            }
        }
        let Some((current, age)) = self.snapshot.peek_with_age() else { return };
        let full_due = {
            let full = self.full.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            full.wanted || full.last.elapsed() >= self.config.full_interval
        };
        if full_due {
            let until = Utc::now();
            if self.walk_everyone(true).await.is_some() && record {
                self.store.record_round(&SyncRound { kind: RoundKind::Full, since: until, until, lists: false }).await;
            }
            return;
        }
        let since = self.synced_to(&current, age) - span(self.config.overlap);
        let until = Utc::now();
        let changed = match self.keka.employees_changed_since(since).await {
            Ok(changed) => changed,
            Err(error) => {
                self.keka.client().metrics().sync_round("delta", false);
                tracing::warn!(%error, "sync: Keka did not say what changed; the snapshot ages until the next round");
                return;
            }
        };
        let lists = !self.keka.knows_groups_of(&changed);
        if lists {
            tracing::info!("sync: someone belongs to a group not loaded yet; reloading the org's small lists");
            self.keka.renew_org_lists().await;
        }
        if let Some(synced) = self.apply(&current, &changed, until).await {
            let unknown = synced.unknown_managers(&changed);
            if !unknown.is_empty() {
                tracing::warn!(
                    managers = unknown.len(),
                    "sync: some changed people report to managers the snapshot lacks; walking everyone next round"
                );
                self.full.lock().unwrap_or_else(std::sync::PoisonError::into_inner).wanted = true;
            }
        }
        self.keka.client().metrics().sync_round("delta", true);
        if record {
            self.store.record_round(&SyncRound { kind: RoundKind::Delta, since, until, lists }).await;
        }
    }

    /// Walks everyone again. `fresh`: from Keka, replacing the fleet's cached pages (the leader's walk); otherwise
    /// through them (a follower's, after the leader's).
    async fn walk_everyone(&self, fresh: bool) -> Option<Arc<OrgSnapshot>> {
        let started = Instant::now();
        self.keka.forget_employee_lists();
        let walked = if fresh {
            as_of::renewed_since(started, self.snapshot.renew()).await
        } else {
            self.snapshot.renew().await
        };
        self.keka.client().metrics().sync_round("full", walked.is_ok());
        match walked {
            Ok(snapshot) => {
                if fresh {
                    let mut full = self.full.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    *full = FullWalks { last: Instant::now(), wanted: false };
                }
                Some(snapshot)
            }
            Err(error) => {
                tracing::warn!(%error, "sync: a full walk failed; the snapshot stays as it was");
                None
            }
        }
    }

    /// Applies the fleet's rounds this replica's snapshot lacks, in order.
    async fn follow(&self) {
        let Some(rounds) = self.store.rounds().await else { return };
        if rounds.is_empty() {
            return;
        }
        if self.snapshot.peek().is_none() {
            // Every view of a syncing replica reads its snapshot: build it (from the fleet's cached pages, where
            // another replica walked recently), then bring it up to date.
            if let Err(error) = self.snapshot.get().await {
                tracing::warn!(%error, "sync: cannot build the org snapshot to follow the fleet's rounds");
                return;
            }
        }
        let Some((mut current, age)) = self.snapshot.peek_with_age() else { return };
        let mut synced_to = self.synced_to(&current, age);
        for round in rounds {
            if round.until <= synced_to {
                continue;
            }
            match round.kind {
                RoundKind::Full => match self.walk_everyone(false).await {
                    Some(walked) => {
                        synced_to = self.snapshot.age().map_or(round.until, wall_clock_of);
                        current = walked;
                    }
                    None => return,
                },
                RoundKind::Delta => {
                    // A round starting after the snapshot's date would leave a gap: catch up on our own instead.
                    let since =
                        if round.since <= synced_to { round.since } else { synced_to - span(self.config.overlap) };
                    let changed = match self.keka.employees_changed_since(since).await {
                        Ok(changed) => changed,
                        Err(error) => {
                            self.keka.client().metrics().sync_round("follow", false);
                            tracing::warn!(%error, "sync: cannot read a round's changes; trying again in a moment");
                            return;
                        }
                    };
                    if round.lists {
                        self.keka.expire_org_lists();
                    }
                    match self.apply(&current, &changed, round.until).await {
                        Some(synced) => {
                            current = synced;
                            synced_to = round.until;
                            self.keka.client().metrics().sync_round("follow", true);
                        }
                        None => return, // rebuilt meanwhile: look again next time
                    }
                }
            }
        }
    }

    /// Applies `changed` to `current`, dating the snapshot `until`; `None` if the snapshot was rebuilt meanwhile.
    async fn apply(
        &self,
        current: &Arc<OrgSnapshot>,
        changed: &[Arc<Employee>],
        until: DateTime<Utc>,
    ) -> Option<Arc<OrgSnapshot>> {
        let at = instant_of(until);
        let updated = (!changed.is_empty()).then(|| current.with_changes(changed));
        if !self.snapshot.amend(current, updated, Some(at)).await {
            return None;
        }
        let synced = self.snapshot.peek()?;
        *self.applied.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some((synced.clone(), until));
        self.keka.absorb_changes(changed, at);
        if !changed.is_empty() {
            self.keka.client().metrics().sync_changes(changed.len());
            tracing::info!(changed = changed.len(), "sync: applied changes to the org snapshot");
        }
        Some(synced)
    }

    /// The date `snapshot` (of this `age`) is up to date with: the last round applied to it, or, for a snapshot
    /// built since, its own date.
    fn synced_to(&self, snapshot: &Arc<OrgSnapshot>, age: Duration) -> DateTime<Utc> {
        match &*self.applied.lock().unwrap_or_else(std::sync::PoisonError::into_inner) {
            Some((applied, until)) if Arc::ptr_eq(applied, snapshot) => *until,
            _ => wall_clock_of(age),
        }
    }
}

/// The wall-clock time `age` ago.
fn wall_clock_of(age: Duration) -> DateTime<Utc> {
    Utc::now() - span(age)
}

/// The instant `until` stands for on this process's monotonic clock (now, for a time in the future).
fn instant_of(until: DateTime<Utc>) -> Instant {
    let ago = (Utc::now() - until).to_std().unwrap_or_default();
    Instant::now().checked_sub(ago).unwrap_or_else(Instant::now)
}

fn span(duration: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(duration).unwrap_or(chrono::TimeDelta::MAX)
}

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
//! - **The small lists** (groups, departments, locations, job titles) sync by `lastModified` too, every
//!   [`SyncConfig::lists_interval`] ([`CachedKeka::sync_org_lists`]); the full walk reloads them whole (deletions).
//! - **Leave** has no `lastModified`: a leave webhook drops that person's windows everywhere ([`OrgSync::leave_changed`]).
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
    /// Between two rounds of the org's small lists (groups, departments, locations, job titles): shorter than the
    /// cache TTL, so that they never expire while syncing.
    pub lists_interval: Duration,
}

impl Default for SyncConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(30),
            full_interval: Duration::from_secs(24 * 60 * 60),
            overlap: Duration::from_secs(5 * 60),
            debounce: Duration::from_secs(2),
            lists_interval: Duration::from_secs(4 * 60),
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
    /// A delta did not fit the snapshot, or its count drifted twice in a row: walk at the next round.
    wanted: bool,
    /// The last count check found the snapshot holding a different number of people than Keka lists.
    drifted: bool,
    /// The last round of the small lists this replica led (or its start).
    lists: Instant,
    /// The date of the last round of the small lists applied here, led or followed.
    lists_until: Option<DateTime<Utc>>,
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
            full: Mutex::new(FullWalks {
                last: Instant::now(),
                wanted: false,
                drifted: false,
                lists: Instant::now(),
                lists_until: None,
            }),
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

    /// A leave webhook: someone's leave changed (`identifier`: Keka's `employeeIndentifier`, an id or an employee
    /// number). Their windows of leave and attendance and their balances are dropped here at once, and, with
    /// Redis, at every replica within a second ([`Self::follow_leave`]); each is fetched again from Keka, once for
    /// the fleet. Leave has no `lastModified` to sync by: this is how a request made a minute ago shows.
    pub async fn leave_changed(&self, identifier: Option<&str>) {
        let snapshot = self.snapshot.peek();
        let employee_id = identifier.and_then(|identifier| {
            let snapshot = snapshot.as_ref()?;
            let found = snapshot.employee(identifier).or_else(|| {
                snapshot.employees().iter().find(|employee| employee.employee_number.as_deref() == Some(identifier))
            });
            found.map(|employee| employee.id.clone())
        });
        if employee_id.is_none() {
            tracing::info!("a leave webhook names nobody the snapshot knows; every window of leave is fetched again");
        }
        self.keka.leave_changed(employee_id.as_deref(), Instant::now());
        self.store.record_leave_change(employee_id.as_deref()).await;
    }

    /// Applies the leave changes other replicas heard of, every second, until dropped (pending at once without
    /// Redis, where [`Self::leave_changed`] has done everything).
    pub async fn follow_leave(self: Arc<Self>) {
        if !self.store.is_shared() {
            return std::future::pending().await;
        }
        let mut position: Option<String> = None;
        loop {
            if let Some(changes) = self.store.leave_changes_after(position.as_deref()).await {
                for change in changes {
                    // Only what was fetched before the change is dropped: a window this replica fetched since
                    // (or the replica that heard the webhook dropped already) stays.
                    self.keka.leave_changed(change.employee_id.as_deref(), instant_of(change.at));
                    position = Some(change.position);
                }
            }
            tokio::time::sleep(FOLLOW_POLL).await;
        }
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
            if self.walk_everyone(true).await.is_some() {
                // Deltas never show a deletion: the full walk's reload of the small lists does.
                self.keka.renew_org_lists().await;
                if record {
                    let round = SyncRound { kind: RoundKind::Full, since: until, until, lists: true };
                    self.store.record_round(&round).await;
                }
            }
            return;
        }
        let since = self.synced_to(&current, age) - span(self.config.overlap);
        let until = Utc::now();
        // Boxed: a whole Keka exchange inside the sync loop's future.
        let delta = Box::pin(self.keka.employees_changed_since(since));
        let changed = match as_of::renewed_since(answered_after(until), delta).await {
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
        let lists_due = {
            let full = self.full.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            full.lists.elapsed() >= self.config.lists_interval
        };
        if lists_due {
            self.lead_lists_round(record).await;
        }
    }

    /// A round of the small lists: what changed in each since the oldest of them (`lastModified`); and a check that
    /// the snapshot holds as many people as Keka lists (a deletion, or a change whose `lastModified` Keka did not
    /// move, shows no other way).
    async fn lead_lists_round(&self, record: bool) {
        self.full.lock().unwrap_or_else(std::sync::PoisonError::into_inner).lists = Instant::now();
        self.check_count().await;
        let Some(synced_to) = self.keka.org_lists_synced_to() else { return };
        let since = synced_to - span(self.config.overlap);
        let until = Utc::now();
        if self.sync_lists(since, until).await && record {
            self.store.record_round(&SyncRound { kind: RoundKind::Lists, since, until, lists: false }).await;
        }
    }

    async fn check_count(&self) {
        let Some(snapshot) = self.snapshot.peek() else { return };
        let listed = match self.keka.employee_count().await {
            Ok(Some(listed)) => listed,
            Ok(None) => return,
            Err(error) => {
                tracing::debug!(%error, "sync: cannot count Keka's employees; checking at the next round");
                return;
            }
        };
        let held = snapshot.employees().len() as u64;
        let mut full = self.full.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (drifted, walk) = drift(full.drifted, held, listed);
        full.drifted = drifted;
        if walk {
            tracing::warn!(
                held,
                listed,
                "sync: the snapshot's count drifted from Keka's twice; walking everyone next round"
            );
            full.wanted = true;
        }
    }

    /// Applies the small lists' changes since `since`, as they stood at `until`; false if Keka did not say.
    async fn sync_lists(&self, since: DateTime<Utc>, until: DateTime<Utc>) -> bool {
        let lists = Box::pin(self.keka.sync_org_lists(since, instant_of(until)));
        match as_of::renewed_since(answered_after(until), lists).await {
            Ok(changed) => {
                self.full.lock().unwrap_or_else(std::sync::PoisonError::into_inner).lists_until = Some(until);
                self.keka.client().metrics().sync_round("lists", true);
                if changed > 0 {
                    tracing::info!(changed, "sync: applied changes to the org's small lists");
                }
                true
            }
            Err(error) => {
                self.keka.client().metrics().sync_round("lists", false);
                tracing::warn!(%error, "sync: Keka did not say what changed in the small lists; they age until the next round");
                false
            }
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
                    full.last = Instant::now();
                    full.wanted = false;
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
            match round.kind {
                RoundKind::Lists => {
                    if self.lists_lack(&round) && !self.sync_lists(round.since, round.until).await {
                        return;
                    }
                }
                _ if round.until <= synced_to => {}
                RoundKind::Full => match self.walk_everyone(false).await {
                    Some(walked) => {
                        if round.lists {
                            self.keka.expire_org_lists();
                        }
                        synced_to = self.snapshot.age().map_or(round.until, wall_clock_of);
                        current = walked;
                    }
                    None => return,
                },
                RoundKind::Delta => {
                    // A round starting after the snapshot's date would leave a gap: catch up on our own instead.
                    let since =
                        if round.since <= synced_to { round.since } else { synced_to - span(self.config.overlap) };
                    // The leader's answer, fetched after the round's date, and never an older one to the same
                    // question (which would lack what changed since).
                    let delta = Box::pin(self.keka.employees_changed_since(since));
                    let changed = as_of::renewed_since(answered_after(round.until), delta);
                    let changed = match changed.await {
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

    /// Whether the small lists held here are older than a round of them: not when a round as late was applied
    /// here, nor when every list held was loaded after it.
    fn lists_lack(&self, round: &SyncRound) -> bool {
        let applied = self.full.lock().unwrap_or_else(std::sync::PoisonError::into_inner).lists_until;
        let loaded = self.keka.org_lists_synced_to();
        applied.max(loaded).is_none_or(|known| round.until > known)
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

/// Whether the snapshot's count (`held`) drifts from Keka's (`listed`), and whether to walk everyone: only when it
/// did at the check before too, since a change made between the last delta and the count drifts once, harmlessly.
fn drift(drifted_before: bool, held: u64, listed: u64) -> (bool, bool) {
    let drifted = held != listed;
    (drifted && !drifted_before, drifted && drifted_before)
}

/// The moment after which an answer to a round's question was fetched for that round (by this replica, or by the
/// leader for its followers): a cached answer to the same question from before could lack a change. A second's
/// allowance for the clocks of two hosts.
fn answered_after(until: DateTime<Utc>) -> Instant {
    let at = instant_of(until);
    at.checked_sub(Duration::from_secs(1)).unwrap_or(at)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_count_that_drifts_twice_in_a_row_asks_for_a_walk_and_once_does_not() {
        assert_eq!(drift(false, 100, 100), (false, false));
        assert_eq!(drift(false, 100, 101), (true, false), "once: a hire between the delta and the count");
        assert_eq!(drift(true, 101, 101), (false, false), "the next delta brought it");
        assert_eq!(drift(true, 100, 99), (false, true), "twice: walk, and start counting afresh");
    }
}

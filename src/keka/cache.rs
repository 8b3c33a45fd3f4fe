//! `CachedKeka`: TTL caches in front of [`KekaClient`], so repeated questions cost Keka nothing.
//!
//! - Concurrent misses of one key share one upstream request (`try_get_with`).
//! - Employees seen in any list or page also answer later lookups by id, so a batch by ids
//!   only asks Keka for the ids not already cached.
//! - An entry expires a TTL after the Keka answer behind it was fetched, not after it entered this cache: an answer
//!   another replica fetched four minutes earlier (read from the fleet's cache) has one minute left here too
//!   ([`crate::upstream::as_of`]).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Datelike as _, NaiveDate, Utc};
use futures::FutureExt as _;
use moka::future::Cache;

use super::client::{EmployeeFilter, KekaClient, PreboardingFilter};
use super::error::KekaError;
use super::models::{
    AttendanceDay, Candidate, Department, Employee, EmployeeLeaveBalances, Group, GroupFilter, GroupType, Job,
    JobStatus, JobTitle, LeaveRequest, LeaveType, Location, PreboardingCandidate, RawRecord,
};
use super::pagination::{Page, PageRequest, walk_pages};

/// Bytes of employees' raw records kept in-process (about 0.7 KB each with a dictionary, 2.2 KB without): the
/// records of a few thousand people a client has looked at, never the whole org's.
const EMPLOYEE_RECORD_BYTES: u64 = 4 * 1024 * 1024;
use tokio::time::Instant;

use crate::upstream::{Freshness, Refreshing, RequestContext, as_of, serve_stale};

/// How long and how much to cache.
#[derive(Debug, Clone, Copy)]
pub struct CacheConfig {
    pub ttl: Duration,
    /// How long past the TTL the last good copy of a small list (groups, group types, departments, locations,
    /// job titles, leave types) is still served, marked stale, when reloading it fails. Zero: never.
    pub stale_if_error: Duration,
    /// How long a window of leave or attendance that reaches into this week is kept (at most `ttl`): requests,
    /// approvals and punches change it by the hour.
    pub current_window_ttl: Duration,
    /// How long a window that closed before this week is kept (at least `ttl`): it changes only by late
    /// corrections, which a leave webhook announces.
    pub past_window_ttl: Duration,
    /// Upper bound on cached employees (by id).
    pub max_employees: u64,
    /// Upper bound on cached list answers (pages, windows, per-job candidate lists…).
    pub max_lists: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(300),
            stale_if_error: Duration::ZERO,
            current_window_ttl: Duration::from_secs(60),
            past_window_ttl: Duration::from_secs(60 * 60),
            max_employees: 100_000,
            max_lists: 10_000,
        }
    }
}

type Shared<T> = Arc<T>;

/// A cached value and when the Keka answer behind it was fetched.
#[derive(Clone)]
struct Aged<V> {
    value: V,
    fetched_at: Instant,
    /// What is left of the TTL, counted from `fetched_at`, when the value entered the cache.
    expires_in: Duration,
}

impl<V> Aged<V> {
    /// `fetched_at`: as [`as_of::track`] says (`None`: just now).
    fn new(value: V, fetched_at: Option<Instant>, ttl: Duration) -> Self {
        let now = Instant::now();
        let fetched_at = fetched_at.unwrap_or(now);
        Self { value, fetched_at, expires_in: ttl.saturating_sub(now.saturating_duration_since(fetched_at)) }
    }

    /// The value, after telling the work using it how old it is.
    fn served(self) -> V {
        as_of::note(self.fetched_at);
        self.value
    }
}

/// Expires each entry when the answer behind it does, whether it is new or replaces an older one, or (the last good
/// copies kept for stale-if-error) that long plus an allowance.
struct WithItsAnswer(Duration);

impl<K, V> moka::Expiry<K, Aged<V>> for WithItsAnswer {
    fn expire_after_create(&self, _: &K, value: &Aged<V>, _: std::time::Instant) -> Option<Duration> {
        Some(value.expires_in + self.0)
    }

    fn expire_after_update(
        &self,
        _: &K,
        value: &Aged<V>,
        _: std::time::Instant,
        _: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.expires_in + self.0)
    }
}

type AgedCache<K, V> = Cache<K, Aged<V>>;

/// Answers of one kind, by key: each served within its TTL, and the last good copy of each kept for the
/// stale-if-error allowance past it, served (marked stale) only when fetching it again fails.
struct Answers<K, V> {
    fresh: AgedCache<K, V>,
    /// `None` without an allowance.
    last_good: Option<AgedCache<K, V>>,
}

impl<K, V> Clone for Answers<K, V> {
    fn clone(&self) -> Self {
        Self { fresh: self.fresh.clone(), last_good: self.last_good.clone() }
    }
}

impl<K, V> Answers<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn new(name: &str, capacity: u64, stale_if_error: Duration) -> Self {
        let last_good = (!stale_if_error.is_zero()).then(|| {
            Cache::builder()
                .name(name)
                .max_capacity(capacity)
                .expire_after(WithItsAnswer(stale_if_error))
                .support_invalidation_closures()
                .build()
        });
        let fresh = Cache::builder()
            .name(name)
            .max_capacity(capacity)
            .expire_after(WithItsAnswer(Duration::ZERO))
            .support_invalidation_closures()
            .build();
        Self { fresh, last_good }
    }

    async fn keep(&self, key: K, answer: &Aged<V>) {
        if let Some(last_good) = &self.last_good {
            last_good.insert(key, answer.clone()).await;
        }
    }

    /// The last good copy, for when fetching it again failed (never while the work must see Keka as it is now).
    async fn last_good(&self, key: &K) -> Option<Aged<V>> {
        if as_of::renewing() {
            return None;
        }
        self.last_good.as_ref()?.get(key).await
    }

    /// Answers held here now are fetched again when next asked for (their last good copies stay for
    /// stale-if-error).
    fn invalidate_all(&self) {
        self.fresh.invalidate_all();
    }

    /// Drops the answers whose key matches and that were fetched before `before` (their last good copies stay for
    /// stale-if-error).
    fn invalidate_if(&self, before: Instant, matches: impl Fn(&K) -> bool + Send + Sync + 'static) {
        let dropped = self.fresh.invalidate_entries_if(move |key, answer| answer.fetched_at < before && matches(key));
        if let Err(error) = dropped {
            // Only when the cache was built without invalidation closures, which `new` always enables.
            tracing::error!(%error, "cannot invalidate cached answers; dropping them all");
            self.fresh.invalidate_all();
        }
    }
}

/// One fetch of employees by id, shared by every request waiting for one of its ids: each id asked, with the
/// employee or `None` when Keka does not know it.
type EmployeeBatch = futures::future::Shared<
    futures::future::BoxFuture<'static, Result<Arc<HashMap<String, Option<Shared<Employee>>>>, KekaError>>,
>;

/// Employee ids (sorted; empty = everyone) and an inclusive date window.
type WindowKey = (Vec<String>, NaiveDate, NaiveDate);

#[derive(Clone)]
pub struct CachedKeka {
    client: KekaClient,
    ttl: Duration,
    windows: WindowTtls,
    /// When the sync last took in changed people: lists of people fetched before then (here or by another replica)
    /// are fetched again rather than served.
    people_changed: Arc<std::sync::Mutex<Option<Instant>>>,
    /// When leave last changed (a leave webhook), by employee id: their windows are fetched again, past every
    /// cache, until they are older than that.
    leave_changed: Arc<LeaveChanges>,
    // Synchronous: looking a person up never suspends, so every look-up a resolver makes in one poll lands in the
    // same DataLoader batch (an async `get` may wait on moka's housekeeping and split a batch under load).
    employees: moka::sync::Cache<String, Aged<Shared<Employee>>>,
    /// The last good copy of each employee, for stale-if-error (`None` without an allowance).
    employees_last_good: Option<moka::sync::Cache<String, Aged<Shared<Employee>>>>,
    /// Ids Keka did not return when asked: not asked again within the TTL.
    unknown_employee_ids: moka::sync::Cache<String, ()>,
    /// Ids being fetched now, each with the batch fetching it: a request asking for an id already on its way
    /// (for any other request) waits for that batch instead of asking Keka again.
    employee_batches: Arc<std::sync::Mutex<HashMap<String, EmployeeBatch>>>,
    /// Employees' records as Keka sent them, read only when asked for (`Employee.raw`), bounded by their bytes.
    employee_records: moka::sync::Cache<String, RawRecord>,
    employee_pages: Answers<(EmployeeFilter, PageRequest), Shared<Page<Shared<Employee>>>>,
    employee_lists: Answers<EmployeeFilter, Shared<Vec<Shared<Employee>>>>,
    employee_ids_by_email: Answers<String, Option<String>>,
    /// The small lists, each reloaded as one value: one reload at a time, stale-if-error past the TTL (the same
    /// mechanism as the org snapshot's, [`Refreshing`]). Groups have one list per filter.
    list_freshness: Freshness,
    groups: moka::sync::Cache<GroupFilter, ListSource<Group>>,
    group_types: ListSource<GroupType>,
    departments: ListSource<Department>,
    locations: ListSource<Location>,
    job_titles: ListSource<JobTitle>,
    leave_types: ListSource<LeaveType>,
    leave_requests: Answers<WindowKey, Shared<Vec<Shared<LeaveRequest>>>>,
    leave_balances: Answers<Vec<String>, Shared<Vec<EmployeeLeaveBalances>>>,
    attendance: Answers<WindowKey, Shared<Vec<AttendanceDay>>>,
    jobs: Answers<Option<JobStatus>, Shared<Vec<Job>>>,
    candidates: Answers<(String, bool), Shared<Vec<Candidate>>>,
    preboarding: Answers<PreboardingFilter, Shared<Vec<PreboardingCandidate>>>,
    /// Leave requests seen in any window, by id (Keka has no get-by-id for them).
    leave_requests_by_id: AgedCache<String, Shared<LeaveRequest>>,
    /// Candidates seen in any job's list, by id, with their job's id (Keka has no get-by-id for them).
    candidates_by_id: AgedCache<String, (String, Shared<Candidate>)>,
}

impl std::fmt::Debug for CachedKeka {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedKeka").field("client", &self.client).finish_non_exhaustive()
    }
}

/// A cache whose entries expire with the answers behind them (at most `ttl` after they were fetched).
fn cache<K, V>(name: &str, capacity: u64) -> AgedCache<K, V>
where
    K: Hash + Eq + Send + Sync + 'static,
    V: Clone + Send + Sync + 'static,
{
    Cache::builder().name(name).max_capacity(capacity).expire_after(WithItsAnswer(Duration::ZERO)).build()
}

/// A small list of Keka's, reloaded as one value.
type ListSource<T> = Arc<Refreshing<Vec<T>, KekaError>>;

/// A list reloaded by `load` on the client.
fn list_source<T, F, Fut>(what: &'static str, client: &KekaClient, freshness: Freshness, load: F) -> ListSource<T>
where
    T: Send + Sync + 'static,
    F: Fn(KekaClient) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Vec<T>, KekaError>> + Send + 'static,
{
    let client = client.clone();
    Refreshing::new(what, freshness, move || Box::pin(load(client.clone())))
}

impl CachedKeka {
    /// A small list: within its TTL as is; past it, reloaded (once, whoever asks), or, while Keka fails, the last
    /// good copy within the stale-if-error allowance, marked stale.
    async fn list<T>(&self, name: &'static str, source: &ListSource<T>) -> Result<Shared<Vec<T>>, KekaError>
    where
        T: Send + Sync + 'static,
    {
        self.client.metrics().cache_lookup(name, source.fresh().is_some());
        source.get().await
    }

    /// A cache lookup that loads on a miss (concurrent misses of one key share one load) and counts hits and misses.
    /// A new answer is kept for `ttl`; when loading fails, the last good copy serves within the stale-if-error
    /// allowance, marked stale.
    async fn through<K, V, F>(
        &self,
        name: &'static str,
        answers: &Answers<K, V>,
        key: K,
        ttl: Duration,
        load: F,
    ) -> Result<V, KekaError>
    where
        K: Hash + Eq + Clone + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
        F: Future<Output = Result<V, KekaError>>,
    {
        let cache = &answers.fresh;
        if as_of::renewing()
            && let Some(held) = cache.get(&key).await
            && !as_of::usable(held.fetched_at)
        {
            cache.invalidate(&key).await;
        }
        let missed = std::sync::atomic::AtomicBool::new(false);
        let shared = cache.try_get_with(key.clone(), async {
            missed.store(true, std::sync::atomic::Ordering::Relaxed);
            // Boxed: the load is a whole Keka exchange, held inside moka's future inside ours.
            let (loaded, fetched_at) = Box::pin(as_of::track(load)).await;
            let answer = Aged::new(loaded?, fetched_at, ttl);
            answers.keep(key.clone(), &answer).await;
            Ok::<_, KekaError>(answer)
        });
        // The load may be someone else's (a background snapshot walk has no deadline): wait only as long as ours.
        let result = match RequestContext::within_deadline(shared).await {
            Ok(result) => result.map_err(unshare),
            Err(passed) => Err(KekaError::from(passed)),
        };
        self.client.metrics().cache_lookup(name, !missed.load(std::sync::atomic::Ordering::Relaxed));
        match result {
            Ok(answer) => Ok(answer.served()),
            Err(error) => match answers.last_good(&key).await {
                Some(stale) => {
                    let age = stale.fetched_at.elapsed();
                    Ok(serve_stale(name, stale.served(), age, &error))
                }
                None => Err(error),
            },
        }
    }
}

/// moka hands shared errors out as `Arc<E>`; ours is cheap to clone.
fn unshare(error: Arc<KekaError>) -> KekaError {
    Arc::unwrap_or_clone(error)
}

impl CachedKeka {
    pub fn new(client: KekaClient, config: CacheConfig) -> Self {
        let CacheConfig { ttl, stale_if_error, max_employees, max_lists, .. } = config;
        let list_freshness = Freshness { ttl, grace: Duration::ZERO, stale_if_error };
        Self {
            client: client.clone(),
            ttl,
            windows: WindowTtls {
                current: config.current_window_ttl.min(ttl),
                default: ttl,
                past: config.past_window_ttl.max(ttl),
            },
            leave_changed: Arc::new(LeaveChanges::new(config.past_window_ttl.max(ttl))),
            people_changed: Arc::default(),
            employees: moka::sync::Cache::builder()
                .name("employees")
                .max_capacity(max_employees)
                .expire_after(WithItsAnswer(Duration::ZERO))
                .build(),
            employees_last_good: (!stale_if_error.is_zero()).then(|| {
                moka::sync::Cache::builder()
                    .name("employees_last_good")
                    .max_capacity(max_employees)
                    .expire_after(WithItsAnswer(stale_if_error))
                    .build()
            }),
            unknown_employee_ids: moka::sync::Cache::builder()
                .name("unknown_employee_ids")
                .max_capacity(max_employees)
                .time_to_live(ttl)
                .build(),
            employee_batches: Arc::default(),
            employee_records: moka::sync::Cache::builder()
                .name("employee_records")
                .weigher(|_, record: &RawRecord| u32::try_from(record.stored_bytes() + 64).unwrap_or(u32::MAX))
                .max_capacity(EMPLOYEE_RECORD_BYTES)
                .time_to_live(ttl)
                .build(),
            employee_pages: Answers::new("employee_pages", max_lists, stale_if_error),
            employee_lists: Answers::new("employee_lists", 64, stale_if_error),
            employee_ids_by_email: Answers::new("employee_ids_by_email", max_employees, stale_if_error),
            list_freshness,
            groups: moka::sync::Cache::builder().name("groups").max_capacity(64).build(),
            group_types: list_source("group types", &client, list_freshness, |client| async move {
                client.group_types().await
            }),
            departments: list_source("departments", &client, list_freshness, |client| async move {
                client.departments(None).await
            }),
            locations: list_source("locations", &client, list_freshness, |client| async move {
                client.locations(None).await
            }),
            job_titles: list_source("job titles", &client, list_freshness, |client| async move {
                client.job_titles(None).await
            }),
            leave_types: list_source("leave types", &client, list_freshness, |client| async move {
                client.leave_types().await
            }),
            leave_requests: Answers::new("leave_requests", max_lists, stale_if_error),
            leave_balances: Answers::new("leave_balances", max_lists, stale_if_error),
            attendance: Answers::new("attendance", max_lists, stale_if_error),
            jobs: Answers::new("jobs", 16, stale_if_error),
            candidates: Answers::new("candidates", max_lists, stale_if_error),
            preboarding: Answers::new("preboarding", 64, stale_if_error),
            leave_requests_by_id: Cache::builder()
                .name("leave_requests_by_id")
                .max_capacity(max_employees)
                .expire_after(WithItsAnswer(Duration::ZERO))
                .support_invalidation_closures()
                .build(),
            candidates_by_id: cache("candidates_by_id", max_employees),
        }
    }

    /// Drops every cached answer (small lists expire but stay, for stale-if-error): the next look-up of each goes
    /// to the fleet's cache or to Keka.
    pub fn forget_answers(&self) {
        self.employees.invalidate_all();
        self.employee_records.invalidate_all();
        self.unknown_employee_ids.invalidate_all();
        self.forget_employee_lists();
        self.expire_org_lists();
        self.leave_types.expire();
        self.leave_requests.invalidate_all();
        self.leave_balances.invalidate_all();
        self.attendance.invalidate_all();
        self.jobs.invalidate_all();
        self.candidates.invalidate_all();
        self.preboarding.invalidate_all();
        self.leave_requests_by_id.invalidate_all();
        self.candidates_by_id.invalidate_all();
    }

    /// Everyone whose record changed since `since` (Keka's `lastModified`), fetched through the fleet's cache: the
    /// sync's followers read the answer the leading replica fetched.
    pub async fn employees_changed_since(&self, since: DateTime<Utc>) -> Result<Vec<Shared<Employee>>, KekaError> {
        let filter = EmployeeFilter { modified_since: Some(since), ..EmployeeFilter::default() };
        Ok(self.all_employees(&filter).await?.to_vec())
    }

    /// Takes in the sync's changes, as of `at`: look-ups by id answer the new records (and no longer call a hire
    /// unknown), and every answer that lists people (pages, email look-ups) is dropped, since any of them may now
    /// be wrong.
    pub fn absorb_changes(&self, changed: &[Shared<Employee>], at: Instant) {
        if changed.is_empty() {
            return;
        }
        for employee in changed {
            self.employee_records.invalidate(&employee.id);
            self.remember_employee(employee.clone(), Some(at));
            self.unknown_employee_ids.invalidate(&employee.id);
        }
        let mut people_changed = self.people_changed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *people_changed = Some(people_changed.map_or(at, |known| known.max(at)));
        drop(people_changed);
        self.forget_employee_lists();
    }

    /// `load`, a list of people matching `filter`, made to read past every copy older than the last change the sync
    /// took in: the fleet's page of probationers, fetched before a hire, would otherwise lack them for its TTL. The
    /// sync's own deltas (`modified_since`) are dated by their rounds and need no renewal.
    fn after_people_changed<F: Future>(
        &self,
        filter: &EmployeeFilter,
        load: F,
    ) -> impl Future<Output = F::Output> + use<F> {
        let since = *self.people_changed.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let since = since.filter(|_| filter.modified_since.is_none());
        // Boxed: the load is a whole Keka exchange, and this wrapper sits between two more futures that hold it.
        let load = Box::pin(load);
        async move {
            match since {
                Some(since) => as_of::renewed_since(since, load).await,
                None => load.await,
            }
        }
    }

    /// Drops the pages and lists of employees (and email look-ups) held here; the fleet's copies stay.
    pub fn forget_employee_lists(&self) {
        self.employee_pages.invalidate_all();
        self.employee_lists.invalidate_all();
        self.employee_ids_by_email.invalidate_all();
    }

    /// Whether the groups held here (if any) know every group of these people: a group they do not know was
    /// created since they were loaded.
    pub fn knows_groups_of<'a>(&self, people: impl IntoIterator<Item = &'a Shared<Employee>>) -> bool {
        let Some(groups) = self.groups.get(&GroupFilter::default()).and_then(|source| source.peek()) else {
            return true;
        };
        people.into_iter().flat_map(|employee| &employee.groups).all(|group| groups.iter().any(|g| g.id == group.id))
    }

    /// The org's small lists (groups, group types, departments, locations, job titles): each reloaded by the next
    /// look-up.
    pub fn expire_org_lists(&self) {
        for (_, groups) in &self.groups {
            groups.expire();
        }
        self.group_types.expire();
        self.departments.expire();
        self.locations.expire();
        self.job_titles.expire();
    }

    /// Reloads each of the org's small lists held here now, from Keka, not from any cache (the fleet's copies are
    /// replaced too).
    pub async fn renew_org_lists(&self) {
        let since = Instant::now();
        let mut sources: Vec<ListSource<Group>> = self.groups.iter().map(|(_, source)| source).collect();
        sources.retain(|source| source.peek().is_some());
        let failed = as_of::renewed_since(since, async {
            let groups = futures::future::join_all(sources.iter().map(|source| source.renew()));
            let (groups, types, departments, locations, titles) = futures::join!(
                groups,
                renew_held(&self.group_types),
                renew_held(&self.departments),
                renew_held(&self.locations),
                renew_held(&self.job_titles),
            );
            groups.iter().filter(|renewed| renewed.is_err()).count()
                + [types, departments, locations, titles].iter().filter(|ok| !**ok).count()
        })
        .await;
        if failed > 0 {
            tracing::warn!(failed, "some of the org's small lists could not be reloaded; they expire instead");
            self.expire_org_lists();
        }
    }

    /// Brings each of the org's small lists held here up to date with Keka's changes since `since` (`lastModified`),
    /// dating them `at`: the changed items replace those with their ids, new ones join. A list whose date is older
    /// than `since` would miss what changed in between, and expires instead (the next look reloads it whole); group
    /// types have no `lastModified` and keep their TTL. Deletions do not show in a delta: the full walk's reload
    /// ([`Self::renew_org_lists`]) catches them. Returns how many items changed.
    pub async fn sync_org_lists(&self, since: DateTime<Utc>, at: Instant) -> Result<usize, KekaError> {
        let client = &self.client;
        let filters: Vec<(GroupFilter, ListSource<Group>)> =
            self.groups.iter().map(|(filter, source)| (GroupFilter::clone(&filter), source)).collect();
        let groups = futures::future::try_join_all(filters.iter().map(|(filter, source)| {
            let filter = GroupFilter { last_modified: Some(super::models::KekaDate(since)), ..filter.clone() };
            amend_list(source, since, at, |group| &group.id, async move { client.groups(&filter).await })
        }));
        let (groups, departments, locations, titles) = futures::try_join!(
            groups,
            amend_list(&self.departments, since, at, |department| &department.id, client.departments(Some(since))),
            amend_list(&self.locations, since, at, |location| &location.id, client.locations(Some(since))),
            amend_list(&self.job_titles, since, at, |title| &title.id, client.job_titles(Some(since))),
        )?;
        Ok(groups.into_iter().sum::<usize>() + departments + locations + titles)
    }

    /// How many people Keka lists now (its `totalRecords` on a page of one, asked past every cache): the sync's
    /// check that the snapshot has not drifted. `None` when Keka does not say.
    pub async fn employee_count(&self) -> Result<Option<u64>, KekaError> {
        let one = PageRequest::new(1, 1);
        let everyone = EmployeeFilter::default();
        let page = as_of::renewed_since(Instant::now(), self.client.employees_page(&everyone, one)).await?;
        Ok(page.total_records)
    }

    /// The oldest date among the org's small lists held here that sync by `lastModified`: what they are all up to
    /// date with. `None` when none is held.
    pub fn org_lists_synced_to(&self) -> Option<DateTime<Utc>> {
        let mut ages: Vec<Duration> = self.groups.iter().filter_map(|(_, source)| source.age()).collect();
        ages.extend([self.departments.age(), self.locations.age(), self.job_titles.age()].into_iter().flatten());
        let oldest = ages.into_iter().max()?;
        Some(Utc::now() - chrono::TimeDelta::from_std(oldest).unwrap_or(chrono::TimeDelta::MAX))
    }

    /// The uncached client underneath (for counters and readiness checks).
    pub fn client(&self) -> &KekaClient {
        &self.client
    }

    /// Keeps each employee for look-ups by id, as old as the answer (`fetched_at`, from [`as_of::track`]) it
    /// came in.
    fn remember_employees(&self, employees: Vec<Employee>, fetched_at: Option<Instant>) -> Vec<Shared<Employee>> {
        let mut shared = Vec::with_capacity(employees.len());
        for employee in employees {
            let employee = Arc::new(employee);
            self.remember_employee(employee.clone(), fetched_at);
            shared.push(employee);
        }
        shared
    }

    fn remember_employee(&self, employee: Shared<Employee>, fetched_at: Option<Instant>) {
        let aged = Aged::new(employee, fetched_at, self.ttl);
        if let Some(last_good) = &self.employees_last_good {
            last_good.insert(aged.value.id.clone(), aged.clone());
        }
        self.employees.insert(aged.value.id.clone(), aged);
    }

    /// When fetching `missing` failed: their last good copies, if every one of them has one, served stale with
    /// those already `found`. An id without one fails the whole look-up: answering it "unknown" would be a lie.
    fn stale_employees(
        &self,
        mut found: HashMap<String, Shared<Employee>>,
        missing: &[String],
        error: KekaError,
    ) -> Result<HashMap<String, Shared<Employee>>, KekaError> {
        let Some(last_good) = self.employees_last_good.as_ref().filter(|_| !as_of::renewing()) else {
            return Err(error);
        };
        let mut oldest = None::<Instant>;
        for id in missing {
            let Some(stale) = last_good.get(id) else { return Err(error) };
            oldest = Some(oldest.map_or(stale.fetched_at, |oldest| oldest.min(stale.fetched_at)));
            found.insert(id.clone(), stale.served());
        }
        let age = oldest.map(|oldest| oldest.elapsed()).unwrap_or_default();
        Ok(serve_stale("employees", found, age, &error))
    }

    /// The employee if it is cached; never calls Keka.
    /// Employees' records as Keka sent them, by id: from the cache, else one `employeeIds=` request per chunk of the
    /// rest (through the fleet's cache). Unknown ids are absent.
    pub async fn employee_records(&self, ids: &[String]) -> Result<HashMap<String, RawRecord>, KekaError> {
        let mut found = HashMap::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            match self.employee_records.get(id) {
                Some(record) => {
                    found.insert(id.clone(), record);
                }
                None => missing.push(id.clone()),
            }
            self.client.metrics().cache_lookup("employee_records", found.contains_key(id));
        }
        if missing.is_empty() {
            return Ok(found);
        }
        let fetched =
            self.after_people_changed(&EmployeeFilter::default(), self.client.employee_records(&missing)).await?;
        for record in fetched {
            self.employee_records.insert(record.id.clone(), record.raw.clone());
            found.insert(record.id, record.raw);
        }
        Ok(found)
    }

    pub fn cached_employee(&self, id: &str) -> Option<Shared<Employee>> {
        self.employees.get(id).map(Aged::served)
    }

    /// Employees by id, from the cache where possible; one `employeeIds=` batch (per chunk) for the rest.
    /// Unknown ids are absent from the map.
    pub async fn employees_by_ids(&self, ids: &[String]) -> Result<HashMap<String, Shared<Employee>>, KekaError> {
        let mut found = HashMap::with_capacity(ids.len());
        let mut missing = Vec::new();
        for id in ids {
            if found.contains_key(id) {
                continue;
            }
            let cached = self.employees.get(id).map(Aged::served);
            self.client.metrics().cache_lookup("employees", cached.is_some());
            match cached {
                Some(employee) => {
                    found.insert(id.clone(), employee);
                }
                None if self.unknown_employee_ids.contains_key(id) => {}
                None => missing.push(id.clone()),
            }
        }
        if missing.is_empty() {
            return Ok(found);
        }
        missing.sort_unstable();
        missing.dedup();
        let batches = self.join_or_start_batches(missing.clone());
        // A batch may be another request's, which may have no deadline: wait only as long as ours.
        let fetched = match RequestContext::within_deadline(futures::future::try_join_all(batches)).await {
            Ok(Ok(fetched)) => fetched,
            Ok(Err(error)) => return self.stale_employees(found, &missing, error),
            Err(passed) => return self.stale_employees(found, &missing, KekaError::from(passed)),
        };
        for batch in fetched {
            for (id, employee) in batch.iter() {
                if let Some(employee) = employee {
                    found.insert(id.clone(), employee.clone());
                }
            }
        }
        Ok(found)
    }

    /// The batches that will bring `ids`: those already fetching some of them (for any request), and one new batch
    /// for the rest. Registered under one lock, so two requests never both fetch an id.
    fn join_or_start_batches(&self, ids: Vec<String>) -> Vec<EmployeeBatch> {
        let mut in_flight = self.employee_batches.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut batches: Vec<EmployeeBatch> = Vec::new();
        let mut rest = Vec::new();
        for id in ids {
            match in_flight.get(&id) {
                Some(batch) if !batches.iter().any(|known| known.ptr_eq(batch)) => batches.push(batch.clone()),
                Some(_) => {}
                None => rest.push(id),
            }
        }
        if !rest.is_empty() {
            let batch = self.employee_batch(rest.clone());
            for id in rest {
                in_flight.insert(id, batch.clone());
            }
            batches.push(batch);
        }
        batches
    }

    /// One `employeeIds=` fetch (chunked by the client) that answers every id asked, `None` for ids Keka does not
    /// know (remembered as unknown for the TTL), and leaves the in-flight registry when done.
    ///
    /// It runs as a task of its own, in the context (deadline, counts) of the request that started it: requests
    /// waiting for it may give up, but the fetch always ends, so no id stays registered behind a fetch nobody
    /// drives.
    fn employee_batch(&self, ids: Vec<String>) -> EmployeeBatch {
        let keka = self.clone();
        let fetch = async move {
            let (employees, fetched_at) = as_of::track(keka.client.employees_by_ids(&ids)).await;
            let outcome = employees.map(|employees| {
                let mut answers: HashMap<String, Option<Shared<Employee>>> =
                    ids.iter().map(|id| (id.clone(), None)).collect();
                for employee in keka.remember_employees(employees, fetched_at) {
                    answers.insert(employee.id.clone(), Some(employee));
                }
                for (id, employee) in &answers {
                    if employee.is_none() {
                        keka.unknown_employee_ids.insert(id.clone(), ());
                    }
                }
                Arc::new(answers)
            });
            let mut in_flight = keka.employee_batches.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            for id in &ids {
                in_flight.remove(id);
            }
            outcome
        };
        let task = match RequestContext::current() {
            Some(context) => tokio::spawn(context.scope(fetch)),
            None => tokio::spawn(fetch),
        };
        let joined: futures::future::BoxFuture<'static, _> = Box::pin(async move {
            task.await.unwrap_or_else(|failed| {
                tracing::error!(error = %failed, "a fetch of employees by id did not finish");
                Err(KekaError::InvalidRequest("a fetch of employees by id did not finish".to_owned()))
            })
        });
        joined.shared()
    }

    pub async fn employee(&self, id: &str) -> Result<Option<Shared<Employee>>, KekaError> {
        Ok(self.employees_by_ids(&[id.to_owned()]).await?.remove(id))
    }

    /// One page of employees; its members also fill the by-id cache.
    pub async fn employees_page(
        &self,
        filter: &EmployeeFilter,
        page: PageRequest,
    ) -> Result<Shared<Page<Shared<Employee>>>, KekaError> {
        let load = self.after_people_changed(filter, async {
            let (page, fetched_at) = as_of::track(self.client.employees_page(filter, page)).await;
            let Page { items, number, size, total_pages, total_records, has_next } = page?;
            let items = self.remember_employees(items, fetched_at);
            Ok::<_, KekaError>(Arc::new(Page { items, number, size, total_pages, total_records, has_next }))
        });
        self.through("employee_pages", &self.employee_pages, (filter.clone(), page), self.ttl, load).await
    }

    /// Every employee matching `filter` (a full walk); its members also fill the by-id cache.
    pub async fn all_employees(&self, filter: &EmployeeFilter) -> Result<Shared<Vec<Shared<Employee>>>, KekaError> {
        let load = self.after_people_changed(filter, async {
            let (employees, fetched_at) = as_of::track(self.client.all_employees(filter)).await;
            Ok::<_, KekaError>(Arc::new(self.remember_employees(employees?, fetched_at)))
        });
        self.through("employee_lists", &self.employee_lists, filter.clone(), self.ttl, load).await
    }

    /// Walks every employee matching `filter` through the page cache (`pageSize` = the client's
    /// page size), so pages already fetched for Relay windows are not fetched again.
    pub async fn walk_employee_pages(&self, filter: &EmployeeFilter) -> Result<Vec<Shared<Employee>>, KekaError> {
        let size = self.client.config().page_size;
        walk_pages(|page| async move { self.employees_page(filter, page).await.map(|page| Page::clone(&page)) }, size)
            .await
    }

    /// The employee whose work email this is (case-insensitive), or `None`.
    pub async fn employee_by_work_email(&self, email: &str) -> Result<Option<Shared<Employee>>, KekaError> {
        let key = email.trim().to_lowercase();
        let load = self.after_people_changed(&EmployeeFilter::default(), async {
            let (employee, fetched_at) = as_of::track(self.client.employee_by_work_email(&key)).await;
            Ok::<_, KekaError>(
                employee?.map(|employee| self.remember_employees(vec![employee], fetched_at).remove(0).id.clone()),
            )
        });
        let id =
            self.through("employee_ids_by_email", &self.employee_ids_by_email, key.clone(), self.ttl, load).await?;
        match id {
            Some(id) => self.employee(&id).await,
            None => Ok(None),
        }
    }

    pub async fn groups(&self, filter: &GroupFilter) -> Result<Shared<Vec<Group>>, KekaError> {
        let source = self.groups.get_with_by_ref(filter, || {
            let filter = filter.clone();
            list_source("groups", &self.client, self.list_freshness, move |client| {
                let filter = filter.clone();
                async move { client.groups(&filter).await }
            })
        });
        self.list("groups", &source).await
    }

    pub async fn group_types(&self) -> Result<Shared<Vec<GroupType>>, KekaError> {
        self.list("group_types", &self.group_types).await
    }

    pub async fn departments(&self) -> Result<Shared<Vec<Department>>, KekaError> {
        self.list("departments", &self.departments).await
    }

    pub async fn locations(&self) -> Result<Shared<Vec<Location>>, KekaError> {
        self.list("locations", &self.locations).await
    }

    pub async fn job_titles(&self) -> Result<Shared<Vec<JobTitle>>, KekaError> {
        self.list("job_titles", &self.job_titles).await
    }

    pub async fn leave_types(&self) -> Result<Shared<Vec<LeaveType>>, KekaError> {
        self.list("leave_types", &self.leave_types).await
    }

    pub async fn leave_requests(
        &self,
        employee_ids: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Shared<Vec<Shared<LeaveRequest>>>, KekaError> {
        let ttl = self.windows.of(from, to, today());
        let key = (sorted(employee_ids), from, to);
        let load = self.leave_changed.renewed_for(employee_ids, async {
            let client = self.client.sharing_for(ttl);
            let (requests, fetched_at) = as_of::track(client.leave_requests(employee_ids, from, to)).await;
            let requests: Vec<Shared<LeaveRequest>> = requests?.into_iter().map(Arc::new).collect();
            for request in &requests {
                let aged = Aged::new(request.clone(), fetched_at, ttl);
                self.leave_requests_by_id.insert(request.id.clone(), aged).await;
            }
            Ok::<_, KekaError>(Arc::new(requests))
        });
        self.through("leave_requests", &self.leave_requests, key, ttl, load).await
    }

    /// A leave request by id: from any window already fetched, else from everyone's requests
    /// in `around` (a wide window, fetched once and cached). `None` if not found there.
    pub async fn leave_request(
        &self,
        id: &str,
        around: (NaiveDate, NaiveDate),
    ) -> Result<Option<Shared<LeaveRequest>>, KekaError> {
        if let Some(found) = self.leave_requests_by_id.get(id).await {
            return Ok(Some(found.served()));
        }
        let requests = self.leave_requests(&[], around.0, around.1).await?;
        Ok(requests.iter().find(|request| request.id == id).cloned())
    }

    /// Balances move with every approval: kept as long as this week's windows.
    pub async fn leave_balances(
        &self,
        employee_ids: &[String],
    ) -> Result<Shared<Vec<EmployeeLeaveBalances>>, KekaError> {
        let ttl = self.windows.current;
        let load = self.leave_changed.renewed_for(employee_ids, async {
            self.client.sharing_for(ttl).leave_balances(employee_ids).await.map(Arc::new)
        });
        self.through("leave_balances", &self.leave_balances, sorted(employee_ids), ttl, load).await
    }

    pub async fn attendance(
        &self,
        employee_ids: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Shared<Vec<AttendanceDay>>, KekaError> {
        let ttl = self.windows.of(from, to, today());
        let key = (sorted(employee_ids), from, to);
        let load = self.leave_changed.renewed_for(employee_ids, async {
            self.client.sharing_for(ttl).attendance(employee_ids, from, to).await.map(Arc::new)
        });
        self.through("attendance", &self.attendance, key, ttl, load).await
    }

    /// Someone's leave changed at `at` (a leave webhook, here or at another replica; `None`: someone this replica
    /// cannot tell): the windows and balances held here that show them are dropped, and until they age past `at`,
    /// fetching them again reads Keka past the fleet's cache too.
    pub fn leave_changed(&self, employee_id: Option<&str>, at: Instant) {
        self.leave_changed.mark(employee_id, at);
        let shows = move |ids: &Vec<String>, id: &Option<String>| {
            id.as_ref().is_none_or(|id| ids.is_empty() || ids.binary_search(id).is_ok())
        };
        let id = employee_id.map(str::to_owned);
        let whose = id.clone();
        self.leave_requests.invalidate_if(at, move |(ids, _, _)| shows(ids, &whose));
        let whose = id.clone();
        self.leave_balances.invalidate_if(at, move |ids| shows(ids, &whose));
        let whose = id.clone();
        self.attendance.invalidate_if(at, move |(ids, _, _)| shows(ids, &whose));
        let dropped = self.leave_requests_by_id.invalidate_entries_if(move |_, request| {
            request.fetched_at < at
                && id.as_ref().is_none_or(|id| request.value.employee_identifier.as_ref() == Some(id))
        });
        if let Err(error) = dropped {
            tracing::error!(%error, "cannot drop one person's leave requests; dropping them all");
            self.leave_requests_by_id.invalidate_all();
        }
    }

    pub async fn jobs(&self, status: Option<JobStatus>) -> Result<Shared<Vec<Job>>, KekaError> {
        self.through("jobs", &self.jobs, status, self.ttl, async { self.client.jobs(status).await.map(Arc::new) }).await
    }

    pub async fn candidates(&self, job_id: &str, archived: bool) -> Result<Shared<Vec<Candidate>>, KekaError> {
        self.through("candidates", &self.candidates, (job_id.to_owned(), archived), self.ttl, async {
            let (candidates, fetched_at) = as_of::track(self.client.candidates(job_id, archived)).await;
            let candidates = candidates?;
            for candidate in &candidates {
                let found = (job_id.to_owned(), Arc::new(candidate.clone()));
                self.candidates_by_id.insert(candidate.id.clone(), Aged::new(found, fetched_at, self.ttl)).await;
            }
            Ok::<_, KekaError>(Arc::new(candidates))
        })
        .await
    }

    /// A candidate by id with the id of the job applied to: from lists already fetched, else by
    /// reading every job's candidates (active, then archived) once. `None` if nobody has that id.
    pub async fn candidate(&self, id: &str) -> Result<Option<(String, Shared<Candidate>)>, KekaError> {
        if let Some(found) = self.candidates_by_id.get(id).await {
            return Ok(Some(found.served()));
        }
        let jobs = self.jobs(None).await?;
        for archived in [false, true] {
            let lists =
                futures::future::try_join_all(jobs.iter().map(|job| self.candidates(&job.id, archived))).await?;
            for (job, candidates) in jobs.iter().zip(lists) {
                if let Some(candidate) = candidates.iter().find(|candidate| candidate.id == id) {
                    return Ok(Some((job.id.clone(), Arc::new(candidate.clone()))));
                }
            }
        }
        Ok(None)
    }

    pub async fn preboarding_candidates(
        &self,
        filter: &PreboardingFilter,
    ) -> Result<Shared<Vec<PreboardingCandidate>>, KekaError> {
        self.through("preboarding", &self.preboarding, filter.clone(), self.ttl, async {
            self.client.preboarding_candidates(filter).await.map(Arc::new)
        })
        .await
    }
}

/// One list brought up to date by `changed` (its items changed since `since`); see [`CachedKeka::sync_org_lists`].
async fn amend_list<T: Clone + Send + Sync + 'static>(
    source: &ListSource<T>,
    since: DateTime<Utc>,
    at: Instant,
    id: fn(&T) -> &String,
    changed: impl Future<Output = Result<Vec<T>, KekaError>>,
) -> Result<usize, KekaError> {
    let Some((current, age)) = source.peek_with_age() else { return Ok(0) };
    if Utc::now() - chrono::TimeDelta::from_std(age).unwrap_or(chrono::TimeDelta::MAX) < since {
        source.expire();
        return Ok(0);
    }
    let changed = changed.await?;
    let count = changed.len();
    let merged = (!changed.is_empty()).then(|| {
        let mut merged = Vec::clone(&current);
        for item in changed {
            match merged.iter_mut().find(|known| id(known) == id(&item)) {
                Some(known) => *known = item,
                None => merged.push(item),
            }
        }
        merged
    });
    // A list reloaded meanwhile is newer than this change: it stays as it is.
    source.amend(&current, merged, Some(at)).await;
    Ok(count)
}

/// Reloads a list if one is held (a list nobody asked for stays unloaded); false if that failed.
async fn renew_held<T: Send + Sync + 'static>(source: &ListSource<T>) -> bool {
    source.peek().is_none() || source.renew().await.is_ok()
}

/// How long windows of leave and attendance are kept, by how likely they are to change.
#[derive(Debug, Clone, Copy)]
struct WindowTtls {
    current: Duration,
    default: Duration,
    past: Duration,
}

impl WindowTtls {
    /// A window reaching into this week (Monday to Sunday, a day wider on each side: Keka's dates are the tenant's,
    /// `today` is UTC's) is current; one that ended before it is past; one wholly after it is planned leave, which
    /// changes as people plan, and keeps the default TTL.
    fn of(&self, from: NaiveDate, to: NaiveDate, today: NaiveDate) -> Duration {
        let monday = today - chrono::Days::new(u64::from(today.weekday().num_days_from_monday()));
        let week_starts = monday - chrono::Days::new(1);
        let week_ends = monday + chrono::Days::new(7);
        if to < week_starts {
            self.past
        } else if from > week_ends {
            self.default
        } else {
            self.current
        }
    }
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// When leave last changed, by person, as the leave webhooks said: a window showing someone whose leave changed
/// after the window's answer was fetched is fetched again, past every cache (the fleet's too).
struct LeaveChanges {
    by_employee: moka::sync::Cache<String, Instant>,
    /// The last change of anyone's (windows of everyone), and the last of someone unknown (every window).
    anyone: std::sync::Mutex<(Option<Instant>, Option<Instant>)>,
}

impl LeaveChanges {
    /// `kept`: longer than any window is kept; a mark older than every answer matters no more.
    fn new(kept: Duration) -> Self {
        Self {
            by_employee: moka::sync::Cache::builder().max_capacity(100_000).time_to_live(kept).build(),
            anyone: std::sync::Mutex::default(),
        }
    }

    fn mark(&self, employee_id: Option<&str>, at: Instant) {
        let later = |known: Option<Instant>| Some(known.map_or(at, |known| known.max(at)));
        let mut anyone = self.anyone.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        anyone.0 = later(anyone.0);
        match employee_id {
            Some(id) => {
                let known = self.by_employee.get(id);
                self.by_employee.insert(id.to_owned(), later(known).unwrap_or(at));
            }
            None => anyone.1 = later(anyone.1),
        }
    }

    /// The last change a window of these people (everyone when empty) must be newer than, if any.
    fn since(&self, employee_ids: &[String]) -> Option<Instant> {
        let (anyone, unknown) = *self.anyone.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let theirs = if employee_ids.is_empty() {
            anyone
        } else {
            employee_ids.iter().filter_map(|id| self.by_employee.get(id)).max()
        };
        theirs.max(unknown)
    }

    /// `load`, made to read past every cache older than the last change to these people's leave.
    async fn renewed_for<F: Future>(&self, employee_ids: &[String], load: F) -> F::Output {
        // Boxed: the load is a whole Keka exchange, held here inside the cache's future inside the resolver's.
        let load = Box::pin(load);
        match self.since(employee_ids) {
            Some(since) => as_of::renewed_since(since, load).await,
            None => load.await,
        }
    }
}

fn sorted(ids: &[String]) -> Vec<String> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn a_window_keeps_as_long_as_its_volatility_allows() {
        let ttls = WindowTtls {
            current: Duration::from_secs(60),
            default: Duration::from_secs(300),
            past: Duration::from_secs(3600),
        };
        // Saturday 5 December 2026: this week runs from Monday the 30th of November to Sunday the 6th.
        let today = date("2026-12-05");
        assert_eq!(ttls.of(today, today, today), ttls.current, "today");
        assert_eq!(ttls.of(date("2026-11-30"), date("2026-12-06"), today), ttls.current, "this week");
        assert_eq!(ttls.of(date("2026-10-01"), date("2026-12-31"), today), ttls.current, "a quarter around today");
        // A day of slack each side: Keka's dates are the tenant's, today is UTC's.
        assert_eq!(ttls.of(date("2026-11-01"), date("2026-11-29"), today), ttls.current, "up to last Sunday");
        assert_eq!(ttls.of(date("2026-11-01"), date("2026-11-28"), today), ttls.past, "closed before the week");
        assert_eq!(ttls.of(date("2026-12-07"), date("2026-12-20"), today), ttls.current, "next Monday");
        assert_eq!(ttls.of(date("2026-12-08"), date("2026-12-20"), today), ttls.default, "planned leave");
    }

    #[tokio::test(start_paused = true)]
    async fn a_leave_change_renews_the_windows_that_show_that_person_and_everyone() {
        let changes = LeaveChanges::new(Duration::from_secs(3600));
        let ids = |ids: &[&str]| ids.iter().map(|id| (*id).to_owned()).collect::<Vec<_>>();
        assert_eq!(changes.since(&ids(&["a"])), None);
        let first = Instant::now();
        changes.mark(Some("a"), first);
        tokio::time::advance(Duration::from_secs(1)).await;
        let second = Instant::now();
        changes.mark(Some("b"), second);
        assert_eq!(changes.since(&ids(&["a"])), Some(first));
        assert_eq!(changes.since(&ids(&["a", "b"])), Some(second));
        assert_eq!(changes.since(&ids(&["c"])), None, "someone else's windows stay");
        assert_eq!(changes.since(&[]), Some(second), "everyone's window shows every change");
        // An earlier mark heard later (another replica's, read a second on) does not move a person's back.
        changes.mark(Some("b"), first);
        assert_eq!(changes.since(&ids(&["b"])), Some(second));
        // Someone unknown: every window.
        tokio::time::advance(Duration::from_secs(1)).await;
        let third = Instant::now();
        changes.mark(None, third);
        assert_eq!(changes.since(&ids(&["c"])), Some(third));
    }
}

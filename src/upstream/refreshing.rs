//! A value built from an upstream (Keka's org snapshot, Keeper's directory, each of Keka's small lists), kept for a
//! TTL and rebuilt by one task at a time. This is the project's one stale-if-error mechanism.
//!
//! After the TTL the old value is still served for a grace period while a background task rebuilds it, so nobody
//! waits on a rebuild while a usable value exists. Past the grace period the next caller rebuilds and the others wait
//! for that one rebuild. If the rebuild fails, a value younger than `stale_if_error` is served instead of the
//! error: a short upstream outage then costs freshness, not answers.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures::future::BoxFuture;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::{DeadlinePassed, RequestContext, as_of};

/// How long a built value is served, and in which way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Freshness {
    /// Served as is.
    pub ttl: Duration,
    /// After the TTL: still served while one background task rebuilds.
    pub grace: Duration,
    /// After the TTL: still served when a rebuild fails (stale-if-error).
    pub stale_if_error: Duration,
}

type Build<T, E> = Box<dyn Fn() -> BoxFuture<'static, Result<T, E>> + Send + Sync>;

pub struct Refreshing<T, E> {
    what: &'static str,
    build: Build<T, E>,
    freshness: Freshness,
    current: RwLock<Option<Built<T>>>,
    /// Held by whoever is rebuilding; others either serve the old value or wait here. Holds the last failed
    /// rebuild, so the callers that waited for it share its error instead of each walking the upstream again.
    rebuilding: Arc<Mutex<Option<(Instant, E)>>>,
}

/// A failed rebuild answers everyone for this long: the callers queued behind it, and a burst right after it.
const FAILURE_SHARED_FOR: Duration = Duration::from_secs(1);

struct Built<T> {
    value: Arc<T>,
    /// When the oldest upstream answer it was built from was fetched: its age counts from then.
    at: Instant,
}

impl<T> Clone for Built<T> {
    fn clone(&self) -> Self {
        Self { value: self.value.clone(), at: self.at }
    }
}

impl<T, E> std::fmt::Debug for Refreshing<T, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refreshing")
            .field("what", &self.what)
            .field("freshness", &self.freshness)
            .finish_non_exhaustive()
    }
}

impl<T, E> Refreshing<T, E>
where
    T: Send + Sync + 'static,
    E: std::fmt::Display + Clone + From<DeadlinePassed> + Send + 'static,
{
    /// `what` names the value in logs ("org snapshot"); `build` walks the upstream once.
    pub fn new<F>(what: &'static str, freshness: Freshness, build: F) -> Arc<Self>
    where
        F: Fn() -> BoxFuture<'static, Result<T, E>> + Send + Sync + 'static,
    {
        Arc::new(Self {
            what,
            build: Box::new(build),
            freshness,
            current: RwLock::new(None),
            rebuilding: Arc::new(Mutex::new(None)),
        })
    }

    fn current(&self) -> Option<Built<T>> {
        self.current.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// A value no older than the TTL, one within its grace period while a rebuild runs in the background, or, when
    /// the rebuild fails, one within `stale_if_error`.
    pub async fn get(self: &Arc<Self>) -> Result<Arc<T>, E> {
        let Freshness { ttl, grace, stale_if_error } = self.freshness;
        if let Some(built) = self.current() {
            let age = built.at.elapsed();
            if age < ttl {
                return Ok(built.value);
            }
            if age < ttl + grace {
                self.refresh_in_background();
                RequestContext::record_stale(age);
                return Ok(built.value);
            }
        }
        // A rebuild under way may be a background one, which has no deadline: wait for it only as long as ours.
        let mut last_failure = match RequestContext::within_deadline(self.rebuilding.lock()).await {
            Ok(guard) => guard,
            Err(passed) => {
                return match self.current().filter(|built| built.at.elapsed() < ttl + stale_if_error) {
                    Some(stale) => {
                        RequestContext::record_stale(stale.at.elapsed());
                        Ok(stale.value)
                    }
                    None => Err(E::from(passed)),
                };
            }
        };
        // Someone else may have rebuilt it while we waited.
        let previous = self.current();
        if let Some(built) = &previous
            && built.at.elapsed() < ttl
        {
            return Ok(built.value.clone());
        }
        let outcome = match last_failure.as_ref() {
            // Someone else's rebuild just failed: share its error rather than asking the upstream again at once.
            Some((at, error)) if at.elapsed() < FAILURE_SHARED_FOR => Err(error.clone()),
            _ => {
                let rebuilt = self.rebuild().await;
                *last_failure = rebuilt.as_ref().err().map(|error| (Instant::now(), error.clone()));
                rebuilt
            }
        };
        drop(last_failure);
        match outcome {
            Ok(value) => Ok(value),
            Err(error) => match previous.filter(|built| built.at.elapsed() < ttl + stale_if_error) {
                Some(stale) => Ok(serve_stale(self.what, stale.value, stale.at.elapsed(), &error)),
                None => Err(error),
            },
        }
    }

    /// Ends the current value's TTL now: it is then served as any value past its TTL is (within the grace period
    /// while a rebuild runs, or as stale-if-error), and the next caller rebuilds it.
    pub fn expire(&self) {
        let mut current = self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(built) = current.as_mut()
            && let Some(expired) = Instant::now().checked_sub(self.freshness.ttl)
            && built.at > expired
        {
            built.at = expired;
        }
    }

    /// The value if it is within its TTL; never calls the upstream.
    pub fn fresh(&self) -> Option<Arc<T>> {
        self.current().filter(|built| built.at.elapsed() < self.freshness.ttl).map(|built| built.value)
    }

    /// The value if one exists, however old; never calls the upstream.
    pub fn peek(&self) -> Option<Arc<T>> {
        self.current().map(|built| built.value)
    }

    /// The value, however old, if it is still within the stale-if-error bound: what to serve when the upstream
    /// fails on a path that does not go through [`Self::get`]. Never calls the upstream.
    pub fn stale_if_error(&self) -> Option<Arc<T>> {
        let Freshness { ttl, stale_if_error, .. } = self.freshness;
        let built = self.current().filter(|built| built.at.elapsed() < ttl + stale_if_error)?;
        let age = built.at.elapsed();
        if age >= ttl {
            RequestContext::record_stale(age);
        }
        Some(built.value)
    }

    /// The value and its age, if there is one; never calls the upstream.
    pub fn peek_with_age(&self) -> Option<(Arc<T>, Duration)> {
        self.current().map(|built| (built.value, built.at.elapsed()))
    }

    /// Brings the value up to date without rebuilding it (the sync applying a delta): if the value is still
    /// `expected`, replaces it by `changed` (keeps it when `None`) and dates it `at` (keeps its date when `None`).
    /// Waits for a rebuild under way. False when the value was rebuilt or replaced meanwhile: the change, made to a
    /// value that is gone, is not applied.
    pub async fn amend(&self, expected: &Arc<T>, changed: Option<T>, at: Option<Instant>) -> bool {
        let _no_rebuild_meanwhile = self.rebuilding.lock().await;
        let mut current = self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        match current.as_mut() {
            Some(built) if Arc::ptr_eq(&built.value, expected) => {
                if let Some(changed) = changed {
                    built.value = Arc::new(changed);
                }
                if let Some(at) = at {
                    built.at = at;
                }
                true
            }
            _ => false,
        }
    }

    /// Rebuilds now, whatever the value's age (after a rebuild under way, if any), and waits for it.
    pub async fn renew(&self) -> Result<Arc<T>, E> {
        let mut last_failure = self.rebuilding.lock().await;
        let rebuilt = self.rebuild().await;
        *last_failure = rebuilt.as_ref().err().map(|error| (Instant::now(), error.clone()));
        rebuilt
    }

    /// How old the current value is, if there is one.
    pub fn age(&self) -> Option<Duration> {
        self.current().map(|built| built.at.elapsed())
    }

    /// Whether the current value is past its TTL (served from grace or stale-if-error).
    pub fn is_stale(&self) -> bool {
        self.age().is_some_and(|age| age >= self.freshness.ttl)
    }

    pub fn freshness(&self) -> Freshness {
        self.freshness
    }

    fn refresh_in_background(self: &Arc<Self>) {
        let Ok(mut last_failure) = self.rebuilding.clone().try_lock_owned() else {
            return; // a rebuild is already running
        };
        if last_failure.as_ref().is_some_and(|(at, _)| at.elapsed() < FAILURE_SHARED_FOR) {
            return; // one just failed; the old value serves until the next try
        }
        let source = self.clone();
        tokio::spawn(async move {
            if let Err(error) = source.rebuild().await {
                tracing::warn!(what = source.what, %error, "background rebuild failed; serving the previous one");
                *last_failure = Some((Instant::now(), error));
            }
        });
    }

    async fn rebuild(&self) -> Result<Arc<T>, E> {
        let started = Instant::now();
        // As old as the oldest answer it was built from (another replica's, from the fleet's cache, or a cached page).
        let (value, fetched_at) = as_of::track((self.build)()).await;
        let value = Arc::new(value?);
        tracing::info!(what = self.what, elapsed_ms = started.elapsed().as_millis() as u64, "rebuilt");
        *self.current.write().unwrap_or_else(std::sync::PoisonError::into_inner) =
            Some(Built { value: value.clone(), at: fetched_at.unwrap_or_else(Instant::now) });
        Ok(value)
    }
}

/// Serves `value`, `age` old and past its TTL, because fetching it again failed with `error`: the request is marked
/// stale (`extensions.dataFreshness`, `x-data-stale`) and the failure logged. Every stale-if-error answer, whether a
/// rebuilt value's or a cached answer's ([`crate::keka::CachedKeka`]), is served through here.
pub fn serve_stale<V>(what: &str, value: V, age: Duration, error: &dyn std::fmt::Display) -> V {
    RequestContext::record_stale(age);
    if RequestContext::first_failure_of("stale_if_error") {
        tracing::warn!(what, age_secs = age.as_secs(), %error, "fetching again failed; serving the last good copy (stale-if-error)");
    } else {
        tracing::debug!(what, age_secs = age.as_secs(), %error, "fetching again failed; serving the last good copy");
    }
    value
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    impl From<DeadlinePassed> for String {
        fn from(_: DeadlinePassed) -> Self {
            "deadline passed".to_owned()
        }
    }

    fn counting(fail_from: u32) -> (Arc<Refreshing<u32, String>>, Arc<AtomicU32>) {
        let builds = Arc::new(AtomicU32::new(0));
        let counter = builds.clone();
        let freshness = Freshness {
            ttl: Duration::from_secs(60),
            grace: Duration::from_secs(0),
            stale_if_error: Duration::from_secs(120),
        };
        let source = Refreshing::new("test value", freshness, move || {
            let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
            Box::pin(async move { if n >= fail_from { Err(format!("build {n} failed")) } else { Ok(n) } })
        });
        (source, builds)
    }

    #[tokio::test(start_paused = true)]
    async fn builds_once_within_the_ttl_and_again_after_it() {
        let (source, builds) = counting(u32::MAX);
        assert_eq!(*source.get().await.unwrap(), 1);
        assert_eq!(*source.get().await.unwrap(), 1);
        tokio::time::advance(Duration::from_secs(61)).await;
        assert_eq!(*source.get().await.unwrap(), 2);
        assert_eq!(builds.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn serves_the_old_value_when_a_rebuild_fails_within_stale_if_error_and_not_after() {
        let (source, _) = counting(2);
        assert_eq!(*source.get().await.unwrap(), 1);
        tokio::time::advance(Duration::from_secs(90)).await;
        assert_eq!(*source.get().await.unwrap(), 1, "stale-if-error");
        assert!(source.is_stale());
        tokio::time::advance(Duration::from_secs(100)).await;
        assert_eq!(source.get().await.unwrap_err(), "build 3 failed");
    }

    #[tokio::test(start_paused = true)]
    async fn callers_queued_behind_a_failed_rebuild_share_its_error() {
        let (source, builds) = counting(1);
        let (a, b, c) = tokio::join!(source.get(), source.get(), source.get());
        assert_eq!(
            (a.unwrap_err(), b.unwrap_err(), c.unwrap_err()),
            ("build 1 failed".into(), "build 1 failed".into(), "build 1 failed".into())
        );
        assert_eq!(builds.load(Ordering::SeqCst), 1);
        // Sharing the error does not extend it: a second after the failure, the next caller tries again.
        tokio::time::advance(FAILURE_SHARED_FOR / 2).await;
        assert_eq!(source.get().await.unwrap_err(), "build 1 failed");
        tokio::time::advance(FAILURE_SHARED_FOR / 2).await;
        assert_eq!(source.get().await.unwrap_err(), "build 2 failed");
    }

    #[tokio::test(start_paused = true)]
    async fn an_amendment_applies_to_the_value_it_was_made_for_and_dates_it() {
        let (source, builds) = counting(u32::MAX);
        let first = source.get().await.unwrap();
        tokio::time::advance(Duration::from_secs(50)).await;
        assert!(source.amend(&first, Some(10), Some(Instant::now())).await);
        tokio::time::advance(Duration::from_secs(50)).await;
        // Fifty seconds old, not a hundred: no rebuild.
        assert_eq!(*source.get().await.unwrap(), 10);
        assert_eq!(builds.load(Ordering::SeqCst), 1);
        // Made for the value that was replaced: refused.
        assert!(!source.amend(&first, Some(20), None).await);
        assert_eq!(*source.renew().await.unwrap(), 2);
        assert_eq!(builds.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_callers_share_one_rebuild() {
        let (source, builds) = counting(u32::MAX);
        let (a, b, c) = tokio::join!(source.get(), source.get(), source.get());
        assert_eq!((*a.unwrap(), *b.unwrap(), *c.unwrap()), (1, 1, 1));
        assert_eq!(builds.load(Ordering::SeqCst), 1);
    }
}

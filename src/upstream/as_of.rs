//! How old the upstream data behind a value is: the moment the oldest upstream answer it was built from was fetched.
//!
//! A value built now from an answer another replica fetched four minutes ago is four minutes old, not new. Every
//! cache keys its expiry on this, so that no in-process copy outlives the answer it came from: a page read from the
//! fleet's cache with one minute left expires here in one minute, and an org snapshot walked from such pages is as
//! old as its oldest page.
//!
//! Tracked as a tokio task-local around each load ([`track`]); whoever serves an answer fetched earlier calls
//! [`note`]. Trackers nest: what an inner load notes also ages the loads around it.
//!
//! The other way round, work that must see Keka as it is now (the sync's full walk) runs within [`renewed_since`]:
//! every cache it reads through treats an answer fetched before that moment as missing, fetches it again and shares
//! the new one.

use std::future::Future;
use std::sync::{Arc, Mutex};

use tokio::time::Instant;

tokio::task_local! {
    static OLDEST: Arc<Mutex<Option<Instant>>>;
    static RENEWED_SINCE: Instant;
}

/// Runs `work` so that no cached answer fetched before `since` serves it (see [`usable`]). Within another renewal,
/// the later of the two moments holds.
pub async fn renewed_since<F: Future>(since: Instant, work: F) -> F::Output {
    let since = RENEWED_SINCE.try_with(|outer| (*outer).max(since)).unwrap_or(since);
    RENEWED_SINCE.scope(since, work).await
}

/// Whether a cached answer fetched at `fetched_at` may serve the current work (always, outside [`renewed_since`]).
pub fn usable(fetched_at: Instant) -> bool {
    RENEWED_SINCE.try_with(|since| fetched_at >= *since).unwrap_or(true)
}

/// Whether the current work runs within [`renewed_since`]: caches then check what they hold before serving it.
pub fn renewing() -> bool {
    RENEWED_SINCE.try_with(|_| ()).is_ok()
}

/// Runs `work` and says when the oldest answer it used was fetched: `None` when everything it used was fetched
/// during it. The enclosing tracker, if any, learns the same.
pub async fn track<F: Future>(work: F) -> (F::Output, Option<Instant>) {
    let oldest = Arc::new(Mutex::new(None));
    let output = OLDEST.scope(oldest.clone(), work).await;
    let fetched_at = *oldest.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(fetched_at) = fetched_at {
        note(fetched_at);
    }
    (output, fetched_at)
}

/// The current work used an answer fetched at `fetched_at`.
pub fn note(fetched_at: Instant) {
    let _outside_any_tracker = OLDEST.try_with(|oldest| {
        let mut oldest = oldest.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if oldest.is_none_or(|known| fetched_at < known) {
            *oldest = Some(fetched_at);
        }
    });
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_oldest_answer_ages_every_tracker_around_it() {
        let start = Instant::now();
        tokio::time::advance(Duration::from_secs(10)).await;
        let ((inner, inner_oldest), outer_oldest) = track(async {
            note(start + Duration::from_secs(5));
            track(async {
                note(start + Duration::from_secs(8));
                note(start);
                note(start + Duration::from_secs(9));
                "page"
            })
            .await
        })
        .await;
        assert_eq!(inner, "page");
        assert_eq!(inner_oldest, Some(start));
        assert_eq!(outer_oldest, Some(start));
        let (_, nothing_old) = track(async {}).await;
        assert_eq!(nothing_old, None);
        note(start); // outside any tracker: ignored
    }

    #[tokio::test(start_paused = true)]
    async fn within_a_renewal_only_answers_fetched_since_it_serve() {
        let before = Instant::now();
        tokio::time::advance(Duration::from_secs(1)).await;
        let since = Instant::now();
        assert!(usable(before) && !renewing());
        renewed_since(since, async {
            assert!(renewing());
            assert!(!usable(before));
            assert!(usable(since));
            // Nested: the later moment holds, whichever is inside.
            renewed_since(before, async { assert!(!usable(before)) }).await;
        })
        .await;
    }
}

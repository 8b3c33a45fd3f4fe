//! Walking a SCIM list to its end, by the client rule of the research notes (§6), not by Keeper's own loops:
//!
//! - send `startIndex` (1-based) and `count` on every page;
//! - advance `startIndex` by the number of `Resources` actually returned (a server may return fewer than asked);
//! - stop once the resources received reach `totalResults` (no extra empty page), or on an empty page (the only
//!   way to know the end when `totalResults` is missing or overstated);
//! - de-duplicate by `id`;
//! - if `totalResults` changes during the walk the list moved under us: walk again, once;
//! - fail, rather than return a partial list, when a page repeats what we already had (a server that ignores
//!   `startIndex`) or when the walk needs more than ⌈totalResults ÷ first page returned⌉ + 2 pages (the cap of the
//!   notes, with the page size the server actually returns, so a server that clamps `count` is not cut short).
//!
//! The fetching is a closure, so the rule is tested here without HTTP.

use std::collections::HashSet;
use std::future::Future;

use super::error::KeeperError;
use super::models::{ListResponse, ScimGroup, ScimUser};

/// A resource with a SCIM `id`.
pub(crate) trait HasId {
    fn id(&self) -> &str;
}

impl HasId for ScimUser {
    fn id(&self) -> &str {
        &self.id
    }
}

impl HasId for ScimGroup {
    fn id(&self) -> &str {
        &self.id
    }
}

/// Pages a walk may take when the server sends no `totalResults`: a guard against a server that never ends.
const MAX_PAGES_WITHOUT_TOTAL: u64 = 10_000;

/// One page to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageRequest {
    /// 1-based index of the first resource.
    pub(crate) start_index: u64,
    pub(crate) count: u32,
}

/// Every resource of a list, walked with `fetch` (one call per page).
pub(crate) async fn walk<T, F, Fut>(endpoint: &'static str, page_size: u32, mut fetch: F) -> Result<Vec<T>, KeeperError>
where
    T: HasId,
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = Result<ListResponse<T>, KeeperError>>,
{
    let mut attempt = 1;
    loop {
        match walk_once(endpoint, page_size, &mut fetch).await? {
            Ok(items) => return Ok(items),
            Err(detail) if attempt == 1 => {
                tracing::warn!(endpoint, %detail, "Keeper's list changed or repeated during the walk; walking it again");
                attempt += 1;
            }
            Err(detail) => {
                return Err(KeeperError::Inconsistent {
                    endpoint: endpoint.to_owned(),
                    detail: format!("{detail} (twice)"),
                });
            }
        }
    }
}

/// One walk from `startIndex=1`. The inner `Err` says the walk should be tried again (the list moved or repeated);
/// the outer one is a failed request or a walk that cannot end.
async fn walk_once<T, F, Fut>(
    endpoint: &'static str,
    page_size: u32,
    fetch: &mut F,
) -> Result<Result<Vec<T>, String>, KeeperError>
where
    T: HasId,
    F: FnMut(PageRequest) -> Fut,
    Fut: Future<Output = Result<ListResponse<T>, KeeperError>>,
{
    let count = page_size.max(1);
    let mut items: Vec<T> = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut first_total: Option<Option<u64>> = None;
    let mut received: u64 = 0;
    let mut pages: u64 = 0;
    let mut first_page: Option<u64> = None;
    loop {
        let page = fetch(PageRequest { start_index: received + 1, count }).await?;
        pages += 1;
        let total = page.total_results;
        match first_total {
            None => first_total = Some(total),
            Some(first) if first != total => {
                return Ok(Err(format!(
                    "totalResults changed from {} to {} at startIndex {}",
                    show(first),
                    show(total),
                    received + 1
                )));
            }
            Some(_) => {}
        }
        let returned = page.resources.len() as u64;
        if returned == 0 {
            if let Some(total) = total
                && received < total
            {
                tracing::warn!(endpoint, received, total, "Keeper's list ended before totalResults");
            }
            break;
        }
        let before = items.len();
        for item in page.resources {
            // Resources without an id cannot be told apart; keep them all (the directory drops them).
            if item.id().is_empty() || seen.insert(item.id().to_owned()) {
                items.push(item);
            }
        }
        if items.len() == before {
            return Ok(Err(format!("the page at startIndex {} repeated resources already listed", received + 1)));
        }
        received += returned;
        let first_page = *first_page.get_or_insert(returned);
        match total {
            Some(total) if received >= total => {
                if (items.len() as u64) < total {
                    // Duplicates took the place of resources we never saw: the list shifted while we walked it.
                    return Ok(Err(format!(
                        "{} distinct resources for totalResults {total} (duplicates across pages)",
                        items.len()
                    )));
                }
                break;
            }
            Some(total) => {
                // Saturating: `totalResults` is Keeper's word and may be anything up to `u64::MAX`.
                let cap = total.div_ceil(first_page).saturating_add(2);
                if pages >= cap {
                    return Err(too_many_pages(endpoint, pages, received, Some(total)));
                }
            }
            None if pages >= MAX_PAGES_WITHOUT_TOTAL => {
                return Err(too_many_pages(endpoint, pages, received, None));
            }
            None => {}
        }
    }
    Ok(Ok(items))
}

fn too_many_pages(endpoint: &'static str, pages: u64, received: u64, total: Option<u64>) -> KeeperError {
    KeeperError::Inconsistent {
        endpoint: endpoint.to_owned(),
        detail: format!("{pages} pages ({received} resources) without reaching the end (totalResults {})", show(total)),
    }
}

fn show(total: Option<u64>) -> String {
    total.map_or_else(|| "missing".to_owned(), |total| total.to_string())
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    /// A scripted SCIM server: `n` users with ids "1"…"n", at most `max_count` per page.
    struct FakeList {
        ids: Vec<String>,
        max_count: usize,
        /// `totalResults` per request number; past the script, `default_total`.
        totals: Vec<Option<u64>>,
        default_total: Option<u64>,
        /// Ignore `startIndex` and always serve the first page.
        ignores_start_index: bool,
        requests: RefCell<Vec<PageRequest>>,
    }

    impl FakeList {
        fn new(n: usize, max_count: usize) -> Self {
            Self {
                ids: ids(n),
                max_count,
                totals: Vec::new(),
                default_total: Some(n as u64),
                ignores_start_index: false,
                requests: RefCell::new(Vec::new()),
            }
        }

        fn page(&self, request: PageRequest) -> ListResponse<ScimUser> {
            let number = self.requests.borrow().len();
            self.requests.borrow_mut().push(request);
            let start = if self.ignores_start_index { 0 } else { (request.start_index as usize).saturating_sub(1) };
            let take = (request.count as usize).min(self.max_count);
            let resources: Vec<ScimUser> = self.ids.iter().skip(start).take(take).map(|id| user(id)).collect();
            ListResponse {
                total_results: self.totals.get(number).copied().unwrap_or(self.default_total),
                start_index: Some(request.start_index),
                items_per_page: Some(resources.len() as u64),
                resources,
            }
        }

        fn starts(&self) -> Vec<u64> {
            self.requests.borrow().iter().map(|request| request.start_index).collect()
        }
    }

    fn user(id: &str) -> ScimUser {
        ScimUser { id: id.to_owned(), ..ScimUser::default() }
    }

    fn ids(n: usize) -> Vec<String> {
        (1..=n).map(|i| i.to_string()).collect()
    }

    async fn run(list: &FakeList, page_size: u32) -> Result<Vec<String>, KeeperError> {
        let users = walk("/Users", page_size, |request| {
            let page = list.page(request);
            async move { Ok(page) }
        })
        .await?;
        Ok(users.into_iter().map(|user| user.id).collect())
    }

    /// A server answering from fixed pages laid end to end (page k starts where page k-1 ended), whatever `count`
    /// asks, always with `total`. Returns the ids and the number of requests.
    async fn run_pages(pages: &[Vec<&str>], total: Option<u64>) -> (Result<Vec<String>, KeeperError>, usize) {
        let calls = RefCell::new(0usize);
        let result = walk("/Users", 3, |request| {
            *calls.borrow_mut() += 1;
            let mut start = 1;
            let mut resources = Vec::new();
            for page in pages {
                if start == request.start_index {
                    resources = page.iter().map(|id| user(id)).collect();
                }
                start += page.len() as u64;
            }
            async move { Ok(ListResponse { total_results: total, start_index: None, items_per_page: None, resources }) }
        })
        .await;
        (result.map(|users| users.into_iter().map(|user| user.id).collect()), calls.into_inner())
    }

    #[tokio::test]
    async fn stops_at_total_results_without_an_extra_page() {
        let list = FakeList::new(7, 1000);
        assert_eq!(run(&list, 3).await.unwrap(), ids(7));
        assert_eq!(list.starts(), [1, 4, 7]);
        assert!(list.requests.borrow().iter().all(|request| request.count == 3));
    }

    #[tokio::test]
    async fn an_exact_multiple_costs_no_extra_page() {
        let list = FakeList::new(6, 1000);
        assert_eq!(run(&list, 3).await.unwrap(), ids(6));
        assert_eq!(list.starts(), [1, 4]);
    }

    #[tokio::test]
    async fn advances_by_what_the_server_returned_when_it_returns_fewer() {
        let list = FakeList::new(7, 2);
        assert_eq!(run(&list, 1000).await.unwrap(), ids(7));
        assert_eq!(list.starts(), [1, 3, 5, 7]);
    }

    #[tokio::test]
    async fn an_empty_list_costs_one_request() {
        let list = FakeList::new(0, 1000);
        assert_eq!(run(&list, 1000).await.unwrap(), Vec::<String>::new());
        assert_eq!(list.starts(), [1]);
    }

    #[tokio::test]
    async fn without_total_results_an_empty_page_ends_the_walk() {
        let mut list = FakeList::new(5, 1000);
        list.default_total = None;
        assert_eq!(run(&list, 2).await.unwrap(), ids(5));
        assert_eq!(list.starts(), [1, 3, 5, 6], "the empty page at 6 is the only way to know the end");
    }

    #[tokio::test]
    async fn an_overstated_total_ends_on_the_empty_page() {
        let mut list = FakeList::new(7, 1000);
        list.default_total = Some(8);
        assert_eq!(run(&list, 3).await.unwrap(), ids(7));
        assert_eq!(list.starts(), [1, 4, 7, 8]);
    }

    #[tokio::test]
    async fn a_total_that_moves_mid_walk_walks_again_once() {
        let mut list = FakeList::new(7, 1000);
        // First walk: 7, then 8 on the second page. Second walk: steady.
        list.totals = vec![Some(7), Some(8)];
        assert_eq!(run(&list, 3).await.unwrap(), ids(7));
        assert_eq!(list.starts(), [1, 4, 1, 4, 7]);
    }

    #[tokio::test]
    async fn a_total_that_keeps_moving_fails() {
        let mut list = FakeList::new(7, 1000);
        list.totals = vec![Some(7), Some(8), Some(7), Some(9)];
        let error = run(&list, 3).await.unwrap_err();
        assert!(matches!(error, KeeperError::Inconsistent { .. }), "{error:?}");
        assert_eq!(list.starts(), [1, 4, 1, 4]);
    }

    #[tokio::test]
    async fn a_server_that_ignores_start_index_fails_instead_of_returning_a_partial_list() {
        let mut list = FakeList::new(7, 1000);
        list.ignores_start_index = true;
        let error = run(&list, 3).await.unwrap_err();
        assert!(matches!(error, KeeperError::Inconsistent { .. }), "{error:?}");
        assert_eq!(list.starts(), [1, 4, 1, 4], "two pages per walk, two walks");
    }

    #[tokio::test]
    async fn duplicates_across_pages_are_dropped() {
        // The second page overlaps the first by one; totalResults is reached by counting what was returned only
        // after the empty page.
        let pages = [vec!["1", "2", "3"], vec!["3", "4", "5"], vec!["6", "7"]];
        let (ids, calls) = run_pages(&pages, None).await;
        assert_eq!(ids.unwrap(), super::tests::ids(7));
        assert_eq!(calls, 4);
    }

    #[tokio::test]
    async fn duplicates_that_hide_resources_walk_again_then_fail() {
        // 8 returned for totalResults 8, but only 7 distinct: one resource was never seen.
        let pages = [vec!["1", "2", "3"], vec!["3", "4", "5"], vec!["6", "7"]];
        let (result, calls) = run_pages(&pages, Some(8)).await;
        assert!(matches!(result, Err(KeeperError::Inconsistent { .. })), "{result:?}");
        assert_eq!(calls, 6, "two walks of three pages");
    }

    #[tokio::test]
    async fn pages_beyond_the_cap_fail() {
        // totalResults 10 with a first page of 3: at most ⌈10 ÷ 3⌉ + 2 = 6 pages; this server then dribbles one
        // resource per page.
        let pages: Vec<Vec<String>> = std::iter::once(vec!["a".into(), "b".into(), "c".into()])
            .chain((1..20).map(|i| vec![format!("d{i}")]))
            .collect();
        let pages: Vec<Vec<&str>> = pages.iter().map(|page| page.iter().map(String::as_str).collect()).collect();
        let (result, calls) = run_pages(&pages, Some(10)).await;
        assert!(matches!(result, Err(KeeperError::Inconsistent { .. })), "{result:?}");
        assert_eq!(calls, 6);
    }
}

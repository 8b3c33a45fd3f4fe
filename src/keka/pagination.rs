//! Keka's page-number pagination, normalised into [`Page`], and the rules for walking it and
//! for splitting date ranges into the 90-day windows Keka accepts.

use std::future::Future;

use chrono::{Days, NaiveDate};
use futures::{StreamExt, TryStreamExt};

use super::models::{ItemsPage, ListEnvelope};

/// Which page to ask for. Keka numbers pages from 1 and caps `pageSize` at 200.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageRequest {
    pub number: u32,
    pub size: u32,
}

impl PageRequest {
    pub const MAX_SIZE: u32 = 200;

    /// Clamps to what Keka accepts: page ≥ 1, 1 ≤ size ≤ 200.
    pub fn new(number: u32, size: u32) -> Self {
        Self { number: number.max(1), size: size.clamp(1, Self::MAX_SIZE) }
    }

    pub fn first(size: u32) -> Self {
        Self::new(1, size)
    }
}

/// One page of a Keka list, whichever shape it came in.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub number: u32,
    pub size: u32,
    /// Keka's `totalPages`, when the shape has it.
    pub total_pages: Option<u32>,
    /// Keka's `totalRecords` (advisory), when the shape has it.
    pub total_records: Option<u64>,
    /// Whether another page follows.
    pub has_next: bool,
}

impl<T> Page<T> {
    /// From the standard envelope: there is a next page while `nextPage` is set and `pageNumber < totalPages`.
    pub fn from_envelope(envelope: ListEnvelope<T>, requested: PageRequest) -> Self {
        let number = envelope.page_number.unwrap_or(requested.number);
        let next_link = envelope.next_page.as_deref().is_some_and(|link| !link.trim().is_empty());
        let before_last = envelope.total_pages.is_none_or(|total| number < total);
        Self {
            has_next: next_link && before_last && !envelope.data.is_empty(),
            number,
            size: envelope.page_size.unwrap_or(requested.size),
            total_pages: envelope.total_pages,
            total_records: envelope.total_records,
            items: envelope.data,
        }
    }

    /// From a bare JSON array (some Hire lists): only a full page hints that more may follow.
    pub fn from_array(items: Vec<T>, requested: PageRequest) -> Self {
        Self {
            has_next: items.len() as u32 >= requested.size,
            number: requested.number,
            size: requested.size,
            total_pages: None,
            total_records: None,
            items,
        }
    }

    /// From preboarding's `{items, page, pageSize, totalItems, totalPages}`.
    pub fn from_items_page(page: ItemsPage<T>, requested: PageRequest) -> Self {
        let number = page.page.unwrap_or(requested.number);
        let has_next = match page.total_pages {
            Some(total) => number < total,
            None => page.items.len() as u32 >= requested.size,
        };
        Self {
            has_next: has_next && !page.items.is_empty(),
            number,
            size: page.page_size.unwrap_or(requested.size),
            total_pages: page.total_pages,
            total_records: page.total_items,
            items: page.items,
        }
    }
}

/// How many pages of one list are fetched at the same time once the total is known.
const CONCURRENT_PAGES: usize = 4;

/// Walks a list to its end. After the first page the total is known, so the remaining pages
/// are fetched a few at a time; if Keka's total was stale and the last page still points
/// further, the walk goes on one page at a time.
pub(crate) async fn walk_pages<T, E, F, Fut>(fetch_page: F, page_size: u32) -> Result<Vec<T>, E>
where
    F: Fn(PageRequest) -> Fut,
    Fut: Future<Output = Result<Page<T>, E>>,
{
    let first = fetch_page(PageRequest::first(page_size)).await?;
    let size = first.size.max(1);
    let mut has_next = first.has_next;
    let mut last_number = first.number;
    let mut items = first.items;
    if has_next && let Some(total) = first.total_pages {
        let rest: Vec<Page<T>> =
            futures::stream::iter((last_number + 1..=total).map(|number| fetch_page(PageRequest::new(number, size))))
                .buffered(CONCURRENT_PAGES)
                .try_collect()
                .await?;
        for page in rest {
            has_next = page.has_next;
            last_number = page.number;
            items.extend(page.items);
        }
    }
    // A page numbered `u32::MAX` (Keka's word, not ours) has no next one.
    while has_next && let Some(next) = last_number.checked_add(1) {
        let page = fetch_page(PageRequest::new(next, size)).await?;
        has_next = page.has_next && page.number > last_number;
        last_number = page.number;
        items.extend(page.items);
    }
    Ok(items)
}

/// Keka refuses date windows longer than this.
pub const MAX_WINDOW_DAYS: u64 = 90;

/// Splits the inclusive range `from..=to` into consecutive inclusive windows whose ends are at
/// most 90 days apart. An empty list when `from > to`.
pub fn date_windows(from: NaiveDate, to: NaiveDate) -> Vec<(NaiveDate, NaiveDate)> {
    let mut windows = Vec::new();
    let mut start = from;
    while start <= to {
        // `start + 89` keeps the span at 89 days: safe whether Keka counts the span or the days.
        let end = start.checked_add_days(Days::new(MAX_WINDOW_DAYS - 1)).map_or(to, |end| end.min(to));
        windows.push((start, end));
        match end.checked_add_days(Days::new(1)) {
            Some(next) => start = next,
            None => break,
        }
    }
    windows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(page: u32, total_pages: Option<u32>, next: Option<&str>, items: usize) -> ListEnvelope<u32> {
        serde_json::from_value(serde_json::json!({
            "succeeded": true, "data": vec![1; items], "pageNumber": page, "pageSize": 200,
            "totalPages": total_pages, "totalRecords": 1000, "nextPage": next
        }))
        .unwrap()
    }

    #[test]
    fn a_next_link_before_the_last_page_means_more() {
        let page = Page::from_envelope(envelope(2, Some(5), Some("https://x/next"), 200), PageRequest::new(2, 200));
        assert!(page.has_next);
    }

    #[test]
    fn the_last_page_ends_even_if_a_link_is_present() {
        assert!(
            !Page::from_envelope(envelope(5, Some(5), Some("https://x/next"), 200), PageRequest::new(5, 200)).has_next
        );
        assert!(!Page::from_envelope(envelope(2, Some(5), None, 200), PageRequest::new(2, 200)).has_next);
        assert!(!Page::from_envelope(envelope(2, None, Some(""), 200), PageRequest::new(2, 200)).has_next);
    }

    #[test]
    fn an_unknown_total_follows_the_link() {
        assert!(Page::from_envelope(envelope(2, None, Some("https://x/next"), 10), PageRequest::new(2, 200)).has_next);
    }

    #[test]
    fn page_requests_stay_within_kekas_limits() {
        assert_eq!(PageRequest::new(0, 500), PageRequest { number: 1, size: 200 });
        assert_eq!(PageRequest::new(3, 0), PageRequest { number: 3, size: 1 });
    }

    #[test]
    fn long_ranges_split_into_90_day_windows() {
        let day = |m, d| NaiveDate::from_ymd_opt(2026, m, d).unwrap();
        assert_eq!(date_windows(day(1, 1), day(1, 1)), vec![(day(1, 1), day(1, 1))]);
        assert_eq!(date_windows(day(1, 1), day(3, 31)), vec![(day(1, 1), day(3, 31))]);
        let windows = date_windows(day(1, 1), day(12, 31));
        assert_eq!(windows.len(), 5);
        assert_eq!(windows[0], (day(1, 1), day(3, 31)));
        assert_eq!(windows[1].0, day(4, 1));
        assert_eq!(windows.last().unwrap().1, day(12, 31));
        for (start, end) in &windows {
            assert!((*end - *start).num_days() < MAX_WINDOW_DAYS as i64);
        }
        assert!(date_windows(day(2, 1), day(1, 1)).is_empty());
    }
}

/// Properties: whatever pages Keka answers with (numbers and totals at their limits, links or not), building and
/// walking them never panics, and a walk only asks for pages Keka can number.
#[cfg(test)]
mod properties {
    use std::cell::RefCell;

    use chrono::Datelike;
    use proptest::prelude::*;

    use super::*;
    use crate::keka::models::KekaErrors;

    fn page_number() -> impl Strategy<Value = Option<u32>> {
        prop::option::of(prop_oneof![0..6u32, Just(u32::MAX - 1), Just(u32::MAX), any::<u32>()])
    }

    fn envelope() -> impl Strategy<Value = ListEnvelope<u32>> {
        (
            page_number(),
            page_number(),
            prop::option::of(any::<u32>()),
            prop::option::of(prop_oneof![Just(String::new()), Just(" ".to_owned()), Just("https://x/next".to_owned())]),
            prop::collection::vec(any::<u32>(), 0..4),
        )
            .prop_map(|(page_number, total_pages, page_size, next_page, data)| ListEnvelope {
                succeeded: Some(true),
                message: None,
                errors: KekaErrors::default(),
                data,
                page_number,
                page_size,
                total_pages,
                total_records: None,
                first_page: None,
                last_page: None,
                next_page,
                previous_page: None,
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn walks_over_any_pages_end_without_panicking(
            script in prop::collection::vec(envelope(), 1..12),
            page_size in any::<u32>(),
        ) {
            let served = RefCell::new(0usize);
            let requests = RefCell::new(Vec::new());
            let walked = futures::executor::block_on(walk_pages(
                |request: PageRequest| {
                    requests.borrow_mut().push(request);
                    let next = *served.borrow();
                    *served.borrow_mut() += 1;
                    let page = script.get(next).cloned().map(|envelope| Page::from_envelope(envelope, request));
                    async move { page.ok_or("the script ended") }
                },
                page_size,
            ));
            for request in requests.borrow().iter() {
                let size_ok = (1..=PageRequest::MAX_SIZE).contains(&request.size);
                prop_assert!(request.number >= 1 && size_ok, "{:?}", request);
            }
            // The concurrent part may ask a few pages past the script before it sees the error.
            let asked = requests.borrow().len();
            prop_assert!(asked <= script.len() + CONCURRENT_PAGES, "{} requests", asked);
            if let Ok(items) = walked {
                let served: usize = script.iter().take(asked).map(|envelope| envelope.data.len()).sum();
                prop_assert_eq!(items.len(), served);
            }
        }

        #[test]
        fn date_windows_cover_any_range_in_90_day_steps(
            from in prop_oneof![
                any::<i32>().prop_map(|days| days % 3_000_000),
                (0..200i32).prop_map(|days| NaiveDate::MAX.num_days_from_ce() - days),
                (0..200i32).prop_map(|days| NaiveDate::MIN.num_days_from_ce() + days),
            ],
            length in 0..2_000i64,
        ) {
            let Some(from) = NaiveDate::from_num_days_from_ce_opt(from) else { return Ok(()) };
            let to = from.checked_add_signed(chrono::TimeDelta::days(length)).unwrap_or(NaiveDate::MAX);
            let windows = date_windows(from, to);
            prop_assert_eq!(windows.first().map(|window| window.0), Some(from));
            prop_assert_eq!(windows.last().map(|window| window.1), Some(to));
            for pair in windows.windows(2) {
                prop_assert_eq!(pair[0].1.succ_opt(), Some(pair[1].0));
            }
            for (start, end) in &windows {
                prop_assert!(start <= end && (*end - *start).num_days() < MAX_WINDOW_DAYS as i64);
            }
        }
    }
}

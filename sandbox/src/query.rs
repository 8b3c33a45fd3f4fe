//! Query-string handling the way Keka's ASP.NET backend does it: parameter names match
//! case-insensitively, empty values count as absent, multi-value filters are comma-separated,
//! and values that do not parse are a 400 rather than being ignored.

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, NaiveDateTime};

use super::ids::Guid;
use super::respond::ApiError;

/// Keka's documented default page size.
pub(crate) const DEFAULT_PAGE_SIZE: u32 = 100;
/// Keka's documented maximum page size; larger requests are clamped to it.
pub(crate) const MAX_PAGE_SIZE: u32 = 200;

/// Decoded query parameters in request order.
#[derive(Debug, Clone, Default)]
pub(crate) struct QueryParams {
    pairs: Vec<(String, String)>,
}

/// Requested page (1-based) and page size (already clamped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Paging {
    pub(crate) number: u32,
    pub(crate) size: u32,
}

impl Paging {
    /// Index of the first item of the page.
    pub(crate) fn offset(&self) -> usize {
        (self.number as usize - 1).saturating_mul(self.size as usize)
    }

    /// The page's part of `items` (empty past the end).
    pub(crate) fn slice<'a, T>(&self, items: &'a [T]) -> &'a [T] {
        let start = self.offset().min(items.len());
        let end = start.saturating_add(self.size as usize).min(items.len());
        &items[start..end]
    }

    /// Number of pages for `total` items (0 when there are none).
    pub(crate) fn total_pages(&self, total: usize) -> u32 {
        u32::try_from(total.div_ceil(self.size as usize)).unwrap_or(u32::MAX)
    }
}

impl QueryParams {
    /// Parses a raw query string (without the `?`).
    pub(crate) fn parse(raw: Option<&str>) -> Self {
        let pairs = raw
            .map(|q| url::form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
            .unwrap_or_default();
        Self { pairs }
    }

    /// The first non-empty value of a parameter, matched case-insensitively.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().filter(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim()).find(|v| !v.is_empty())
    }

    /// A comma-separated list; `None` when the parameter is absent.
    pub(crate) fn list(&self, name: &str) -> Option<Vec<&str>> {
        self.get(name).map(|v| v.split(',').map(str::trim).filter(|s| !s.is_empty()).collect())
    }

    /// A comma-separated list of GUIDs. Values that are not GUIDs simply match nothing,
    /// so `Some(empty set)` is possible and filters everything out.
    pub(crate) fn guids(&self, name: &str) -> Option<HashSet<Guid>> {
        self.list(name).map(|items| items.iter().filter_map(|s| s.parse().ok()).collect())
    }

    /// `true`/`false` (any case).
    pub(crate) fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name) {
            None => Ok(None),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(v) => Err(ApiError::bad_request(format!("The value '{v}' is not valid for {name}."))),
        }
    }

    /// A comma-separated list of integers.
    pub(crate) fn ints(&self, name: &str) -> Result<Option<Vec<i64>>, ApiError> {
        self.list(name)
            .map(|items| {
                items
                    .iter()
                    .map(|v| {
                        v.parse::<i64>()
                            .map_err(|_| ApiError::bad_request(format!("The value '{v}' is not valid for {name}.")))
                    })
                    .collect()
            })
            .transpose()
    }

    /// An ISO-8601 date or date-time. Offsets are converted to UTC; a bare date means midnight.
    pub(crate) fn date_time(&self, name: &str) -> Result<Option<NaiveDateTime>, ApiError> {
        self.get(name)
            .map(|v| {
                parse_date_time(v)
                    .ok_or_else(|| ApiError::bad_request(format!("The value '{v}' is not valid for {name}.")))
            })
            .transpose()
    }

    /// `pageNumber` (default 1, at least 1) and `pageSize` (default 100, at least 1, clamped to 200).
    pub(crate) fn paging(&self) -> Result<Paging, ApiError> {
        let positive = |name: &str, default: u32| -> Result<u32, ApiError> {
            match self.get(name) {
                None => Ok(default),
                Some(v) => match v.parse::<i64>() {
                    Ok(n) if n >= 1 => Ok(u32::try_from(n).unwrap_or(u32::MAX)),
                    _ => Err(ApiError::bad_request(format!(
                        "The value '{v}' is not valid for {name}. It must be a positive whole number."
                    ))),
                },
            }
        };
        let number = positive("pageNumber", 1)?;
        let size = positive("pageSize", DEFAULT_PAGE_SIZE)?.min(MAX_PAGE_SIZE);
        Ok(Paging { number, size })
    }

    /// The query with `pageNumber`/`pageSize` replaced, for page links.
    pub(crate) fn with_page(&self, number: u32, size: u32) -> String {
        let mut out = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in &self.pairs {
            if !k.eq_ignore_ascii_case("pageNumber") && !k.eq_ignore_ascii_case("pageSize") {
                out.append_pair(k, v);
            }
        }
        out.append_pair("pageNumber", &number.to_string());
        out.append_pair("pageSize", &size.to_string());
        out.finish()
    }
}

/// Parses `2024-01-31`, `2024-01-31T10:00:00[.fff]`, with optional `Z` or `+05:30`.
pub(crate) fn parse_date_time(v: &str) -> Option<NaiveDateTime> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(v) {
        return Some(dt.naive_utc());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(v, format) {
            return Some(dt);
        }
    }
    if let Some(stripped) = v.strip_suffix('Z').or_else(|| v.strip_suffix('z')) {
        return parse_date_time(stripped);
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d").ok().map(|d| d.and_hms_opt(0, 0, 0).expect("midnight exists"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_case_insensitive_and_empty_is_absent() {
        let q = QueryParams::parse(Some("EmployeeIDs=a,b&pagesize=5&searchKey="));
        assert_eq!(q.list("employeeIds"), Some(vec!["a", "b"]));
        assert_eq!(q.paging().unwrap(), Paging { number: 1, size: 5 });
        assert_eq!(q.get("searchKey"), None);
    }

    #[test]
    fn paging_validation_and_clamp() {
        assert_eq!(QueryParams::parse(Some("pageSize=1000")).paging().unwrap().size, 200);
        for bad in ["pageSize=0", "pageSize=-3", "pageSize=abc", "pageNumber=0", "pageNumber=x"] {
            assert!(QueryParams::parse(Some(bad)).paging().is_err(), "{bad}");
        }
        let p = Paging { number: 3, size: 100 };
        assert_eq!(p.total_pages(250), 3);
        assert_eq!(p.total_pages(0), 0);
        assert_eq!(p.slice(&[0; 250]).len(), 50);
        assert_eq!(Paging { number: 4, size: 100 }.slice(&[0; 250]).len(), 0);
    }

    #[test]
    fn links_keep_other_parameters() {
        let q = QueryParams::parse(Some("employmentStatus=Working&PageNumber=2&pageSize=10&searchKey=ab%20c"));
        assert_eq!(q.with_page(3, 10), "employmentStatus=Working&searchKey=ab+c&pageNumber=3&pageSize=10");
    }

    #[test]
    fn date_formats() {
        let expect = NaiveDate::from_ymd_opt(2024, 5, 1).unwrap().and_hms_opt(4, 30, 0).unwrap();
        assert_eq!(parse_date_time("2024-05-01T10:00:00+05:30"), Some(expect));
        assert_eq!(parse_date_time("2024-05-01T04:30:00Z"), Some(expect));
        assert_eq!(parse_date_time("2024-05-01T04:30:00"), Some(expect));
        assert_eq!(parse_date_time("2024-05-01T04:30:00.000Z"), Some(expect));
        assert!(parse_date_time("2024-05-01").is_some());
        assert!(parse_date_time("yesterday").is_none());
    }
}

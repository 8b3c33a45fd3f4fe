//! Relay connections over offset positions.
//!
//! A cursor is an opaque, versioned encoding of a position in a list (`base64url("v1:<n>")`).
//! Arguments are validated once ([`RelayArgs::validate`]) and turned into a half-open window
//! of positions once the list's length is known ([`ValidArgs::window`]). Keka-paged lists
//! then fetch exactly the Keka pages that cover the window.

use async_graphql::connection::{Connection, CursorType, Edge, EmptyFields};
use async_graphql::{OutputType, SimpleObject};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::error::bad_user_input;

/// Extra connection fields: the size of the whole list, not just the window.
#[derive(Debug, Clone, Copy, SimpleObject)]
pub struct ConnectionTotals {
    /// How many items the whole list has, across all pages.
    pub total_count: usize,
}

/// The connection type every list in this schema uses.
pub type OffsetConnection<Node> = Connection<PositionCursor, Node, ConnectionTotals, EmptyFields>;

/// A position in a list, as an opaque cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PositionCursor(pub usize);

const CURSOR_PREFIX: &str = "v1:";

impl CursorType for PositionCursor {
    type Error = String;

    fn decode_cursor(text: &str) -> Result<Self, Self::Error> {
        let bytes =
            URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).map_err(|_| "not a cursor from this API".to_owned())?;
        let decoded = String::from_utf8(bytes).map_err(|_| "not a cursor from this API".to_owned())?;
        decoded
            .strip_prefix(CURSOR_PREFIX)
            .and_then(|position| position.parse::<usize>().ok())
            .map(Self)
            .ok_or_else(|| "not a cursor from this API".to_owned())
    }

    fn encode_cursor(&self) -> String {
        URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{}", self.0))
    }
}

/// The four Relay arguments as the client sent them.
#[derive(Debug, Clone, Default)]
pub struct RelayArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

/// Checked Relay arguments: sizes within the cap, cursors decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidArgs {
    pub first: Option<usize>,
    pub after: Option<usize>,
    pub last: Option<usize>,
    pub before: Option<usize>,
}

/// Half-open range of positions `[start, end)` to return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: usize,
    pub end: usize,
    pub total: usize,
}

impl RelayArgs {
    pub fn new(first: Option<i32>, after: Option<String>, last: Option<i32>, before: Option<String>) -> Self {
        Self { first, after, last, before }
    }

    /// Rejects negative or oversized sizes and foreign cursors with `BAD_USER_INPUT`.
    /// With neither `first` nor `last`, the first `max_page_size` items are returned.
    pub fn validate(&self, max_page_size: usize) -> async_graphql::Result<ValidArgs> {
        let size = |name: &str, value: Option<i32>| -> async_graphql::Result<Option<usize>> {
            match value {
                None => Ok(None),
                Some(value) if value < 0 => Err(bad_user_input(format!("`{name}` must not be negative (got {value})"))),
                Some(value) if value as usize > max_page_size => {
                    Err(bad_user_input(format!("`{name}` may be at most {max_page_size} (got {value})")))
                }
                Some(value) => Ok(Some(value as usize)),
            }
        };
        let cursor = |name: &str, value: &Option<String>| -> async_graphql::Result<Option<usize>> {
            value
                .as_deref()
                .map(|text| {
                    PositionCursor::decode_cursor(text)
                        .map(|cursor| cursor.0)
                        .map_err(|reason| bad_user_input(format!("invalid `{name}` cursor: {reason}")))
                })
                .transpose()
        };
        let mut valid = ValidArgs {
            first: size("first", self.first)?,
            after: cursor("after", &self.after)?,
            last: size("last", self.last)?,
            before: cursor("before", &self.before)?,
        };
        if valid.first.is_none() && valid.last.is_none() {
            valid.first = Some(max_page_size);
        }
        Ok(valid)
    }
}

impl ValidArgs {
    /// Where the window starts if it can be known without the list's length.
    pub fn start_hint(&self) -> Option<usize> {
        match (self.last, self.before) {
            (None, _) => Some(self.after.map_or(0, |after| after + 1)),
            (Some(last), Some(before)) => {
                Some(before.saturating_sub(last).max(self.after.map_or(0, |after| after + 1)))
            }
            (Some(_), None) => None,
        }
    }

    /// The window for a list of `total` items, per the Relay algorithm: cut by `after`/`before`, then `first`, then `last`.
    pub fn window(&self, total: usize) -> Window {
        let mut start = self.after.map_or(0, |after| after.saturating_add(1)).min(total);
        let mut end = self.before.map_or(total, |before| before.min(total)).max(start);
        if let Some(first) = self.first {
            end = end.min(start + first);
        }
        if let Some(last) = self.last {
            start = start.max(end.saturating_sub(last));
        }
        end = end.max(start);
        Window { start, end, total }
    }
}

impl Window {
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Builds the connection from the window's nodes, in order.
    pub fn into_connection<Node: OutputType>(self, nodes: impl IntoIterator<Item = Node>) -> OffsetConnection<Node> {
        let mut connection = Connection::with_additional_fields(
            self.start > 0,
            self.end < self.total,
            ConnectionTotals { total_count: self.total },
        );
        connection.edges.extend(
            nodes.into_iter().enumerate().map(|(offset, node)| Edge::new(PositionCursor(self.start + offset), node)),
        );
        connection
    }
}

/// A connection over a list already in memory.
pub fn connection_from_slice<Item, Node: OutputType>(
    items: &[Item],
    args: &ValidArgs,
    to_node: impl Fn(&Item) -> Node,
) -> OffsetConnection<Node> {
    let window = args.window(items.len());
    window.into_connection(items[window.start..window.end].iter().map(to_node))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(first: Option<i32>, after: Option<usize>, last: Option<i32>, before: Option<usize>) -> ValidArgs {
        RelayArgs::new(
            first,
            after.map(|p| PositionCursor(p).encode_cursor()),
            last,
            before.map(|p| PositionCursor(p).encode_cursor()),
        )
        .validate(100)
        .unwrap()
    }

    #[test]
    fn cursors_round_trip_and_reject_foreign_text() {
        for position in [0, 1, 99, 123_456] {
            assert_eq!(
                PositionCursor::decode_cursor(&PositionCursor(position).encode_cursor()),
                Ok(PositionCursor(position))
            );
        }
        for bad in
            ["", "abc", "djE6", "djE6LTE", "!!!", "djI6MQ", &URL_SAFE_NO_PAD.encode("v1:99999999999999999999999")]
        {
            assert!(PositionCursor::decode_cursor(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn windows_follow_relay() {
        let w = |a: ValidArgs| {
            let window = a.window(10);
            (window.start, window.end)
        };
        assert_eq!(w(args(Some(3), None, None, None)), (0, 3));
        assert_eq!(w(args(Some(3), Some(2), None, None)), (3, 6));
        assert_eq!(w(args(Some(30), Some(8), None, None)), (9, 10));
        assert_eq!(w(args(None, None, Some(3), None)), (7, 10));
        assert_eq!(w(args(None, None, Some(3), Some(5))), (2, 5));
        assert_eq!(w(args(None, Some(1), Some(10), Some(5))), (2, 5));
        assert_eq!(w(args(Some(0), None, None, None)), (0, 0));
        assert_eq!(w(args(Some(5), Some(50), None, None)), (10, 10));
        assert_eq!(w(args(None, None, None, None)), (0, 10));
    }

    #[test]
    fn start_hints_are_known_unless_counting_from_the_end() {
        assert_eq!(args(Some(3), Some(4), None, None).start_hint(), Some(5));
        assert_eq!(args(None, None, Some(3), Some(5)).start_hint(), Some(2));
        assert_eq!(args(None, None, Some(3), None).start_hint(), None);
    }

    #[test]
    fn bad_arguments_are_bad_user_input() {
        for relay in [
            RelayArgs::new(Some(-1), None, None, None),
            RelayArgs::new(Some(101), None, None, None),
            RelayArgs::new(None, None, Some(-5), None),
            RelayArgs::new(Some(1), Some("garbage".to_owned()), None, None),
            RelayArgs::new(None, None, Some(1), Some("djE6eA".to_owned())),
        ] {
            let error = relay.validate(100).unwrap_err();
            let code = error.extensions.as_ref().and_then(|extensions| extensions.get("code")).unwrap().to_string();
            assert_eq!(code, "\"BAD_USER_INPUT\"", "{relay:?}");
        }
    }
}

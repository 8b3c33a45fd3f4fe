//! Relay connections over offset positions, with cursors that survive changes to the list.
//!
//! A cursor is an opaque, versioned encoding of an item's position in a list and its id
//! (`base64url("v2:<n>:<id>")`; `v1:<n>`, a position alone, is still read). Resuming after (or before) a cursor
//! finds the item by its id, wherever a change to the list (a sync that added or removed people) has moved it, so
//! a walk across any number of changes returns everyone who was there throughout exactly once; only when the item
//! is gone does its position serve. Arguments are validated once ([`RelayArgs::validate`]), resolved against the
//! list ([`ValidArgs::resolved`]) and turned into a half-open window of positions once the list's length is known
//! ([`ValidArgs::window`]). Keka-paged lists then fetch exactly the Keka pages that cover the window.

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

/// An item of a list, as an opaque cursor: where it was, and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PositionCursor {
    pub position: usize,
    /// `None` for a cursor of the first version (a position alone).
    pub id: Option<String>,
}

impl PositionCursor {
    /// A position alone.
    pub fn at(position: usize) -> Self {
        Self { position, id: None }
    }
}

impl CursorType for PositionCursor {
    type Error = String;

    fn decode_cursor(text: &str) -> Result<Self, Self::Error> {
        let foreign = || "not a cursor from this API".to_owned();
        let bytes = URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')).map_err(|_| foreign())?;
        let decoded = String::from_utf8(bytes).map_err(|_| foreign())?;
        if let Some(position) = decoded.strip_prefix("v1:") {
            return position.parse::<usize>().map(Self::at).map_err(|_| foreign());
        }
        let (position, id) = decoded.strip_prefix("v2:").and_then(|rest| rest.split_once(':')).ok_or_else(foreign)?;
        match (position.parse::<usize>(), id.is_empty()) {
            (Ok(position), false) => Ok(Self { position, id: Some(id.to_owned()) }),
            _ => Err(foreign()),
        }
    }

    fn encode_cursor(&self) -> String {
        match &self.id {
            Some(id) => URL_SAFE_NO_PAD.encode(format!("v2:{}:{id}", self.position)),
            None => URL_SAFE_NO_PAD.encode(format!("v1:{}", self.position)),
        }
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

/// Checked Relay arguments: sizes within the cap, cursors decoded into positions and the ids of their items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidArgs {
    pub first: Option<usize>,
    pub after: Option<usize>,
    pub last: Option<usize>,
    pub before: Option<usize>,
    pub after_id: Option<String>,
    pub before_id: Option<String>,
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
        let cursor = |name: &str, value: &Option<String>| -> async_graphql::Result<Option<PositionCursor>> {
            value
                .as_deref()
                .map(|text| {
                    PositionCursor::decode_cursor(text)
                        .map_err(|reason| bad_user_input(format!("invalid `{name}` cursor: {reason}")))
                })
                .transpose()
        };
        let (after, before) = (cursor("after", &self.after)?, cursor("before", &self.before)?);
        let mut valid = ValidArgs {
            first: size("first", self.first)?,
            after: after.as_ref().map(|cursor| cursor.position),
            last: size("last", self.last)?,
            before: before.as_ref().map(|cursor| cursor.position),
            after_id: after.and_then(|cursor| cursor.id),
            before_id: before.and_then(|cursor| cursor.id),
        };
        if valid.first.is_none() && valid.last.is_none() {
            valid.first = Some(max_page_size);
        }
        Ok(valid)
    }
}

impl ValidArgs {
    /// The cursors' positions where their items are now (`position_of` an id, if the list still holds it); a
    /// cursor whose item is gone keeps its position.
    pub fn resolved(&self, position_of: impl Fn(&str) -> Option<usize>) -> Self {
        let now = |position: Option<usize>, id: &Option<String>| id.as_deref().and_then(&position_of).or(position);
        Self { after: now(self.after, &self.after_id), before: now(self.before, &self.before_id), ..self.clone() }
    }

    /// Where the window starts if it can be known without the list's length.
    pub fn start_hint(&self) -> Option<usize> {
        match (self.last, self.before) {
            (None, _) => Some(self.after.map_or(0, |after| after.saturating_add(1))),
            (Some(last), Some(before)) => {
                Some(before.saturating_sub(last).max(self.after.map_or(0, |after| after.saturating_add(1))))
            }
            (Some(_), None) => None,
        }
    }

    /// The window for a list of `total` items, per the Relay algorithm: cut by `after`/`before`, then `first`, then `last`.
    pub fn window(&self, total: usize) -> Window {
        let mut start = self.after.map_or(0, |after| after.saturating_add(1)).min(total);
        let mut end = self.before.map_or(total, |before| before.min(total)).max(start);
        if let Some(first) = self.first {
            end = end.min(start.saturating_add(first));
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

    /// Builds the connection from the window's nodes, in order, each with its id.
    pub fn into_connection<Node: OutputType>(
        self,
        nodes: impl IntoIterator<Item = (String, Node)>,
    ) -> OffsetConnection<Node> {
        let mut connection = Connection::with_additional_fields(
            self.start > 0,
            self.end < self.total,
            ConnectionTotals { total_count: self.total },
        );
        connection.edges.extend(nodes.into_iter().enumerate().map(|(offset, (id, node))| {
            Edge::new(PositionCursor { position: self.start + offset, id: Some(id) }, node)
        }));
        connection
    }
}

/// A connection over a list already in memory; `id_of` names each item for the cursors.
pub fn connection_from_slice<Item, Node: OutputType>(
    items: &[Item],
    args: &ValidArgs,
    id_of: impl Fn(&Item) -> &str,
    to_node: impl Fn(&Item) -> Node,
) -> OffsetConnection<Node> {
    let args = if args.after_id.is_some() || args.before_id.is_some() {
        args.resolved(|id| items.iter().position(|item| id_of(item) == id))
    } else {
        args.clone()
    };
    let window = args.window(items.len());
    window.into_connection(items[window.start..window.end].iter().map(|item| (id_of(item).to_owned(), to_node(item))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(first: Option<i32>, after: Option<usize>, last: Option<i32>, before: Option<usize>) -> ValidArgs {
        RelayArgs::new(
            first,
            after.map(|p| PositionCursor::at(p).encode_cursor()),
            last,
            before.map(|p| PositionCursor::at(p).encode_cursor()),
        )
        .validate(100)
        .unwrap()
    }

    #[test]
    fn cursors_round_trip_and_reject_foreign_text() {
        for position in [0, 1, 99, 123_456] {
            let alone = PositionCursor::at(position);
            assert_eq!(PositionCursor::decode_cursor(&alone.encode_cursor()), Ok(alone));
            let with_id = PositionCursor { position, id: Some("a:b-1".to_owned()) };
            assert_eq!(PositionCursor::decode_cursor(&with_id.encode_cursor()), Ok(with_id));
        }
        for bad in [
            "",
            "abc",
            "djE6",
            "djE6LTE",
            "!!!",
            "djI6MQ",
            &URL_SAFE_NO_PAD.encode("v1:99999999999999999999999"),
            &URL_SAFE_NO_PAD.encode("v2:5:"),
            &URL_SAFE_NO_PAD.encode("v2:x:id"),
            &URL_SAFE_NO_PAD.encode("v2:5"),
        ] {
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

    /// A walk across changes: every item there throughout is returned once, whatever was added or removed before
    /// the cursor between pages; a cursor whose item is gone falls back to its position.
    #[test]
    fn a_walk_resumes_after_its_item_wherever_a_change_moved_it() {
        let page = |items: &[&str], after: Option<String>| -> (Vec<String>, Option<String>) {
            let args = RelayArgs::new(Some(2), after, None, None).validate(100).unwrap();
            let connection = connection_from_slice(items, &args, |item| item, |item| item.to_string());
            let cursor = connection.edges.last().map(|edge| edge.cursor.encode_cursor());
            (connection.edges.into_iter().map(|edge| edge.node).collect(), cursor)
        };
        let (first, cursor) = page(&["a", "b", "c", "d", "e"], None);
        assert_eq!(first, ["a", "b"]);
        // Two hires land before the cursor's item: by position the walk would see "b" again; by id it goes on.
        let (second, cursor) = page(&["x", "a", "y", "b", "c", "d", "e"], cursor);
        assert_eq!(second, ["c", "d"]);
        // Someone before the cursor leaves: by position the walk would skip "e".
        let (third, cursor) = page(&["x", "y", "b", "c", "d", "e"], cursor);
        assert_eq!(third, ["e"]);
        assert_eq!(cursor.as_deref().map(PositionCursor::decode_cursor).unwrap().unwrap().id.as_deref(), Some("e"));
        // Backwards, the same: the last two, then the two before the first of them after a hire before it.
        let back = |items: &[&str], before: Option<String>| -> (Vec<String>, Option<String>) {
            let args = RelayArgs::new(None, None, Some(2), before).validate(100).unwrap();
            let connection = connection_from_slice(items, &args, |item| item, |item| item.to_string());
            let cursor = connection.edges.first().map(|edge| edge.cursor.encode_cursor());
            (connection.edges.into_iter().map(|edge| edge.node).collect(), cursor)
        };
        let (last, cursor) = back(&["a", "b", "c", "d", "e"], None);
        assert_eq!(last, ["d", "e"]);
        let (before, _) = back(&["a", "x", "b", "c", "d", "e"], cursor);
        assert_eq!(before, ["b", "c"]);
        // The cursor's item is gone: its position serves.
        let gone = PositionCursor { position: 1, id: Some("zz".to_owned()) }.encode_cursor();
        let (after_gone, _) = page(&["a", "b", "c", "d"], Some(gone));
        assert_eq!(after_gone, ["c", "d"]);
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

/// Properties: every position round-trips, no text makes the codec or the window panic, and windows follow Relay.
#[cfg(test)]
mod properties {
    use proptest::prelude::*;

    use super::*;

    const MAX_PAGE_SIZE: usize = 100;

    /// Positions with the edges (0, `usize::MAX`) well represented, not just uniformly drawn ones.
    fn position() -> impl Strategy<Value = usize> {
        prop_oneof![0..1_000usize, any::<usize>(), Just(usize::MAX), Just(usize::MAX - 1)]
    }

    /// What a client could put after `v1:`: digits of any length, signs, whitespace, other text.
    fn near_position_text() -> impl Strategy<Value = String> {
        prop_oneof![
            "[0-9]{0,40}",
            "[-+][0-9]{1,25}",
            "[ \t\n]{0,2}[0-9]{1,5}[ \t\n]{0,2}",
            Just(u64::MAX.to_string()),
            Just("18446744073709551616".to_owned()),
            Just("340282366920938463463374607431768211456".to_owned()),
            "[0-9]{1,3}(\\.[0-9]{1,3}|e[0-9]|_000)",
            ".{0,12}",
        ]
    }

    /// Cursor text near the real format: `base64url("<prefix><position text>")`, with or without padding or in the
    /// standard alphabet, or the plain text itself.
    fn near_cursor() -> impl Strategy<Value = (String, String)> {
        let prefix = prop_oneof![4 => Just("v1:"), 1 => Just("v2:"), 1 => Just("V1:"), 1 => Just(""), 1 => Just("v1")];
        (prefix, near_position_text(), 0..4u8).prop_map(|(prefix, position, encoding)| {
            let plain = format!("{prefix}{position}");
            let text = match encoding {
                0 => URL_SAFE_NO_PAD.encode(&plain),
                1 => base64::engine::general_purpose::URL_SAFE.encode(&plain),
                2 => base64::engine::general_purpose::STANDARD.encode(&plain),
                _ => plain.clone(),
            };
            (plain, text)
        })
    }

    /// A cursor argument as a client may send it: one of ours, or anything else.
    fn cursor_argument() -> impl Strategy<Value = Option<String>> {
        prop::option::of(prop_oneof![
            2 => position().prop_map(|position| PositionCursor::at(position).encode_cursor()),
            2 => (position(), ".{1,12}").prop_map(|(position, id)| PositionCursor { position, id: Some(id) }.encode_cursor()),
            1 => near_cursor().prop_map(|(_, text)| text),
            1 => any::<String>(),
        ])
    }

    fn size_argument() -> impl Strategy<Value = Option<i32>> {
        prop::option::of(prop_oneof![-2..=(MAX_PAGE_SIZE as i32 + 2), any::<i32>(), Just(i32::MIN), Just(i32::MAX)])
    }

    fn relay_args() -> impl Strategy<Value = RelayArgs> {
        (size_argument(), cursor_argument(), size_argument(), cursor_argument())
            .prop_map(|(first, after, last, before)| RelayArgs::new(first, after, last, before))
    }

    fn total() -> impl Strategy<Value = usize> {
        prop_oneof![0..300usize, any::<usize>(), Just(usize::MAX)]
    }

    /// The Relay algorithm on the list itself, for checking windows over small lists.
    fn relay_positions(args: &ValidArgs, total: usize) -> Vec<usize> {
        let mut positions: Vec<usize> = (0..total)
            .filter(|position| args.after.is_none_or(|after| *position > after))
            .filter(|position| args.before.is_none_or(|before| *position < before))
            .collect();
        if let Some(first) = args.first {
            positions.truncate(first);
        }
        if let Some(last) = args.last {
            let cut = positions.len().saturating_sub(last);
            positions.drain(..cut);
        }
        positions
    }

    /// The format, read plainly: `v1:<usize>`, or `v2:<usize>:<a non-empty id>`.
    fn read_plainly(plain: &str) -> Option<PositionCursor> {
        if let Some(position) = plain.strip_prefix("v1:") {
            return position.parse().ok().map(PositionCursor::at);
        }
        let (position, id) = plain.strip_prefix("v2:")?.split_once(':')?;
        (!id.is_empty()).then_some(PositionCursor { position: position.parse().ok()?, id: Some(id.to_owned()) })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn every_position_and_id_round_trips(position in position(), id in prop::option::of(".{1,40}")) {
            let cursor = PositionCursor { position, id };
            let text = cursor.encode_cursor();
            let url_safe = |byte: u8| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_';
            prop_assert!(text.bytes().all(url_safe), "{text}");
            prop_assert_eq!(PositionCursor::decode_cursor(&text), Ok(cursor));
            let padded = base64::engine::general_purpose::URL_SAFE.encode(format!("v1:{position}"));
            prop_assert_eq!(PositionCursor::decode_cursor(&padded), Ok(PositionCursor::at(position)));
        }

        #[test]
        fn any_text_decodes_to_a_position_or_an_error(text in any::<String>()) {
            if let Ok(cursor) = PositionCursor::decode_cursor(&text) {
                prop_assert_eq!(PositionCursor::decode_cursor(&cursor.encode_cursor()), Ok(cursor));
            }
        }

        #[test]
        fn any_bytes_as_base64url_decode_exactly_when_they_follow_the_format(
            bytes in prop::collection::vec(any::<u8>(), 0..48),
        ) {
            let expected = std::str::from_utf8(&bytes).ok().and_then(read_plainly);
            prop_assert_eq!(PositionCursor::decode_cursor(&URL_SAFE_NO_PAD.encode(&bytes)).ok(), expected);
        }

        #[test]
        fn text_near_the_format_decodes_only_when_it_follows_it((plain, text) in near_cursor()) {
            let decoded = PositionCursor::decode_cursor(&text);
            // (Unencoded text that happens to be base64url of something else is not near the format.)
            if let Ok(cursor) = &decoded
                && text != plain
            {
                let expected = read_plainly(&plain);
                prop_assert_eq!(expected.as_ref(), Some(cursor), "{} as {}", plain, text);
            }
            if text == URL_SAFE_NO_PAD.encode(&plain) {
                prop_assert_eq!(decoded.ok(), read_plainly(&plain));
            }
        }

        #[test]
        fn arguments_validate_or_fail_as_bad_user_input_and_windows_stay_in_bounds(
            relay in relay_args(),
            total in total(),
        ) {
            let valid = match relay.validate(MAX_PAGE_SIZE) {
                Ok(valid) => valid,
                Err(error) => {
                    let code = error.extensions.as_ref().and_then(|extensions| extensions.get("code"));
                    let code = code.map(ToString::to_string);
                    prop_assert_eq!(code.as_deref(), Some("\"BAD_USER_INPUT\""));
                    let size_ok =
                        |size: Option<i32>| size.is_none_or(|size| (0..=MAX_PAGE_SIZE as i32).contains(&size));
                    let cursor_ok = |cursor: &Option<String>| {
                        cursor.as_deref().is_none_or(|text| PositionCursor::decode_cursor(text).is_ok())
                    };
                    let sizes_ok = size_ok(relay.first) && size_ok(relay.last);
                    prop_assert!(
                        !(sizes_ok && cursor_ok(&relay.after) && cursor_ok(&relay.before)),
                        "valid arguments refused: {:?}",
                        relay
                    );
                    return Ok(());
                }
            };
            prop_assert!(valid.first.is_some() || valid.last.is_some());
            let window = valid.window(total);
            prop_assert_eq!(window.total, total);
            prop_assert!(window.start <= window.end && window.end <= total, "{:?} for {:?}", window, valid);
            prop_assert_eq!(window.len(), window.end - window.start);
            if let Some(first) = valid.first {
                prop_assert!(window.len() <= first, "{:?} for {:?}", window, valid);
            }
            if let Some(last) = valid.last {
                prop_assert!(window.len() <= last, "{:?} for {:?}", window, valid);
            }
            if !window.is_empty() {
                prop_assert!(valid.after.is_none_or(|after| window.start > after));
                prop_assert!(valid.before.is_none_or(|before| window.end <= before));
            }
            if total <= 300 {
                let expected = relay_positions(&valid, total);
                prop_assert_eq!((window.start..window.end).collect::<Vec<_>>(), expected, "{:?}", valid);
            }
        }

        #[test]
        fn the_start_hint_is_the_windows_start_once_the_list_is_long_enough(
            relay in relay_args(),
            total in total(),
        ) {
            let Ok(valid) = relay.validate(MAX_PAGE_SIZE) else { return Ok(()) };
            let hint = valid.start_hint();
            prop_assert_eq!(hint.is_none(), valid.last.is_some() && valid.before.is_none());
            let long_enough =
                valid.after.is_none_or(|after| total > after) && valid.before.is_none_or(|before| total >= before);
            if let Some(hint) = hint
                && long_enough
                && (valid.first.is_none() || valid.last.is_none())
            {
                prop_assert_eq!(hint, valid.window(total).start, "{:?} over {}", valid, total);
            }
        }

        #[test]
        fn connections_over_slices_hold_the_window_with_cursors_to_its_positions(
            relay in relay_args(),
            total in 0..300usize,
        ) {
            let Ok(valid) = relay.validate(MAX_PAGE_SIZE) else { return Ok(()) };
            let items: Vec<String> = (0..total).map(|item| item.to_string()).collect();
            let window = valid.resolved(|id| items.iter().position(|item| item == id)).window(total);
            let connection = connection_from_slice(&items, &valid, String::as_str, |item| item.parse::<i32>().unwrap());
            prop_assert_eq!(connection.edges.len(), window.len());
            for (offset, edge) in connection.edges.iter().enumerate() {
                let position = window.start + offset;
                prop_assert_eq!(&edge.cursor, &PositionCursor { position, id: Some(position.to_string()) });
                prop_assert_eq!(edge.node, position as i32);
            }
            prop_assert_eq!(connection.has_previous_page, window.start > 0);
            prop_assert_eq!(connection.has_next_page, window.end < total);
        }

        #[test]
        fn oversized_page_caps_never_overflow(
            first in prop::option::of(0..=i32::MAX),
            last in prop::option::of(0..=i32::MAX),
            after in prop::option::of(position()),
            before in prop::option::of(position()),
            total in total(),
        ) {
            let encode = |position: Option<usize>| position.map(|position| PositionCursor::at(position).encode_cursor());
            let valid = RelayArgs::new(first, encode(after), last, encode(before)).validate(usize::MAX).unwrap();
            let window = valid.window(total);
            prop_assert!(window.start <= window.end && window.end <= total);
            let _ = valid.start_hint();
        }
    }
}

//! Proptest strategies for upstream payloads, shared by the property tests of Keka's and Keeper's models:
//! arbitrary JSON built from the field names an upstream really uses (so decoding goes past the first level),
//! real payloads with values replaced, removed or added at any depth, and bytes near JSON.

use proptest::prelude::*;
use serde_json::{Map, Number, Value};

/// Stand-ins for number literals a `serde_json::Value` cannot hold, swapped in by [`to_body`].
const RAW_LITERALS: &[(&str, &str)] = &[
    ("\u{1}huge-integer\u{1}", "123456789012345678901234567890"),
    ("\u{1}huge-negative\u{1}", "-98765432109876543210987654321"),
    ("\u{1}float-overflow\u{1}", "1e999"),
    ("\u{1}float-underflow\u{1}", "-1e-999"),
    ("\u{1}exponent\u{1}", "2E+2"),
    ("\u{1}negative-zero\u{1}", "-0"),
];

/// Serialises `value`, writing the [`RAW_LITERALS`] stand-ins as the raw literals they stand for.
pub fn to_body(value: &Value) -> Vec<u8> {
    let mut text = value.to_string();
    for (marker, literal) in RAW_LITERALS {
        text = text.replace(&Value::String((*marker).to_owned()).to_string(), literal);
    }
    text.into_bytes()
}

/// Numbers at the edges of every type a model reads them into (`u16`, `u32` page numbers, `u64` counters, `i64`
/// enum codes, `f64` amounts), and literals JSON allows but `Value` cannot hold.
fn number() -> BoxedStrategy<Value> {
    let edges = vec![
        Value::from(0),
        Value::from(1),
        Value::from(-1),
        Value::from(u16::MAX),
        Value::from(u32::MAX),
        Value::from(u64::from(u32::MAX) + 1),
        Value::from(i32::MIN),
        Value::from(i64::MIN),
        Value::from(i64::MAX),
        Value::from(u64::MAX),
        Value::from(0.5),
        Value::from(-0.0),
        Value::from(1e300),
        Value::from(-1e300),
        Value::from(f64::MIN_POSITIVE),
    ];
    prop_oneof![
        3 => prop::sample::select(edges),
        2 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<f64>().prop_filter_map("not finite", |float| Number::from_f64(float).map(Value::Number)),
        1 => prop::sample::select(RAW_LITERALS.iter().map(|(marker, _)| Value::from(*marker)).collect::<Vec<_>>()),
    ]
    .boxed()
}

/// Strings: arbitrary Unicode, and text near what upstreams put in strings (dates, numbers, enum names, flags).
pub fn text() -> BoxedStrategy<String> {
    let known = vec![
        "",
        " ",
        "null",
        "true",
        "True",
        " false ",
        "yes",
        "0",
        "-1",
        " 42 ",
        "4294967296",
        "99999999999999999999",
        "NaN",
        "Working",
        "relieved",
        "FEMALE",
        "Female ",
        "PartTime",
        "2021-09-01T00:00:00",
        "2021-09-01T10:30:00Z",
        "2021-09-01T16:00:00+05:30",
        "2021-09-01 10:30:00.1234567",
        "2021-09-01",
        "2021-02-30",
        "0000-01-01T00:00:00",
        "9999-12-31T23:59:59.999999999",
        "-262143-01-01",
        "+262143-12-31T23:59:59+23:59",
        "1999-12-31T24:00:00",
        "a@b.example",
        " A@B.Example ",
        "\u{0}",
        "\u{feff}",
        "é",
        "🦀",
    ];
    prop_oneof![
        3 => any::<String>(),
        3 => prop::sample::select(known).prop_map(str::to_owned),
        2 => concat!(
            "[+-]?[0-9]{1,6}-[0-9]{1,2}-[0-9]{1,2}",
            "([T ][0-9]{1,2}:[0-9]{1,2}(:[0-9]{1,2}(\\.[0-9]{0,12})?)?(Z|[+-][0-9]{2}:?[0-9]{2})?)?",
        ),
        1 => "[ ]?[+-]?[0-9]{1,25}[ ]?",
    ]
    .boxed()
}

fn leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        3 => number(),
        3 => text().prop_map(Value::String),
    ]
    .boxed()
}

/// An object key: mostly one of `keys` (an upstream's real field names), sometimes anything.
fn key(keys: Vec<String>) -> BoxedStrategy<String> {
    prop_oneof![4 => prop::sample::select(keys), 1 => any::<String>()].boxed()
}

/// Arbitrary JSON, at most five levels deep, whose objects mostly use `keys`.
pub fn json(keys: Vec<String>) -> BoxedStrategy<Value> {
    leaf()
        .prop_recursive(5, 64, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((key(keys.clone()), inner), 0..6)
                    .prop_map(|fields| Value::Object(fields.into_iter().collect::<Map<String, Value>>())),
            ]
        })
        .boxed()
}

/// One change to a payload: follow `path` (each step picks a member or an element, modulo their number, as far as
/// there is one), then act on what is there.
#[derive(Debug, Clone)]
pub struct Edit {
    path: Vec<usize>,
    action: Action,
}

#[derive(Debug, Clone)]
enum Action {
    Replace(Value),
    /// Adds (or overwrites) a member when the target is an object, else replaces it.
    Insert(String, Value),
    Remove,
}

pub fn edit(keys: Vec<String>) -> BoxedStrategy<Edit> {
    let action = prop_oneof![
        3 => json(keys.clone()).prop_map(Action::Replace),
        1 => (key(keys.clone()), json(keys)).prop_map(|(key, value)| Action::Insert(key, value)),
        1 => Just(Action::Remove),
    ];
    (prop::collection::vec(any::<usize>(), 0..7), action).prop_map(|(path, action)| Edit { path, action }).boxed()
}

/// Applies `edits` to `value`, in order.
pub fn apply(mut value: Value, edits: &[Edit]) -> Value {
    for edit in edits {
        apply_one(&mut value, &edit.path, &edit.action);
    }
    value
}

fn apply_one(value: &mut Value, path: &[usize], action: &Action) {
    if let Some((step, rest)) = path.split_first() {
        match value {
            Value::Object(fields) if !fields.is_empty() => {
                let key = fields.keys().nth(step % fields.len()).cloned().unwrap_or_default();
                if rest.is_empty() && matches!(action, Action::Remove) {
                    fields.remove(&key);
                } else if let Some(member) = fields.get_mut(&key) {
                    apply_one(member, rest, action);
                }
                return;
            }
            Value::Array(items) if !items.is_empty() => {
                let position = step % items.len();
                if rest.is_empty() && matches!(action, Action::Remove) {
                    items.remove(position);
                } else {
                    apply_one(&mut items[position], rest, action);
                }
                return;
            }
            _ => {}
        }
    }
    match action {
        Action::Replace(new) => *value = new.clone(),
        Action::Insert(key, new) => match value {
            Value::Object(fields) => {
                fields.insert(key.clone(), new.clone());
            }
            other => *other = new.clone(),
        },
        Action::Remove => *value = Value::Null,
    }
}

/// One of `bases` (real payloads) with up to four edits anywhere in it.
pub fn edited(bases: Vec<Value>, keys: Vec<String>) -> BoxedStrategy<Value> {
    (prop::sample::select(bases), prop::collection::vec(edit(keys), 0..5))
        .prop_map(|(base, edits)| apply(base, &edits))
        .boxed()
}

/// Bodies as an upstream could send them: arbitrary bytes, arbitrary JSON, edited real payloads, and real payloads
/// cut short or with a byte changed.
pub fn body(bases: Vec<Value>, keys: Vec<String>) -> BoxedStrategy<Vec<u8>> {
    let corrupted = (prop::sample::select(bases.clone()), any::<usize>(), any::<u8>(), any::<bool>()).prop_map(
        |(base, at, byte, truncate)| {
            let mut body = to_body(&base);
            let at = at % (body.len() + 1);
            if truncate {
                body.truncate(at);
            } else {
                body.insert(at, byte);
            }
            body
        },
    );
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..200),
        2 => json(keys.clone()).prop_map(|value| to_body(&value)),
        4 => edited(bases, keys).prop_map(|value| to_body(&value)),
        1 => corrupted,
    ]
    .boxed()
}

/// Every object key in `value`, at any depth, sorted and de-duplicated.
pub fn keys_of(value: &Value) -> Vec<String> {
    fn collect(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(fields) => {
                for (key, member) in fields {
                    out.push(key.clone());
                    collect(member, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|item| collect(item, out)),
            _ => {}
        }
    }
    let mut keys = Vec::new();
    collect(value, &mut keys);
    keys.sort();
    keys.dedup();
    keys
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn raw_literals_replace_their_stand_ins() {
        let value = json!({"a": RAW_LITERALS[0].0, "b": [RAW_LITERALS[2].0]});
        assert_eq!(String::from_utf8(to_body(&value)).unwrap(), r#"{"a":123456789012345678901234567890,"b":[1e999]}"#);
    }

    #[test]
    fn edits_follow_their_path_and_stop_where_it_ends() {
        let base = json!({"data": [{"id": "1", "name": "x"}, {"id": "2"}]});
        let replace = |path: Vec<usize>, new: Value| Edit { path, action: Action::Replace(new) };
        // `data` → the second record → its only member.
        assert_eq!(
            apply(base.clone(), &[replace(vec![0, 3, 5], json!(7))]),
            json!({"data": [{"id": "1", "name": "x"}, {"id": 7}]})
        );
        // A path longer than the value replaces the leaf it reaches.
        assert_eq!(
            apply(base.clone(), &[replace(vec![0, 0, 0, 0, 0], json!(null))]),
            json!({"data": [{"id": null, "name": "x"}, {"id": "2"}]})
        );
        let remove = Edit { path: vec![0, 0], action: Action::Remove };
        assert_eq!(apply(base, &[remove]), json!({"data": [{"id": "2"}]}));
    }
}

//! The employee custom fields a tenant defines beyond the two drawn with the org (T-shirt size, laptop asset tag):
//! one of each kind of value Keka's custom fields hold, so clients meet dates, numbers, yes/no and multi-select
//! values as Keka sends them: every value a string.
//!
//! Their definitions and values are derived from titles and employee ids rather than drawn from the tenant's
//! generator, so adding them changed no other generated value.

use chrono::NaiveDate;

use super::{CustomFieldDef, CustomFieldValue};
use crate::ids::{Guid, mix, unit};

/// `(title, Keka's type)`, in the order they follow the org's own fields.
const DERIVED: [(&str, &str); 4] = [
    ("Badge Issued On", "Date"),
    ("Desk Number", "Number"),
    ("Remote Eligible", "Checkbox"),
    ("Certifications", "MultiSelect"),
];

const CERTIFICATIONS: &[&str] = &[
    "AWS Solutions Architect",
    "PMP",
    "CISSP",
    "Scrum Master",
    "Google Cloud Engineer",
    "CPA",
    "Six Sigma Green Belt",
];

/// The derived fields' definitions, appended to the org's.
pub(super) fn definitions() -> Vec<CustomFieldDef> {
    DERIVED
        .iter()
        .map(|(title, kind)| CustomFieldDef {
            id: Guid::derived(&[title.bytes().fold(0u64, |acc, b| acc.wrapping_mul(31).wrapping_add(u64::from(b)))]),
            title: (*title).to_owned(),
            field_type: (*kind).to_owned(),
        })
        .collect()
}

/// One person's values for the derived fields, whose definitions start at index `first`. An unset field has no value
/// at all (as in Keka, where a field nobody filled in is left out).
pub(super) fn values(id: Guid, joined: NaiveDate, first: usize) -> Vec<CustomFieldValue> {
    let key = id.key();
    let mut values = Vec::with_capacity(DERIVED.len());
    let badge = joined + chrono::Days::new(mix(&key, 1) % 10);
    values.push(CustomFieldValue { field: first, value: badge.format("%Y-%m-%d").to_string() });
    if unit(&key, 2) < 0.85 {
        values.push(CustomFieldValue { field: first + 1, value: (100 + mix(&key, 3) % 900).to_string() });
    }
    values.push(CustomFieldValue { field: first + 2, value: (unit(&key, 4) < 0.4).to_string() });
    let certifications: Vec<&str> =
        CERTIFICATIONS.iter().enumerate().filter(|(i, _)| unit(&key, 10 + *i as u64) < 0.12).map(|(_, c)| *c).collect();
    if !certifications.is_empty() {
        values.push(CustomFieldValue { field: first + 3, value: certifications.join(", ") });
    }
    values
}

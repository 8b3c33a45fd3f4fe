//! Keka's JSON exactly as Keka sends it: envelopes, records and integer enums.
//!
//! Everything Keka may omit or null is an `Option`, unknown fields are ignored, and integer
//! enums keep unknown values (`Unknown(n)`) so a new Keka value never breaks decoding.

mod datetime;
mod employee;
mod envelope;
mod hire;
mod keka_enum;
mod org;
mod raw;
mod time;

pub use datetime::{KekaDate, parse_keka_datetime};
pub use employee::*;
pub use envelope::*;
pub use hire::*;
pub use org::*;
pub(crate) use raw::attach as attach_raw;
pub use raw::{RawDictionaries, RawRecord, Record, Recorded};
pub use time::*;

use serde::{Deserialize, Deserializer};

/// `null` and a missing field both become the type's default (Keka sends `null` for empty lists).
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// A `{identifier, title}` reference (job title, leave plan, band…). Some sources show a bare string.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TitleRef {
    pub identifier: Option<String>,
    pub title: Option<String>,
}

impl<'de> Deserialize<'de> for TitleRef {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Object {
                #[serde(default, alias = "id")]
                identifier: Option<String>,
                #[serde(default, alias = "name")]
                title: Option<String>,
            },
            Text(String),
        }
        Ok(match Wire::deserialize(deserializer)? {
            Wire::Object { identifier, title } => Self { identifier, title },
            Wire::Text(title) => Self { identifier: None, title: Some(title) },
        })
    }
}

/// A postal address as Keka nests it in employees and locations.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Address {
    pub address_line1: Option<String>,
    pub address_line2: Option<String>,
    pub country_code: Option<String>,
    pub city: Option<String>,
    pub state: Option<String>,
    pub zip: Option<String>,
}

/// A model that keeps its raw record (`raw: RawRecord`), or one that does not; each is also an answer of one record.
macro_rules! records {
    (keeps: $($kept:ty),*; not: $($plain:ty),* $(,)?) => {
        $(
            impl Record for $kept {
                fn raw_slot(&mut self) -> Option<&mut RawRecord> {
                    Some(&mut self.raw)
                }
            }
        )*
        $( impl Record for $plain {} )*
        $(
            impl Recorded for $kept {
                fn records(&mut self) -> Vec<&mut dyn Record> {
                    vec![self]
                }
            }
        )*
        $(
            impl Recorded for $plain {
                fn records(&mut self) -> Vec<&mut dyn Record> {
                    vec![self]
                }
            }
        )*
    };
}

records!(
    keeps: EmployeeRecord, Group, Location, LeaveRequest, Candidate, Job;
    not: Employee, GroupType, Department, JobTitle, LeaveType, EmployeeLeaveBalances, AttendanceDay, PreboardingCandidate,
        NewRecord,
);

impl Recorded for String {
    fn records(&mut self) -> Vec<&mut dyn Record> {
        Vec::new()
    }
}

impl<T: Record> Recorded for ListEnvelope<T> {
    fn records(&mut self) -> Vec<&mut dyn Record> {
        self.data.iter_mut().map(|record| record as &mut dyn Record).collect()
    }
}

impl<T: Recorded> Recorded for SingleEnvelope<T> {
    fn records(&mut self) -> Vec<&mut dyn Record> {
        self.data.as_mut().map_or_else(Vec::new, Recorded::records)
    }
}

impl<T: Record> Recorded for ItemsPage<T> {
    fn records(&mut self) -> Vec<&mut dyn Record> {
        // The preboarding shape (`items`) has no raw field in the schema: its records are never matched.
        Vec::new()
    }
}

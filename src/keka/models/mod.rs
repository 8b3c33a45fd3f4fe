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
mod time;

pub use datetime::{KekaDate, parse_keka_datetime};
pub use employee::*;
pub use envelope::*;
pub use hire::*;
pub use org::*;
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

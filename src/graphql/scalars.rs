//! `Date` and `DateTime` scalars with the plain formats frontends expect
//! (`2026-11-24`, `2026-11-24T09:30:00Z`), instead of async-graphql's `NaiveDate` naming.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{NaiveDate, SecondsFormat, Utc};

use crate::keka::models::KekaDate;

/// A calendar date, `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub NaiveDate);

/// A calendar date, `YYYY-MM-DD`.
#[Scalar(name = "Date")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(Date)
                .map_err(|_| InputValueError::custom(format!("`{text}` is not a date as YYYY-MM-DD"))),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

impl From<KekaDate> for Date {
    fn from(date: KekaDate) -> Self {
        Self(date.date())
    }
}

/// An instant in UTC, RFC 3339 (`2026-11-24T09:30:00Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime(pub chrono::DateTime<Utc>);

/// An instant, RFC 3339; output in UTC (`2026-11-24T09:30:00Z`).
#[Scalar(name = "DateTime")]
impl ScalarType for DateTime {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(text) => chrono::DateTime::parse_from_rfc3339(text)
                .map(|instant| DateTime(instant.with_timezone(&Utc)))
                .map_err(|_| InputValueError::custom(format!("`{text}` is not an RFC 3339 date-time"))),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::Secs, true))
    }
}

impl From<KekaDate> for DateTime {
    fn from(date: KekaDate) -> Self {
        Self(date.0)
    }
}

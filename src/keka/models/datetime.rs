//! Keka's dates: ISO strings usually without an offset (`2021-09-01T00:00:00`), punch
//! timestamps with `Z`, and occasionally a bare date. All are read as UTC.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Deserializer};

/// A Keka date-time, normalised to UTC. Keka's offset-less values are taken as UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KekaDate(pub DateTime<Utc>);

impl KekaDate {
    pub fn date(self) -> NaiveDate {
        self.0.date_naive()
    }
}

/// Parses every date shape Keka is known to send.
pub fn parse_keka_datetime(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    if let Ok(with_offset) = DateTime::parse_from_rfc3339(text) {
        return Some(with_offset.with_timezone(&Utc));
    }
    if let Ok(naive) = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(naive.and_utc());
    }
    if let Ok(naive) = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f") {
        return Some(naive.and_utc());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|date| date.and_hms_opt(0, 0, 0))
        .map(|naive| naive.and_utc())
}

impl<'de> Deserialize<'de> for KekaDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        parse_keka_datetime(&text)
            .map(KekaDate)
            .ok_or_else(|| serde::de::Error::custom(format!("not a date: `{text}`")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_shape_parses() {
        let expected = "2021-09-01T10:30:00Z";
        for text in [
            "2021-09-01T10:30:00",
            "2021-09-01T10:30:00Z",
            "2021-09-01T16:00:00+05:30",
            "2021-09-01T10:30:00.000",
            "2021-09-01 10:30:00",
        ] {
            assert_eq!(
                parse_keka_datetime(text).unwrap().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                expected,
                "{text}"
            );
        }
        assert_eq!(
            parse_keka_datetime("2021-09-01").unwrap().date_naive(),
            NaiveDate::from_ymd_opt(2021, 9, 1).unwrap()
        );
        assert!(parse_keka_datetime("yesterday").is_none());
    }
}

//! Keka's record as Keka sent it, kept beside the typed model for fields the schema does not name yet.
//!
//! Kept compressed (zstd): an employee's JSON is 3–4 KB, and the org snapshot holds every employee, so raw text
//! would add tens of megabytes to a 10,000-person process. Compressed, a record costs about a third of that, and
//! it is only decompressed when a client selects `raw`.

use std::sync::Arc;

use serde::Deserialize;
use serde_json::value::RawValue;

/// Level 3: zstd's default, a few hundred MB/s on one core; a walk of 10,000 people compresses in well under
/// a second of CPU, spread over its pages.
const COMPRESSION_LEVEL: i32 = 3;

/// One record's JSON, compressed; empty for records not read from a Keka answer (a manager known only by
/// reference).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RawRecord(Option<Arc<[u8]>>);

impl RawRecord {
    fn keep(json: &RawValue) -> Self {
        match zstd::bulk::compress(json.get().as_bytes(), COMPRESSION_LEVEL) {
            Ok(compressed) => Self(Some(compressed.into())),
            Err(error) => {
                tracing::warn!(%error, "could not compress a Keka record; its raw form is dropped");
                Self(None)
            }
        }
    }

    /// The record as Keka sent it; `None` when none was kept.
    pub fn json(&self) -> Option<serde_json::Value> {
        let compressed = self.0.as_deref()?;
        let text = zstd::stream::decode_all(compressed).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// Bytes held (for the memory figures).
    pub fn stored_bytes(&self) -> usize {
        self.0.as_deref().map_or(0, <[u8]>::len)
    }
}

impl std::fmt::Debug for RawRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RawRecord({} bytes compressed)", self.stored_bytes())
    }
}

/// A model that keeps its raw record. Models that do not are `Record` with the default (nothing kept).
pub trait Record {
    fn raw_slot(&mut self) -> Option<&mut RawRecord> {
        None
    }
}

/// An answer's decoded body whose records can take their raw JSON.
pub trait Recorded {
    /// The answer's records, in the order the body lists them.
    fn records(&mut self) -> Vec<&mut dyn Record>;
}

/// Gives each record of `decoded` its JSON from `body`, when its model keeps one. A body whose records cannot
/// be matched one to one (it decoded, so this does not happen with Keka's shapes) leaves them without.
pub(crate) fn attach<T: Recorded>(decoded: &mut T, body: &[u8]) {
    let mut records = decoded.records();
    if !records.iter_mut().any(|record| record.raw_slot().is_some()) {
        return;
    }
    let Some(raws) = raw_records(body) else { return };
    if raws.len() != records.len() {
        return;
    }
    for (record, raw) in records.iter_mut().zip(raws) {
        if let Some(slot) = record.raw_slot() {
            *slot = RawRecord::keep(raw);
        }
    }
}

/// The records of a body: a bare array (Hire lists), or an envelope's `data` (a list or one record).
fn raw_records(body: &[u8]) -> Option<Vec<&RawValue>> {
    #[derive(Deserialize)]
    struct Data<'a> {
        #[serde(borrow, default)]
        data: Option<&'a RawValue>,
    }
    let list = |json: &'_ RawValue| json.get().trim_start().starts_with('[');
    let whole: &RawValue = serde_json::from_slice(body).ok()?;
    let data = if list(whole) { whole } else { serde_json::from_str::<Data<'_>>(whole.get()).ok()?.data? };
    if list(data) {
        serde_json::from_str(data.get()).ok()
    } else if data.get() == "null" {
        Some(Vec::new())
    } else {
        Some(vec![data])
    }
}

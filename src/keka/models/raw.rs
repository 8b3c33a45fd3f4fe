//! Keka's record as Keka sent it, kept beside the typed model for fields the schema does not name yet.
//!
//! Kept compressed: an employee's JSON is about 5 KB and the org snapshot holds every employee, so raw text would
//! add 50 MB to a 10,000-person process. Alone, a record compresses to about 2.2 KB (zstd has little to learn from
//! one record); with a dictionary trained on the first large page of its kind, to about 0.7 KB, since every record
//! repeats the same field names and shapes. A record is only decompressed when a client selects `raw`.
//!
//! One packed copy per distinct record: the same employee is decoded from several answers (the snapshot's walk, a
//! page, a batch by id), and each would otherwise keep its own copy (measured: three at 10,000 people, 150.4 MB
//! peak). Records are found again by a SHA-256 of their text, so a record decoded again costs a hash, not a
//! compression, and shares the copy already held.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use sha2::{Digest as _, Sha256};

use serde::Deserialize;
use serde_json::value::RawValue;
use zstd::dict::{DecoderDictionary, EncoderDictionary};

/// zstd's default level: a few hundred MB/s on one core.
const COMPRESSION_LEVEL: i32 = 3;
/// Records a dictionary is trained on: the first page of a kind with at least this many.
const TRAINING_RECORDS: usize = 32;
/// A dictionary's size: shared by every record of its kind, so far less than what it saves.
const DICTIONARY_BYTES: usize = 16 * 1024;

/// One record's JSON, compressed; empty for records not read from a Keka answer (a manager known only by
/// reference).
#[derive(Clone, Default)]
pub struct RawRecord(Option<Arc<Packed>>);

struct Packed {
    dictionary: Option<Arc<Dictionary>>,
    /// The JSON's length, which decompression needs to size its buffer.
    len: usize,
    bytes: Box<[u8]>,
}

impl RawRecord {
    /// Compresses one record with `compressor` (one per answer: a zstd context costs more to set up than a record
    /// takes to compress).
    fn pack(
        json: &RawValue,
        dictionary: Option<&Arc<Dictionary>>,
        compressor: &mut zstd::bulk::Compressor<'_>,
    ) -> Option<Packed> {
        let text = json.get().as_bytes();
        match compressor.compress(text) {
            Ok(bytes) => Some(Packed { dictionary: dictionary.cloned(), len: text.len(), bytes: bytes.into() }),
            Err(error) => {
                tracing::warn!(%error, "could not compress a Keka record; its raw form is dropped");
                None
            }
        }
    }

    /// The record as Keka sent it; `None` when none was kept.
    pub fn json(&self) -> Option<serde_json::Value> {
        let packed = self.0.as_deref()?;
        let text = match &packed.dictionary {
            Some(dictionary) => zstd::bulk::Decompressor::with_prepared_dictionary(&dictionary.decoder)
                .and_then(|mut decompressor| decompressor.decompress(&packed.bytes, packed.len)),
            None => zstd::bulk::decompress(&packed.bytes, packed.len),
        };
        serde_json::from_slice(&text.ok()?).ok()
    }

    /// Bytes held for this record (for the memory figures; a shared dictionary is not counted).
    pub fn stored_bytes(&self) -> usize {
        self.0.as_deref().map_or(0, |packed| packed.bytes.len())
    }
}

impl PartialEq for RawRecord {
    fn eq(&self, other: &Self) -> bool {
        match (self.0.as_deref(), other.0.as_deref()) {
            (None, None) => true,
            (Some(one), Some(other))
                if match (&one.dictionary, &other.dictionary) {
                    (None, None) => true,
                    (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                    _ => false,
                } =>
            {
                one.bytes == other.bytes
            }
            // Packed differently: equal when the JSON is.
            _ => self.json() == other.json(),
        }
    }
}

impl Eq for RawRecord {}

impl std::fmt::Debug for RawRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RawRecord({} bytes compressed)", self.stored_bytes())
    }
}

/// A zstd dictionary, prepared for both directions.
struct Dictionary {
    encoder: EncoderDictionary<'static>,
    decoder: DecoderDictionary<'static>,
}

/// One dictionary per kind of record (per endpoint), trained on the first page large enough; and the packed
/// records in use, by the hash of their text, so each distinct record is held once.
#[derive(Default)]
pub struct RawDictionaries {
    dictionaries: Mutex<HashMap<&'static str, Arc<Dictionary>>>,
    packed: Mutex<Packs>,
}

/// Packed records in use. Entries whose record is gone are swept every [`SWEEP_EVERY`] insertions.
#[derive(Default)]
struct Packs {
    by_text: HashMap<[u8; 32], Weak<Packed>>,
    inserted: usize,
}

/// Insertions between two sweeps of the entries no record holds any more.
const SWEEP_EVERY: usize = 4096;

impl RawDictionaries {
    /// The packed record holding this text, if one is in use.
    fn shared(&self, hash: &[u8; 32]) -> Option<Arc<Packed>> {
        let packs = self.packed.lock().unwrap_or_else(PoisonError::into_inner);
        packs.by_text.get(hash).and_then(Weak::upgrade)
    }

    /// Keeps `packed` as the copy of its text (or the one another caller kept meanwhile).
    fn share(&self, hash: [u8; 32], packed: Packed) -> Arc<Packed> {
        let mut packs = self.packed.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(kept) = packs.by_text.get(&hash).and_then(Weak::upgrade) {
            return kept;
        }
        let packed = Arc::new(packed);
        packs.by_text.insert(hash, Arc::downgrade(&packed));
        packs.inserted += 1;
        if packs.inserted.is_multiple_of(SWEEP_EVERY) {
            packs.by_text.retain(|_, packed| packed.strong_count() > 0);
        }
        packed
    }

    /// The dictionary of `kind`, trained on `samples` when there is none yet and they are enough.
    fn for_kind(&self, kind: &'static str, samples: &[&RawValue]) -> Option<Arc<Dictionary>> {
        let mut dictionaries = self.dictionaries.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(dictionary) = dictionaries.get(kind) {
            return Some(dictionary.clone());
        }
        if samples.len() < TRAINING_RECORDS {
            return None;
        }
        let texts: Vec<&[u8]> = samples.iter().map(|sample| sample.get().as_bytes()).collect();
        let trained = match zstd::dict::from_samples(&texts, DICTIONARY_BYTES) {
            Ok(trained) => trained,
            Err(error) => {
                tracing::debug!(%error, kind, "no compression dictionary for these records");
                return None;
            }
        };
        let dictionary = Arc::new(Dictionary {
            encoder: EncoderDictionary::copy(&trained, COMPRESSION_LEVEL),
            decoder: DecoderDictionary::copy(&trained),
        });
        dictionaries.insert(kind, dictionary.clone());
        Some(dictionary)
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
pub(crate) fn attach<T: Recorded>(decoded: &mut T, body: &[u8], kind: &'static str, dictionaries: &RawDictionaries) {
    let mut records = decoded.records();
    if !records.iter_mut().any(|record| record.raw_slot().is_some()) {
        return;
    }
    let Some(raws) = raw_records(body) else { return };
    if raws.len() != records.len() {
        return;
    }
    let dictionary = dictionaries.for_kind(kind, &raws);
    let mut compressor = None;
    for (record, raw) in records.iter_mut().zip(raws) {
        let Some(slot) = record.raw_slot() else { continue };
        let hash: [u8; 32] = Sha256::digest(raw.get().as_bytes()).into();
        if let Some(shared) = dictionaries.shared(&hash) {
            *slot = RawRecord(Some(shared));
            continue;
        }
        if compressor.is_none() {
            compressor = new_compressor(dictionary.as_ref());
        }
        let Some(compressor) = compressor.as_mut() else { return };
        *slot = RawRecord(
            RawRecord::pack(raw, dictionary.as_ref(), compressor).map(|packed| dictionaries.share(hash, packed)),
        );
    }
}

fn new_compressor(dictionary: Option<&Arc<Dictionary>>) -> Option<zstd::bulk::Compressor<'_>> {
    let compressor = match dictionary {
        Some(dictionary) => zstd::bulk::Compressor::with_prepared_dictionary(&dictionary.encoder),
        None => zstd::bulk::Compressor::new(COMPRESSION_LEVEL),
    };
    compressor.map_err(|error| tracing::warn!(%error, "no zstd compressor; raw records are dropped")).ok()
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn page(count: usize) -> Vec<u8> {
        let records: Vec<_> = (0..count)
            .map(|i| {
                json!({ "id": format!("e{i}"), "displayName": format!("Person {i}"), "email": format!("p{i}@acme.example"),
                        "jobTitle": { "identifier": "t1", "title": "Engineer" }, "customFields": [], "nested": { "n": i } })
            })
            .collect();
        serde_json::to_vec(&json!({ "succeeded": true, "data": records })).unwrap()
    }

    #[derive(Default)]
    struct Item(RawRecord);

    impl Record for Item {
        fn raw_slot(&mut self) -> Option<&mut RawRecord> {
            Some(&mut self.0)
        }
    }

    struct Items(Vec<Item>);

    impl Recorded for Items {
        fn records(&mut self) -> Vec<&mut dyn Record> {
            self.0.iter_mut().map(|item| item as &mut dyn Record).collect()
        }
    }

    #[test]
    fn records_come_back_as_sent_with_or_without_a_dictionary() {
        let dictionaries = RawDictionaries::default();
        for count in [3, 200] {
            let body = page(count);
            let mut items = Items((0..count).map(|_| Item::default()).collect());
            attach(&mut items, &body, "/test", &dictionaries);
            let sent: serde_json::Value = serde_json::from_slice(&body).unwrap();
            for (i, item) in items.0.iter().enumerate() {
                assert_eq!(item.0.json().as_ref(), Some(&sent["data"][i]));
            }
        }
        assert!(dictionaries.dictionaries.lock().unwrap().contains_key("/test"), "the large page trained one");
    }

    #[test]
    fn a_dictionary_makes_records_several_times_smaller() {
        let body = page(200);
        let mut compressor = new_compressor(None).unwrap();
        let alone: usize = raw_records(&body)
            .unwrap()
            .iter()
            .map(|raw| RawRecord::pack(raw, None, &mut compressor).unwrap().bytes.len())
            .sum();
        let dictionaries = RawDictionaries::default();
        let mut items = Items((0..200).map(|_| Item::default()).collect());
        attach(&mut items, &body, "/many", &dictionaries);
        let shared: usize = items.0.iter().map(|item| item.0.stored_bytes()).sum();
        assert!(shared * 2 < alone, "with a dictionary {shared} bytes, alone {alone}");
    }

    #[test]
    fn a_record_decoded_again_shares_the_copy_in_use_and_a_changed_one_does_not() {
        let dictionaries = RawDictionaries::default();
        let body = page(40);
        let mut first = Items((0..40).map(|_| Item::default()).collect());
        let mut again = Items((0..40).map(|_| Item::default()).collect());
        attach(&mut first, &body, "/same", &dictionaries);
        attach(&mut again, &body, "/same", &dictionaries);
        for (one, other) in first.0.iter().zip(&again.0) {
            let (one, other) = (one.0.0.as_ref().unwrap(), other.0.0.as_ref().unwrap());
            assert!(Arc::ptr_eq(one, other));
        }
        let hash: [u8; 32] = Sha256::digest(raw_records(&body).unwrap()[0].get().as_bytes()).into();
        assert!(dictionaries.shared(&hash).is_some());
        let changed = String::from_utf8(body).unwrap().replace("Person 7\"", "Person 7 (renamed)\"");
        let mut renamed = Items((0..40).map(|_| Item::default()).collect());
        attach(&mut renamed, changed.as_bytes(), "/same", &dictionaries);
        assert!(!Arc::ptr_eq(renamed.0[7].0.0.as_ref().unwrap(), first.0[7].0.0.as_ref().unwrap()));
        assert_eq!(renamed.0[7].0.json().unwrap()["displayName"], "Person 7 (renamed)");
        assert!(Arc::ptr_eq(renamed.0[8].0.0.as_ref().unwrap(), first.0[8].0.0.as_ref().unwrap()));
        // A copy no record holds any more is never handed out again.
        drop((first, again, renamed));
        assert!(dictionaries.shared(&hash).is_none());
    }

    #[test]
    fn a_body_whose_records_do_not_match_leaves_them_without() {
        let mut items = Items(vec![Item::default(), Item::default()]);
        attach(&mut items, &page(3), "/test", &RawDictionaries::default());
        assert!(items.0.iter().all(|item| item.0.json().is_none()));
    }
}

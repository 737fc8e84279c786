//! The DynamoDB items and their attributes (docs/design.md §6.3):
//!
//! - head (`sk = "H"`), one per partition: the manifest without its segments — `version`,
//!   `epoch`, `leader_id`, `lease_until_ms`, `next_offset`, `log_start_offset`,
//!   `orphan_floor_ms`, running totals `segments` and `bytes`, `writers` (a map from writer
//!   id to its last commit: `seq`, `base`, `at`), `producers` (idempotent producers' state,
//!   the JSON of the manifest document's field, once any appended), and `deleted_ms` once
//!   its topic was deleted. Its size does not grow with the log.
//! - segment (`sk = "S#<base offset:020>"`): `id`, `base`, `records`, `bytes`, `min_ts`, `max_ts`.
//! - graveyard (`sk = "G#<object id>"`): see `upkeep`.
//! - topic (`pk = "<namespace>/topics"`, `sk = <name>`): `doc`, the topic configuration JSON.
//!
//! Decoding never panics: a missing or malformed attribute is a [`Corruption`] naming the item.

use std::collections::HashMap;
use std::str::FromStr;

use aws_sdk_dynamodb::types::AttributeValue;
use ulid::Ulid;

use crate::error::{Corruption, Error, Result};
use crate::ids::{CommitSeq, Day, Epoch, ManifestVersion, ObjectId, Offset, TopicId, WriterId};
use crate::manifest::producers::ProducerState;
use crate::manifest::{Leader, Manifest, SegmentEntry, SegmentIndex, WriterMarker, codec};

/// An item as the SDK gives it.
pub(super) type Item = HashMap<String, AttributeValue>;

/// A number attribute.
pub(super) fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A string attribute.
pub(super) fn s(v: impl ToString) -> AttributeValue {
    AttributeValue::S(v.to_string())
}

/// Reads attributes of one item, naming it in every error.
pub(super) struct Fields<'a> {
    pub(super) item: &'a Item,
    pub(super) location: &'a str,
}

impl Fields<'_> {
    fn corrupt(&self, reason: String) -> Error {
        Corruption {
            what: "DynamoDB manifest item",
            location: self.location.to_string(),
            reason,
        }
        .into()
    }

    pub(super) fn text(&self, name: &str) -> Result<&str> {
        match self.item.get(name) {
            Some(AttributeValue::S(v)) => Ok(v),
            other => Err(self.corrupt(format!("attribute {name} is {other:?}, not a string"))),
        }
    }

    pub(super) fn num<T: FromStr>(&self, name: &str) -> Result<T> {
        match self.item.get(name) {
            Some(AttributeValue::N(v)) => v
                .parse()
                .map_err(|_| self.corrupt(format!("attribute {name} = {v} is out of range"))),
            other => Err(self.corrupt(format!("attribute {name} is {other:?}, not a number"))),
        }
    }

    fn ulid(&self, name: &str) -> Result<Ulid> {
        let v = self.text(name)?;
        Ulid::from_string(v).map_err(|e| self.corrupt(format!("attribute {name} = {v}: {e}")))
    }
}

/// A manifest read from (or written to) DynamoDB: no ETag, the version is inside.
pub(super) fn snapshot(manifest: Manifest) -> crate::store::Snapshot {
    crate::store::Snapshot {
        manifest: std::sync::Arc::new(manifest),
        e_tag: None,
        object_version: None,
    }
}

/// The head item of `m` (whose segments must already be written as segment items).
pub(super) fn head_item(pk: &str, m: &Manifest) -> Item {
    let (segments, bytes) = match m.index {
        SegmentIndex::External { segments, bytes } => (segments, bytes),
        SegmentIndex::Inline => (0, 0),
    };
    let mut item = Item::from([
        ("pk".to_string(), s(pk)),
        ("sk".to_string(), s(crate::keys::HEAD_SK)),
        ("format_version".to_string(), n(m.format_version)),
        ("topic_id".to_string(), s(m.topic_id.0)),
        ("partition".to_string(), n(m.partition.0)),
        ("version".to_string(), n(m.version.0)),
        ("epoch".to_string(), n(m.epoch.0)),
        ("lease_until_ms".to_string(), n(0)),
        ("next_offset".to_string(), n(m.next_offset.0)),
        ("log_start_offset".to_string(), n(m.log_start_offset.0)),
        ("orphan_floor_ms".to_string(), n(m.orphan_floor_ms)),
        ("segments".to_string(), n(segments)),
        ("bytes".to_string(), n(bytes)),
    ]);
    let writers = m
        .writers
        .iter()
        .map(|w| (w.writer_id.0.to_string(), marker_value(w)))
        .collect();
    item.insert("writers".into(), AttributeValue::M(writers));
    if let Some(ms) = m.deleted_ms {
        item.insert("deleted_ms".into(), n(ms));
    }
    if !m.producers.is_empty() {
        item.insert("producers".into(), producers_value(&m.producers));
    }
    if let Some(l) = m.leader {
        item.insert("leader_id".into(), s(l.writer_id.0));
        item.insert("lease_until_ms".into(), n(l.lease_until_ms));
    }
    item
}

/// The value stored under `writers.<id>`.
pub(super) fn marker_value(w: &WriterMarker) -> AttributeValue {
    AttributeValue::M(HashMap::from([
        ("seq".to_string(), n(w.commit_seq.0)),
        ("base".to_string(), n(w.base_offset.0)),
        ("at".to_string(), n(w.at_ms)),
    ]))
}

/// The value stored under `producers`: the manifest document's JSON of the same field.
pub(super) fn producers_value(producers: &[ProducerState]) -> AttributeValue {
    // Plain structs of numbers always serialise.
    let json = serde_json::to_string(producers).unwrap_or_else(|_| "[]".into());
    s(json)
}

fn producers(f: &Fields<'_>) -> Result<Vec<ProducerState>> {
    if !f.item.contains_key("producers") {
        return Ok(Vec::new());
    }
    serde_json::from_str(f.text("producers")?)
        .map_err(|e| f.corrupt(format!("attribute producers: {e}")))
}

/// Decodes a head item into a manifest with an external index.
pub(super) fn manifest_of(item: &Item, location: &str) -> Result<Manifest> {
    let f = Fields { item, location };
    let format_version: u32 = f.num("format_version")?;
    if format_version > codec::NEWEST_FORMAT_VERSION {
        return Err(Error::FutureFormat {
            what: "manifest",
            location: location.to_string(),
            found: format_version,
            supported: codec::NEWEST_FORMAT_VERSION,
        });
    }
    let leader = match item.get("leader_id") {
        Some(_) => Some(Leader {
            writer_id: WriterId(f.ulid("leader_id")?),
            lease_until_ms: f.num("lease_until_ms")?,
        }),
        None => None,
    };
    let mut m = Manifest::new(
        TopicId(f.ulid("topic_id")?),
        crate::ids::PartitionId(f.num("partition")?),
    );
    m.format_version = format_version;
    m.version = ManifestVersion(f.num("version")?);
    m.epoch = Epoch(f.num("epoch")?);
    m.leader = leader;
    m.next_offset = Offset(f.num("next_offset")?);
    m.log_start_offset = Offset(f.num("log_start_offset")?);
    m.orphan_floor_ms = f.num("orphan_floor_ms")?;
    m.writers = markers(&f)?;
    m.producers = producers(&f)?;
    m.deleted_ms = match item.get("deleted_ms") {
        Some(_) => Some(f.num("deleted_ms")?),
        None => None,
    };
    m.index = SegmentIndex::External {
        segments: f.num("segments")?,
        bytes: f.num("bytes")?,
    };
    crate::manifest::check_invariants(&m).map_err(|reason| f.corrupt(reason))?;
    Ok(m)
}

fn markers(f: &Fields<'_>) -> Result<Vec<WriterMarker>> {
    let Some(AttributeValue::M(writers)) = f.item.get("writers") else {
        return Err(f.corrupt("attribute writers is not a map".into()));
    };
    let mut out = Vec::with_capacity(writers.len());
    for (id, value) in writers {
        let AttributeValue::M(fields) = value else {
            return Err(f.corrupt(format!("marker of writer {id} is not a map")));
        };
        let m = Fields {
            item: fields,
            location: f.location,
        };
        let writer_id = Ulid::from_string(id)
            .map_err(|e| f.corrupt(format!("writer id {id} in writers: {e}")))?;
        out.push(WriterMarker {
            writer_id: WriterId(writer_id),
            commit_seq: CommitSeq(m.num("seq")?),
            base_offset: Offset(m.num("base")?),
            at_ms: m.num("at")?,
        });
    }
    out.sort_by_key(|w| w.at_ms);
    Ok(out)
}

/// The item of one committed segment.
pub(super) fn segment_item(pk: &str, e: &SegmentEntry) -> Item {
    let mut item = Item::from([
        ("pk".to_string(), s(pk)),
        (
            "sk".to_string(),
            s(crate::keys::Keys::segment_sk(e.base_offset)),
        ),
        ("id".to_string(), s(e.id.0)),
        ("base".to_string(), n(e.base_offset.0)),
        ("records".to_string(), n(e.records)),
        ("bytes".to_string(), n(e.bytes)),
        ("min_ts".to_string(), n(e.min_ts)),
        ("max_ts".to_string(), n(e.max_ts)),
    ]);
    if let Some(day) = e.cold_day {
        item.insert("day".to_string(), n(day.0));
    }
    if let Some(at) = e.mixed_at {
        item.insert("at".to_string(), n(at));
    }
    item
}

/// Decodes a segment item.
pub(super) fn segment_of(item: &Item, location: &str) -> Result<SegmentEntry> {
    let f = Fields { item, location };
    let entry = SegmentEntry {
        id: ObjectId(f.ulid("id")?),
        base_offset: Offset(f.num("base")?),
        records: f.num("records")?,
        bytes: f.num("bytes")?,
        min_ts: f.num("min_ts")?,
        max_ts: f.num("max_ts")?,
        cold_day: match item.get("day") {
            Some(_) => Some(Day(f.num("day")?)),
            None => None,
        },
        mixed_at: match item.get("at") {
            Some(_) => Some(f.num("at")?),
            None => None,
        },
    };
    if entry.records == 0 {
        return Err(f.corrupt(format!("segment at {} holds no records", entry.base_offset)));
    }
    Ok(entry)
}

/// An item's size as DynamoDB counts it, closely enough to watch a limit: attribute names plus
/// values (a number counts as its digits; a map, three bytes plus its contents).
pub(super) fn item_bytes(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_bytes(v)).sum()
}

fn value_bytes(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) | AttributeValue::N(s) => s.len(),
        AttributeValue::M(m) => 3 + item_bytes(m),
        _ => 1,
    }
}

//! Target `dynamodb`: the DynamoDB item decoders (`core/src/store/dynamo/items.rs` and
//! `upkeep.rs`, opened as `silt_core::testing::dynamo_items`). Every item goes to the head,
//! segment and graveyard decoders. Seeds are items the store writes; a case removes, retypes,
//! renames or damages attributes (numbers past their type, broken ULIDs, markers that are not
//! maps). Corpus files hold items in DynamoDB's JSON form (`{"attr": {"N": "1"}}`).

use std::collections::HashMap;

use rand::Rng;
use serde_json::{Map, Value, json};
use silt_core::ids::{CommitSeq, Day, Epoch, ObjectId, Offset, PartitionId, TopicId, WriterId};
use silt_core::manifest::{Leader, Manifest, SegmentIndex, Tombstone, TombstoneKind, WriterMarker};
use silt_core::testing::dynamo_items::{self as items, AttributeValue, Item};
use silt_core::testing::fuzz::{Broken, StdRng, Verdict, mutate};
use ulid::Ulid;

use crate::common::typed;

const PK: &str = "s3://bucket/prefix/topics/fuzz/00000";
const LOCATION: &str = "dynamodb://table/s3://bucket/prefix/topics/fuzz/00000";
const WHATS: [&str; 3] = [
    "DynamoDB manifest item",
    "DynamoDB graveyard item",
    "manifest",
];

/// Attribute names the decoders read, to add where they are missing or unexpected.
const NAMES: [&str; 22] = [
    "format_version",
    "topic_id",
    "partition",
    "version",
    "epoch",
    "lease_until_ms",
    "next_offset",
    "log_start_offset",
    "orphan_floor_ms",
    "segments",
    "bytes",
    "writers",
    "leader_id",
    "id",
    "base",
    "records",
    "min_ts",
    "max_ts",
    "day",
    "kind",
    "first",
    "last",
];

/// Texts for number attributes: past every integer type, other spellings, not numbers.
const NUMBERS: [&str; 16] = [
    "0",
    "-1",
    "1",
    "4294967295",
    "4294967296",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "-9223372036854775809",
    "1.5",
    "1e3",
    " 1",
    "+1",
    "",
    "NaN",
    "0x10",
];

/// Texts for string attributes: ULIDs valid and not, and tombstone kinds.
const TEXTS: [&str; 10] = [
    "01ARZ3NDEKTSV4RRFFQ69G5FAV",
    "7ZZZZZZZZZZZZZZZZZZZZZZZZZ",
    "8ZZZZZZZZZZZZZZZZZZZZZZZZZ",
    "01ARZ3NDEKTSV4RRFFQ69G5FA",
    "ÀÀÀÀÀÀÀÀÀÀÀÀÀ",
    "",
    "segment",
    "chunk_with_segments",
    "cold",
    "Cold",
];

/// Items as the store writes them.
#[derive(Debug)]
pub(crate) struct Seeds {
    items: Vec<Item>,
}

impl Seeds {
    /// Head items (with and without a leader and markers), segment items (hot and cold) and
    /// a graveyard item of each kind.
    pub(crate) fn new(rng: &mut StdRng) -> Seeds {
        let mut items: Vec<Item> = (0..6)
            .map(|i| items::head_to_item(PK, &head(rng, i)))
            .collect();
        let segments = (0..6).map(|i| {
            let e = silt_core::manifest::SegmentEntry {
                id: ObjectId(id(rng)),
                base_offset: Offset(rng.random_range(0..1 << 40)),
                records: rng.random_range(1..100_000),
                bytes: rng.random_range(1..1 << 30),
                min_ts: rng.random(),
                max_ts: rng.random(),
                cold_day: (i % 2 == 1).then(|| Day(rng.random())),
                mixed_at: None,
            };
            items::segment_to_item(PK, &e)
        });
        items.extend(segments.collect::<Vec<_>>());
        let kinds = [
            TombstoneKind::Segment,
            TombstoneKind::Chunk,
            TombstoneKind::ChunkWithSegments,
            TombstoneKind::Cold {
                day: Day(19_000),
                first: Offset(5),
                last: Offset(9),
            },
        ];
        for kind in kinds {
            let t = Tombstone {
                id: ObjectId(id(rng)),
                kind,
                removed_at_ms: rng.random(),
            };
            items.push(items::tombstone_to_item(PK, &t));
        }
        Seeds { items }
    }

    /// One case: one to three edits of a seed item, or a random item.
    pub(crate) fn generate(&self, rng: &mut StdRng) -> (String, Item) {
        if rng.random_bool(0.05) {
            let mut item = Item::new();
            for _ in 0..rng.random_range(0..8) {
                item.insert(NAMES[rng.random_range(0..NAMES.len())].into(), weird(rng));
            }
            return ("random item".into(), item);
        }
        let i = rng.random_range(0..self.items.len());
        let mut item = self.items[i].clone();
        let edits: Vec<&str> = (0..rng.random_range(1..=3))
            .map(|_| edit(rng, &mut item, 0))
            .collect();
        (format!("seed {i}, {}", edits.join("+")), item)
    }
}

fn id(rng: &mut StdRng) -> Ulid {
    Ulid::from_parts(rng.random_range(0..1 << 44), rng.random())
}

/// A valid head: an external index, sometimes a leader, a few writer markers.
fn head(rng: &mut StdRng, i: u64) -> Manifest {
    let mut m = Manifest::new(TopicId(id(rng)), PartitionId(rng.random_range(0..10_000)));
    m.index = SegmentIndex::External {
        segments: rng.random_range(0..1 << 20),
        bytes: rng.random(),
    };
    m.next_offset = Offset(rng.random_range(0..1 << 50));
    m.log_start_offset = Offset(rng.random_range(0..=m.next_offset.0));
    m.orphan_floor_ms = rng.random();
    if i % 2 == 1 {
        m.epoch = Epoch(rng.random_range(1..1_000));
        m.leader = Some(Leader {
            writer_id: WriterId(id(rng)),
            lease_until_ms: rng.random(),
        });
    }
    m.writers = (0..i)
        .map(|seq| WriterMarker {
            writer_id: WriterId(id(rng)),
            commit_seq: CommitSeq(seq),
            base_offset: Offset(rng.random()),
            at_ms: rng.random(),
        })
        .collect();
    m
}

/// An attribute value a decoder does not expect, or one at a boundary.
fn weird(rng: &mut StdRng) -> AttributeValue {
    match rng.random_range(0..10) {
        0..=3 => AttributeValue::N(NUMBERS[rng.random_range(0..NUMBERS.len())].into()),
        4..=6 => AttributeValue::S(TEXTS[rng.random_range(0..TEXTS.len())].into()),
        7 => AttributeValue::Bool(rng.random()),
        8 => AttributeValue::Null(true),
        _ => match rng.random_range(0..4) {
            0 => AttributeValue::M(HashMap::new()),
            1 => AttributeValue::L(vec![AttributeValue::N("1".into())]),
            2 => AttributeValue::Ss(vec!["a".into()]),
            _ => AttributeValue::Ns(vec!["1".into()]),
        },
    }
}

/// One edit of `item` (or, through `writers`, of a marker inside it), named.
fn edit(rng: &mut StdRng, item: &mut Item, depth: u8) -> &'static str {
    let mut names: Vec<String> = item.keys().cloned().collect();
    names.sort();
    let Some(name) = (!names.is_empty()).then(|| names[rng.random_range(0..names.len())].clone())
    else {
        item.insert(NAMES[rng.random_range(0..NAMES.len())].into(), weird(rng));
        return "added attribute";
    };
    match (rng.random_range(0..7), item.get_mut(&name)) {
        (0, _) => {
            item.remove(&name);
            "removed attribute"
        }
        (1 | 2, Some(v)) => {
            *v = weird(rng);
            "retyped attribute"
        }
        (3, Some(AttributeValue::N(n))) => {
            let nudged = n
                .parse::<i128>()
                .map_or(0, |v| v + rng.random_range(-2..=2));
            *n = nudged.to_string();
            "nudged number"
        }
        (3 | 4, Some(AttributeValue::S(s) | AttributeValue::N(s))) => {
            let mut bytes = std::mem::take(s).into_bytes();
            mutate::one(rng, &mut bytes, &[]);
            *s = String::from_utf8_lossy(&bytes).into_owned();
            "damaged text"
        }
        (5, Some(AttributeValue::M(markers))) if depth == 0 && !markers.is_empty() => {
            let mut keys: Vec<String> = markers.keys().cloned().collect();
            keys.sort();
            let key = keys[rng.random_range(0..keys.len())].clone();
            match markers.remove(&key) {
                Some(AttributeValue::M(mut inner)) if rng.random_bool(0.7) => {
                    edit(rng, &mut inner, depth + 1);
                    markers.insert(key, AttributeValue::M(inner));
                }
                Some(value) => {
                    let mut bytes = key.into_bytes();
                    mutate::one(rng, &mut bytes, &[]);
                    markers.insert(String::from_utf8_lossy(&bytes).into_owned(), value);
                }
                None => {}
            }
            "edited marker"
        }
        _ => {
            item.insert(NAMES[rng.random_range(0..NAMES.len())].into(), weird(rng));
            "added attribute"
        }
    }
}

/// Decodes `item` as a head, a segment and a tombstone: each refuses it with a typed error
/// naming the item, or decodes what encodes and decodes back to itself.
pub(crate) fn check(item: &Item) -> Result<Verdict, Broken> {
    let refused = |e: &silt_core::Error| typed(e, &WHATS, LOCATION);
    let mut accepted = false;
    match items::head_from_item(item, LOCATION) {
        Ok(m) => {
            let _ = (m.segment_count(), m.segment_bytes(), m.live_leader(0));
            crate::edits::survive_edits(&m)?;
            let again = items::head_from_item(&items::head_to_item(PK, &m), LOCATION);
            if !again.as_ref().is_ok_and(|a| sorted(a) == sorted(&m)) {
                return Err(format!("head does not round-trip: {again:?}"));
            }
            accepted = true;
        }
        Err(e) => refused(&e)?,
    }
    match items::segment_from_item(item, LOCATION) {
        Ok(e) => {
            let _ = (
                e.end_offset(),
                e.last_offset(),
                e.tombstone(0),
                e.cold_day.map(|d| d.to_string()),
            );
            let again = items::segment_from_item(&items::segment_to_item(PK, &e), LOCATION);
            if !again.as_ref().is_ok_and(|a| *a == e) {
                return Err(format!("segment item does not round-trip: {again:?}"));
            }
            accepted = true;
        }
        Err(e) => refused(&e)?,
    }
    match items::tombstone_from_item(item, LOCATION) {
        Ok(t) => {
            let again = items::tombstone_from_item(&items::tombstone_to_item(PK, &t), LOCATION);
            if !again.as_ref().is_ok_and(|a| *a == t) {
                return Err(format!("graveyard item does not round-trip: {again:?}"));
            }
            accepted = true;
        }
        Err(e) => refused(&e)?,
    }
    Ok(if accepted {
        Verdict::Accepted
    } else {
        Verdict::Refused
    })
}

/// `m` with its markers in a fixed order (the item keeps them in a map).
fn sorted(m: &Manifest) -> Manifest {
    let mut m = m.clone();
    m.writers.sort_by_key(|w| (w.writer_id, w.at_ms));
    m
}

/// An item in DynamoDB's JSON form, for corpus files.
pub(crate) fn to_json(item: &Item) -> Vec<u8> {
    let map: Map<String, Value> = item
        .iter()
        .map(|(k, v)| (k.clone(), value_json(v)))
        .collect();
    serde_json::to_vec_pretty(&Value::Object(map)).expect("JSON")
}

fn value_json(v: &AttributeValue) -> Value {
    match v {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::M(m) => {
            let map: Map<String, Value> =
                m.iter().map(|(k, v)| (k.clone(), value_json(v))).collect();
            json!({ "M": map })
        }
        AttributeValue::L(l) => json!({ "L": l.iter().map(value_json).collect::<Vec<_>>() }),
        AttributeValue::Ss(s) => json!({ "SS": s }),
        AttributeValue::Ns(n) => json!({ "NS": n }),
        _ => json!({ "NULL": true }),
    }
}

/// Reads a corpus file written by [`to_json`] (panics on a malformed one: the corpus is ours).
pub(crate) fn from_json(bytes: &[u8]) -> Item {
    let doc: Value = serde_json::from_slice(bytes).expect("a corpus item is JSON");
    item_of(&doc)
}

fn item_of(doc: &Value) -> Item {
    let map = doc.as_object().expect("an item is a JSON object");
    map.iter().map(|(k, v)| (k.clone(), value_of(v))).collect()
}

fn value_of(v: &Value) -> AttributeValue {
    let (kind, inner) = v
        .as_object()
        .and_then(|o| o.iter().next())
        .expect("{\"TYPE\": value}");
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .expect("a list")
            .iter()
            .map(|s| s.as_str().expect("text").to_string())
            .collect()
    };
    match kind.as_str() {
        "S" => AttributeValue::S(inner.as_str().expect("text").into()),
        "N" => AttributeValue::N(inner.as_str().expect("text").into()),
        "BOOL" => AttributeValue::Bool(inner.as_bool().expect("a boolean")),
        "M" => AttributeValue::M(item_of(inner)),
        "L" => AttributeValue::L(
            inner
                .as_array()
                .expect("a list")
                .iter()
                .map(value_of)
                .collect(),
        ),
        "SS" => AttributeValue::Ss(strings(inner)),
        "NS" => AttributeValue::Ns(strings(inner)),
        _ => AttributeValue::Null(true),
    }
}

//! Target `manifest`: the JSON documents a store reads back — manifests
//! (`core/src/manifest/codec.rs`, with their invariants), index chunks and topic
//! configurations. A generated input goes to the decoder of its seed's kind, a corpus file to
//! all three. Seeds are valid documents from a few entries to a full tail (256 segments); a
//! case damages bytes or edits the JSON so it stays parseable and reaches the checks behind
//! the parser.

use rand::Rng;
use serde_json::Value;
use silt_core::ids::{
    CommitSeq, Day, Epoch, ManifestVersion, ObjectId, Offset, PartitionId, TopicId, TopicName,
    WriterId,
};
use silt_core::manifest::{
    ChunkRef, IndexChunk, Leader, Manifest, SegmentEntry, Tombstone, TombstoneKind, WriterMarker,
    codec,
};
use silt_core::testing::fuzz::{Broken, StdRng, Verdict, json, mutate};
use silt_core::topic::{TopicConfig, TopicSettings};
use ulid::Ulid;

use crate::common::typed;

const MANIFEST_AT: &str = "topics/fuzz/00000/manifest";
const CHUNK_AT: &str = "topics/fuzz/00000/idx/fuzz.idx";
const TOPIC_AT: &str = "topics/fuzz/topic.json";

/// Which decoder reads a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Manifest,
    Chunk,
    Topic,
}

/// An input: bytes, and the decoder meant to read them (`None`: all three).
#[derive(Debug, Clone)]
pub(crate) struct Doc {
    pub(crate) kind: Option<Kind>,
    pub(crate) bytes: Vec<u8>,
}

impl Doc {
    /// A corpus file, read by every decoder.
    pub(crate) fn any(bytes: &[u8]) -> Doc {
        Doc {
            kind: None,
            bytes: bytes.to_vec(),
        }
    }

    /// The bytes, as saved in a corpus file.
    pub(crate) fn saved(&self) -> Vec<u8> {
        self.bytes.clone()
    }

    fn reads(&self, kind: Kind) -> bool {
        self.kind.is_none_or(|k| k == kind)
    }
}

/// Valid documents to mutate: bytes, parsed JSON and kind.
#[derive(Debug)]
pub(crate) struct Seeds {
    bytes: Vec<Vec<u8>>,
    docs: Vec<Value>,
    kinds: Vec<Kind>,
}

impl Seeds {
    /// Manifests of 0 to 256 tail entries (with chunks, markers, tombstones and a leader),
    /// index chunks and topic configurations.
    pub(crate) fn new(rng: &mut StdRng) -> Seeds {
        let mut bytes = Vec::new();
        for tail in [0, 1, 2, 4, 8, 256] {
            let m = manifest(rng, tail);
            bytes.push(
                codec::encode(&m)
                    .expect("a valid manifest encodes")
                    .to_vec(),
            );
        }
        for entries in [1, 4, 192] {
            let chunk = IndexChunk {
                format_version: codec::FORMAT_VERSION,
                topic_id: topic_id(),
                partition: PartitionId(0),
                entries: entries_from(rng, Offset(0), entries),
            };
            bytes.push(codec::encode_chunk(&chunk).to_vec());
        }
        bytes.push(topic_config().encode());
        let docs = bytes
            .iter()
            .map(|b| serde_json::from_slice(b).expect("seeds are JSON"))
            .collect();
        let mut kinds = vec![Kind::Manifest; 6];
        kinds.extend([Kind::Chunk; 3]);
        kinds.push(Kind::Topic);
        Seeds { bytes, docs, kinds }
    }

    /// One case: damaged bytes, edited JSON, or noise. Seeds of more than 2 KB (a full tail,
    /// a full chunk) are picked one time in 20: a debug build decodes them slowly.
    pub(crate) fn generate(&self, rng: &mut StdRng) -> (String, Doc) {
        let (how, bytes, i) = self.bytes(rng);
        let kind = Some(self.kinds[i]);
        (how, Doc { kind, bytes })
    }

    fn bytes(&self, rng: &mut StdRng) -> (String, Vec<u8>, usize) {
        let mut i = rng.random_range(0..self.bytes.len());
        while self.bytes[i].len() > 2_000 && rng.random_bool(0.95) {
            i = rng.random_range(0..self.bytes.len());
        }
        let donors: Vec<&[u8]> = self.bytes.iter().map(Vec::as_slice).collect();
        let how = match rng.random_range(0..20) {
            0..=7 => {
                let mut input = self.bytes[i].clone();
                let how = mutate::stacked(rng, &mut input, &donors);
                return (format!("seed {i}, {how}"), input, i);
            }
            8..=18 => {
                let mut doc = self.docs[i].clone();
                let edits: Vec<&str> = (0..rng.random_range(1..=3))
                    .map(|_| json::mutate(rng, &mut doc))
                    .collect();
                let text = json::text(rng, &doc);
                let how = format!("seed {i}, {}", edits.join("+"));
                return (how, text.into_bytes(), i);
            }
            _ => "random bytes",
        };
        let len = rng.random_range(0..200);
        (how.to_string(), mutate::random_bytes(rng, len), i)
    }
}

fn topic_id() -> TopicId {
    TopicId(Ulid::from_parts(1_700_000_000_000, 7))
}

fn id(rng: &mut StdRng) -> Ulid {
    Ulid::from_parts(rng.random_range(0..1 << 44), rng.random())
}

/// `count` contiguous segment entries from `base`, some cold.
fn entries_from(rng: &mut StdRng, base: Offset, count: usize) -> Vec<SegmentEntry> {
    let mut next = base;
    (0..count)
        .map(|_| {
            let records = rng.random_range(1..5_000);
            let e = SegmentEntry {
                id: ObjectId(id(rng)),
                base_offset: next,
                records,
                bytes: rng.random_range(100..10_000_000),
                min_ts: rng.random_range(0..1_000),
                max_ts: rng.random_range(1_000..2_000),
                cold_day: rng
                    .random_bool(0.1)
                    .then(|| Day(rng.random_range(0..30_000))),
                mixed_at: None,
            };
            next = e.end_offset();
            e
        })
        .collect()
}

/// A valid manifest with two chunks (when `tail` is not empty), `tail` segments, markers,
/// tombstones of every kind and sometimes a leader.
fn manifest(rng: &mut StdRng, tail: usize) -> Manifest {
    let mut m = Manifest::new(topic_id(), PartitionId(rng.random_range(0..10_000)));
    m.version = ManifestVersion(rng.random_range(1..1_000_000));
    if tail > 0 {
        let mut next = Offset(rng.random_range(0..1_000_000));
        m.log_start_offset = next;
        for _ in 0..2 {
            let entries = entries_from(rng, next, 3);
            let chunk = ChunkRef::covering(ObjectId(id(rng)), &entries).expect("entries");
            next = chunk.end_offset;
            m.chunks.push(chunk);
        }
        m.segments = entries_from(rng, next, tail);
        m.next_offset = m.segments.last().map_or(next, SegmentEntry::end_offset);
    }
    if rng.random_bool(0.5) {
        m.epoch = Epoch(rng.random_range(1..100));
        m.leader = Some(Leader {
            writer_id: WriterId(id(rng)),
            lease_until_ms: rng.random(),
        });
    }
    m.writers = (0..rng.random_range(0..4))
        .map(|i| WriterMarker {
            writer_id: WriterId(id(rng)),
            commit_seq: CommitSeq(i),
            base_offset: Offset(i * 10),
            at_ms: rng.random(),
        })
        .collect();
    let kinds = [
        TombstoneKind::Segment,
        TombstoneKind::Chunk,
        TombstoneKind::ChunkWithSegments,
        TombstoneKind::Cold {
            day: Day(19_000),
            first: Offset(0),
            last: Offset(9),
        },
    ];
    for kind in kinds {
        if rng.random_bool(0.4) {
            m.graveyard.push(Tombstone {
                id: ObjectId(id(rng)),
                kind,
                removed_at_ms: rng.random(),
            });
        }
    }
    m.orphan_floor_ms = rng.random_range(0..1 << 40);
    m
}

fn topic_name() -> TopicName {
    TopicName::new("fuzz").expect("a valid name")
}

fn topic_config() -> TopicConfig {
    TopicConfig {
        format_version: 1,
        name: topic_name(),
        topic_id: topic_id(),
        partitions: 12,
        created_ms: 1_700_000_000_000,
        settings: TopicSettings {
            retention_ms: Some(86_400_000),
            seal_after_ms: Some(0),
            ..TopicSettings::default()
        },
        deleted: None,
    }
}

/// Reads `doc` as a manifest, an index chunk or a topic configuration (or as each): each
/// refuses it with a typed error naming the object, or decodes a document that encodes and
/// decodes back to itself and whose accessors answer.
pub(crate) fn check(doc: &Doc) -> Result<Verdict, Broken> {
    type Read = fn(&[u8]) -> Result<bool, Broken>;
    let readers: [(Kind, Read); 3] = [
        (Kind::Manifest, read_manifest),
        (Kind::Chunk, read_chunk),
        (Kind::Topic, read_topic),
    ];
    let mut accepted = false;
    for (kind, read) in readers {
        if doc.reads(kind) {
            accepted |= read(&doc.bytes)?;
        }
    }
    Ok(if accepted {
        Verdict::Accepted
    } else {
        Verdict::Refused
    })
}

/// True when `input` decodes as a manifest (and passes), false when refused as it must be.
fn read_manifest(input: &[u8]) -> Result<bool, Broken> {
    match codec::decode(input, MANIFEST_AT) {
        Ok(m) => accepted_manifest(&m).map(|()| true),
        Err(e) => typed(&e, &["manifest"], MANIFEST_AT).map(|()| false),
    }
}

/// True when `input` decodes as an index chunk (and passes), false when refused.
fn read_chunk(input: &[u8]) -> Result<bool, Broken> {
    let c = match codec::decode_chunk(input, CHUNK_AT) {
        Ok(c) => c,
        Err(e) => return typed(&e, &["index chunk"], CHUNK_AT).map(|()| false),
    };
    let again = codec::decode_chunk(&codec::encode_chunk(&c), CHUNK_AT);
    if !again.as_ref().is_ok_and(|a| *a == c) {
        return Err(format!("index chunk does not round-trip: {again:?}"));
    }
    entries(&c.entries);
    // What a reader compares with the manifest's reference to the chunk.
    let _ = ChunkRef::covering(ObjectId(Ulid::nil()), &c.entries);
    Ok(true)
}

/// True when `input` decodes as a topic configuration (and passes), false when refused.
fn read_topic(input: &[u8]) -> Result<bool, Broken> {
    let t = match TopicConfig::decode(input, &topic_name(), TOPIC_AT) {
        Ok(t) => t,
        Err(e) => return typed(&e, &["topic config"], TOPIC_AT).map(|()| false),
    };
    let again = TopicConfig::decode(&t.encode(), &topic_name(), TOPIC_AT);
    if !again.as_ref().is_ok_and(|a| *a == t) {
        return Err(format!("topic config does not round-trip: {again:?}"));
    }
    Ok(true)
}

/// A decoded manifest's accessors answer, and it encodes and decodes back to itself.
fn accepted_manifest(m: &Manifest) -> Result<(), Broken> {
    let _ = (m.segment_count(), m.segment_bytes(), m.live_leader(0));
    if let Some(w) = m.writers.first() {
        let _ = m.marker(w.writer_id);
    }
    entries(&m.segments);
    for t in &m.graveyard {
        if let TombstoneKind::Cold { day, .. } = t.kind {
            let _ = day.to_string();
        }
    }
    crate::edits::survive_edits(m)?;
    let bytes = codec::encode(m).map_err(|e| format!("a decoded manifest does not encode: {e}"))?;
    let again = codec::decode(&bytes, MANIFEST_AT);
    if !again.as_ref().is_ok_and(|a| a == m) {
        return Err(format!("manifest does not round-trip: {again:?}"));
    }
    Ok(())
}

/// What readers and jobs compute from each entry.
fn entries(entries: &[SegmentEntry]) {
    for e in entries {
        let _ = (e.end_offset(), e.last_offset(), e.tombstone(0));
        if let Some(day) = e.cold_day {
            let _ = day.to_string();
        }
    }
}

//! Bit-flip sweep (issue 21): one bit flipped at a time in a sealed Parquet file, a hot segment,
//! a manifest and an index chunk. Every read of a damaged copy returns exactly the original
//! records or a typed error; none panics and none serves altered data. The small objects are
//! swept at every byte (one seeded bit each), the Parquet file at a seeded sample of positions
//! and at every byte of its last 2 KiB (footer and checksums). Counts are printed.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::future::Future;
use std::sync::Arc;

use bytes::Bytes;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use silt_core::cold::{ColdFile, ColdOptions, ColdWriter, Owner, first_offset_at, read_window};
use silt_core::error::{Error, ErrorKind};
use silt_core::ids::{
    CommitSeq, Day, Epoch, ManifestVersion, ObjectId, Offset, PartitionId, TopicId, TopicName,
    WriterId,
};
use silt_core::keys::Keys;
use silt_core::manifest::{
    ChunkRef, IndexChunk, Leader, Manifest, SegmentEntry, Tombstone, TombstoneKind, WriterMarker,
    codec,
};
use silt_core::record::{Header, Record};
use silt_core::segment::{self, SegmentHeader};
use ulid::Ulid;

const SEED: u64 = 21;
const OWNER: Owner = (TopicId(Ulid::from_parts(1, 1)), PartitionId(3));
const T0: i64 = 1_700_000_000_000;

/// What one read of a damaged copy did.
#[derive(Debug)]
enum Outcome {
    Identical,
    Detected,
    Wrong(String),
}

/// The tally of one object's sweep.
struct Sweep {
    what: &'static str,
    positions: usize,
    detected: usize,
    identical: usize,
    failures: Vec<String>,
}

impl Sweep {
    fn new(what: &'static str) -> Sweep {
        Sweep {
            what,
            positions: 0,
            detected: 0,
            identical: 0,
            failures: Vec::new(),
        }
    }

    fn count(&mut self, at: usize, bit: u8, outcome: Result<Outcome, String>) {
        self.positions += 1;
        match outcome {
            Ok(Outcome::Identical) => self.identical += 1,
            Ok(Outcome::Detected) => self.detected += 1,
            Ok(Outcome::Wrong(why)) => self.failures.push(format!("byte {at} bit {bit}: {why}")),
            Err(panic) => self
                .failures
                .push(format!("byte {at} bit {bit}: panicked: {panic}")),
        }
    }

    fn finish(self) {
        println!(
            "{}: {} positions flipped, {} detected, {} read identical, {} wrong",
            self.what,
            self.positions,
            self.detected,
            self.identical,
            self.failures.len()
        );
        assert!(
            self.failures.is_empty(),
            "{}: {} of {} flips served altered data, an untyped error or a panic:\n{}",
            self.what,
            self.failures.len(),
            self.positions,
            self.failures.join("\n")
        );
    }
}

/// The positions to flip: every byte of `len`, or `sample` seeded ones plus every byte of the
/// last `tail` bytes; one seeded bit each.
fn flips(len: usize, sample: Option<usize>, tail: usize) -> Vec<(usize, u8)> {
    let mut rng = StdRng::seed_from_u64(SEED ^ len as u64);
    let mut at: Vec<usize> = match sample {
        None => (0..len).collect(),
        Some(n) => (0..n).map(|_| rng.random_range(0..len)).collect(),
    };
    at.extend(len.saturating_sub(tail)..len);
    at.sort_unstable();
    at.dedup();
    at.into_iter()
        .map(|i| (i, rng.random_range(0..8u8)))
        .collect()
}

fn flipped(bytes: &[u8], at: usize, bit: u8) -> Bytes {
    let mut copy = bytes.to_vec();
    copy[at] ^= 1 << bit;
    Bytes::from(copy)
}

/// Runs `read` as its own task, so a panic is counted rather than ending the sweep.
async fn guarded<F>(read: F) -> Result<Outcome, String>
where
    F: Future<Output = Outcome> + Send + 'static,
{
    tokio::spawn(read).await.map_err(|e| e.to_string())
}

/// Compares a read with the original: identical, a typed error of `kinds` (a newer format is
/// `Corrupt` too), or wrong.
fn judge<T: PartialEq + std::fmt::Debug>(
    read: Result<T, Error>,
    original: &T,
    kinds: &[ErrorKind],
) -> Outcome {
    match read {
        Ok(got) if got == *original => Outcome::Identical,
        Ok(got) => Outcome::Wrong(format!("altered: {:.300}", format!("{got:?}"))),
        Err(e) if kinds.contains(&e.kind()) => Outcome::Detected,
        Err(e) => Outcome::Wrong(format!("untyped error ({:?}): {e}", e.kind())),
    }
}

/// `seq 1 5000`, with a key on every third record and a header on every fifth.
fn seq_records() -> Vec<(Offset, Record)> {
    (1..=5000u64)
        .map(|i| {
            let mut r = Record::from_value(i.to_string(), T0 + i as i64);
            r.key = i
                .is_multiple_of(3)
                .then(|| Bytes::from(format!("k{}", i % 40)));
            if i.is_multiple_of(5) {
                r.headers.push(Header {
                    key: "h".into(),
                    value: Bytes::from(vec![i as u8; 3]),
                });
            }
            (Offset(i - 1), r)
        })
        .collect()
}

async fn sealed(records: &[(Offset, Record)]) -> Bytes {
    let objects: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let keys = Keys::new(Path::from("root"));
    let file = ColdFile {
        topic: TopicName::new("seq").unwrap(),
        topic_id: OWNER.0,
        partition: OWNER.1,
        id: ObjectId(Ulid::from_parts(2, 2)),
        day: Day::of_ms(T0),
        first: records[0].0,
        last: records.last().unwrap().0,
    };
    let path = file.path(&keys);
    let mut writer =
        ColdWriter::new(objects.clone(), &keys, file, &ColdOptions::default()).unwrap();
    for (offset, record) in records {
        writer.push(*offset, record.clone()).await.unwrap();
    }
    writer.finish().await.unwrap();
    objects.get(&path).await.unwrap().bytes().await.unwrap()
}

/// Every record of the file, window by window, and the offset found for a timestamp in the
/// middle; a window that does not move forward is a wrong answer, not a loop.
async fn read_cold(
    bytes: Bytes,
    windows_max: usize,
) -> Result<(Vec<(Offset, Record)>, Option<Offset>), Error> {
    let objects: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let path = Path::from("tables/file.parquet");
    let size = bytes.len() as u64;
    objects.put(&path, bytes.into()).await?;
    let mut out = Vec::new();
    let mut at = Offset(0);
    for _ in 0..windows_max {
        let window = read_window(objects.clone(), &path, size, OWNER, at).await?;
        out.extend(window.records);
        match window.end {
            Some(end) if end > at => at = end,
            Some(_) => break,
            None => {
                return Ok((
                    out,
                    first_offset_at(objects, &path, size, OWNER, T0 + 2_500).await?,
                ));
            }
        }
    }
    // Not at the end after as many windows as records: report it as an alteration.
    Ok((out, Some(Offset(u64::MAX))))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sealed_parquet_bit_flips_are_detected_or_harmless() {
    let records = seq_records();
    let bytes = sealed(&records).await;
    let windows_max = records.len() + 1;
    let original = read_cold(bytes.clone(), windows_max).await.unwrap();
    assert_eq!(original.0, records);
    assert_eq!(original.1, Some(Offset(2_499)));
    let original = Arc::new(original);
    let mut sweep = Sweep::new("sealed Parquet file");
    println!("sealed Parquet file of {} bytes", bytes.len());
    for (at, bit) in flips(bytes.len(), Some(1_500), 2048) {
        let damaged = flipped(&bytes, at, bit);
        let original = original.clone();
        let outcome = guarded(async move {
            let read = read_cold(damaged, windows_max).await;
            judge(read, &original, &[ErrorKind::Corrupt])
        })
        .await;
        sweep.count(at, bit, outcome);
    }
    sweep.finish();
}

fn segment_identity() -> SegmentHeader {
    SegmentHeader {
        topic_id: OWNER.0,
        partition: OWNER.1,
        writer_id: WriterId(Ulid::from_parts(4, 5)),
        epoch: Epoch(6),
        record_count: 0,
        min_ts: 0,
        max_ts: 0,
    }
}

#[tokio::test]
async fn hot_segment_bit_flips_are_detected_or_harmless() {
    let records: Vec<Record> = seq_records()
        .into_iter()
        .take(400)
        .map(|(_, r)| r)
        .collect();
    let bytes = segment::encode(&segment_identity(), &records, 1).unwrap();
    let original = Arc::new(segment::decode(bytes.clone(), "seg").unwrap());
    let mut sweep = Sweep::new("hot segment");
    for (at, bit) in flips(bytes.len(), None, 0) {
        let damaged = flipped(&bytes, at, bit);
        let original = original.clone();
        let outcome = guarded(async move {
            let read = segment::decode(damaged, "seg");
            judge(read, &original, &[ErrorKind::Corrupt])
        })
        .await;
        sweep.count(at, bit, outcome);
    }
    sweep.finish();
}

fn id(n: u64) -> ObjectId {
    ObjectId(Ulid::from_parts(
        1_700_000_000_000 + n,
        u128::from(n) * 7_919,
    ))
}

fn entries(from: u64, n: u64) -> Vec<SegmentEntry> {
    (0..n)
        .map(|i| SegmentEntry {
            id: id(from + i),
            base_offset: Offset((from + i) * 20),
            records: 20,
            bytes: 1_000 + i,
            min_ts: T0 + i as i64,
            max_ts: T0 + 100 + i as i64,
            cold_day: (i < 2).then(|| Day::of_ms(T0)),
            mixed_at: None,
        })
        .collect()
}

fn manifest() -> Manifest {
    let chunk = entries(0, 10);
    let mut m = Manifest::new(OWNER.0, OWNER.1);
    m.version = ManifestVersion(42);
    m.epoch = Epoch(3);
    m.leader = Some(Leader {
        writer_id: WriterId(Ulid::from_parts(9, 9)),
        lease_until_ms: T0 + 10_000,
    });
    m.chunks = vec![ChunkRef::covering(id(900), &chunk).unwrap()];
    m.segments = entries(10, 8)
        .into_iter()
        .map(|e| SegmentEntry {
            cold_day: None,
            ..e
        })
        .collect();
    m.next_offset = Offset(18 * 20);
    m.log_start_offset = Offset(35);
    m.writers = (0..3)
        .map(|i| WriterMarker {
            writer_id: WriterId(Ulid::from_parts(10 + i, 10)),
            commit_seq: CommitSeq(100 + i),
            base_offset: Offset(300 + 20 * i),
            at_ms: T0 + i as i64,
        })
        .collect();
    m.graveyard = vec![
        Tombstone {
            id: id(950),
            kind: TombstoneKind::Segment,
            removed_at_ms: T0,
        },
        Tombstone {
            id: id(951),
            kind: TombstoneKind::Cold {
                day: Day::of_ms(T0),
                first: Offset(0),
                last: Offset(19),
            },
            removed_at_ms: T0 + 1,
        },
    ];
    m.orphan_floor_ms = T0 - 3_600_000;
    m
}

#[tokio::test]
async fn manifest_bit_flips_are_detected_or_harmless() {
    let m = manifest();
    let bytes = codec::encode(&m).unwrap();
    assert_eq!(codec::decode(&bytes, "manifest").unwrap(), m);
    let original = Arc::new(m);
    let mut sweep = Sweep::new("manifest");
    for (at, bit) in flips(bytes.len(), None, 0) {
        let damaged = flipped(&bytes, at, bit);
        let original = original.clone();
        let outcome = guarded(async move {
            let read = codec::decode(&damaged, "manifest");
            judge(read, &original, &[ErrorKind::Corrupt])
        })
        .await;
        sweep.count(at, bit, outcome);
    }
    sweep.finish();
}

#[tokio::test]
async fn index_chunk_bit_flips_are_detected_or_harmless() {
    let chunk = IndexChunk {
        format_version: codec::FORMAT_VERSION,
        topic_id: OWNER.0,
        partition: OWNER.1,
        entries: entries(0, 24),
    };
    let bytes = codec::encode_chunk(&chunk);
    assert_eq!(codec::decode_chunk(&bytes, "chunk").unwrap(), chunk);
    let original = Arc::new(chunk);
    let mut sweep = Sweep::new("index chunk");
    for (at, bit) in flips(bytes.len(), None, 0) {
        let damaged = flipped(&bytes, at, bit);
        let original = original.clone();
        let outcome = guarded(async move {
            let read = codec::decode_chunk(&damaged, "chunk");
            judge(read, &original, &[ErrorKind::Corrupt])
        })
        .await;
        sweep.count(at, bit, outcome);
    }
    sweep.finish();
}

/// Format 1 files (sealed before checksums) have none to verify: a flip may go unnoticed, but
/// the offsets and lengths their metadata gives are checked and a decoder that fails on their
/// pages is `Corrupt`, so none panics or fails untyped. A seeded sample of positions.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn format_1_bit_flips_never_panic() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");
    let bytes = Bytes::from(std::fs::read(format!("{dir}/cold-v1.parquet")).unwrap());
    let windows_max = 1_000;
    let original = Arc::new(read_cold_v1(bytes.clone(), windows_max).await.unwrap());
    let (mut positions, mut detected, mut identical, mut altered) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for (at, bit) in flips(bytes.len(), Some(3_000), 0) {
        let damaged = flipped(&bytes, at, bit);
        let original = original.clone();
        let outcome = guarded(async move {
            let read = read_cold_v1(damaged, windows_max).await;
            judge(read, &original, &[ErrorKind::Corrupt])
        })
        .await;
        positions += 1;
        match outcome {
            Ok(Outcome::Identical) => identical += 1,
            Ok(Outcome::Detected) => detected += 1,
            Ok(Outcome::Wrong(why)) if why.starts_with("altered") => altered += 1,
            Ok(Outcome::Wrong(why)) => failures.push(format!("byte {at} bit {bit}: {why}")),
            Err(panic) => failures.push(format!("byte {at} bit {bit}: panicked: {panic}")),
        }
    }
    println!(
        "format 1 file: {positions} positions flipped, {detected} detected, {identical} read \
         identical, {altered} altered (no checksums), {} panics or untyped errors",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// [`read_cold`] for the golden file's owner.
async fn read_cold_v1(bytes: Bytes, windows_max: usize) -> Result<Vec<(Offset, Record)>, Error> {
    let objects: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let path = Path::from("tables/v1.parquet");
    let size = bytes.len() as u64;
    objects.put(&path, bytes.into()).await?;
    let owner = (TopicId(Ulid::from_parts(1, 1)), PartitionId(3));
    let mut out = Vec::new();
    let mut at = Offset(0);
    for _ in 0..windows_max {
        let window = read_window(objects.clone(), &path, size, owner, at).await?;
        out.extend(window.records);
        match window.end {
            Some(end) if end > at => at = end,
            _ => return Ok(out),
        }
    }
    Ok(out)
}

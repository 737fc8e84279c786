//! Garbage collection with an injected clock: what retention removed is buried, kept through
//! the reader grace and then deleted; orphans go only once they are behind the orphan floor;
//! what the manifest references is never touched; a dry run and a second run change nothing;
//! a sweep lists only what is new since the last one, and without its hint sweeps everything.

use std::collections::BTreeSet;
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::{ObjectStoreExt, PutPayload};
use silt_control::{GcOptions, GcReport, run_gc, trim};
use silt_core::clock::{Clock, SystemClock};
use silt_core::error::{Error, Rejection};
use silt_core::ids::{CommitSeq, ObjectId, Offset, PartitionId, TopicName, WriterId};
use silt_core::keys::Keys;
use silt_core::manifest::{Append, Commit, Edit, NewSegment, SegmentIndex};
use silt_core::record::Record;
use silt_core::store::{CountingStore, Storage};
use silt_core::testing::ManualClock;
use silt_reader::{ReadError, Reader, StartFrom};
use silt_writer::Writer;
use ulid::Ulid;

use super::{manifest, quick, read_all, scope, segments, topic};

const HOUR_MS: i64 = 60 * 60 * 1000;
const P: PartitionId = PartitionId(0);

/// Writes 300 one-record commits (so sealed chunks exist), trims to 250, plants orphans, and
/// runs GC as time passes.
pub async fn gc_deletes_only_what_nothing_references(storage: Storage) {
    let t0 = SystemClock.now_ms();
    let clock = ManualClock::new(t0);
    let storage = storage.with_clock(clock.clone());
    let name = topic(&storage, "gc", 1).await;
    let writer = Writer::open(storage.clone(), &name, quick()).await.unwrap();
    for i in 0..300u64 {
        let record = Record::from_value(Bytes::from(format!("r{i}")), i as i64);
        writer.append(P, vec![record]).await.unwrap();
    }
    writer.close().await;
    trim(&storage, &name, P, Offset(250)).await.unwrap();
    let old_orphan = plant(&storage, &name, t0 - 2 * HOUR_MS).await;
    let young_orphan = plant(&storage, &name, t0).await;
    let before = objects(&storage, &name).await;

    // Inside the reader grace: buried, but nothing deleted.
    let first = gc(&storage, &name, false).await;
    assert!(first.buried > 0, "{first:?}");
    assert_eq!((first.deleted, first.orphans), (0, 0), "{first:?}");
    assert_eq!(first.waiting, first.buried, "{first:?}");
    assert_eq!(objects(&storage, &name).await, before);
    assert!(
        segments(&storage, &name, P)
            .await
            .iter()
            .all(|e| e.end_offset() > Offset(250))
    );

    // Two hours later: a dry run reports, deletes nothing; then the graveyard and both
    // orphans go, and an orphan planted now stays.
    clock.advance(2 * HOUR_MS);
    let fresh_orphan = plant(&storage, &name, clock.now_ms()).await;
    let dry = gc(&storage, &name, true).await;
    assert_eq!(objects(&storage, &name).await.len(), before.len() + 1);
    // A run with a budget of one delete stops after its first batch and keeps what it did.
    let budgeted = run_gc(&storage, &options(&name, false, 1)).await.unwrap();
    assert!(
        budgeted.deleted >= 1 && budgeted.waiting > 0,
        "{budgeted:?}"
    );
    let second = gc(&storage, &name, false).await;
    assert_eq!(
        budgeted.deleted + second.deleted,
        dry.deleted,
        "{second:?} vs dry run {dry:?}"
    );
    assert!(
        budgeted.deleted + second.deleted >= first.buried,
        "{second:?}"
    );
    assert_eq!(second.orphans, 2, "{second:?}");
    let left = objects(&storage, &name).await;
    assert_eq!(
        left,
        referenced(&storage, &name)
            .await
            .into_iter()
            .chain([fresh_orphan])
            .collect()
    );
    assert!(!left.contains(&old_orphan) && !left.contains(&young_orphan));

    // A run whose deadline has passed starts nothing and leaves the partition for the next.
    let mut late = options(&name, false, u64::MAX);
    late.scope.deadline = Some(tokio::time::Instant::now());
    let late = run_gc(&storage, &late).await.unwrap();
    assert_eq!(
        (
            late.coverage.partitions_visited,
            late.coverage.partitions_left
        ),
        (0, 1)
    );

    // Nothing more to do; a commit naming a swept orphan is refused.
    let third = gc(&storage, &name, false).await;
    assert_eq!(
        (third.buried, third.deleted, third.orphans),
        (0, 0, 0),
        "{third:?}"
    );
    let refused = commit_orphan(&storage, &name, young_orphan).await;
    assert!(
        matches!(refused, Err(Error::Rejected(Rejection::StaleUpload { .. }))),
        "{refused:?}"
    );
    reads_after_gc(&storage, &name).await;
}

/// Writes 450 one-record commits (two sealed index chunks on an inline manifest), sweeps an
/// orphan, then sweeps again an hour later through a counting store: the second sweep lists
/// only objects newer than where the first stopped and reads no index chunk, yet deletes the
/// new orphan. An orphan given an old id time after the first sweep (a clock far behind) is
/// left, until the hint is deleted and the next sweep lists everything.
pub async fn gc_orphan_sweep_lists_only_what_is_new(storage: Storage) {
    let t0 = SystemClock.now_ms();
    let clock = ManualClock::new(t0);
    let storage = storage.with_clock(clock.clone());
    let name = topic(&storage, "sweep", 1).await;
    let writer = Writer::open(storage.clone(), &name, quick()).await.unwrap();
    for i in 0..450u64 {
        let record = Record::from_value(Bytes::from(format!("r{i}")), i as i64);
        writer.append(P, vec![record]).await.unwrap();
    }
    writer.close().await;
    let m = manifest(&storage, &name, P).await;
    if m.index == SegmentIndex::Inline {
        assert!(m.chunks.len() >= 2, "{} chunks", m.chunks.len());
    }
    let old_orphan = plant(&storage, &name, t0 - 2 * HOUR_MS).await;
    clock.advance(2 * HOUR_MS); // the floor goes to t0 + 1 h
    let first = gc(&storage, &name, false).await;
    assert_eq!(first.orphans, 1, "{first:?}");
    assert!(!objects(&storage, &name).await.contains(&old_orphan));

    let new_orphan = plant(&storage, &name, t0 + HOUR_MS + HOUR_MS / 2).await;
    let behind = plant(&storage, &name, t0).await;
    clock.advance(HOUR_MS); // the floor goes to t0 + 2 h
    let counting = Arc::new(CountingStore::new(storage.objects.clone()));
    let second = gc(&storage.with_objects(counting.clone()), &name, false).await;
    let requests = counting.counts();
    println!("orphan sweep from its hint: {requests:?}");
    // Only the new orphan is listed (every segment was, before the hint), and the GETs are
    // the topic configuration, the manifest twice and the hint (inline manifests; DynamoDB
    // only the hint): no index chunk. The sweep of mixed objects adds its hint's GET (and
    // lists nothing: there are none).
    assert!(requests.listed <= 2, "{requests:?}");
    assert!(requests.get <= 5, "{requests:?}");
    assert_eq!(second.orphans, 1, "{second:?}");
    let left = objects(&storage, &name).await;
    assert!(!left.contains(&new_orphan) && left.contains(&behind));

    let hint = storage.keys.orphan_sweep_hint(&name, P);
    storage.objects.delete(&hint).await.unwrap();
    clock.advance(HOUR_MS);
    let full = gc(&storage, &name, false).await;
    assert_eq!(full.orphans, 1, "{full:?}");
    assert!(!objects(&storage, &name).await.contains(&behind));
    assert_eq!(
        objects(&storage, &name).await,
        referenced(&storage, &name).await
    );
    assert_eq!(read_all(&storage, &name, P).await.len(), 450);

    // A damaged hint is ignored too: the sweep lists everything and deletes nothing referenced.
    let damaged = PutPayload::from_static(b"{\"resume_ms\": \"not a number\"");
    storage.objects.put(&hint, damaged).await.unwrap();
    clock.advance(HOUR_MS);
    let again = gc(&storage, &name, false).await;
    assert_eq!(again.orphans, 0, "{again:?}");
    assert_eq!(read_all(&storage, &name, P).await.len(), 450);
}

/// Offsets 250.. read back; below the start is `OffsetOutOfRange`.
async fn reads_after_gc(storage: &Storage, name: &TopicName) {
    let read = read_all(storage, name, P).await;
    let values: Vec<_> = read.iter().map(|(_, r)| r.value.clone().unwrap()).collect();
    let expected: Vec<_> = (250..300).map(|i| Bytes::from(format!("r{i}"))).collect();
    assert_eq!(values, expected);
    let reader = Reader::open(storage.clone(), name).await.unwrap();
    let below = reader.cursor(P, StartFrom::Offset(Offset(10))).await;
    assert!(
        matches!(below, Err(ReadError::OffsetOutOfRange { .. })),
        "{below:?}"
    );
}

fn options(name: &TopicName, dry_run: bool, max_deletes: u64) -> GcOptions {
    GcOptions {
        scope: scope(name),
        dry_run,
        max_deletes,
        ..GcOptions::default()
    }
}

async fn gc(storage: &Storage, name: &TopicName, dry_run: bool) -> GcReport {
    let report = run_gc(storage, &options(name, dry_run, u64::MAX))
        .await
        .unwrap();
    assert!(report.failed.is_empty(), "{report:?}");
    report
}

/// Uploads a segment object no commit references, with an id from `at_ms`.
async fn plant(storage: &Storage, name: &TopicName, at_ms: i64) -> ObjectId {
    let id = ObjectId(Ulid::from_parts(
        at_ms as u64,
        SystemClock.new_ulid().random(),
    ));
    let path = storage.keys.segment(name, P, id);
    let body = PutPayload::from_static(b"an upload that was never committed");
    storage.objects.put(&path, body).await.unwrap();
    id
}

async fn commit_orphan(
    storage: &Storage,
    name: &TopicName,
    id: ObjectId,
) -> silt_core::error::Result<silt_core::store::Committed> {
    let base = storage.manifests.read(name, P).await.unwrap().unwrap();
    let segment = NewSegment {
        id,
        records: 1,
        bytes: 10,
        min_ts: 0,
        max_ts: 0,
        producer: None,
        mixed_at: None,
    };
    let commit = Commit {
        writer: WriterId(SystemClock.new_ulid()),
        seq: CommitSeq(1),
        now_ms: storage.clock.now_ms(),
        edit: Edit::Append(Append {
            segments: vec![segment],
            leader_epoch: None,
            expect_next_offset: None,
            lease_until_ms: None,
            seal: None,
        }),
    };
    storage.manifests.commit(name, P, &base, &commit).await
}

/// Ids of every segment and chunk object of the partition, cold segments included.
pub(crate) async fn objects(storage: &Storage, name: &TopicName) -> BTreeSet<ObjectId> {
    let folders = [
        storage.keys.partition(name, P),
        storage.keys.partition_table(name, P),
    ];
    let mut ids = BTreeSet::new();
    for folder in folders {
        let listed: Vec<_> = storage
            .objects
            .list(Some(&folder))
            .try_collect()
            .await
            .unwrap();
        let names = listed.iter().filter_map(|m| m.location.filename());
        ids.extend(names.filter_map(Keys::object_id_of));
    }
    ids
}

/// Ids of every object the manifest references: segments, chunks, the graveyard.
pub(crate) async fn referenced(storage: &Storage, name: &TopicName) -> BTreeSet<ObjectId> {
    let m = manifest(storage, name, P).await;
    let snapshot = storage.manifests.read(name, P).await.unwrap().unwrap();
    let graveyard = storage
        .manifests
        .graveyard(name, P, &snapshot)
        .await
        .unwrap();
    let segs = segments(storage, name, P).await;
    segs.iter()
        .map(|e| e.id)
        .chain(m.chunks.iter().map(|c| c.id))
        .chain(graveyard.iter().map(|t| t.id))
        .collect()
}

//! GC of mixed objects (docs/design.md §19) with an injected clock. These build mixed objects
//! with core's encoders and commit their parts through the manifest API (not through a
//! writer), so each object's id time and which partitions commit it are chosen: a partition
//! releasing a mixed object keeps it while another partition lists it, holds a tombstone of
//! it inside the grace, or may still commit it (its orphan floor at or below the object's id
//! time), and deletes it once none does; the sweep of `mixed/` deletes objects no partition
//! committed once every floor passed them.

use bytes::Bytes;
use object_store::{ObjectStoreExt, PutPayload};
use silt_control::{GcOptions, GcReport, run_gc, trim};
use silt_core::clock::{Clock, SystemClock};
use silt_core::ids::{CommitSeq, Epoch, ObjectId, Offset, PartitionId, TopicName, WriterId};
use silt_core::manifest::{Append, Commit, Edit, NewSegment, Seal, SegmentIndex, TombstoneKind};
use silt_core::record::Record;
use silt_core::segment::{self, MixedToc, SegmentHeader, encode_mixed};
use silt_core::store::Storage;
use silt_core::testing::ManualClock;
use ulid::Ulid;

use super::{manifest, read_all, scope, topic};

const MINUTE_MS: i64 = 60 * 1000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const P0: PartitionId = PartitionId(0);
const P1: PartitionId = PartitionId(1);

/// Two partitions commit their parts of one mixed object. The first trims it away: once its
/// tombstone passed the grace GC keeps the object (the second lists it, and still reads it);
/// once the second released it too, the object is deleted. Two partitions releasing another
/// object in the same run delete it once.
pub async fn gc_keeps_a_mixed_object_another_partition_holds(storage: Storage) {
    let t0 = SystemClock.now_ms();
    let clock = ManualClock::new(t0);
    let storage = storage.with_clock(clock.clone());
    let name = topic(&storage, "gc-mixed-held", 2).await;
    let (m, toc) = upload_mixed(&storage, &name, &[P0, P1], t0).await;
    commit_part(&storage, &name, P0, m, &toc).await;
    commit_part(&storage, &name, P1, m, &toc).await;
    assert_eq!(read_all(&storage, &name, P0).await.len(), 1);

    trim(&storage, &name, P0, Offset(1)).await.unwrap();
    let first = gc(&storage, &name).await;
    assert!(first.buried >= 1, "{first:?}");
    assert_eq!(mixed_counts(&first), (0, 0, 0), "{first:?}");

    clock.advance(2 * HOUR_MS);
    let released = gc(&storage, &name).await;
    assert_eq!(mixed_counts(&released), (0, 1, 0), "{released:?}");
    assert!(exists(&storage, &name, m).await, "P1 still lists it");
    assert!(manifest(&storage, &name, P0).await.graveyard.is_empty());
    let read = read_all(&storage, &name, P1).await;
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].1.value, Some(value(m, P1)));

    trim(&storage, &name, P1, Offset(1)).await.unwrap();
    gc(&storage, &name).await;
    clock.advance(2 * HOUR_MS);
    let last = gc(&storage, &name).await;
    assert_eq!(mixed_counts(&last), (1, 0, 0), "{last:?}");
    assert!(!exists(&storage, &name, m).await);
    assert!(manifest(&storage, &name, P1).await.graveyard.is_empty());

    // Both partitions release an object in the same run: the first deletes it, the second
    // finds it gone.
    let (both, toc) = upload_mixed(&storage, &name, &[P0, P1], clock.now_ms()).await;
    commit_part(&storage, &name, P0, both, &toc).await;
    commit_part(&storage, &name, P1, both, &toc).await;
    // Both floors past the object first, so neither release waits for the other's floor.
    clock.advance(2 * HOUR_MS);
    gc(&storage, &name).await;
    trim(&storage, &name, P0, Offset(2)).await.unwrap();
    trim(&storage, &name, P1, Offset(2)).await.unwrap();
    gc(&storage, &name).await;
    clock.advance(2 * HOUR_MS);
    let together = gc(&storage, &name).await;
    assert_eq!(mixed_counts(&together), (1, 0, 0), "{together:?}");
    assert!(!exists(&storage, &name, both).await);
    let idle = gc(&storage, &name).await;
    assert_eq!(mixed_counts(&idle), (0, 0, 0), "{idle:?}");
}

/// Mixed objects uploaded but never committed (a writer that crashed before its commits):
/// the sweep deletes one once it is below every partition's orphan floor and old enough, and
/// keeps one above a floor, and one a partition committed. A partition releasing an object
/// another partition may still commit keeps it; the sweep deletes it once that floor passed.
pub async fn gc_sweeps_mixed_objects_no_partition_can_commit(storage: Storage) {
    let t0 = SystemClock.now_ms();
    let clock = ManualClock::new(t0);
    let storage = storage.with_clock(clock.clone());
    let name = topic(&storage, "gc-mixed-sweep", 2).await;
    let (orphan, _) = upload_mixed(&storage, &name, &[P0, P1], t0 - 2 * HOUR_MS).await;
    let (above, _) = upload_mixed(&storage, &name, &[P0, P1], t0 + 90 * MINUTE_MS).await;
    let (committed, toc) = upload_mixed(&storage, &name, &[P0, P1], t0).await;
    commit_part(&storage, &name, P1, committed, &toc).await;

    // Below the floors (raised to t0 - 1 h), but uploaded less than the orphan grace ago.
    let first = gc(&storage, &name).await;
    assert_eq!(mixed_counts(&first), (0, 0, 0), "{first:?}");
    assert!(exists(&storage, &name, orphan).await);

    // Floors at t0 + 1 h: the orphan goes, the object above a floor and the one P1 committed
    // stay, and P1 still reads its part.
    clock.advance(2 * HOUR_MS);
    let swept = gc(&storage, &name).await;
    assert_eq!(mixed_counts(&swept), (0, 0, 1), "{swept:?}");
    assert!(!exists(&storage, &name, orphan).await);
    assert!(exists(&storage, &name, above).await);
    assert!(exists(&storage, &name, committed).await);
    assert_eq!(read_all(&storage, &name, P1).await.len(), 1);
    let hint = storage.keys.mixed_sweep_hint(&name);
    assert!(
        storage.objects.head(&hint).await.is_ok(),
        "the sweep keeps a hint"
    );

    // Floors at t0 + 3 h: the object that was above one goes too.
    clock.advance(2 * HOUR_MS);
    let later = gc(&storage, &name).await;
    assert_eq!(mixed_counts(&later), (0, 0, 1), "{later:?}");
    assert!(!exists(&storage, &name, above).await);
    assert!(exists(&storage, &name, committed).await);

    // P0 commits its part of a new object and trims it away; P1's commit never came, but its
    // floor (t0 + 3 h) is below the object: P0's release keeps it ...
    let (late, toc) = upload_mixed(&storage, &name, &[P0, P1], clock.now_ms()).await;
    commit_part(&storage, &name, P0, late, &toc).await;
    trim(&storage, &name, P0, Offset(1)).await.unwrap();
    gc(&storage, &name).await;
    clock.advance(20 * MINUTE_MS);
    let kept = gc(&storage, &name).await;
    assert_eq!(mixed_counts(&kept), (0, 1, 0), "{kept:?}");
    assert!(exists(&storage, &name, late).await);
    // ... and once P1's floor passed it, no partition can commit it: the sweep deletes it.
    clock.advance(2 * HOUR_MS);
    let gone = gc(&storage, &name).await;
    assert_eq!(mixed_counts(&gone), (0, 0, 1), "{gone:?}");
    assert!(!exists(&storage, &name, late).await);
    assert!(exists(&storage, &name, committed).await);
}

/// Inline manifests: P0 seals its parts of two mixed objects into an index chunk. P1's
/// releases keep them while that chunk lists them (live, then buried inside the grace); P0's
/// release of the buried chunk deletes both, with the chunk.
pub async fn gc_releases_mixed_objects_of_buried_chunks(storage: Storage) {
    let t0 = SystemClock.now_ms();
    let clock = ManualClock::new(t0);
    let storage = storage.with_clock(clock.clone());
    let name = topic(&storage, "gc-mixed-chunks", 2).await;
    if manifest(&storage, &name, P0).await.index != SegmentIndex::Inline {
        return; // DynamoDB: no index chunks, each entry is buried on its own
    }
    // Minted before the floors the first run raises, so only references hold them.
    let (a, toc_a) = upload_mixed(&storage, &name, &[P0, P1], t0 - 2 * HOUR_MS).await;
    let (b, toc_b) = upload_mixed(&storage, &name, &[P0, P1], t0 - 2 * HOUR_MS + 1).await;
    for (m, toc) in [(a, &toc_a), (b, &toc_b)] {
        commit_part(&storage, &name, P0, m, toc).await;
        commit_part(&storage, &name, P1, m, toc).await;
    }
    let chunk = seal_tail(&storage, &name, P0).await;

    trim(&storage, &name, P1, Offset(1)).await.unwrap(); // a, at t0
    gc(&storage, &name).await;
    clock.advance(10 * MINUTE_MS);
    trim(&storage, &name, P1, Offset(2)).await.unwrap(); // b, at t0 + 10 min
    gc(&storage, &name).await;

    // P1 releases a: P0's live chunk lists it.
    clock.advance(10 * MINUTE_MS);
    let live = gc(&storage, &name).await;
    assert_eq!(mixed_counts(&live), (0, 1, 0), "{live:?}");
    trim(&storage, &name, P0, Offset(2)).await.unwrap(); // the chunk, at t0 + 20 min
    gc(&storage, &name).await;
    let graveyard = &manifest(&storage, &name, P0).await.graveyard;
    assert_eq!(graveyard.len(), 1, "{graveyard:?}");
    assert_eq!(
        (graveyard[0].id, graveyard[0].kind),
        (chunk, TombstoneKind::ChunkWithSegments)
    );

    // P1 releases b: P0's buried chunk lists it, inside the grace.
    clock.advance(10 * MINUTE_MS);
    let buried = gc(&storage, &name).await;
    assert_eq!(mixed_counts(&buried), (0, 1, 0), "{buried:?}");
    assert!(exists(&storage, &name, a).await && exists(&storage, &name, b).await);

    // P0's chunk passes the grace: no one else holds a or b any more.
    clock.advance(3 * HOUR_MS);
    let last = gc(&storage, &name).await;
    assert_eq!(mixed_counts(&last), (2, 0, 0), "{last:?}");
    assert!(last.deleted >= 1, "the chunk: {last:?}");
    assert!(!exists(&storage, &name, a).await && !exists(&storage, &name, b).await);
    let chunk_path = storage.keys.index_chunk(&name, P0, chunk);
    assert!(storage.objects.head(&chunk_path).await.is_err());
}

/// (deleted on release, kept on release, deleted by the sweep).
fn mixed_counts(r: &GcReport) -> (u64, u64, u64) {
    (r.mixed_deleted, r.mixed_kept, r.mixed_orphans)
}

async fn gc(storage: &Storage, name: &TopicName) -> GcReport {
    let options = GcOptions {
        scope: scope(name),
        ..GcOptions::default()
    };
    let report = run_gc(storage, &options).await.unwrap();
    assert!(report.failed.is_empty(), "{report:?}");
    report
}

/// The value of the one record partition `p`'s part of `m` holds.
fn value(m: ObjectId, p: PartitionId) -> Bytes {
    Bytes::from(format!("{m}-{p}"))
}

/// Uploads a mixed object with an id from `at_ms` holding a one-record segment of each of
/// `parts`, as a writer's mixer would; returns its id and toc.
async fn upload_mixed(
    storage: &Storage,
    name: &TopicName,
    parts: &[PartitionId],
    at_ms: i64,
) -> (ObjectId, MixedToc) {
    let topic_id = manifest(storage, name, P0).await.topic_id;
    let id = ObjectId(Ulid::from_parts(
        at_ms as u64,
        SystemClock.new_ulid().random(),
    ));
    let segments = parts.iter().map(|&p| {
        let header = SegmentHeader {
            topic_id,
            partition: p,
            writer_id: WriterId(SystemClock.new_ulid()),
            epoch: Epoch(0),
            record_count: 1,
            min_ts: 0,
            max_ts: 0,
        };
        let record = Record::from_value(value(id, p), 0);
        (p, segment::encode(&header, &[record], 1).unwrap())
    });
    let (chunks, toc) = encode_mixed(topic_id, segments.collect());
    let path = storage.keys.mixed(name, id);
    let payload: PutPayload = chunks.into_iter().collect();
    storage.objects.put(&path, payload).await.unwrap();
    (id, toc)
}

/// Commits partition `p`'s part of mixed object `m`.
async fn commit_part(
    storage: &Storage,
    name: &TopicName,
    p: PartitionId,
    m: ObjectId,
    toc: &MixedToc,
) {
    let part = toc.parts.iter().find(|x| x.partition == p).unwrap();
    let segment = NewSegment {
        id: m,
        records: 1,
        bytes: part.bytes,
        min_ts: 0,
        max_ts: 0,
        producer: None,
        mixed_at: Some(part.at),
    };
    append(storage, name, p, vec![segment], None).await;
}

/// Seals partition `p`'s whole tail into an index chunk; returns the chunk's id.
async fn seal_tail(storage: &Storage, name: &TopicName, p: PartitionId) -> ObjectId {
    let m = manifest(storage, name, p).await;
    let entries = m.segments.clone();
    let chunk = storage
        .write_chunk(name, &m, &entries)
        .await
        .unwrap()
        .unwrap();
    append(storage, name, p, Vec::new(), Some(Seal { chunk, entries })).await;
    let after = manifest(storage, name, p).await;
    assert!(
        after.segments.is_empty() && after.chunks.len() == 1,
        "{after:?}"
    );
    chunk.id
}

async fn append(
    storage: &Storage,
    name: &TopicName,
    p: PartitionId,
    segments: Vec<NewSegment>,
    seal: Option<Seal>,
) {
    let base = storage.manifests.read(name, p).await.unwrap().unwrap();
    let commit = Commit {
        writer: WriterId(SystemClock.new_ulid()),
        seq: CommitSeq(1),
        now_ms: storage.clock.now_ms(),
        edit: Edit::Append(Append {
            segments,
            leader_epoch: None,
            expect_next_offset: None,
            lease_until_ms: None,
            seal,
        }),
    };
    storage
        .manifests
        .commit(name, p, &base, &commit)
        .await
        .unwrap();
}

async fn exists(storage: &Storage, name: &TopicName, m: ObjectId) -> bool {
    storage
        .objects
        .head(&storage.keys.mixed(name, m))
        .await
        .is_ok()
}

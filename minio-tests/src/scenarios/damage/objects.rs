//! Objects a manifest still references, deleted by mistake (issue 21 item 13): a segment, an
//! index chunk, a Parquet file. Readers and jobs name the object and its kind, and a job
//! reports the partition failed; nothing is skipped as "changed meanwhile". An object that a
//! job removed under a reader holding an older manifest is still just read again.

use bytes::Bytes;
use object_store::ObjectStoreExt;
use object_store::path::Path;
use silt_control::{CompactOptions, GcOptions, run_compaction, run_gc};
use silt_core::error::{Error, ObjectKind};
use silt_core::ids::{PartitionId, TopicName};
use silt_core::manifest::{SegmentEntry, TAIL_SEAL_AT};
use silt_core::record::Record;
use silt_core::store::Storage;
use silt_core::topic::TopicSettings;
use silt_reader::{Reader, StartFrom};
use silt_writer::Writer;

use super::super::{manifest, quick, scope, segments, topic, topic_with};
use super::{corrupt, read_partition};

const P: PartitionId = PartitionId(0);

/// 300 one-record segments (so an index chunk exists where manifests are objects), then one
/// missing object at a time; each is put back before the next.
pub async fn missing_objects_are_named(storage: Storage) {
    let name = topic(&storage, "holes", 1).await;
    let writer = Writer::open(storage.clone(), &name, quick()).await.unwrap();
    let count = TAIL_SEAL_AT as i64 + 44;
    for i in 0..count {
        let record = Record::from_value(format!("r{i}"), i);
        writer.append(P, vec![record]).await.unwrap();
    }
    writer.close().await;

    let last = *segments(&storage, &name, P).await.last().unwrap();
    let key = storage.keys.segment(&name, P, last.id);
    let taken = take(&storage, &key).await;
    expect_named(&storage, &name, ObjectKind::Segment, &key).await;
    storage.objects.put(&key, taken.into()).await.unwrap();

    let chunks = manifest(&storage, &name, P).await.chunks.clone();
    if let Some(chunk) = chunks.first() {
        let key = storage.keys.index_chunk(&name, P, chunk.id);
        let taken = take(&storage, &key).await;
        // A fresh manifest store: none of the chunks read before is cached (they are
        // immutable, so a reader that read one never reads it again).
        let fresh = storage.with_objects(storage.objects.clone());
        expect_named(&fresh, &name, ObjectKind::IndexChunk, &key).await;
        storage.objects.put(&key, taken.into()).await.unwrap();
    }
    assert_eq!(
        read_partition(&storage, &name, P).await.unwrap().len() as i64,
        count
    );
    vanished_under_a_reader_is_read_again(&storage, &name, count).await;
    missing_parquet_file_is_named(&storage).await;
}

/// The reader from the start and compaction (which reads every small segment) both fail
/// naming `key` as a missing object of `kind`; GC deletes nothing.
async fn expect_named(storage: &Storage, name: &TopicName, kind: ObjectKind, key: &Path) {
    let e = corrupt(read_partition(storage, name, P).await);
    assert_missing(&e, kind, key);
    let before = super::partition_objects(storage, name, P).await;
    let options = CompactOptions {
        scope: scope(name),
        ..CompactOptions::default()
    };
    let report = run_compaction(storage, &options).await.unwrap();
    assert_eq!(report.stale, 0, "{report:?}");
    assert_eq!(report.failed.len(), 1, "{report:?}");
    let failed = &report.failed[0];
    assert!(
        failed.contains(&format!("{kind} {key} is missing")),
        "{failed}"
    );
    let gc = GcOptions {
        scope: scope(name),
        reader_grace_ms: i64::MAX / 4, // delete nothing compaction may have removed
        orphan_grace_ms: 0,
        ..GcOptions::default()
    };
    let swept = run_gc(storage, &gc).await.unwrap();
    assert_eq!(swept.orphans, 0, "{swept:?}");
    let after = super::partition_objects(storage, name, P).await;
    assert!(
        before.iter().all(|k| after.contains(k)),
        "GC deleted some of {before:?}"
    );
}

/// A cursor that read the manifest before compaction merged everything and GC (no grace)
/// deleted the old segments: its segments vanish under it, and it reads the merged ones.
async fn vanished_under_a_reader_is_read_again(storage: &Storage, name: &TopicName, count: i64) {
    let reader = Reader::open(storage.clone(), name).await.unwrap();
    let mut cursor = reader.cursor(P, StartFrom::Earliest).await.unwrap();
    let options = CompactOptions {
        scope: scope(name),
        ..CompactOptions::default()
    };
    let merged = run_compaction(storage, &options).await.unwrap();
    assert!(
        merged.failed.is_empty() && merged.segments_merged > 0,
        "{merged:?}"
    );
    let gc = GcOptions {
        scope: scope(name),
        reader_grace_ms: 0,
        ..GcOptions::default()
    };
    let swept = run_gc(storage, &gc).await.unwrap();
    assert!(swept.deleted as i64 >= count, "{swept:?}");
    let mut read = 0;
    for _ in 0..count {
        let batch = cursor.next_batch(100).await.unwrap();
        if batch.is_empty() {
            break;
        }
        read += batch.len() as i64;
    }
    assert_eq!(read, count);
}

/// A sealed Parquet file deleted: the reader names it (compaction never reads cold files).
async fn missing_parquet_file_is_named(storage: &Storage) {
    let settings = TopicSettings {
        seal_after_ms: Some(0),
        ..TopicSettings::default()
    };
    let name = topic_with(storage, "cold-holes", 1, settings).await;
    let writer = Writer::open(storage.clone(), &name, quick()).await.unwrap();
    let records = (0..10)
        .map(|i| Record::from_value(format!("c{i}"), 1_000 + i))
        .collect();
    writer.append(P, records).await.unwrap();
    writer.close().await;
    let options = CompactOptions {
        scope: scope(&name),
        ..CompactOptions::default()
    };
    let sealed = run_compaction(storage, &options).await.unwrap();
    assert_eq!(sealed.cold_written, 1, "{sealed:?}");
    let entries: Vec<SegmentEntry> = segments(storage, &name, P).await;
    let key = storage.keys.segment_object(&name, P, &entries[0]);
    let taken = take(storage, &key).await;
    let e = corrupt(read_partition(storage, &name, P).await);
    assert_missing(&e, ObjectKind::ColdSegment, &key);
    storage.objects.put(&key, taken.into()).await.unwrap();
    assert_eq!(read_partition(storage, &name, P).await.unwrap().len(), 10);
}

/// Deletes the object at `key`; returns its bytes.
async fn take(storage: &Storage, key: &Path) -> Bytes {
    let bytes = storage
        .objects
        .get(key)
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    storage.objects.delete(key).await.unwrap();
    bytes
}

fn assert_missing(e: &Error, kind: ObjectKind, key: &Path) {
    match e {
        Error::ObjectMissing(object) => {
            assert_eq!(
                (object.kind, object.key.as_str()),
                (kind, key.as_ref()),
                "{e}"
            );
            assert!(
                e.to_string()
                    .starts_with(&format!("{kind} {key} is missing")),
                "{e}"
            );
        }
        other => panic!("expected {kind} {key} missing, got {other:?}"),
    }
}

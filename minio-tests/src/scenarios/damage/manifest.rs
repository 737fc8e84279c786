//! A partition's manifest deleted by mistake (issue 21 item 1): it must never read as an empty
//! partition, which would give offsets out again and let GC delete the data as orphans.

use std::time::Duration;

use silt_control::{
    CompactOptions, GcOptions, RetentionOptions, run_compaction, run_gc, run_retention, trim,
};
use silt_core::error::{Error, ErrorKind};
use silt_core::ids::{Offset, PartitionId, TopicName};
use silt_core::record::Record;
use silt_core::store::Storage;
use silt_core::topic::TopicSettings;
use silt_reader::{ReadError, Reader, StartFrom};
use silt_writer::{AppendError, Writer, WriterSettings};

use super::super::{quick, scope, topic, topic_with};
use super::{partition_objects, read_partition, remove_manifest, restore_manifest};

const P0: PartitionId = PartitionId(0);
const P1: PartitionId = PartitionId(1);

/// Deletes partition 0's manifest after writes: reads, writes, trims and every job fail with
/// `ManifestMissing` naming it, GC deletes nothing, partition 1 is untouched; restored, all
/// of it is back. A manifest gone under a cursor that read it is the same error, and so is one
/// whose partition's data lies only in mixed objects. A partition whose manifest a cut-short
/// topic creation never wrote (no objects) is empty, and writable.
pub async fn missing_manifest_is_never_an_empty_partition(storage: Storage) {
    // A retention setting, so retention visits the partitions too (and keeps everything).
    let settings = TopicSettings {
        retention_bytes: Some(1 << 40),
        ..TopicSettings::default()
    };
    let name = topic_with(&storage, "lost", 2, settings).await;
    let writer = Writer::open(storage.clone(), &name, quick()).await.unwrap();
    for i in 0..4 {
        for p in [P0, P1] {
            let record = Record::from_value(format!("{p}-{i}"), i);
            writer.append(p, vec![record]).await.unwrap();
        }
    }
    writer.close().await;
    let before = partition_objects(&storage, &name, P0).await;
    assert_eq!(before.len(), 4, "{before:?}");
    let location = storage.manifests.manifest_location(&name, P0);
    let removed = remove_manifest(&storage, &name, P0).await;

    let read = read_partition(&storage, &name, P0).await;
    expect_missing(read.map(|_| ()).map_err(read_error), &location);
    assert_eq!(read_partition(&storage, &name, P1).await.unwrap().len(), 4);
    let writer = Writer::open(storage.clone(), &name, quick()).await.unwrap();
    let refused = writer.append(P0, vec![Record::from_value("x", 9)]).await;
    expect_missing(refused.map(|_| ()).map_err(append_error), &location);
    writer.close().await;
    expect_missing(
        trim(&storage, &name, P0, Offset(1)).await.map(|_| ()),
        &location,
    );
    jobs_fail_and_delete_nothing(&storage, &name, &location).await;
    assert_eq!(partition_objects(&storage, &name, P0).await, before);

    restore_manifest(&storage, &name, P0, removed).await;
    let values = read_partition(&storage, &name, P0).await.unwrap();
    assert_eq!(values, ["0-0", "0-1", "0-2", "0-3"]);
    vanished_under_a_cursor(&storage, &name).await;
    cut_short_creation_is_an_empty_partition(&storage).await;
    lost_while_its_data_is_only_in_a_mixed_object(&storage).await;
}

/// Compaction, retention and GC (with no grace) report partition 0 failed, naming the
/// manifest, and partition 1 done.
async fn jobs_fail_and_delete_nothing(storage: &Storage, name: &TopicName, location: &str) {
    let failed_on_p0 = |failed: &[String]| {
        assert_eq!(failed.len(), 1, "{failed:?}");
        assert!(failed[0].starts_with(&format!("{name}/0: ")), "{failed:?}");
        assert!(
            failed[0].contains(&format!("the manifest {location}")),
            "{failed:?}"
        );
    };
    let gc = GcOptions {
        scope: scope(name),
        reader_grace_ms: 0,
        orphan_grace_ms: 0,
        ..GcOptions::default()
    };
    failed_on_p0(&run_gc(storage, &gc).await.unwrap().failed);
    let compact = CompactOptions {
        scope: scope(name),
        ..CompactOptions::default()
    };
    failed_on_p0(&run_compaction(storage, &compact).await.unwrap().failed);
    let retention = RetentionOptions {
        scope: scope(name),
        ..RetentionOptions::default()
    };
    failed_on_p0(&run_retention(storage, &retention).await.unwrap().failed);
}

/// A cursor that read partition 1's manifest, which is then deleted: its next look at the
/// manifest fails with `ManifestMissing` (never "unchanged"), and so does a writer's commit.
async fn vanished_under_a_cursor(storage: &Storage, name: &TopicName) {
    let reader = Reader::open(storage.clone(), name).await.unwrap();
    let mut cursor = reader.cursor(P1, StartFrom::Latest).await.unwrap();
    let writer = Writer::open(storage.clone(), name, quick()).await.unwrap();
    writer
        .append(P1, vec![Record::from_value("warm", 1)])
        .await
        .unwrap();
    let location = storage.manifests.manifest_location(name, P1);
    let removed = remove_manifest(storage, name, P1).await;
    let waited = cursor.wait_for_more(Duration::from_millis(1)).await;
    expect_missing(waited.map(|_| ()).map_err(read_error), &location);
    let refused = writer.append(P1, vec![Record::from_value("lost", 2)]).await;
    expect_missing(refused.map(|_| ()).map_err(append_error), &location);
    writer.close().await;
    restore_manifest(storage, name, P1, removed).await;
}

/// Partition 1 of a new topic whose manifest was never written (a creation cut short): no
/// objects, so it reads as empty and the first write creates it at offset 0.
async fn cut_short_creation_is_an_empty_partition(storage: &Storage) {
    let name = topic(storage, "half-made", 2).await;
    let _never_written = remove_manifest(storage, &name, P1).await;
    assert!(read_partition(storage, &name, P1).await.unwrap().is_empty());
    let writer = Writer::open(storage.clone(), &name, quick()).await.unwrap();
    let ack = writer
        .append(P1, vec![Record::from_value("first", 1)])
        .await
        .unwrap();
    assert_eq!(ack.base_offset, Offset(0));
    writer.close().await;
    assert_eq!(read_partition(storage, &name, P1).await.unwrap(), ["first"]);
}

/// Partition 0 of a topic written only through mixed objects has no folder of its own: its
/// manifest deleted, the mixed object holding its range is the evidence (never an empty
/// partition), GC deletes nothing, and restored, its record is back.
async fn lost_while_its_data_is_only_in_a_mixed_object(storage: &Storage) {
    let name = topic(storage, "lost-mixed", 2).await;
    let long_linger = WriterSettings {
        linger_ms: 200,
        ..WriterSettings::default()
    };
    let writer = Writer::open(storage.clone(), &name, long_linger)
        .await
        .unwrap();
    let mut acks = Vec::new();
    for p in [P0, P1] {
        let record = vec![Record::from_value(format!("v{}", p.0), 1)];
        acks.push(writer.send_batch(p, record, None).await.unwrap());
    }
    for ack in acks {
        ack.await.unwrap();
    }
    writer.close().await;
    assert!(partition_objects(storage, &name, P0).await.is_empty());
    let location = storage.manifests.manifest_location(&name, P0);
    let removed = remove_manifest(storage, &name, P0).await;

    let read = read_partition(storage, &name, P0).await;
    let error = read.map(|_| ()).map_err(read_error);
    assert!(
        matches!(&error, Err(e) if e.to_string().contains("/mixed/")),
        "names the mixed object: {error:?}"
    );
    expect_missing(error, &location);
    let writer = Writer::open(storage.clone(), &name, quick()).await.unwrap();
    let refused = writer.append(P0, vec![Record::from_value("x", 9)]).await;
    expect_missing(refused.map(|_| ()).map_err(append_error), &location);
    writer.close().await;
    let gc = GcOptions {
        scope: scope(&name),
        reader_grace_ms: 0,
        orphan_grace_ms: 0,
        ..GcOptions::default()
    };
    assert_eq!(run_gc(storage, &gc).await.unwrap().failed.len(), 1);
    restore_manifest(storage, &name, P0, removed).await;
    assert_eq!(read_partition(storage, &name, P0).await.unwrap(), ["v0"]);
}

fn read_error(e: ReadError) -> Error {
    match e {
        ReadError::Store(e) => e,
        other => panic!("expected a store error, got {other:?}"),
    }
}

fn append_error(e: AppendError) -> Error {
    match e {
        AppendError::Failed(e) => (*e).clone(),
        other => panic!("expected a failed append, got {other:?}"),
    }
}

/// `outcome` must be `ManifestMissing` naming `location`, a `Corrupt` error.
fn expect_missing(outcome: Result<(), Error>, location: &str) {
    match outcome {
        Err(e @ Error::ManifestMissing { .. }) => {
            assert_eq!(e.kind(), ErrorKind::Corrupt);
            assert!(
                e.to_string().contains(&format!("the manifest {location} ")),
                "{e}"
            );
        }
        other => panic!("expected ManifestMissing naming {location}, got {other:?}"),
    }
}

//! Topic delete (docs/design.md §4.1): the topic is unknown at once to readers, writers,
//! `topic list` and describe; a writer open across the delete acknowledges nothing more; GC
//! removes every object, manifest and DynamoDB item after the reader grace; a topic created
//! again under the name has a new id and none of the old records; and a delete racing a
//! writer loses nothing it acknowledged.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use bytes::Bytes;
use futures::TryStreamExt;
use silt_control::{CompactOptions, GcOptions, GcReport, run_compaction, run_gc};
use silt_core::clock::{Clock, SystemClock};
use silt_core::error::{Error, ErrorKind, Rejection};
use silt_core::ids::{Offset, PartitionId, TopicName};
use silt_core::manifest::{Manifest, codec};
use silt_core::record::Record;
use silt_core::store::{ManifestStore, Storage};
use silt_core::testing::ManualClock;
use silt_core::topic::TopicSettings;
use silt_reader::{ReadError, Reader, StartFrom};
use silt_writer::{AppendError, Writer};

use super::{quick, read_all, scope, stored_manifest, topic, topic_with};

const P: PartitionId = PartitionId(0);
const MINUTE_MS: i64 = 60 * 1000;

/// Delete with a writer and a cursor open, GC inside and after the reader grace, re-create.
pub async fn deleted_topic_is_unknown_and_gc_removes_it(storage: Storage) {
    let clock = ManualClock::new(SystemClock.now_ms());
    let storage = storage.with_clock(clock.clone());
    let sealed = TopicSettings {
        seal_after_ms: Some(0),
        ..TopicSettings::default()
    };
    let name = topic_with(&storage, "doomed", 2, sealed).await;
    let writer = Writer::open(storage.clone(), &name, quick()).await.unwrap();
    for i in 0..20u64 {
        let p = PartitionId((i % 2) as u32);
        writer
            .append(p, vec![record(&format!("old-{i}"))])
            .await
            .unwrap();
    }
    let compacted = CompactOptions {
        scope: scope(&name),
        ..CompactOptions::default()
    };
    let report = run_compaction(&storage, &compacted).await.unwrap();
    assert!(report.failed.is_empty(), "{report:?}");
    writer.append(P, vec![record("hot")]).await.unwrap();
    assert!(!objects(&storage, &name).await.is_empty());
    let reader = Reader::open(storage.clone(), &name).await.unwrap();
    let mut cursor = reader.cursor(P, StartFrom::Earliest).await.unwrap();
    assert!(!cursor.next_batch(5).await.unwrap().is_empty());

    let deleted = storage.delete_topic(&name).await.unwrap();
    assert_eq!(deleted.name, name);
    let old_id = deleted.topic_id;
    unknown_everywhere(&storage, &name, &writer, &mut cursor).await;

    purge(&storage, &clock, &name).await;
    writer.close().await;

    // The name is free: a new incarnation, with none of the old records.
    let again = storage
        .create_topic(&name, 1, TopicSettings::default())
        .await;
    let again = again.unwrap();
    assert_ne!(again.topic_id, old_id);
    assert!(storage.list_topics().await.unwrap().contains(&name));
    assert!(read_all(&storage, &name, P).await.is_empty());
    let fresh = Writer::open(storage.clone(), &name, quick()).await.unwrap();
    let ack = fresh.append(P, vec![record("new-0")]).await.unwrap();
    assert_eq!(ack.base_offset, Offset(0));
    fresh.close().await;
    let read = read_all(&storage, &name, P).await;
    let values: Vec<_> = read.iter().map(|(_, r)| r.value.clone().unwrap()).collect();
    assert_eq!(values, vec![Bytes::from("new-0")]);
    let after = gc(&storage).await;
    assert!(
        after.failed.is_empty() && after.topics_purged == 0,
        "{after:?}"
    );
    assert_eq!(read_all(&storage, &name, P).await.len(), 1);
}

/// After the delete: unknown to `topic`, `delete_topic`, `list_topics`, new readers and
/// writers, the open cursor's next refresh; the open writer is refused on both partitions;
/// the name cannot be created while the data is there.
async fn unknown_everywhere(
    storage: &Storage,
    name: &TopicName,
    writer: &Writer,
    cursor: &mut silt_reader::Cursor,
) {
    let (storage, name) = (storage.clone(), name.clone());
    assert_unknown(storage.topic(&name).await.map(|_| ()));
    assert_unknown(storage.delete_topic(&name).await.map(|_| ()));
    assert!(!storage.list_topics().await.unwrap().contains(&name));
    assert_unknown(Reader::open(storage.clone(), &name).await.map(|_| ()));
    assert_unknown(
        Writer::open(storage.clone(), &name, quick())
            .await
            .map(|_| ()),
    );
    // What the cursor holds stays readable; its next look at the manifest says unknown.
    let held = cursor.next_batch(1000).await.unwrap();
    assert!(!held.is_empty());
    match cursor.wait_for_more(Duration::ZERO).await {
        Err(ReadError::Store(Error::UnknownTopic(_))) => {}
        other => panic!("a cursor on a deleted topic must see an unknown topic, got {other:?}"),
    }
    for p in [P, PartitionId(1)] {
        let refused = writer.append(p, vec![record("after-delete")]).await;
        assert_refused(refused.map(|_| ()));
        let again = writer.append(p, vec![record("after-delete-2")]).await;
        assert_refused(again.map(|_| ()));
    }
    match storage
        .create_topic(&name, 1, TopicSettings::default())
        .await
    {
        Err(Error::TopicBeingDeleted(n)) => assert_eq!(n, name),
        other => panic!("create of a topic being deleted must be refused, got {other:?}"),
    }
}

/// GC inside the reader grace deletes nothing; after it, a dry run counts and a run removes
/// every object, manifest and DynamoDB item, leaving only the purged tombstone.
async fn purge(storage: &Storage, clock: &ManualClock, name: &TopicName) {
    let (storage, name) = (storage.clone(), name.clone());
    // Inside the reader grace nothing is deleted; after it, everything.
    let early = gc(&storage).await;
    assert_eq!((early.topics_waiting, early.deleted_topic_objects), (1, 0));
    assert!(!objects(&storage, &name).await.is_empty());
    clock.advance(16 * MINUTE_MS);
    let dry = run_gc(&storage, &gc_options(true)).await.unwrap();
    assert!(
        dry.deleted_topic_objects > 0 && dry.topics_purged == 0,
        "{dry:?}"
    );
    let purge = gc(&storage).await;
    assert_eq!(purge.topics_purged, 1, "{purge:?}");
    assert!(purge.deleted_topic_objects >= dry.deleted_topic_objects);
    // Only the purged tombstone is left (and, on `file://`, its lock file); on DynamoDB it is
    // the topic item.
    let config = storage.keys.topic_config(&name).to_string();
    let left = objects(&storage, &name).await;
    let left: Vec<_> = left.iter().filter(|k| !k.ends_with(".lock")).collect();
    match storage.manifest_table {
        Some(_) => assert!(left.is_empty(), "{left:?}"),
        None => assert_eq!(left, vec![&config]),
    }
    let tombstone = storage.manifests.read_topic(&name).await.unwrap().unwrap();
    assert!(tombstone.deleted.is_some_and(|d| d.purged), "{tombstone:?}");
    assert_eq!(dynamo_items(&storage, &name, 2).await, 0);
    assert!(storage.manifests.read(&name, P).await.unwrap().is_none());
}

/// A producer pipelines records while the topic is deleted: every acknowledged record is in
/// the partition as deleted, and no record sent after the delete returned is acknowledged.
pub async fn topic_delete_racing_a_writer_loses_nothing_acknowledged(storage: Storage) {
    let name = topic(&storage, "raced", 1).await;
    let writer = Arc::new(Writer::open(storage.clone(), &name, quick()).await.unwrap());
    let deleted = Arc::new(AtomicBool::new(false));
    let producer = tokio::spawn(produce(writer.clone(), deleted.clone()));
    // Let some records be acknowledged first (bounded: at most 200 rounds of 50 records).
    for _ in 0..200 {
        if writer.append(P, vec![record("warm-up")]).await.is_ok()
            && next_offset(&storage, &name).await > 50
        {
            break;
        }
    }
    let old = storage.delete_topic(&name).await.unwrap();
    deleted.store(true, Ordering::SeqCst);
    let answers = producer.await.unwrap();
    let m = deleted_manifest(&storage, &name).await;
    assert!(m.deleted_ms.is_some() && m.topic_id == old.topic_id);
    let mut offsets = Vec::new();
    for (after_delete, answer) in &answers {
        match answer {
            Ok(offset) => {
                assert!(
                    !after_delete,
                    "a record sent after the delete was acknowledged at {offset}"
                );
                offsets.push(*offset);
            }
            Err(kind) => assert!(
                matches!(
                    kind,
                    ErrorKind::Rejected | ErrorKind::Invalid | ErrorKind::Indeterminate
                ),
                "unexpected error kind {kind:?}"
            ),
        }
    }
    offsets.sort();
    offsets.dedup();
    let acked = answers.iter().filter(|(_, a)| a.is_ok()).count();
    assert_eq!(
        offsets.len(),
        acked,
        "two records acknowledged at one offset"
    );
    assert!(acked > 0, "the race needs acknowledged records");
    assert!(
        offsets.iter().all(|o| *o < m.next_offset),
        "{:?} vs {}",
        offsets.last(),
        m.next_offset
    );
    assert!(
        answers.iter().any(|(after, _)| *after),
        "the producer outlived the delete"
    );
}

/// Sends waves of 20 records until the delete refuses a whole wave (at most 2 000 waves); each
/// answer says whether it was sent after the delete returned.
async fn produce(
    writer: Arc<Writer>,
    deleted: Arc<AtomicBool>,
) -> Vec<(bool, Result<Offset, ErrorKind>)> {
    let mut answers = Vec::new();
    for wave in 0..2_000u64 {
        let mut pending = Vec::new();
        for i in 0..20u64 {
            let after = deleted.load(Ordering::SeqCst);
            let sent = writer
                .send_batch(P, vec![record(&format!("r{wave}-{i}"))], None)
                .await;
            pending.push((after, sent));
        }
        for (after, sent) in pending {
            let answer = match sent {
                Ok(ack) => ack.await.map(|a| a.base_offset).map_err(|e| e.kind()),
                Err(e) => Err(e.kind()),
            };
            answers.push((after, answer));
        }
        let last_wave = &answers[answers.len() - 20..];
        if last_wave.iter().all(|(after, a)| *after && a.is_err()) {
            break;
        }
    }
    answers
}

fn record(value: &str) -> Record {
    Record::from_value(Bytes::from(value.to_string()), 1_000)
}

async fn next_offset(storage: &Storage, name: &TopicName) -> u64 {
    let read = storage.manifests.read(name, P).await.unwrap();
    read.map_or(0, |s| s.manifest.next_offset.0)
}

/// The manifest of partition 0 as stored, marked deleted (readers refuse to read it).
async fn deleted_manifest(storage: &Storage, name: &TopicName) -> Manifest {
    if let Some(table) = &storage.manifest_table {
        let read = ManifestStore::read(table, name, P).await.unwrap();
        return (*read.unwrap().manifest).clone();
    }
    let bytes = stored_manifest::read(storage, name, P).await.unwrap();
    codec::decode(&bytes, "manifest").unwrap()
}

fn assert_unknown<T: std::fmt::Debug, E: std::fmt::Display>(got: Result<T, E>) {
    match got {
        Err(e) => assert!(
            e.to_string().contains("does not exist"),
            "expected an unknown topic, got {e}"
        ),
        Ok(v) => panic!("expected an unknown topic, got {v:?}"),
    }
}

fn assert_refused(got: Result<(), AppendError>) {
    match got {
        Err(AppendError::Rejected(Rejection::TopicDeleted { .. })) => {}
        other => panic!("a writer open across the delete must be refused, got {other:?}"),
    }
}

fn gc_options(dry_run: bool) -> GcOptions {
    GcOptions {
        dry_run,
        ..GcOptions::default()
    }
}

async fn gc(storage: &Storage) -> GcReport {
    let report = run_gc(storage, &gc_options(false)).await.unwrap();
    assert!(report.failed.is_empty(), "{report:?}");
    report
}

/// Every object key under the topic's folder and its `tables/` folder.
async fn objects(storage: &Storage, name: &TopicName) -> Vec<String> {
    let mut keys = Vec::new();
    for prefix in [storage.keys.topic(name), storage.keys.topic_table(name)] {
        let listed: Vec<_> = storage
            .objects
            .list(Some(&prefix))
            .try_collect()
            .await
            .unwrap();
        keys.extend(listed.into_iter().map(|m| m.location.to_string()));
    }
    keys.sort();
    keys
}

/// Items left in the DynamoDB partitions of `name` (0 when manifests are in the store).
async fn dynamo_items(storage: &Storage, name: &TopicName, partitions: u32) -> usize {
    let Some(table) = &storage.manifest_table else {
        return 0;
    };
    let mut items = 0;
    for p in 0..partitions {
        let got = table
            .client_ref()
            .query()
            .table_name(table.table())
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S(table.pk(name, PartitionId(p))))
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        items += got.items.unwrap_or_default().len();
    }
    items
}

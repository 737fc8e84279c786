//! Mixed objects through the writer (docs/design.md §19): the batches of partitions that are
//! ready together share one object, each partition committing its own range of it and reading
//! back exactly its records; one partition alone writes a plain segment; conditional appends
//! stay segments of their own and keep their order; a fenced partition fails alone while its
//! neighbours in the same object commit; close flushes a long linger at once.

#![allow(clippy::unwrap_used)] // tests fail by panicking

mod common;

use std::sync::Arc;

use object_store::ObjectStoreExt;
use object_store::memory::InMemory;
use object_store::path::Path;
use silt_core::ids::{Offset, PartitionId, TopicName};
use silt_core::manifest::SegmentEntry;
use silt_core::record::Record;
use silt_core::store::{CountingStore, Storage};
use silt_core::testing::ManualClock;
use silt_reader::{Reader, StartFrom};
use silt_writer::{AppendError, Writer, WriterSettings};

use common::{mixed_objects, segment_objects, store_with_topic, within_10s};

fn mixed(linger_ms: u64) -> WriterSettings {
    WriterSettings {
        linger_ms,
        mixed: true,
        ..WriterSettings::default()
    }
}

fn records(partition: u32, count: u32) -> Vec<Record> {
    (0..count)
        .map(|i| Record::from_value(format!("p{partition}-{i}"), 0))
        .collect()
}

async fn entries(storage: &Storage, topic: &TopicName, p: PartitionId) -> Vec<SegmentEntry> {
    let snapshot = storage.manifests.read(topic, p).await.unwrap().unwrap();
    snapshot.manifest.segments.clone()
}

async fn values(storage: &Storage, topic: &TopicName, p: PartitionId) -> Vec<String> {
    let reader = Reader::open(storage.clone(), topic).await.unwrap();
    let mut cursor = reader.cursor(p, StartFrom::Earliest).await.unwrap();
    let mut values = Vec::new();
    while cursor.position() < cursor.end_offset() {
        for consumed in cursor.next_batch(1000).await.unwrap() {
            values.push(String::from_utf8(consumed.record.value.unwrap().to_vec()).unwrap());
        }
    }
    values
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_ready_together_share_one_object() {
    let clock = ManualClock::new(1_700_000_000_000);
    let (storage, topic) = store_with_topic(&clock, "mixed", 8).await;
    let writer = Writer::open(storage.clone(), &topic, mixed(500))
        .await
        .unwrap();
    let mut acks = Vec::new();
    for p in 0..8 {
        let sent = writer.send_batch(PartitionId(p), records(p, 3), None);
        acks.push(sent.await.unwrap());
    }
    for (p, ack) in acks.into_iter().enumerate() {
        let ack = within_10s("an ack", ack).await.unwrap();
        assert_eq!(
            (ack.base_offset, ack.last_offset),
            (Offset(0), Offset(2)),
            "p{p}"
        );
    }
    assert_eq!(
        mixed_objects(&storage, &topic).await,
        1,
        "one PUT for 8 partitions"
    );
    let mut ids = Vec::new();
    for p in (0..8).map(PartitionId) {
        assert_eq!(segment_objects(&storage, &topic, p).await, 0);
        let entries = entries(&storage, &topic, p).await;
        assert_eq!(entries.len(), 1);
        assert!(entries[0].mixed_at.is_some(), "{p} commits a range");
        ids.push(entries[0].id);
        let expected: Vec<String> = (0..3).map(|i| format!("p{}-{i}", p.0)).collect();
        assert_eq!(
            values(&storage, &topic, p).await,
            expected,
            "{p} reads its own records"
        );
    }
    assert!(
        ids.windows(2).all(|w| w[0] == w[1]),
        "every range is of the same object"
    );
    writer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_alone_writes_a_plain_segment() {
    let clock = ManualClock::new(1_700_000_000_000);
    let (storage, topic) = store_with_topic(&clock, "alone", 4).await;
    let writer = Writer::open(storage.clone(), &topic, mixed(5))
        .await
        .unwrap();
    let p = PartitionId(2);
    writer.append(p, records(2, 5)).await.unwrap();
    assert_eq!(mixed_objects(&storage, &topic).await, 0);
    assert_eq!(segment_objects(&storage, &topic, p).await, 1);
    assert_eq!(entries(&storage, &topic, p).await[0].mixed_at, None);
    writer.close().await;
}

/// Lets every task run until it waits (tokio's clock is paused: nothing else moves).
async fn settle() {
    for _ in 0..20 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn conditional_appends_stay_segments_of_their_own_in_order() {
    let clock = ManualClock::new(1_700_000_000_000);
    let (storage, topic) = store_with_topic(&clock, "conditional", 2).await;
    let writer = Writer::open(storage.clone(), &topic, mixed(300))
        .await
        .unwrap();
    let (p0, p1) = (PartitionId(0), PartitionId(1));
    let plain = writer.send_batch(p0, records(0, 2), None).await.unwrap();
    let other = writer.send_batch(p1, records(1, 2), None).await.unwrap();
    settle().await;
    let conditional = vec![Record::from_value("p0-2", 0)];
    let conditional = writer
        .send_batch(p0, conditional, Some(Offset(2)))
        .await
        .unwrap();
    assert_eq!(
        conditional.await.unwrap().base_offset,
        Offset(2),
        "after the plain batch"
    );
    assert_eq!(plain.await.unwrap().base_offset, Offset(0));
    assert_eq!(other.await.unwrap().base_offset, Offset(0));
    assert_eq!(
        mixed_objects(&storage, &topic).await,
        1,
        "p0's plain batch and p1's"
    );
    assert_eq!(
        segment_objects(&storage, &topic, p0).await,
        1,
        "the conditional one"
    );
    let kinds: Vec<bool> = entries(&storage, &topic, p0)
        .await
        .iter()
        .map(|e| e.mixed_at.is_some())
        .collect();
    assert_eq!(kinds, [true, false]);
    assert_eq!(values(&storage, &topic, p0).await, ["p0-0", "p0-1", "p0-2"]);
    writer.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fenced_partition_fails_alone_and_its_neighbours_commit() {
    let clock = ManualClock::new(1_700_000_000_000);
    let (storage, topic) = store_with_topic(&clock, "fenced", 2).await;
    let exclusive = WriterSettings {
        exclusive: true,
        ..mixed(100)
    };
    let (p0, p1) = (PartitionId(0), PartitionId(1));
    let old = Writer::open(storage.clone(), &topic, exclusive.clone())
        .await
        .unwrap();
    old.append(p0, records(0, 1)).await.unwrap();
    old.append(p1, records(1, 1)).await.unwrap();
    let new = Writer::open(storage.clone(), &topic, exclusive)
        .await
        .unwrap();
    new.append(p1, vec![Record::from_value("new", 0)])
        .await
        .unwrap();

    let kept = old.send_batch(p0, records(0, 2), None).await.unwrap();
    let lost = old.send_batch(p1, records(1, 2), None).await.unwrap();
    let kept = within_10s("p0's ack", kept).await.unwrap();
    assert_eq!(kept.base_offset, Offset(1));
    match within_10s("p1's answer", lost).await {
        Err(AppendError::Rejected(_)) => {}
        other => panic!("p1 was taken by a newer leader: {other:?}"),
    }
    assert_eq!(values(&storage, &topic, p1).await, ["p1-0", "new"]);
    new.close().await;
    old.close().await;
}

#[tokio::test(start_paused = true)]
async fn close_flushes_a_long_linger_at_once() {
    let clock = ManualClock::new(1_700_000_000_000);
    let (storage, topic) = store_with_topic(&clock, "closing", 3).await;
    let writer = Writer::open(storage.clone(), &topic, mixed(60_000))
        .await
        .unwrap();
    let mut acks = Vec::new();
    for p in 0..3 {
        let sent = writer.send_batch(PartitionId(p), records(p, 1), None);
        acks.push(sent.await.unwrap());
    }
    settle().await;
    let started = tokio::time::Instant::now();
    writer.close().await;
    assert!(
        started.elapsed().as_secs() < 1,
        "close waited for the linger"
    );
    for ack in acks {
        assert_eq!(ack.await.unwrap().base_offset, Offset(0));
    }
    assert_eq!(mixed_objects(&storage, &topic).await, 1);
}

/// A partition with no manifest and no data (its topic's creation was cut short) is told
/// apart from one whose data is only in mixed objects by reading their tocs: each once, however
/// often it is asked (a cursor polls such a partition ten times a second).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_without_a_manifest_reads_each_mixed_toc_once() {
    let clock = ManualClock::new(1_700_000_000_000);
    let counting = Arc::new(CountingStore::new(Arc::new(InMemory::new())));
    let storage =
        Storage::over(counting.clone(), Path::default(), "memory://").with_clock(clock.clone());
    let topic = TopicName::new("cut-short").unwrap();
    storage
        .create_topic(&topic, 3, Default::default())
        .await
        .unwrap();
    let writer = Writer::open(storage.clone(), &topic, mixed(500))
        .await
        .unwrap();
    let mut acks = Vec::new();
    for p in 0..2 {
        acks.push(
            writer
                .send_batch(PartitionId(p), records(p, 1), None)
                .await
                .unwrap(),
        );
    }
    for ack in acks {
        within_10s("acks", ack).await.unwrap();
    }
    writer.close().await;
    assert_eq!(mixed_objects(&storage, &topic).await, 1);
    let unwritten = PartitionId(2);
    let manifest = storage.keys.manifest(&topic, unwritten);
    storage.objects.delete(&manifest).await.unwrap();

    let mut gets = Vec::new();
    for _ in 0..3 {
        let before = counting.counts();
        let read = storage.manifests.read(&topic, unwritten).await.unwrap();
        assert!(
            read.is_none(),
            "no manifest and no data: an empty partition"
        );
        gets.push(counting.counts().since(&before).get);
    }
    // The manifest, the topic's configuration, and the first time the mixed object's toc.
    assert_eq!(gets, [3, 2, 2], "GETs of each read");
}

//! `GroupConsumer` when reading one partition fails: the records another partition returned in
//! the same poll still reach the application. They moved their cursor and count as returned,
//! so losing them there would let auto-commit commit records nobody processed. And a poll
//! waiting at the tail wakes at a commit made in its own process, not at its next look.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use object_store::memory::InMemory;
use object_store::path::Path;
use silt_core::ids::{GroupName, PartitionId, TopicName};
use silt_core::record::Record;
use silt_core::store::Storage;
use silt_core::testing::{Call, Fault, FlakyStore, Rule};
use silt_core::topic::TopicSettings;
use silt_group::{GroupConsumer, GroupSettings, OffsetReset};
use silt_reader::POLL_INTERVAL;
use silt_writer::{Writer, WriterSettings};
use tokio::time::Instant;

const RECORDS: u64 = 10;

#[tokio::test(start_paused = true)]
async fn records_read_before_another_partition_failed_are_returned() {
    let flaky = FlakyStore::new(Arc::new(InMemory::new()), 7);
    let storage = Storage::over(flaky.clone(), Path::default(), "memory://");
    let topic = TopicName::new("orders").unwrap();
    storage
        .create_topic(&topic, 2, TopicSettings::default())
        .await
        .unwrap();
    let settings = GroupSettings {
        heartbeat_ms: 100,
        session_timeout_ms: 1_000,
        auto_commit_ms: Some(100),
        auto_offset_reset: OffsetReset::Earliest,
        ..GroupSettings::default()
    };
    let group = GroupName::new("billing").unwrap();
    let topics = [topic.clone()];
    let mut consumer = GroupConsumer::join(storage.clone(), &group, &topics, settings)
        .await
        .unwrap();
    // Take both partitions and open their cursors (at the end of the empty log).
    for _ in 0..50 {
        consumer.poll(10, Duration::from_millis(100)).await.unwrap();
        if consumer.assignment().await.len() == 2 {
            break;
        }
    }
    assert_eq!(consumer.assignment().await.len(), 2);
    let writer = Writer::open(storage.clone(), &topic, WriterSettings::default())
        .await
        .unwrap();
    for p in 0..2 {
        let records = (0..RECORDS)
            .map(|i| Record::from_value(format!("{p}-{i}"), 0))
            .collect();
        writer.append(PartitionId(p), records).await.unwrap();
    }
    // Partition 1's segments cannot be read: partition 0's records come back alone.
    flaky.set_rules(vec![
        Rule::new(Call::Get, Fault::ErrorBefore, 1.0).on_keys("00001/seg/"),
    ]);
    let mut seen = BTreeSet::new();
    if let Ok(polled) = consumer.poll(100, Duration::ZERO).await {
        for b in &polled.batches {
            seen.extend(
                b.records
                    .iter()
                    .map(|c| (b.partition.partition.0, c.offset.0)),
            );
        }
    }
    assert!(
        flaky.injected() > 0,
        "the read of partition 1 was not failed"
    );
    // Healed: the rest comes, and nothing was skipped.
    flaky.set_rules(Vec::new());
    for _ in 0..50 {
        let polled = consumer
            .poll(100, Duration::from_millis(100))
            .await
            .unwrap();
        for b in &polled.batches {
            seen.extend(
                b.records
                    .iter()
                    .map(|c| (b.partition.partition.0, c.offset.0)),
            );
        }
        if seen.len() as u64 == 2 * RECORDS {
            break;
        }
    }
    let all: BTreeSet<(u32, u64)> = (0..2)
        .flat_map(|p| (0..RECORDS).map(move |o| (p, o)))
        .collect();
    assert_eq!(seen, all);
    consumer.close().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_waiting_poll_wakes_at_a_commit_of_its_own_process() {
    let storage = Storage::over(Arc::new(InMemory::new()), Path::default(), "memory://");
    let topic = TopicName::new("news").unwrap();
    storage
        .create_topic(&topic, 1, TopicSettings::default())
        .await
        .unwrap();
    let settings = GroupSettings {
        auto_offset_reset: OffsetReset::Earliest,
        ..GroupSettings::default()
    };
    let group = GroupName::new("readers").unwrap();
    let topics = [topic.clone()];
    let mut consumer = GroupConsumer::join(storage.clone(), &group, &topics, settings)
        .await
        .unwrap();
    while consumer.assignment().await.is_empty() {
        consumer.poll(10, Duration::from_millis(100)).await.unwrap();
    }
    let settings = WriterSettings {
        linger_ms: 0,
        ..WriterSettings::default()
    };
    let writer = Writer::open(storage.clone(), &topic, settings)
        .await
        .unwrap();
    let append = tokio::spawn(async move {
        silt_core::clock::sleep(Duration::from_millis(5)).await;
        let record = Record::from_value("hello", 0);
        writer.append(PartitionId(0), vec![record]).await.unwrap();
    });
    let start = Instant::now();
    let polled = consumer.poll(10, Duration::from_secs(60)).await.unwrap();
    let waited = start.elapsed();
    append.await.unwrap();
    assert_eq!(polled.batches.len(), 1, "{polled:?}");
    assert!(waited < POLL_INTERVAL, "woke after {waited:?}");
}

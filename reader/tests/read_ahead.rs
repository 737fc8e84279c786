//! Read-ahead: a cursor catching up fetches the next segments while it hands out the current
//! one, within its bounds; it fetches each segment once, nothing the manifest does not list, no
//! more per poll at the tail, and a dropped cursor leaves no fetch running.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::sync::Arc;
use std::time::Duration;

use object_store::ObjectStore;
use object_store::memory::InMemory;
use object_store::path::Path;
use silt_core::ids::{PartitionId, TopicName};
use silt_core::record::Record;
use silt_core::store::{CountingStore, Storage};
use silt_core::testing::{Call, Fault, FlakyStore, ManualClock, Rule};
use silt_reader::{AHEAD_SEGMENTS_MAX, Reader, StartFrom};
use silt_writer::{Writer, WriterSettings};

const P: PartitionId = PartitionId(0);
const RECORDS_PER_SEGMENT: usize = 20;

/// Topic `name` over `objects`, holding `segments` segments of 20 records of 1 KiB each.
async fn written(objects: Arc<dyn ObjectStore>, name: &str, segments: usize) -> Storage {
    let storage = Storage::over(objects, Path::default(), "memory://")
        .with_clock(ManualClock::new(1_700_000_000_000));
    let topic = TopicName::new(name).unwrap();
    storage
        .create_topic(&topic, 1, Default::default())
        .await
        .unwrap();
    append_segments(&storage, &topic, segments).await;
    storage
}

/// Appends `segments` segments (one append each: linger 0) to partition 0.
async fn append_segments(storage: &Storage, topic: &TopicName, segments: usize) {
    let settings = WriterSettings {
        linger_ms: 0,
        ..WriterSettings::default()
    };
    let writer = Writer::open(storage.clone(), topic, settings)
        .await
        .unwrap();
    for s in 0..segments {
        let records = (0..RECORDS_PER_SEGMENT)
            .map(|i| Record::from_value(vec![s as u8; 1024], i as i64))
            .collect();
        writer.append(P, records).await.unwrap();
    }
    writer.close().await;
}

/// Lets spawned tasks run (this test's runtime has one thread) until `done`, at most 1 000
/// times.
async fn until(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..1_000 {
        if done() {
            return;
        }
        tokio::task::yield_now().await;
    }
    panic!("never happened: {what}");
}

#[tokio::test]
async fn catching_up_fetches_the_next_segments_once_each_and_nothing_past_the_end() {
    let segments = AHEAD_SEGMENTS_MAX + 3;
    let counting = Arc::new(CountingStore::new(Arc::new(InMemory::new())));
    let storage = written(counting.clone(), "ahead", segments).await;
    let topic = TopicName::new("ahead").unwrap();
    let reader = Reader::open(storage, &topic).await.unwrap();
    let mut cursor = reader.cursor(P, StartFrom::Earliest).await.unwrap();
    let start = counting.counts().get;

    // The first batch GETs the first segment and starts fetching the next ones, as many as
    // the bounds allow.
    let batch = cursor.next_batch(RECORDS_PER_SEGMENT).await.unwrap();
    assert_eq!(batch.len(), RECORDS_PER_SEGMENT);
    let ahead = 1 + AHEAD_SEGMENTS_MAX as u64;
    until("the fetches ahead", || {
        counting.counts().get - start >= ahead
    })
    .await;
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    assert_eq!(counting.counts().get - start, ahead, "bounded");

    let mut read = batch.len();
    loop {
        let batch = cursor.next_batch(7).await.unwrap();
        if batch.is_empty() {
            break;
        }
        for (i, c) in batch.iter().enumerate() {
            assert_eq!(c.offset.0 as usize, read + i, "in order, none skipped");
            let segment = (read + i) / RECORDS_PER_SEGMENT;
            assert_eq!(c.record.value.as_ref().unwrap()[0] as usize, segment);
        }
        read += batch.len();
    }
    assert_eq!(read, segments * RECORDS_PER_SEGMENT);
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        counting.counts().get - start,
        segments as u64,
        "each segment once, and no GET past the last one"
    );

    // At the tail, each poll is one manifest revalidation, as without read-ahead.
    for polls in 1..=3u64 {
        assert!(!cursor.wait_for_more(Duration::ZERO).await.unwrap());
        assert_eq!(counting.counts().get - start, segments as u64 + polls);
    }
}

#[tokio::test(start_paused = true)]
async fn a_cursor_following_the_tail_reads_each_new_segment_with_one_get() {
    let counting = Arc::new(CountingStore::new(Arc::new(InMemory::new())));
    let storage = written(counting.clone(), "tail", 1).await;
    let topic = TopicName::new("tail").unwrap();
    let reader = Reader::open(storage.clone(), &topic).await.unwrap();
    let mut cursor = reader.cursor(P, StartFrom::Latest).await.unwrap();
    for round in 1..=3 {
        append_segments(&storage, &topic, 1).await;
        let before = counting.counts().get;
        assert!(cursor.wait_for_more(Duration::ZERO).await.unwrap());
        let batch = cursor.next_batch(1000).await.unwrap();
        assert_eq!(batch.len(), RECORDS_PER_SEGMENT, "round {round}");
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        assert!(cursor.next_batch(1000).await.unwrap().is_empty());
        // The new segment and, the first time, a revalidation (the manifest moved): nothing
        // fetched ahead. From then on this process's commits hand their manifest over
        // (`Storage::commit_news`, heard since the first wait; paused time keeps each under
        // a poll interval old).
        let revalidations = if round == 1 { 1 } else { 0 };
        let gets = counting.counts().get - before;
        assert_eq!(gets, 1 + revalidations, "round {round}");
    }
}

#[tokio::test]
async fn a_dropped_cursor_leaves_no_fetch_running() {
    let flaky = FlakyStore::new(Arc::new(InMemory::new()), 7);
    let storage = written(flaky.clone(), "dropped", 3).await;
    let topic = TopicName::new("dropped").unwrap();
    // The second and third segments take an hour to answer.
    let manifest = storage.manifests.read(&topic, P).await.unwrap().unwrap();
    let slow = manifest.manifest.segments[1..].iter().map(|e| {
        let day = Duration::from_secs(3600);
        Rule::new(Call::Get, Fault::Delay(day), 1.0).on_keys(&e.id.to_string())
    });
    flaky.set_rules(slow.collect());

    let reader = Reader::open(storage.clone(), &topic).await.unwrap();
    let mut cursor = reader.cursor(P, StartFrom::Earliest).await.unwrap();
    let holders = Arc::strong_count(&storage.objects);
    let batch = cursor.next_batch(RECORDS_PER_SEGMENT).await.unwrap();
    assert_eq!(batch.len(), RECORDS_PER_SEGMENT);
    // Each fetch ahead holds the store while it waits.
    until("two fetches waiting", || {
        Arc::strong_count(&storage.objects) == holders + 2
    })
    .await;

    drop(cursor);
    until("the fetches gone", || {
        Arc::strong_count(&storage.objects) == holders - 1
    })
    .await;
}

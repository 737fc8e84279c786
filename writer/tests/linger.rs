//! Adaptive linger through the partition task, on tokio's paused clock: a batch that filled
//! fast is held past its linger (records sent meanwhile join its segment); a slow one leaves at
//! its linger; a budget of 0 never holds.

#![allow(clippy::unwrap_used)] // tests fail by panicking

mod common;

use std::time::Duration;

use silt_core::ids::PartitionId;
use silt_core::record::Record;
use silt_core::testing::ManualClock;
use silt_writer::{Writer, WriterSettings};

const P: PartitionId = PartitionId(0);

/// Sends `first_bytes` of records at once, then one more record 30 ms later (past the 10 ms
/// linger, within linger + budget); returns how many segments the two made.
async fn segments_for(first_bytes: usize, linger_budget_ms: u64) -> usize {
    let clock = ManualClock::new(1_700_000_000_000);
    let (storage, topic) = common::store_with_topic(&clock, "held", 1).await;
    let settings = WriterSettings {
        linger_ms: 10,
        linger_budget_ms,
        ..WriterSettings::default()
    };
    let writer = Writer::open(storage.clone(), &topic, settings)
        .await
        .unwrap();
    let records = (0..first_bytes / 1024)
        .map(|i| Record::from_value(vec![1u8; 1024], i as i64))
        .collect();
    let first = writer.send_batch(P, records, None).await.unwrap();
    // The partition task takes the batch now, and sees its linger end before the next send.
    let settle = || async {
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
    };
    settle().await;
    tokio::time::advance(Duration::from_millis(30)).await;
    settle().await;
    let second = writer
        .send_batch(P, vec![Record::from_value(vec![2u8; 1024], 0)], None)
        .await
        .unwrap();
    let (first, second) = (first.await.unwrap(), second.await.unwrap());
    assert_eq!(second.base_offset, first.last_offset.plus(1));
    writer.close().await;
    common::segment_objects(&storage, &topic, P).await
}

#[tokio::test(start_paused = true)]
async fn a_batch_filling_fast_is_held_past_its_linger() {
    // 3 MiB in 30 ms: 100 MiB/s, which would add far more than a quarter of 8 MiB in 50 ms.
    assert_eq!(segments_for(3 * 1024 * 1024, 50).await, 1);
}

#[tokio::test(start_paused = true)]
async fn a_slow_batch_leaves_at_its_linger() {
    // 10 KiB in 30 ms: 0.3 MiB/s.
    assert_eq!(segments_for(10 * 1024, 50).await, 2);
}

#[tokio::test(start_paused = true)]
async fn no_budget_no_hold() {
    assert_eq!(segments_for(3 * 1024 * 1024, 0).await, 2);
}

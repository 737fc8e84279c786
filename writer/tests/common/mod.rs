//! Shared by the writer's integration tests: a fresh in-memory store on a manual clock, a
//! topic in it, and what a test needs to look inside.

#![allow(dead_code)] // each test file uses a part

use std::sync::Arc;
use std::time::Duration;

use futures::TryStreamExt;
use object_store::memory::InMemory;
use object_store::path::Path;
use silt_core::ids::{PartitionId, TopicName};
use silt_core::store::Storage;
use silt_core::testing::ManualClock;

/// A fresh `memory://` store whose clock is `clock`, with topic `name` of `partitions`.
pub(crate) async fn store_with_topic(
    clock: &Arc<ManualClock>,
    name: &str,
    partitions: u32,
) -> (Storage, TopicName) {
    let storage = Storage::over(Arc::new(InMemory::new()), Path::default(), "memory://")
        .with_clock(clock.clone());
    let topic = TopicName::new(name).unwrap();
    storage
        .create_topic(&topic, partitions, Default::default())
        .await
        .unwrap();
    (storage, topic)
}

/// Segment objects uploaded to a partition, committed or not.
pub(crate) async fn segment_objects(storage: &Storage, topic: &TopicName, p: PartitionId) -> usize {
    objects_under(storage, &storage.keys.partition(topic, p).join("seg")).await
}

/// Mixed objects of a topic (docs/design.md §19), committed or not.
pub(crate) async fn mixed_objects(storage: &Storage, topic: &TopicName) -> usize {
    objects_under(storage, &storage.keys.mixed_folder(topic)).await
}

async fn objects_under(storage: &Storage, prefix: &Path) -> usize {
    let listed: Vec<_> = storage
        .objects
        .list(Some(prefix))
        .try_collect()
        .await
        .unwrap();
    listed.len()
}

/// Waits (at most 10 s) until `done`: for work on other threads, such as segment encoding.
pub(crate) async fn until(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..2_000 {
        if done().await {
            return;
        }
        silt_core::clock::sleep(Duration::from_millis(5)).await;
    }
    panic!("timed out waiting for {what}");
}

/// Fails the test instead of hanging when `future` takes longer than 10 s.
pub(crate) async fn within_10s<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(Duration::from_secs(10), future).await {
        Ok(done) => done,
        Err(_) => panic!("timed out waiting for {what}"),
    }
}

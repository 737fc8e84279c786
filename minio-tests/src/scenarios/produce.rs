//! Many producers, many writers: every acknowledged record reads back exactly once.

use std::sync::Arc;

use silt_core::ids::PartitionId;
use silt_core::store::Storage;
use silt_writer::Writer;

use super::{produce, quick, topic};
use crate::checker::{History, check};

/// Concurrent producers on many partitions (keyed): every acknowledged record reads back once,
/// at its acknowledged offset, in order per partition.
pub async fn many_partitions_many_producers(storage: Storage) {
    let name = topic(&storage, "many-partitions", 8).await;
    let writer = Arc::new(Writer::open(storage.clone(), &name, quick()).await.unwrap());
    let mut tasks = Vec::new();
    for producer in 0..4 {
        let writer = writer.clone();
        tasks.push(tokio::spawn(async move {
            produce(writer, &format!("p{producer}"), 400, None).await
        }));
    }
    let mut history = History::default();
    for t in tasks {
        history.extend(t.await.unwrap());
    }
    assert_eq!(history.acked(), 1600);
    let report = check(&storage, &name, &history).await;
    report.assert_clean();
    assert_eq!(report.read, 1600);
}

/// Several independent writers (shared mode) append to one partition at once: the conditional
/// commit orders them; losers rebase without re-uploading.
pub async fn many_writers_one_partition(storage: Storage) {
    let name = topic(&storage, "one-partition", 1).await;
    let mut tasks = Vec::new();
    for w in 0..6 {
        let writer = Arc::new(Writer::open(storage.clone(), &name, quick()).await.unwrap());
        tasks.push(tokio::spawn(async move {
            let history =
                produce(writer.clone(), &format!("w{w}"), 150, Some(PartitionId(0))).await;
            if let Ok(writer) = Arc::try_unwrap(writer) {
                writer.close().await;
            }
            history
        }));
    }
    let mut history = History::default();
    for t in tasks {
        history.extend(t.await.unwrap());
    }
    assert_eq!(history.acked(), 900);
    let report = check(&storage, &name, &history).await;
    report.assert_clean();
    assert_eq!(report.read, 900);
}

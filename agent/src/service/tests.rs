//! The service against an in-memory store: what the end-to-end suite cannot provoke on
//! demand, such as another agent changing a topic under this one's caches.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::time::Duration;

use silt_core::error::Error;
use silt_core::ids::{Offset, PartitionId, TopicName};
use silt_core::record::Record;
use silt_core::store::Storage;
use silt_core::topic::TopicSettings;
use silt_writer::WriterSettings;

use crate::service::{LogService, ReadFrom, ReadRequest, ServiceError};

const P0: PartitionId = PartitionId(0);

/// A service over a fresh in-memory store with `topic` (one partition) holding `records`.
async fn service_with(topic: &TopicName, records: u64) -> LogService {
    let storage = Storage::open("memory://").await.unwrap();
    storage
        .create_topic(topic, 1, TopicSettings::default())
        .await
        .unwrap();
    let service = LogService::new(storage, WriterSettings::default()).unwrap();
    let batch = (0..records)
        .map(|i| Record::from_value(format!("v{i}").into_bytes(), 0))
        .collect();
    service.append_to(topic, P0, batch, None).await.unwrap();
    service
}

fn from(offset: u64, max_records: usize) -> ReadRequest {
    ReadRequest {
        from: ReadFrom::Offset(Offset(offset)),
        max_records,
        max_bytes: 1 << 20,
        wait: Duration::ZERO,
    }
}

/// A read that stopped at `max_records` parks a cursor holding the rest of the segment. If
/// another agent deletes the topic, the next read from there is `UnknownTopic`, not the
/// deleted topic's records served from that cursor.
#[tokio::test]
async fn a_parked_cursor_does_not_serve_a_topic_deleted_by_another_agent() {
    let topic = TopicName::new("parked").unwrap();
    let service = service_with(&topic, 10).await;
    let first = service.read(&topic, P0, from(0, 4)).await.unwrap();
    assert_eq!(first.next_offset, Offset(4));
    // Through the store, as another agent does: this service's caches are not told.
    service.storage().delete_topic(&topic).await.unwrap();
    let after = service.read(&topic, P0, from(4, 4)).await;
    assert!(
        matches!(after, Err(ServiceError::Store(Error::UnknownTopic(_)))),
        "{after:?}"
    );
}

/// Sequential reads still go on from a parked cursor, densely.
#[tokio::test]
async fn sequential_reads_go_on_where_the_last_ended() {
    let topic = TopicName::new("sequential").unwrap();
    let service = service_with(&topic, 10).await;
    let mut next = 0;
    let mut offsets = Vec::new();
    for _ in 0..10 {
        let batch = service.read(&topic, P0, from(next, 3)).await.unwrap();
        offsets.extend(batch.records.iter().map(|c| c.offset.0));
        next = batch.next_offset.0;
        if batch.records.is_empty() {
            break;
        }
    }
    assert_eq!(offsets, (0..10).collect::<Vec<_>>());
    assert_eq!(next, 10);
}

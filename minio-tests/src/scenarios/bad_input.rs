//! Bad input gets typed errors that name the problem, and never harms what is already
//! acknowledged; damaged objects are reported as corruption, never as data or end of log.

use std::sync::Arc;

use aws_sdk_dynamodb::types::AttributeValue;
use bytes::Bytes;
use object_store::ObjectStoreExt;
use silt_core::error::{Error, InvalidInput};
use silt_core::ids::{Offset, PartitionId, TopicName};
use silt_core::keys::HEAD_SK;
use silt_core::limits::RECORD_BYTES_MAX;
use silt_core::record::Record;
use silt_core::store::Storage;
use silt_reader::{ReadError, Reader, StartFrom};
use silt_writer::{AppendError, Writer, WriterSettings};

use super::{produce, quick, segments, stored_manifest, topic};
use crate::checker::check;

/// Invalid names, counts, partitions, sizes and offsets: typed errors, log intact.
pub async fn bad_input_is_typed_and_harmless(storage: Storage) {
    assert!(matches!(
        TopicName::new("no spaces"),
        Err(InvalidInput::TopicName { .. })
    ));
    let name = topic(&storage, "strict", 2).await;
    let zero = storage
        .create_topic(&TopicName::new("zero").unwrap(), 0, Default::default())
        .await;
    assert!(
        matches!(
            zero,
            Err(Error::Invalid(InvalidInput::PartitionCount {
                partitions: 0,
                ..
            }))
        ),
        "{zero:?}"
    );
    let again = storage.create_topic(&name, 2, Default::default()).await;
    assert!(matches!(again, Err(Error::TopicExists(_))), "{again:?}");
    let unknown = Writer::open(storage.clone(), &TopicName::new("nope").unwrap(), quick()).await;
    assert!(
        matches!(unknown, Err(Error::UnknownTopic(_))),
        "{unknown:?}"
    );

    let writer = Arc::new(Writer::open(storage.clone(), &name, quick()).await.unwrap());
    let history = produce(writer.clone(), "good", 50, None).await;
    let wrong_partition = writer
        .send_batch(PartitionId(2), vec![Record::from_value("x", 0)], None)
        .await;
    assert!(matches!(
        wrong_partition,
        Err(AppendError::Invalid(
            InvalidInput::PartitionOutOfRange { .. }
        ))
    ));
    let huge = Record::from_value(vec![0u8; RECORD_BYTES_MAX + 1], 0);
    let too_big = writer.send_batch(PartitionId(0), vec![huge], None).await;
    assert!(matches!(
        too_big,
        Err(AppendError::Invalid(InvalidInput::RecordTooLarge {
            max: RECORD_BYTES_MAX,
            ..
        }))
    ));
    let empty = writer.send_batch(PartitionId(0), Vec::new(), None).await;
    assert!(matches!(
        empty,
        Err(AppendError::Invalid(InvalidInput::EmptyBatch))
    ));

    // A segment never exceeds its record limit: too many records in one batch is refused, and
    // batches that together would exceed it go to separate segments.
    let capped = WriterSettings {
        segment_records_max: 100,
        ..quick()
    };
    let small = Writer::open(storage.clone(), &name, capped).await.unwrap();
    let tiny = |tag: &str, n| {
        (0..n)
            .map(|i| Record::from_value(format!("{tag}{i}"), 0))
            .collect::<Vec<_>>()
    };
    let refused = small.send_batch(PartitionId(1), tiny("x", 101), None).await;
    assert!(matches!(
        refused,
        Err(AppendError::Invalid(InvalidInput::BatchTooManyRecords {
            records: 101,
            max: 100
        }))
    ));
    let a = small
        .send_batch(PartitionId(1), tiny("a", 60), None)
        .await
        .unwrap();
    let b = small
        .send_batch(PartitionId(1), tiny("b", 60), None)
        .await
        .unwrap();
    a.await.unwrap();
    b.await.unwrap();
    let written = segments(&storage, &name, PartitionId(1)).await;
    assert!(written.iter().all(|s| s.records <= 100), "{written:?}");

    let reader = Reader::open(storage.clone(), &name).await.unwrap();
    assert!(matches!(
        reader.cursor(PartitionId(9), StartFrom::Earliest).await,
        Err(ReadError::Invalid(_))
    ));
    let beyond = reader
        .cursor(PartitionId(0), StartFrom::Offset(Offset(1_000_000)))
        .await;
    assert!(
        matches!(beyond, Err(ReadError::OffsetOutOfRange { .. })),
        "{beyond:?}"
    );
    let report = check(&storage, &name, &history).await;
    report.assert_clean();
    assert_eq!(report.read, 50 + 120);
}

/// A garbage segment, a garbage manifest and a manifest from the future are each reported as
/// such, and the other partitions stay readable and writable.
pub async fn corrupted_objects_are_reported(storage: Storage) {
    let name = topic(&storage, "damaged", 3).await;
    let writer = Writer::open(storage.clone(), &name, quick()).await.unwrap();
    for p in 0..3 {
        writer
            .append(PartitionId(p), vec![Record::from_value("fine", 5)])
            .await
            .unwrap();
    }
    let first = segments(&storage, &name, PartitionId(0)).await[0];
    let segment = storage.keys.segment(&name, PartitionId(0), first.id);
    storage
        .objects
        .put(
            &segment,
            Bytes::from_static(b"not a segment at all, not at all").into(),
        )
        .await
        .unwrap();
    damage_manifest(&storage, &name, PartitionId(1), Damage::Garbage).await;
    damage_manifest(&storage, &name, PartitionId(2), Damage::FutureFormat).await;

    let reader = Reader::open(storage.clone(), &name).await.unwrap();
    let mut cursor = reader
        .cursor(PartitionId(0), StartFrom::Earliest)
        .await
        .unwrap();
    let read = cursor.next_batch(10).await;
    assert!(
        matches!(read, Err(ReadError::Store(Error::Corrupt(_)))),
        "{read:?}"
    );
    let broken = reader.cursor(PartitionId(1), StartFrom::Earliest).await;
    assert!(
        matches!(broken, Err(ReadError::Store(Error::Corrupt(_)))),
        "{broken:?}"
    );
    let newer = reader.cursor(PartitionId(2), StartFrom::Earliest).await;
    assert!(
        matches!(
            newer,
            Err(ReadError::Store(Error::FutureFormat { found: 99, .. }))
        ),
        "{newer:?}"
    );

    // Writing to the damaged manifests fails with the same errors, and creates nothing.
    let fresh = Writer::open(storage.clone(), &name, quick()).await.unwrap();
    let refused = fresh
        .append(PartitionId(1), vec![Record::from_value("x", 0)])
        .await;
    assert!(
        matches!(&refused, Err(AppendError::Failed(e)) if matches!(**e, Error::Corrupt(_))),
        "{refused:?}"
    );
    // Partition 0's manifest is intact: it still accepts appends past the damaged segment.
    let ack = fresh
        .append(PartitionId(0), vec![Record::from_value("more", 6)])
        .await
        .unwrap();
    assert_eq!(ack.base_offset, Offset(1));
    let mut tail = reader
        .cursor(PartitionId(0), StartFrom::Offset(Offset(1)))
        .await
        .unwrap();
    assert_eq!(
        tail.next_batch(10).await.unwrap()[0]
            .record
            .value
            .as_deref(),
        Some(&b"more"[..])
    );
}

/// How a manifest is damaged by hand.
enum Damage {
    /// Not a manifest at all.
    Garbage,
    /// A manifest of format version 99.
    FutureFormat,
}

/// Overwrites a partition's manifest (object, or DynamoDB head item) with damaged contents.
async fn damage_manifest(storage: &Storage, name: &TopicName, p: PartitionId, damage: Damage) {
    if let Some(table) = &storage.manifest_table {
        let update = match damage {
            Damage::Garbage => "REMOVE next_offset",
            Damage::FutureFormat => "SET format_version = :v",
        };
        let mut call = table
            .client_ref()
            .update_item()
            .table_name(table.table())
            .key("pk", AttributeValue::S(table.pk(name, p)))
            .key("sk", AttributeValue::S(HEAD_SK.into()))
            .update_expression(update);
        if let Damage::FutureFormat = damage {
            call = call.expression_attribute_values(":v", AttributeValue::N("99".into()));
        }
        call.send().await.unwrap();
        return;
    }
    let body = match damage {
        Damage::Garbage => "{\"garbage\": true}".to_string(),
        Damage::FutureFormat => serde_json::json!({ "format_version": 99 }).to_string(),
    };
    stored_manifest::overwrite(storage, name, p, Some(Bytes::from(body))).await;
}

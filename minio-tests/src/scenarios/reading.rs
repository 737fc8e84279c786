//! The read path: start positions, following the tail, sealed chunks, ranged block reads.

use std::time::Duration;

use bytes::Bytes;
use silt_core::ids::{Offset, PartitionId};
use silt_core::manifest::SegmentIndex;
use silt_core::record::Record;
use silt_core::store::Storage;
use silt_reader::{ReadError, Reader, StartFrom};
use silt_writer::{Writer, WriterSettings};

use super::{manifest, quick, segments, topic};

/// Records `r<i>-` padded to `size` bytes with incompressible (xorshift) bytes.
fn numbered(from: u64, count: u64, size: usize) -> Vec<Record> {
    let mut state = 0x9e37_79b9_7f4a_7c15u64 ^ from;
    (from..from + count)
        .map(|i| {
            let mut value = format!("r{i}-").into_bytes();
            while value.len() < size {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                value.push(state as u8);
            }
            Record::from_value(Bytes::from(value), 1_000 + i as i64)
        })
        .collect()
}

async fn value_at(reader: &Reader, p: PartitionId, from: StartFrom) -> (Offset, String) {
    let mut cursor = reader.cursor(p, from).await.unwrap();
    let first = cursor.next_batch(1).await.unwrap().pop().expect("a record");
    let value = first.record.value.unwrap();
    let prefix = value.split(|b| *b == b'-').next().unwrap();
    (first.offset, String::from_utf8(prefix.to_vec()).unwrap())
}

/// Earliest, latest, an offset and a timestamp each start exactly where they should.
pub async fn start_positions(storage: Storage) {
    let name = topic(&storage, "positions", 1).await;
    let writer = Writer::open(storage.clone(), &name, quick()).await.unwrap();
    let p = PartitionId(0);
    for batch in 0..10 {
        writer
            .append(p, numbered(batch * 10, 10, 10))
            .await
            .unwrap();
    }
    let reader = Reader::open(storage.clone(), &name).await.unwrap();
    assert_eq!(
        value_at(&reader, p, StartFrom::Earliest).await,
        (Offset(0), "r0".into())
    );
    assert_eq!(
        value_at(&reader, p, StartFrom::Offset(Offset(37))).await,
        (Offset(37), "r37".into())
    );
    assert_eq!(
        value_at(&reader, p, StartFrom::Timestamp(1_055)).await,
        (Offset(55), "r55".into())
    );
    assert_eq!(
        reader
            .cursor(p, StartFrom::Latest)
            .await
            .unwrap()
            .position(),
        Offset(100)
    );
    assert_eq!(
        reader
            .cursor(p, StartFrom::Timestamp(9_999))
            .await
            .unwrap()
            .position(),
        Offset(100)
    );
    match reader.cursor(p, StartFrom::Offset(Offset(101))).await {
        Err(ReadError::OffsetOutOfRange {
            requested,
            log_start,
            next,
            ..
        }) => {
            assert_eq!(
                (requested, log_start, next),
                (Offset(101), Offset(0), Offset(100))
            );
        }
        other => panic!("expected OffsetOutOfRange, got {other:?}"),
    }
}

/// A cursor at the end of the log sees records appended while it waits.
pub async fn follower_sees_new_records(storage: Storage) {
    let name = topic(&storage, "follow", 1).await;
    let reader = Reader::open(storage.clone(), &name).await.unwrap();
    let mut cursor = reader
        .cursor(PartitionId(0), StartFrom::Latest)
        .await
        .unwrap();
    assert!(
        !cursor
            .wait_for_more(Duration::from_millis(50))
            .await
            .unwrap()
    );
    let writer = Writer::open(storage.clone(), &name, quick()).await.unwrap();
    let append = tokio::spawn(async move {
        silt_core::clock::sleep(Duration::from_millis(150)).await;
        writer
            .append(PartitionId(0), numbered(0, 5, 10))
            .await
            .unwrap()
    });
    assert!(cursor.wait_for_more(Duration::from_secs(10)).await.unwrap());
    let got = cursor.next_batch(100).await.unwrap();
    assert_eq!(got.len(), 5);
    assert_eq!(got[4].offset, Offset(4));
    append.await.unwrap();
}

/// Hundreds of commits seal the oldest entries into index chunks; every offset stays readable
/// by offset and by timestamp.
pub async fn sealed_chunks_stay_readable(storage: Storage) {
    let name = topic(&storage, "sealed", 1).await;
    let settings = WriterSettings {
        linger_ms: 0,
        ..WriterSettings::default()
    };
    let writer = Writer::open(storage.clone(), &name, settings)
        .await
        .unwrap();
    let p = PartitionId(0);
    for i in 0..600 {
        writer.append(p, numbered(i, 1, 10)).await.unwrap();
    }
    let m = manifest(&storage, &name, p).await;
    if m.index == SegmentIndex::Inline {
        assert!(!m.chunks.is_empty(), "600 commits must have sealed a chunk");
        assert!(
            m.segments.len() <= silt_core::manifest::TAIL_SEAL_AT,
            "tail of {}",
            m.segments.len()
        );
    } else {
        assert!(
            m.segments.is_empty() && m.chunks.is_empty(),
            "DynamoDB heads hold no entries"
        );
    }
    assert_eq!(m.segment_count(), 600);
    assert_eq!(segments(&storage, &name, p).await.len(), 600);
    let reader = Reader::open(storage.clone(), &name).await.unwrap();
    assert_eq!(
        value_at(&reader, p, StartFrom::Offset(Offset(10))).await,
        (Offset(10), "r10".into())
    );
    assert_eq!(
        value_at(&reader, p, StartFrom::Timestamp(1_123)).await,
        (Offset(123), "r123".into())
    );
    let mut cursor = reader.cursor(p, StartFrom::Earliest).await.unwrap();
    let mut read = 0;
    loop {
        let batch = cursor.next_batch(1000).await.unwrap();
        if batch.is_empty() {
            break;
        }
        for c in batch {
            assert_eq!(c.offset, Offset(read));
            read += 1;
        }
    }
    assert_eq!(read, 600);
}

/// Reading from the middle of a large segment fetches its block by range and returns exactly
/// the records from that offset on.
pub async fn ranged_reads_of_large_segments(storage: Storage) {
    let name = topic(&storage, "ranged", 1).await;
    let writer = Writer::open(storage.clone(), &name, quick()).await.unwrap();
    let p = PartitionId(0);
    let ack = writer.append(p, numbered(0, 3000, 1000)).await.unwrap();
    assert_eq!(ack.last_offset, Offset(2999));
    let first = segments(&storage, &name, p).await[0];
    assert!(
        first.bytes > silt_reader::WHOLE_FETCH_BYTES_MAX,
        "segment of {} bytes",
        first.bytes
    );
    let reader = Reader::open(storage.clone(), &name).await.unwrap();
    let mut cursor = reader
        .cursor(p, StartFrom::Offset(Offset(2500)))
        .await
        .unwrap();
    let mut next = 2500;
    while next < 3000 {
        let batch = cursor.next_batch(10_000).await.unwrap();
        assert!(!batch.is_empty());
        for c in batch {
            assert_eq!(c.offset, Offset(next));
            assert!(
                c.record
                    .value
                    .unwrap()
                    .starts_with(format!("r{next}-").as_bytes())
            );
            next += 1;
        }
    }
}

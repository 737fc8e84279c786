//! Trimming: the log start moves forward, reads below it fail with `OffsetOutOfRange`, every
//! position above it reads as before, and trims running next to a writer lose nothing above
//! the start.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use silt_control::{Trimmed, trim};
use silt_core::error::{Error, InvalidInput, Rejection};
use silt_core::ids::{Offset, PartitionId};
use silt_core::record::Record;
use silt_core::store::Storage;
use silt_reader::{ReadError, Reader, StartFrom};
use silt_writer::Writer;

use super::{manifest, produce_in_waves, quick, topic};
use crate::checker::check;

/// One trim, then every way of reading around it, then trims that must change nothing.
pub async fn trim_moves_the_log_start(storage: Storage) {
    let name = topic(&storage, "trim", 2).await;
    let (p, other) = (PartitionId(0), PartitionId(1));
    let writer = Writer::open(storage.clone(), &name, quick()).await.unwrap();
    for batch in 0..10u64 {
        let records = (batch * 10..batch * 10 + 10)
            .map(|i| Record::from_value(Bytes::from(format!("r{i}")), 1_000 + i as i64));
        writer.append(p, records.collect()).await.unwrap();
    }
    let trimmed = trim(&storage, &name, p, Offset(35)).await.unwrap();
    let expected = Trimmed {
        partition: p,
        from: Offset(0),
        to: Offset(35),
        next_offset: Offset(100),
    };
    assert_eq!(trimmed, expected);

    let reader = Reader::open(storage.clone(), &name).await.unwrap();
    for (from, first) in [
        (StartFrom::Earliest, 35),
        (StartFrom::Offset(Offset(35)), 35),
        (StartFrom::Offset(Offset(36)), 36),
        (StartFrom::Timestamp(1_010), 35),
        (StartFrom::Timestamp(1_050), 50),
    ] {
        let mut cursor = reader.cursor(p, from).await.unwrap();
        let mut read = Vec::new();
        loop {
            let batch = cursor.next_batch(1000).await.unwrap();
            if batch.is_empty() {
                break;
            }
            read.extend(batch);
        }
        let offsets: Vec<u64> = read.iter().map(|c| c.offset.0).collect();
        assert_eq!(offsets, (first..100).collect::<Vec<_>>(), "from {from:?}");
        assert_eq!(read[0].record.value, Some(Bytes::from(format!("r{first}"))));
    }
    match reader.cursor(p, StartFrom::Offset(Offset(34))).await {
        Err(ReadError::OffsetOutOfRange {
            log_start, next, ..
        }) => assert_eq!((log_start, next), (Offset(35), Offset(100))),
        other => panic!("expected OffsetOutOfRange below the log start, got {other:?}"),
    }

    let version = manifest(&storage, &name, p).await.version;
    let again = trim(&storage, &name, p, Offset(20)).await.unwrap();
    assert_eq!((again.from, again.to), (Offset(35), Offset(35)));
    assert_eq!(
        manifest(&storage, &name, p).await.version,
        version,
        "a trim below the start commits nothing"
    );
    match trim(&storage, &name, p, Offset(101)).await {
        Err(Error::Rejected(Rejection::TrimBeyondEnd { next_offset, .. })) => {
            assert_eq!(next_offset, Offset(100))
        }
        other => panic!("expected TrimBeyondEnd, got {other:?}"),
    }
    match trim(&storage, &name, PartitionId(2), Offset(1)).await {
        Err(Error::Invalid(InvalidInput::PartitionOutOfRange { partitions: 2, .. })) => {}
        other => panic!("expected PartitionOutOfRange, got {other:?}"),
    }
    let untouched = trim(&storage, &name, other, Offset(0)).await.unwrap();
    assert_eq!(
        (untouched.to, untouched.next_offset),
        (Offset(0), Offset(0))
    );
}

/// Trims chasing a writer: every acknowledged record at or above the final log start reads
/// back at its offset, with no gap, duplicate or phantom.
pub async fn trims_next_to_a_writer_lose_nothing_above_the_start(storage: Storage) {
    let name = topic(&storage, "trim-race", 1).await;
    let p = PartitionId(0);
    let writer = Arc::new(Writer::open(storage.clone(), &name, quick()).await.unwrap());
    let producing = tokio::spawn(produce_in_waves(writer, "w", 400, Some(p), 20));
    let mut trims = 0;
    while !producing.is_finished() {
        let next = manifest(&storage, &name, p).await.next_offset;
        let before = Offset(next.0.saturating_sub(15));
        let t = trim(&storage, &name, p, before).await.unwrap();
        assert!(t.to >= before && t.to <= t.next_offset, "{t:?}");
        trims += 1;
        silt_core::clock::sleep(Duration::from_millis(5)).await;
    }
    let mut history = producing.await.unwrap();
    let m = manifest(&storage, &name, p).await;
    assert!(trims >= 3, "only {trims} trims ran next to the writer");
    assert!(m.log_start_offset > Offset(0), "nothing was trimmed");
    history.trimmed(p, m.log_start_offset);
    let report = check(&storage, &name, &history).await;
    report.assert_clean();
    assert_eq!(
        report.read as u64,
        m.next_offset.0 - m.log_start_offset.0,
        "every offset from the start to the end is read"
    );
}

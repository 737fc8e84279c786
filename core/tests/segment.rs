//! Segment format: round-trips, corruption always detected, random bytes never panic, and the
//! v1 golden bytes stay readable.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use bytes::Bytes;
use proptest::prelude::*;
use silt_core::error::Error;
use silt_core::ids::{Epoch, PartitionId, TopicId, WriterId};
use silt_core::record::{Header, Record};
use silt_core::segment::{self, Footer, SegmentHeader};
use ulid::Ulid;

fn identity() -> SegmentHeader {
    SegmentHeader {
        topic_id: TopicId(Ulid::from_parts(1, 2)),
        partition: PartitionId(3),
        writer_id: WriterId(Ulid::from_parts(4, 5)),
        epoch: Epoch(6),
        record_count: 0,
        min_ts: 0,
        max_ts: 0,
    }
}

fn bytes_strategy(max: usize) -> impl Strategy<Value = Option<Bytes>> {
    proptest::option::of(proptest::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from))
}

fn record_strategy() -> impl Strategy<Value = Record> {
    let header =
        ("[a-z]{0,8}", proptest::collection::vec(any::<u8>(), 0..16)).prop_map(|(key, value)| {
            Header {
                key,
                value: Bytes::from(value),
            }
        });
    (
        bytes_strategy(32),
        bytes_strategy(300),
        any::<i64>(),
        proptest::collection::vec(header, 0..3),
    )
        .prop_map(|(key, value, timestamp_ms, headers)| Record {
            key,
            value,
            timestamp_ms,
            headers,
        })
}

proptest! {
    #[test]
    fn decode_inverts_encode(records in proptest::collection::vec(record_strategy(), 1..200)) {
        let bytes = segment::encode(&identity(), &records, 1).unwrap();
        let (header, decoded) = segment::decode(bytes.clone(), "test").unwrap();
        prop_assert_eq!(&decoded, &records);
        prop_assert_eq!(header.record_count as usize, records.len());
        prop_assert_eq!(header.min_ts, records.iter().map(|r| r.timestamp_ms).min().unwrap());
        // The footer alone finds every block, and each block decodes on its own.
        let footer = Footer::parse(bytes.clone(), bytes.len() as u64, "test").unwrap().unwrap();
        prop_assert_eq!(footer.record_count(), records.len() as u64);
        let mut ranged = Vec::new();
        for b in &footer.blocks {
            let r = b.range();
            ranged.extend(segment::decode_block(b, bytes.slice(r.start as usize..r.end as usize), "test").unwrap());
        }
        prop_assert_eq!(ranged, records);
    }

    #[test]
    fn any_flipped_byte_is_detected(records in proptest::collection::vec(record_strategy(), 1..20), at in any::<prop::sample::Index>(), bit in 0u8..8) {
        let mut bytes = segment::encode(&identity(), &records, 1).unwrap().to_vec();
        let i = at.index(bytes.len());
        bytes[i] ^= 1 << bit;
        prop_assert!(segment::decode(Bytes::from(bytes), "test").is_err());
    }

    #[test]
    fn truncation_is_detected(records in proptest::collection::vec(record_strategy(), 1..20), cut in any::<prop::sample::Index>()) {
        let bytes = segment::encode(&identity(), &records, 1).unwrap();
        let keep = cut.index(bytes.len());
        prop_assert!(segment::decode(bytes.slice(..keep), "test").is_err());
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let bytes = Bytes::from(bytes);
        let _ = segment::decode(bytes.clone(), "test");
        let _ = Footer::parse(bytes.clone(), bytes.len() as u64, "test");
    }
}

#[test]
fn large_segments_split_into_blocks() {
    let records: Vec<Record> = (0..3000)
        .map(|i| Record::from_value(vec![i as u8; 300], i))
        .collect();
    let bytes = segment::encode(&identity(), &records, 1).unwrap();
    let footer = Footer::parse(bytes.clone(), bytes.len() as u64, "t")
        .unwrap()
        .unwrap();
    assert!(footer.blocks.len() >= 3, "{} blocks", footer.blocks.len());
    assert_eq!(
        footer.block_for(2999).unwrap().first_position + footer.block_for(2999).unwrap().records,
        3000
    );
    // A tail too short for the index asks for exactly the bytes it needs.
    let short = bytes.slice(bytes.len() - 30..);
    let needed = Footer::parse(short, bytes.len() as u64, "t")
        .unwrap()
        .unwrap_err();
    let tail = bytes.slice(bytes.len() - needed as usize..);
    assert!(
        Footer::parse(tail, bytes.len() as u64, "t")
            .unwrap()
            .is_ok()
    );
}

fn golden_records() -> Vec<Record> {
    vec![
        Record {
            key: Some(Bytes::from_static(b"k1")),
            value: Some(Bytes::from_static(b"hello")),
            timestamp_ms: 1_700_000_000_000,
            headers: vec![],
        },
        Record {
            key: None,
            value: None,
            timestamp_ms: -5,
            headers: vec![Header {
                key: "h".into(),
                value: Bytes::from_static(b"\x00\xff"),
            }],
        },
        Record {
            key: Some(Bytes::new()),
            value: Some(Bytes::from_static(b"world")),
            timestamp_ms: 42,
            headers: vec![],
        },
    ]
}

/// The bytes a v1 writer produced must stay readable by every later version.
#[test]
fn golden_v1_segment_decodes() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/segment-v1.bin");
    if std::env::var_os("SILT_WRITE_GOLDEN").is_some() {
        std::fs::write(
            path,
            segment::encode(&identity(), &golden_records(), 3).unwrap(),
        )
        .unwrap();
    }
    let bytes = Bytes::from(std::fs::read(path).unwrap());
    let (header, records) = segment::decode(bytes, path).unwrap();
    assert_eq!(records, golden_records());
    assert_eq!(
        header,
        SegmentHeader {
            record_count: 3,
            min_ts: -5,
            max_ts: 1_700_000_000_000,
            ..identity()
        }
    );
}

#[test]
fn future_versions_are_refused_by_name() {
    let mut bytes = segment::encode(&identity(), &golden_records(), 1)
        .unwrap()
        .to_vec();
    bytes[4] = 9; // format version, little-endian u16 after the magic
    match segment::decode(Bytes::from(bytes), "seg") {
        Err(Error::FutureFormat {
            found: 9,
            supported: 1,
            ..
        }) => {}
        other => panic!("expected FutureFormat, got {other:?}"),
    }
}

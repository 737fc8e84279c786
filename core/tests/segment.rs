//! Segment format: round-trips, corruption always detected, random bytes never panic, and the
//! v1 golden bytes stay readable.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use bytes::Bytes;
use proptest::prelude::*;
use silt_core::error::Error;
use silt_core::ids::{Epoch, PartitionId, TopicId, WriterId};
use silt_core::record::{Header, Record};
use silt_core::segment::{self, Footer, Positioned, SegmentHeader};
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

/// The records alone, positions dropped.
fn plain(positioned: Vec<Positioned>) -> Vec<Record> {
    positioned.into_iter().map(|p| p.record).collect()
}

proptest! {
    #[test]
    fn decode_inverts_encode(records in proptest::collection::vec(record_strategy(), 1..200)) {
        let bytes = segment::encode(&identity(), &records, 1).unwrap();
        let (header, decoded) = segment::decode(bytes.clone(), "test").unwrap();
        prop_assert!(decoded.iter().enumerate().all(|(i, p)| p.position as usize == i));
        prop_assert_eq!(&plain(decoded), &records);
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
        prop_assert_eq!(plain(ranged), records);
    }

    /// Segments with removed positions (key compaction) keep every other record at its
    /// position, whole or block by block; with nothing removed they are the dense bytes.
    #[test]
    fn sparse_segments_keep_positions(
        records in proptest::collection::vec((record_strategy(), any::<bool>()), 1..300),
        trailing in 0u32..5,
    ) {
        let span = records.len() as u32 + trailing;
        let kept: Vec<Positioned> = (0u32..)
            .zip(&records)
            .filter(|(_, (_, keep))| *keep)
            .map(|(position, (record, _))| Positioned { position, record: record.clone() })
            .collect();
        let bytes = segment::encode_sparse(&identity(), &kept, span, 1).unwrap();
        let (header, decoded) = segment::decode(bytes.clone(), "test").unwrap();
        prop_assert_eq!(&decoded, &kept);
        prop_assert_eq!(header.record_count, span);
        let footer = Footer::parse(bytes.clone(), bytes.len() as u64, "test").unwrap().unwrap();
        prop_assert_eq!(footer.record_count(), u64::from(span));
        let mut ranged = Vec::new();
        for b in &footer.blocks {
            let r = b.range();
            ranged.extend(segment::decode_block(b, bytes.slice(r.start as usize..r.end as usize), "test").unwrap());
        }
        prop_assert_eq!(&ranged, &kept);
        let version = u16::from_le_bytes([bytes[4], bytes[5]]);
        let dense = kept.len() as u32 == span;
        prop_assert_eq!(version, if dense { 2 } else { 3 });
        if dense {
            let plain_records: Vec<Record> = records.iter().map(|(r, _)| r.clone()).collect();
            prop_assert_eq!(bytes, segment::encode(&identity(), &plain_records, 1).unwrap());
        }
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

/// The golden records of version 3: the three above at positions 1, 2 and 5 of 7.
fn golden_sparse() -> Vec<Positioned> {
    [1, 2, 5]
        .into_iter()
        .zip(golden_records())
        .map(|(position, record)| Positioned { position, record })
        .collect()
}

/// The bytes every earlier writer produced stay readable: one golden file per format version
/// (version 3 holds a segment with gaps). `SILT_WRITE_GOLDEN=1` writes the current version's
/// file (never an older one).
#[test]
fn golden_segments_decode() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");
    let current = format!("{dir}/segment-v{}.bin", segment::FORMAT_VERSION);
    if std::env::var_os("SILT_WRITE_GOLDEN").is_some() {
        let bytes = segment::encode_sparse(&identity(), &golden_sparse(), 7, 3).unwrap();
        std::fs::write(&current, bytes).unwrap();
    }
    for version in 1..=segment::FORMAT_VERSION {
        let path = format!("{dir}/segment-v{version}.bin");
        let bytes = Bytes::from(std::fs::read(&path).unwrap());
        let (header, records) = segment::decode(bytes, &path).unwrap();
        let (expected, span) = match version {
            3 => (golden_sparse(), 7),
            _ => (
                golden_sparse()
                    .into_iter()
                    .enumerate()
                    .map(|(i, p)| Positioned {
                        position: i as u32,
                        ..p
                    })
                    .collect(),
                3,
            ),
        };
        assert_eq!(records, expected, "{path}");
        let expected = SegmentHeader {
            record_count: span,
            min_ts: -5,
            max_ts: 1_700_000_000_000,
            ..identity()
        };
        assert_eq!(header, expected, "{path}");
    }
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
            supported,
            ..
        }) => {
            assert_eq!(supported, u32::from(segment::FORMAT_VERSION))
        }
        other => panic!("expected FutureFormat, got {other:?}"),
    }
}

/// Incompressible blocks are stored as is, compressible ones with zstd; both read back.
#[test]
fn incompressible_blocks_are_stored_raw() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let random: Vec<Record> = (0..600)
        .map(|i| {
            let value: Vec<u8> = (0..1000)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    state as u8
                })
                .collect();
            Record::from_value(value, i)
        })
        .collect();
    let text: Vec<Record> = (0..600)
        .map(|i| Record::from_value(format!("log line {i} status=ok ").repeat(20), i))
        .collect();
    for (records, stored_raw) in [(random, true), (text, false)] {
        let bytes = segment::encode(&identity(), &records, 1).unwrap();
        let footer = Footer::parse(bytes.clone(), bytes.len() as u64, "t")
            .unwrap()
            .unwrap();
        assert!(footer.blocks.len() >= 2);
        assert!(
            footer
                .blocks
                .iter()
                .all(|b| (b.byte_len == b.raw_len) == stored_raw),
            "{:?}",
            footer.blocks
        );
        assert_eq!(plain(segment::decode(bytes, "t").unwrap().1), records);
    }
}

/// Today's encoder still writes the golden bytes of the versions it writes, byte for byte.
#[test]
fn the_encoder_writes_the_golden_bytes() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");
    let v3 = std::fs::read(format!("{dir}/segment-v3.bin")).unwrap();
    let sparse = segment::encode_sparse(&identity(), &golden_sparse(), 7, 3).unwrap();
    assert_eq!(sparse, v3);
    let v2 = std::fs::read(format!("{dir}/segment-v2.bin")).unwrap();
    let dense = segment::encode(&identity(), &golden_records(), 3).unwrap();
    assert_eq!(dense, v2);
}

//! The batch codec against kafka-protocol's (an independent implementation): batches it
//! encodes with every codec decode here exactly, batches encoded here decode there, and
//! corrupt, foreign or oversized input is refused with the matching error.

#![allow(clippy::unwrap_used)]

use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record as KRecord, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
    TimestampType,
};
use silt_core::record::{Header, Record};

use super::*;

fn kafka_records(n: i64, producer_id: i64) -> Vec<KRecord> {
    (0..n)
        .map(|i| KRecord {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: -1,
            producer_id,
            producer_epoch: if producer_id >= 0 { 3 } else { -1 },
            timestamp_type: TimestampType::Creation,
            offset: i,
            sequence: if producer_id >= 0 { 7 + i as i32 } else { -1 },
            timestamp: 1_700_000_000_000 + i * 5,
            key: (i % 2 == 0).then(|| Bytes::from(format!("key-{i}"))),
            value: (i != 3).then(|| Bytes::from(vec![b'v'; 100 + i as usize])),
            headers: IndexMap::from([(StrBytes::from_static_str("h"), Some(Bytes::from("x")))]),
        })
        .collect()
}

fn kafka_encode(records: &[KRecord], compression: Compression) -> Bytes {
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression,
    };
    RecordBatchEncoder::encode(&mut buf, records, &options).unwrap();
    buf.freeze()
}

#[test]
fn batches_from_kafka_protocol_decode_exactly_with_every_codec() {
    let records = kafka_records(10, 42);
    for compression in [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let batches = decode_batches(kafka_encode(&records, compression), 1 << 20).unwrap();
        assert_eq!(batches.len(), 1, "{compression:?}");
        let batch = &batches[0];
        let producer = batch.producer.as_ref().unwrap();
        assert_eq!((producer.producer_id.0, producer.epoch.0), (42, 3));
        assert_eq!(producer.first_seq, 7);
        for (ours, theirs) in batch.records.iter().zip(&records) {
            assert_eq!(ours.key, theirs.key, "{compression:?}");
            assert_eq!(ours.value, theirs.value);
            assert_eq!(ours.timestamp_ms, theirs.timestamp);
            assert_eq!(
                ours.headers,
                vec![Header {
                    key: "h".into(),
                    value: "x".into()
                }]
            );
        }
        assert_eq!(batch.records.len(), 10);
    }
}

#[test]
fn batches_encoded_here_decode_in_kafka_protocol() {
    let records: Vec<Record> = (0..5)
        .map(|i| Record {
            key: Some(Bytes::from(format!("k{i}"))),
            value: Some(Bytes::from(format!("value {i}"))),
            timestamp_ms: 1_700_000_000_000 - i * 1000, // out of order: deltas go negative
            headers: vec![
                Header {
                    key: "a".into(),
                    value: Bytes::from("1"),
                },
                Header {
                    key: "a".into(),
                    value: Bytes::from("2"),
                },
            ],
        })
        .collect();
    // A compacted partition skips offsets: 10, 11, 13, 14, 20.
    let offsets = [10, 11, 13, 14, 20];
    let pairs: Vec<(i64, &Record)> = offsets.iter().copied().zip(&records).collect();
    let mut bytes = encode_batch(&pairs);
    let set = RecordBatchDecoder::decode(&mut bytes).unwrap();
    let decoded: Vec<(i64, i64)> = set
        .records
        .iter()
        .map(|r| (r.offset, r.timestamp))
        .collect();
    let expected: Vec<(i64, i64)> = pairs.iter().map(|(o, r)| (*o, r.timestamp_ms)).collect();
    assert_eq!(decoded, expected);
    // And back through our decoder: duplicate header keys survive.
    let again = decode_batches(encode_batch(&pairs), 1 << 20).unwrap();
    assert_eq!(again[0].records, records);
    assert_eq!(again[0].producer, None);
    assert!(encode_batch(&[]).is_empty());
}

#[test]
fn a_flipped_bit_fails_the_crc() {
    let mut bytes = BytesMut::from(&kafka_encode(&kafka_records(3, 42), Compression::None)[..]);
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    let e = decode_batches(bytes.freeze(), 1 << 20).unwrap_err();
    assert_eq!(e, BatchError::Corrupt("CRC-32C mismatch".into()));
    assert_eq!(e.code(), kafka_protocol::ResponseError::CorruptMessage);
}

#[test]
fn other_magics_truncations_and_lies_are_refused() {
    let good = kafka_encode(&kafka_records(3, 42), Compression::None);
    let mut magic = BytesMut::from(&good[..]);
    magic[16] = 1;
    assert_eq!(
        decode_batches(magic.freeze(), 1 << 20).unwrap_err(),
        BatchError::Magic(1)
    );
    for cut in [1, 20, 60, good.len() - 1] {
        let e = decode_batches(good.slice(..cut), 1 << 20).unwrap_err();
        assert!(matches!(e, BatchError::Corrupt(_)), "{cut}: {e}");
    }
    // A record count far beyond what the bytes can hold, with a valid CRC.
    let mut lie = BytesMut::from(&good[..]);
    lie[57..61].copy_from_slice(&i32::MAX.to_be_bytes());
    let crc = crc32c::crc32c(&lie[CRC_START..]);
    lie[17..21].copy_from_slice(&crc.to_be_bytes());
    let e = decode_batches(lie.freeze(), 1 << 20).unwrap_err();
    assert!(e.to_string().contains("record count"), "{e}");
}

#[test]
fn decompression_stops_at_the_bound() {
    let big = KRecord {
        value: Some(Bytes::from(vec![0u8; 4 << 20])),
        ..kafka_records(1, -1).remove(0)
    };
    for compression in [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let bytes = kafka_encode(std::slice::from_ref(&big), compression);
        assert!(bytes.len() < 1 << 20, "{compression:?} compresses well");
        let e = decode_batches(bytes, 1 << 20).unwrap_err();
        assert_eq!(e, BatchError::TooLarge { max: 1 << 20 }, "{compression:?}");
    }
}

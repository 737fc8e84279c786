//! Record batches (magic 2) and Produce requests (v3 to v8) encoded by hand, so a test can
//! send exactly the bytes it means: a batch with a broken CRC or an unknown magic, or one
//! idempotent batch twice. Also InitProducerId (v0, v1).

use super::wire::{API_INIT_PRODUCER_ID, API_PRODUCE, Conn, Dec, Enc, pick_version};

/// An idempotent producer's batch header fields: id, epoch, first sequence.
#[derive(Clone, Copy)]
pub(crate) struct Producer {
    pub(crate) id: i64,
    pub(crate) epoch: i16,
    pub(crate) first_seq: i32,
}

/// No producer: a plain batch.
pub(crate) const PLAIN: Producer = Producer {
    id: -1,
    epoch: -1,
    first_seq: -1,
};

/// CRC-32C (Castagnoli), as record batches carry it.
pub(crate) fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A record batch of `values` (keyless, no headers, timestamp `ts`): magic 2, no
/// compression, a correct CRC.
pub(crate) fn batch(producer: Producer, values: &[&str], ts: i64) -> Vec<u8> {
    let mut records = Enc::default();
    for (i, value) in values.iter().enumerate() {
        let mut r = Enc::default();
        r.i8(0) // attributes
            .varint(0) // timestamp delta
            .varint(i64::try_from(i).unwrap()) // offset delta
            .varint(-1) // no key
            .varint(i64::try_from(value.len()).unwrap())
            .raw(value.as_bytes())
            .varint(0); // no headers
        records.varint(i64::try_from(r.0.len()).unwrap()).raw(&r.0);
    }
    let count = i32::try_from(values.len()).unwrap();
    let mut tail = Enc::default(); // what the CRC covers: attributes to the end
    tail.i16(0)
        .i32(count - 1)
        .i64(ts)
        .i64(ts)
        .i64(producer.id)
        .i16(producer.epoch)
        .i32(producer.first_seq)
        .i32(count)
        .raw(&records.0);
    let mut b = Enc::default();
    let length = 4 + 1 + 4 + tail.0.len(); // leader epoch, magic, crc, the rest
    b.i64(0)
        .i32(i32::try_from(length).unwrap())
        .i32(-1)
        .i8(2)
        .raw(&crc32c(&tail.0).to_be_bytes())
        .raw(&tail.0);
    b.0
}

/// Where in a batch its magic byte and its CRC are.
pub(crate) const MAGIC_AT: usize = 16;
pub(crate) const CRC_AT: usize = 17;

/// A partition's answer to a Produce.
#[derive(Debug)]
pub(crate) struct Produced {
    pub(crate) error: i16,
    pub(crate) base_offset: i64,
}

/// Sends `batch` to `topic`/`partition` with acks=-1 in the highest Produce version from 3
/// to 8 the agent supports; returns the partition's answer.
pub(crate) fn produce(conn: &mut Conn, topic: &str, partition: i32, batch: &[u8]) -> Produced {
    try_produce(conn, topic, partition, batch)
        .unwrap_or_else(|| panic!("no answer to a produce to {topic}/{partition}"))
}

/// [`produce`], `None` when the agent closed the connection instead of answering.
pub(crate) fn try_produce(
    conn: &mut Conn,
    topic: &str,
    partition: i32,
    batch: &[u8],
) -> Option<Produced> {
    let version = produce_version(conn);
    let body = produce_body(topic, partition, batch, -1);
    let answer = conn.try_call(API_PRODUCE, version, &body)?;
    Some(produced(version, &answer, topic, partition))
}

/// The highest Produce version from 3 to 8 the agent supports.
pub(crate) fn produce_version(conn: &mut Conn) -> i16 {
    pick_version(conn, API_PRODUCE, 3, 8)
}

/// A Produce body (v3 to v8) of one batch for one partition, with `acks`.
pub(crate) fn produce_body(topic: &str, partition: i32, batch: &[u8], acks: i16) -> Vec<u8> {
    let mut body = Enc::default();
    body.string(None) // transactional id
        .i16(acks)
        .i32(30_000)
        .i32(1)
        .string(Some(topic))
        .i32(1)
        .i32(partition)
        .bytes(batch);
    body.0
}

/// The partition's answer in a Produce answer of `version` (after the correlation id).
pub(crate) fn produced(version: i16, answer: &[u8], topic: &str, partition: i32) -> Produced {
    let mut d = Dec(answer);
    assert_eq!(d.i32(), 1, "one topic in the answer");
    assert_eq!(d.string().as_deref(), Some(topic));
    assert_eq!(d.i32(), 1, "one partition in the answer");
    assert_eq!(d.i32(), partition);
    let produced = Produced {
        error: d.i16(),
        base_offset: d.i64(),
    };
    d.i64(); // log append time
    if version >= 5 {
        d.i64(); // log start offset
    }
    produced
}

/// InitProducerId (v0 or v1, no transactional id): a new producer's (id, epoch).
pub(crate) fn init_producer_id(conn: &mut Conn) -> (i64, i16) {
    let version = pick_version(conn, API_INIT_PRODUCER_ID, 0, 1);
    let mut body = Enc::default();
    body.string(None).i32(60_000);
    let answer = conn.call(API_INIT_PRODUCER_ID, version, &body.0);
    let mut d = Dec(&answer);
    d.i32(); // throttle time
    assert_eq!(d.i16(), 0, "InitProducerId v{version}: error code");
    (d.i64(), d.i16())
}

#[test]
fn crc32c_of_the_check_string() {
    assert_eq!(crc32c(b"123456789"), 0xE306_9283);
}

//! What no Kafka client sends, over raw TCP to the shared agents: frames cut short, larger
//! than `--kafka-request-bytes-max` (refused from the size alone, before the body comes),
//! unknown API keys, unsupported versions, record batches with a broken CRC or an unknown
//! magic. Each time the agent closes the connection or answers with an error, nothing is
//! written (the partition's next offset, read through the HTTP API, stays 0), and a
//! connection opened before keeps being served.

use super::REQUEST_BYTES_MAX;
use super::batch::{CRC_AT, MAGIC_AT, PLAIN, batch, produce, try_produce};
use super::cluster::create_topic;
use super::wire::{
    API_PRODUCE, API_VERSIONS, CORRUPT_MESSAGE, Conn, INVALID_RECORD, UNSUPPORTED_VERSION,
    api_versions,
};
use super::{Pair, shared};

/// The shared agents with a fresh 1-partition topic, and a connection opened before the bad
/// input; `None` when skipped.
fn setup(case: &str) -> Option<(&'static Pair, String, Conn)> {
    let pair = shared(case)?;
    let topic = format!("bad-{case}");
    create_topic(&pair.a, &topic, 1);
    let mut before = Conn::open(super::kafka_addr(&pair.a));
    assert_eq!(api_versions(&before.call(API_VERSIONS, 0, &[])).0, 0);
    Some((pair, topic, before))
}

/// The agent still serves `before` and new connections, and `topic` has no record.
fn still_serving(pair: &Pair, topic: &str, before: &mut Conn) {
    assert_eq!(api_versions(&before.call(API_VERSIONS, 0, &[])).0, 0);
    let mut fresh = Conn::open(super::kafka_addr(&pair.a));
    assert_eq!(api_versions(&fresh.call(API_VERSIONS, 0, &[])).0, 0);
    let tail = pair.a.get(&format!("/v1/topics/{topic}/partitions/0/tail"));
    assert_eq!(tail.status, 200, "{}", tail.body);
    assert_eq!(
        tail.json()["next_offset"],
        0,
        "nothing written: {}",
        tail.body
    );
}

#[test]
fn truncated_frames_close_the_connection() {
    let Some((pair, topic, mut before)) = setup("truncated") else {
        return;
    };
    let mut e = super::wire::Enc::default();
    e.i32(100).raw(&[0, 18, 0, 0, 0, 0, 0, 1]); // 8 of 100 bytes, then the end
    let cut_in_header = [0, 0, 0, 3, 0, 18, 0]; // a whole frame too short for a header
    let cut_in_size = [0, 0]; // half a size
    for (what, bytes) in [
        ("a frame cut short", e.0.as_slice()),
        ("a frame shorter than a header", &cut_in_header),
        ("a size cut short", &cut_in_size),
    ] {
        let mut conn = Conn::open(super::kafka_addr(&pair.a));
        conn.send_raw(bytes);
        conn.finish();
        conn.expect_closed(what);
    }
    // A produce cut inside its body, with the rest never coming.
    let mut conn = Conn::open(super::kafka_addr(&pair.a));
    let frame = conn.frame(API_PRODUCE, 3, &[0xff, 0xff, 0, 1]);
    conn.send_raw(&frame);
    conn.finish();
    conn.expect_closed("a produce cut in its body");
    still_serving(pair, &topic, &mut before);
}

#[test]
fn frame_over_request_bytes_max_is_refused_from_its_size() {
    let Some((pair, topic, mut before)) = setup("oversized") else {
        return;
    };
    for size in [REQUEST_BYTES_MAX + 1, i32::MAX as u32, u32::MAX] {
        let mut conn = Conn::open(super::kafka_addr(&pair.a));
        // Only the size: an agent that waited for (or allocated) the body would not close.
        conn.send_raw(&size.to_be_bytes());
        conn.expect_closed(&format!("a frame of {size} bytes"));
    }
    still_serving(pair, &topic, &mut before);
}

#[test]
fn unknown_api_key_closes_the_connection() {
    let Some((pair, topic, mut before)) = setup("unknown-key") else {
        return;
    };
    for key in [1000, i16::MAX, -1] {
        let mut conn = Conn::open(super::kafka_addr(&pair.a));
        let frame = conn.frame(key, 0, &[]);
        conn.send_raw(&frame);
        conn.expect_closed(&format!("api key {key}"));
    }
    still_serving(pair, &topic, &mut before);
}

#[test]
fn unsupported_versions() {
    let Some((pair, topic, mut before)) = setup("versions") else {
        return;
    };
    // ApiVersions of a version the agent does not know: UNSUPPORTED_VERSION in v0's format,
    // with the versions it does support, so the client retries with one of them.
    // Header v2 and a v3 body, as a client newer than the agent sends it.
    let mut conn = Conn::open(super::kafka_addr(&pair.a));
    let v3_body = [&[10][..], b"silt-test", &[2], b"1", &[0]].concat();
    let frame = conn.frame_v2(API_VERSIONS, i16::MAX, &v3_body);
    let answer = conn.exchange(&frame).unwrap();
    let (error, ranges) = api_versions(&answer);
    assert_eq!(error, UNSUPPORTED_VERSION);
    let (min, max) = ranges[&API_VERSIONS];
    assert!(min == 0 && max >= 3, "ApiVersions v{min}..=v{max}");
    assert_eq!(api_versions(&conn.call(API_VERSIONS, 0, &[])).0, 0);
    // Other APIs: the connection is closed, as a Kafka broker does.
    for (key, version) in [(API_PRODUCE, i16::MAX), (3, 1000), (1, -1)] {
        let mut conn = Conn::open(super::kafka_addr(&pair.a));
        let frame = conn.frame(key, version, &[]);
        conn.send_raw(&frame);
        conn.expect_closed(&format!("api key {key} v{version}"));
    }
    still_serving(pair, &topic, &mut before);
}

#[test]
fn corrupt_crc_is_corrupt_message() {
    let Some((pair, topic, mut before)) = setup("crc") else {
        return;
    };
    let good = batch(PLAIN, &["one", "two"], 1_700_000_000_000);
    let mut bad_crc = good.clone();
    bad_crc[CRC_AT] ^= 0x01;
    let mut bad_payload = good.clone();
    *bad_payload.last_mut().unwrap() ^= 0x40; // the CRC no longer matches the records
    for (what, b) in [("CRC", bad_crc), ("payload", bad_payload)] {
        let answer = produce(&mut before, &topic, 0, &b);
        assert_eq!(
            answer.error, CORRUPT_MESSAGE,
            "a changed {what}: {answer:?}"
        );
    }
    still_serving(pair, &topic, &mut before);
}

#[test]
fn wrong_magic_is_refused() {
    let Some((pair, topic, mut before)) = setup("magic") else {
        return;
    };
    for magic in [0u8, 1, 3, 0xff] {
        // The CRC covers what follows it, not the magic: it stays right.
        let mut b = batch(PLAIN, &["value"], 1_700_000_000_000);
        b[MAGIC_AT] = magic;
        let mut conn = Conn::open(super::kafka_addr(&pair.a));
        // An error for the partition, or the connection closed.
        if let Some(answer) = try_produce(&mut conn, &topic, 0, &b) {
            // As Kafka: INVALID_RECORD for magic 0 and 1 on Produce v3+, CORRUPT_MESSAGE for
            // a magic it does not know.
            let expected = match magic {
                0 | 1 => INVALID_RECORD,
                _ => CORRUPT_MESSAGE,
            };
            assert_eq!(answer.error, expected, "magic {magic}: {answer:?}");
        }
    }
    still_serving(pair, &topic, &mut before);
}

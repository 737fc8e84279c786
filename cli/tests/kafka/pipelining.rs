//! One connection, several requests sent before any answer is read, as librdkafka pipelines
//! them (up to 5 in flight): answers come back in request order, produces to one partition
//! are written in the order sent, and a produce with acks=0 gets no answer at all (the next
//! answer on the connection is the next request's) while its records are written.

use super::batch::{PLAIN, batch, produce_body, produce_version, produced};
use super::cluster::create_topic;
use super::cluster::ledger::read_partition;
use super::wire::{API_PRODUCE, API_VERSIONS, Conn, api_versions};
use super::{kafka_addr, shared};

const TS: i64 = 1_700_000_000_000;

#[test]
fn pipelined_produces_are_answered_and_written_in_order() {
    let Some(pair) = shared("pipelining") else {
        return;
    };
    let topic = "pipelined";
    create_topic(&pair.a, topic, 1);
    let mut conn = Conn::open(kafka_addr(&pair.b));
    let version = produce_version(&mut conn);
    let mut frames = Vec::new();
    for i in 0..8 {
        let values = [format!("p{i}-a"), format!("p{i}-b")];
        let values: Vec<&str> = values.iter().map(String::as_str).collect();
        let body = produce_body(topic, 0, &batch(PLAIN, &values, TS), -1);
        frames.extend(conn.frame(API_PRODUCE, version, &body));
    }
    let last = conn.frame(API_VERSIONS, 0, &[]);
    frames.extend(&last);
    conn.send_raw(&frames); // nine requests in one write, more than the 5 handled at once
    let first = conn_correlation_of(&last) - 8;
    for i in 0..8 {
        let (correlation, answer) = conn.answer().unwrap();
        assert_eq!(correlation, first + i, "answers in request order");
        let p = produced(version, &answer, topic, 0);
        assert_eq!((p.error, p.base_offset), (0, 2 * i64::from(i)), "{p:?}");
    }
    let (correlation, answer) = conn.answer().unwrap();
    assert_eq!(correlation, first + 8);
    assert_eq!(api_versions(&answer).0, 0);
    let log: Vec<String> = read_partition(&pair.a, topic, 0)
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    let sent: Vec<String> = (0..8)
        .flat_map(|i| [format!("p{i}-a"), format!("p{i}-b")])
        .collect();
    assert_eq!(log, sent, "written in the order sent");
}

#[test]
fn acks_0_produce_gets_no_answer_and_is_written() {
    let Some(pair) = shared("acks0") else {
        return;
    };
    let topic = "acks-zero";
    create_topic(&pair.a, topic, 1);
    let mut conn = Conn::open(kafka_addr(&pair.a));
    let version = produce_version(&mut conn);
    let body = produce_body(topic, 0, &batch(PLAIN, &["fire", "forget"], TS), 0);
    let silent = conn.frame(API_PRODUCE, version, &body);
    let next = conn.frame(API_VERSIONS, 0, &[]);
    conn.send_raw(&[silent, next.clone()].concat());
    let (correlation, answer) = conn.answer().unwrap();
    assert_eq!(
        correlation,
        conn_correlation_of(&next),
        "no answer to acks=0"
    );
    assert_eq!(api_versions(&answer).0, 0);
    // Written, though nobody was told: read until it is there (bounded).
    for _ in 0..500 {
        let log = read_partition(&pair.a, topic, 0);
        if !log.is_empty() {
            let values: Vec<&str> = log.iter().map(|(_, v)| v.as_str()).collect();
            assert_eq!(values, ["fire", "forget"]);
            return;
        }
        std::thread::yield_now();
    }
    panic!("the acks=0 records were never written");
}

/// The correlation id in a request frame (after size, key and version).
fn conn_correlation_of(frame: &[u8]) -> i32 {
    i32::from_be_bytes(frame[8..12].try_into().unwrap())
}

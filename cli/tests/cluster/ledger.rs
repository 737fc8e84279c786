//! What clients were told, and the check of a log against it (the HTTP counterpart of
//! `minio-tests/src/checker.rs`, which checks library producers): every acknowledged record
//! is at its acknowledged (partition, offset) with the value sent, offsets are dense from 0,
//! no record is there twice, every record there was sent (a request that got no answer may
//! or may not have landed), and each client's records keep its send order in a partition.
//! Values are unique per record, so a value names its record.

use std::collections::{HashMap, HashSet};

use crate::common::agent::Agent;

/// The outcome of every record sent, by value.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    /// Acknowledged records: value → (partition, offset).
    pub(crate) acked: HashMap<String, (u32, u64)>,
    /// Records whose request got no answer (the agent died under it).
    pub(crate) unanswered: HashSet<String>,
}

impl Ledger {
    /// Notes an acknowledgement; a value acknowledged twice fails the test.
    pub(crate) fn ack(&mut self, value: String, partition: u32, offset: u64) {
        let twice = self.acked.insert(value.clone(), (partition, offset));
        assert!(twice.is_none(), "{value} acknowledged twice: {twice:?}");
    }

    /// Adds another client's ledger.
    pub(crate) fn merge(&mut self, other: Ledger) {
        for (value, (p, o)) in other.acked {
            self.ack(value, p, o);
        }
        self.unanswered.extend(other.unanswered);
    }
}

/// The records of one partition, (offset, value as text), read through `agent` from the log
/// start to the tail in pages of up to 1000.
pub(crate) fn read_partition(agent: &Agent, topic: &str, partition: u32) -> Vec<(u64, String)> {
    let mut records = Vec::new();
    let mut next = 0;
    for _ in 0..1000 {
        let path = format!(
            "/v1/topics/{topic}/partitions/{partition}/records?offset={next}&max_records=1000&encoding=utf8"
        );
        let read = agent.get(&path);
        assert_eq!(read.status, 200, "{path}: {}", read.body);
        let read = read.json();
        for r in read["records"].as_array().unwrap() {
            assert_eq!(r["partition"], partition, "{r}");
            let value = r["value"].as_str().unwrap_or_else(|| panic!("{r}"));
            records.push((r["offset"].as_u64().unwrap(), value.to_string()));
        }
        next = read["next_offset"].as_u64().unwrap();
        if next >= read["tail"].as_u64().unwrap() {
            return records;
        }
    }
    panic!("{topic}/{partition}: not at the tail after 1000 pages");
}

/// Checks the log of `topic` (read through `agent`) against `ledger`; returns how many
/// records it holds.
pub(crate) fn check_log(agent: &Agent, topic: &str, partitions: u32, ledger: &Ledger) -> usize {
    let mut found: HashMap<String, (u32, u64)> = HashMap::new();
    for p in 0..partitions {
        for (i, (offset, value)) in read_partition(agent, topic, p).into_iter().enumerate() {
            assert_eq!(offset, i as u64, "{topic}/{p}: offsets are not dense");
            assert!(
                ledger.acked.contains_key(&value) || ledger.unanswered.contains(&value),
                "{topic}/{p}@{offset}: {value:?} was never sent"
            );
            if let Some(first) = found.insert(value.clone(), (p, offset)) {
                panic!("{value:?} is in the log twice: at {first:?} and at ({p}, {offset})");
            }
        }
        let tail = agent.get(&format!("/v1/topics/{topic}/partitions/{p}/tail"));
        let next = found.values().filter(|(fp, _)| *fp == p).count();
        assert_eq!(tail.json()["next_offset"], next as u64, "{}", tail.body);
    }
    for (value, at) in &ledger.acked {
        assert_eq!(
            found.get(value),
            Some(at),
            "{value:?} was acknowledged at {at:?}"
        );
    }
    check_send_order(ledger);
    found.len()
}

/// A record's place in its client's sending order, and its offset: (batch, record, offset).
type SentAt = (u64, u64, u64);

/// A client sends one request at a time, so within a partition its acknowledged records
/// have increasing offsets in the order it sent them (values `c<client>-b<batch>-r<record>`).
fn check_send_order(ledger: &Ledger) {
    // (partition, client) → (batch, record, offset) of each acknowledged record.
    let mut sent: HashMap<(u32, u64), Vec<SentAt>> = HashMap::new();
    for (value, (p, offset)) in &ledger.acked {
        let numbers: Vec<u64> = value
            .split('-')
            .map(|part| part[1..].parse().unwrap())
            .collect();
        let [client, batch, record] = numbers[..] else {
            panic!("{value:?} is not c<client>-b<batch>-r<record>")
        };
        sent.entry((*p, client))
            .or_default()
            .push((batch, record, *offset));
    }
    for ((p, client), mut records) in sent {
        records.sort_unstable();
        for pair in records.windows(2) {
            assert!(
                pair[0].2 < pair[1].2,
                "client {client}, partition {p}: sent {:?} before {:?} (batch, record, offset)",
                pair[0],
                pair[1]
            );
        }
    }
}

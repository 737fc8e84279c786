//! An agent SIGKILLed under an idempotent librdkafka producer (`kill_producer.py`) loses no
//! record the producer was told was written, and writes none twice: the log, read through
//! the agent left, is checked against the delivery reports with the agent cluster suite's
//! ledger (acknowledged records at their offsets, dense offsets, nothing twice, nothing
//! unsent, send order kept per partition). Its own two agents on their own store, so the
//! dead agent is in no other case's registry.

#![allow(clippy::disallowed_methods)] // the agents and the producer run in real time: waits are bounded by it

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::cluster::ledger::{Ledger, check_log};
use super::cluster::{create_topic, stderr_lines};
use super::common::Backend;
use super::{Pair, python, say};

const TOPIC: &str = "killed";
const PARTITIONS: u32 = 4;
const TOTAL: u64 = 1500;
/// Acknowledged records before the kill, and records in flight at most.
const KILL_AFTER: u64 = 300;
const IN_FLIGHT: u64 = 200;
const LIMIT: Duration = Duration::from_secs(400);

#[test]
fn sigkill_mid_produce_loses_no_acknowledged_record() {
    let Some(python) = python("sigkill") else {
        return;
    };
    let Some(backend) = Backend::seaweedfs() else {
        return;
    };
    let mut pair = Pair::start(&backend, false);
    // Their logs are drained: a full pipe would stall them.
    let _logs = [stderr_lines(&mut pair.a), stderr_lines(&mut pair.b)];
    create_topic(&pair.b, TOPIC, PARTITIONS);
    // librdkafka logs the refused connections to the dead agent: shown only on failure.
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut producer = Stopped(
        pair.python(&python)
            .args(["kill_producer.py", TOPIC])
            .args([TOTAL, IN_FLIGHT].map(|n| n.to_string()))
            .stdout(Stdio::piped())
            .stderr(log.reopen().unwrap())
            .spawn()
            .unwrap(),
        log,
    );
    let lines = lines_of(producer.0.stdout.take().unwrap());
    let started = Instant::now();
    let before = wait_for_acks(&lines, KILL_AFTER);
    pair.a.signal("-KILL");
    pair.a.wait_exit(Duration::from_secs(10));
    let killed_at = started.elapsed();
    let result = wait_for_result(&lines);
    assert!(
        producer.0.wait().unwrap().success(),
        "kill_producer.py failed"
    );

    let mut ledger = Ledger::default();
    let acked = result["acked"].as_object().unwrap();
    for (value, at) in acked {
        let (p, o) = (at[0].as_u64().unwrap(), at[1].as_u64().unwrap());
        ledger.ack(value.clone(), u32::try_from(p).unwrap(), o);
    }
    let sent: HashSet<String> = (0..TOTAL).map(|i| format!("c0-b{i}-r0")).collect();
    ledger.unanswered = sent
        .into_iter()
        .filter(|v| !acked.contains_key(v))
        .collect();
    let in_log = check_log(&pair.b, TOPIC, PARTITIONS, &ledger);
    say(&format!(
        "kafka sigkill: killed after {before} acks ({killed_at:?}), {} of {TOTAL} acknowledged \
         in {:?}, {in_log} in the log, delivery errors {}",
        acked.len(),
        started.elapsed(),
        result["errors"]
    ));
    assert!(
        acked.len() as u64 >= before,
        "acknowledgements went missing"
    );
}

/// A child process and its stderr's file: killed (by its PID) if the test ends before it
/// does, its stderr shown if the test fails.
struct Stopped(Child, tempfile::NamedTempFile);

impl Drop for Stopped {
    fn drop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
        if std::thread::panicking() {
            let stderr = std::fs::read_to_string(self.1.path()).unwrap_or_default();
            say(&format!("--- kill_producer.py's stderr\n{stderr}"));
        }
    }
}

/// `reader`'s lines, from a thread, so a wait on them can be bounded.
fn lines_of(reader: impl std::io::Read + Send + 'static) -> Receiver<String> {
    let (lines, receiver) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines() {
            let Ok(line) = line else { return };
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    receiver
}

/// Waits for `acked N` with N ≥ `at_least`; returns N.
fn wait_for_acks(lines: &Receiver<String>, at_least: u64) -> u64 {
    let deadline = Instant::now() + LIMIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("no `acked {at_least}` from the producer: {e}"));
        if let Some(n) = line.strip_prefix("acked ") {
            let n: u64 = n.parse().unwrap();
            if n >= at_least {
                return n;
            }
        }
    }
}

/// The producer's `result {...}` line, as JSON.
fn wait_for_result(lines: &Receiver<String>) -> Value {
    let deadline = Instant::now() + LIMIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = lines
            .recv_timeout(left)
            .unwrap_or_else(|e| panic!("no result from the producer: {e}"));
        if let Some(json) = line.strip_prefix("result ") {
            return serde_json::from_str(json).unwrap();
        }
    }
}

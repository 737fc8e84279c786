//! Helpers of the agent cluster suite (`agent_cluster.rs`): client threads that append and
//! keep a ledger of what they were told (`clients`), the check of a log against that ledger
//! (`ledger`), requests held mid-body over raw TCP (`raw`), and `/metrics` parsed as a
//! Prometheus scraper would (`prom`).

#![allow(clippy::unwrap_used, dead_code)]
#![allow(clippy::disallowed_methods)] // child processes run in real time: waits are bounded by it

pub(crate) mod clients;
pub(crate) mod ledger;
pub(crate) mod prom;
pub(crate) mod raw;

use std::io::{BufRead, BufReader};
use std::process::{Child, Output};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::agent::Agent;

/// Checks `done` until it holds, for at most `limit` (a regression fails, not hangs).
pub(crate) fn until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        assert!(Instant::now() < deadline, "not within {limit:?}: {what}");
        std::thread::park_timeout(Duration::from_millis(10));
    }
}

/// Creates `topic` with `partitions` partitions through `agent`.
pub(crate) fn create_topic(agent: &Agent, topic: &str, partitions: u32) {
    let created = agent.post(
        "/v1/topics",
        &json!({"name": topic, "partitions": partitions}),
    );
    assert_eq!(created.status, 201, "create {topic}: {}", created.body);
}

/// The agent's stderr, line by line, from a thread (so a wait on it can be bounded).
pub(crate) fn stderr_lines(agent: &mut Agent) -> Receiver<String> {
    let stderr = agent.stderr.take().unwrap();
    let (lines, receiver) = channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { return };
            if lines.send(line).is_err() {
                return;
            }
        }
    });
    receiver
}

/// Waits up to `limit` for a line containing `text`; returns the lines read until then.
pub(crate) fn wait_for_line(lines: &Receiver<String>, text: &str, limit: Duration) -> Vec<String> {
    let deadline = Instant::now() + limit;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(text) => return seen,
            Ok(line) => seen.push(line),
            Err(e) => panic!("no line with {text:?} within {limit:?} ({e}); saw {seen:?}"),
        }
    }
}

/// Runs a child to its end, killing it (and failing) past `limit`.
pub(crate) fn run_bounded(mut child: Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the process did not exit within {limit:?}");
        }
        std::thread::park_timeout(Duration::from_millis(10));
    }
    child.wait_with_output().unwrap()
}

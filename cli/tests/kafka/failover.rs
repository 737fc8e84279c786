//! A consumer group's state outlives its coordinator: a librdkafka member commits and
//! leaves, the agent coordinating the group (FindCoordinator's answer) is SIGKILLed, and a
//! new member, through the agent left, resumes right after the committed offset once that
//! agent has taken the group over (the dead one drops out of the registry after 30 s). Its
//! own two agents on their own store, as the SIGKILL case.

#![allow(clippy::disallowed_methods)] // the agents and the clients run in real time

use std::process::Stdio;
use std::time::{Duration, Instant};

use serde_json::json;

use super::cluster::{create_topic, stderr_lines};
use super::common::Backend;
use super::wire::{Conn, find_coordinator};
use super::{Pair, kafka_addr, python, run_drained, say};

const TOPIC: &str = "failover";
const GROUP: &str = "failover-group";
const COMMITTED: u64 = 12;
const RECORDS: u64 = 20;

#[test]
fn group_offsets_survive_their_coordinator_killed() {
    let Some(python) = python("group-failover") else {
        return;
    };
    let Some(backend) = Backend::seaweedfs() else {
        return;
    };
    let mut pair = Pair::start(&backend, false);
    let _logs = [stderr_lines(&mut pair.a), stderr_lines(&mut pair.b)];
    create_topic(&pair.a, TOPIC, 1);
    let values: Vec<_> = (0..RECORDS)
        .map(|i| json!({"value": format!("r{i}")}))
        .collect();
    let path = format!("/v1/topics/{TOPIC}/partitions/0/records?encoding=utf8");
    let appended = pair.a.post(&path, &json!({ "records": values }));
    assert_eq!(appended.status, 200, "{}", appended.body);

    let committed = member(&pair, &python, "commit", COMMITTED);
    assert_eq!(committed, (0..COMMITTED).collect::<Vec<_>>());
    let coordinator = find_coordinator(&mut Conn::open(kafka_addr(&pair.a)), GROUP);
    let victim = match coordinator == kafka_addr(&pair.a) {
        true => &mut pair.a,
        false => &mut pair.b,
    };
    assert_eq!(
        kafka_addr(victim),
        coordinator,
        "FindCoordinator names one of the agents"
    );
    victim.signal("-KILL");
    victim.wait_exit(Duration::from_secs(10));

    let started = Instant::now();
    let resumed = member(&pair, &python, "resume", RECORDS - COMMITTED);
    assert_eq!(resumed, (COMMITTED..RECORDS).collect::<Vec<_>>());
    say(&format!(
        "kafka group failover: coordinator {coordinator} killed, a new member resumed at \
         offset {COMMITTED} after {:?}",
        started.elapsed()
    ));
}

/// group_failover.py `phase`, reading `count` records: the offsets it read.
fn member(pair: &Pair, python: &str, phase: &str, count: u64) -> Vec<u64> {
    let child = pair
        .python(python)
        .args(["group_failover.py", phase, TOPIC, GROUP, &count.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let (status, stdout, stderr) = run_drained(child, Duration::from_secs(200));
    assert!(
        status.is_some_and(|s| s.success()),
        "group_failover.py {phase} failed ({status:?}):\n{stdout}\n{stderr}"
    );
    serde_json::from_str(stdout.lines().last().unwrap()).unwrap()
}

//! Agents as a cluster, and an agent's life (issue 15, "Tests"): two agents on one store
//! taking concurrent appends to the same partitions; an agent SIGKILLed while clients append;
//! a SIGTERMed agent answering every request in flight; `/metrics` read by a Prometheus
//! parser; and an agent refusing to serve every address without authentication. Each log is
//! checked against what the clients were told (`cluster/ledger.rs`). Waits are bounded; the
//! cluster cases run on `file://`, SeaweedFS and DynamoDB manifests (skipped when unset).

#![allow(clippy::unwrap_used)] // tests fail by panicking

mod cluster;
mod common;

use std::sync::mpsc::channel;
use std::time::Duration;

use cluster::clients::{self, Workload};
use cluster::ledger::{Ledger, check_log, read_partition};
use cluster::prom::{Moved, check_moved, scrape};
use cluster::{create_topic, raw, run_bounded, stderr_lines, until, wait_for_line};
use common::agent::{Agent, call};
use common::{Backend, Silt};
use serde_json::json;

/// One `#[test]` per case and backend: `file::case`, `seaweedfs::case`, `dynamodb::case`.
macro_rules! on_every_backend {
    ($($case:ident),* $(,)?) => {
        mod file {
            $( #[test] fn $case() { super::$case(super::Backend::file()); } )*
        }
        mod seaweedfs {
            $( #[test] fn $case() {
                if let Some(backend) = super::Backend::seaweedfs() { super::$case(backend); }
            } )*
        }
        mod dynamodb {
            $( #[test] fn $case() {
                if let Some(backend) = super::Backend::dynamodb() { super::$case(backend); }
            } )*
        }
    };
}

on_every_backend!(
    two_agents_take_concurrent_appends_to_the_same_partitions,
    a_killed_agent_loses_no_acknowledged_record,
    a_terminated_agent_answers_every_request_in_flight,
);

/// Three clients on each of two agents append to the same three partitions at once (shared
/// mode): every record acknowledged once, at its offset; offsets dense; nothing else there.
fn two_agents_take_concurrent_appends_to_the_same_partitions(backend: Backend) {
    let first = Agent::start(&backend, &[]);
    let second = first.another(&[]);
    create_topic(&first, "shared", 3);
    let work = Workload {
        topic: "shared".into(),
        partitions: 3,
        batches: 12,
        records: 8,
    };
    let clients: Vec<_> = (0..6)
        .map(|id| {
            let agent = [&first, &second][id % 2];
            clients::spawn(agent.url.clone(), work.clone(), id, None)
        })
        .collect();
    let mut ledger = Ledger::default();
    for client in clients {
        ledger.merge(client.join().unwrap());
    }
    assert!(ledger.unanswered.is_empty(), "{:?}", ledger.unanswered);
    assert_eq!(ledger.acked.len(), 6 * 12 * 8);
    let held = check_log(&second, "shared", 3, &ledger);
    assert_eq!(
        held,
        ledger.acked.len(),
        "records in the log that no one was told of"
    );
    assert_eq!(check_log(&first, "shared", 3, &ledger), held);
}

/// Clients append through two agents to the same partitions; one agent is SIGKILLed once
/// its clients have 20 batches acknowledged. The other agent reads every acknowledged record
/// at its offset; a request that got no answer may or may not be there, but nothing is there
/// twice; appends go on after it.
fn a_killed_agent_loses_no_acknowledged_record(backend: Backend) {
    let mut doomed = Agent::start(&backend, &[]);
    let survivor = doomed.another(&[]);
    create_topic(&survivor, "killed", 2);
    let work = Workload {
        topic: "killed".into(),
        partitions: 2,
        batches: 10_000,
        records: 5,
    };
    let (progress, acked) = channel();
    let mut clients: Vec<_> = (0..4)
        .map(|id| clients::spawn(doomed.url.clone(), work.clone(), id, Some(progress.clone())))
        .collect();
    // Two clients of the survivor append to the same partitions through the kill.
    let steady = Workload {
        batches: 10,
        ..work.clone()
    };
    clients.extend((4..6).map(|id| clients::spawn(survivor.url.clone(), steady.clone(), id, None)));
    for _ in 0..20 {
        acked.recv_timeout(Duration::from_secs(60)).unwrap();
    }
    doomed.signal("-KILL");
    doomed.wait_exit(Duration::from_secs(10));
    let mut ledger = Ledger::default();
    for client in clients {
        ledger.merge(client.join().unwrap());
    }
    assert!(
        !ledger.unanswered.is_empty(),
        "every client finished before the kill"
    );
    let held = check_log(&survivor, "killed", 2, &ledger);
    assert!(held >= ledger.acked.len());
    eprintln!(
        "{} records acknowledged, {} unanswered, {held} in the log",
        ledger.acked.len(),
        ledger.unanswered.len()
    );
    let after = survivor.post(
        "/v1/topics/killed/partitions/0/records?encoding=utf8",
        &json!({"records": [{"value": "after"}]}),
    );
    assert_eq!(after.status, 200, "{}", after.body);
    let tail = read_partition(&survivor, "killed", 0);
    assert_eq!(after.json()["base_offset"], tail.len() as u64 - 1);
}

/// Long-polls, an event stream and appends are in flight (proved: the polls counted open,
/// the appends' `100 Continue` received) when SIGTERM arrives: the polls and the stream end
/// with an answer, the appends' bodies are still taken and acknowledged, the agent exits 0,
/// and another agent reads the acknowledged records.
fn a_terminated_agent_answers_every_request_in_flight(backend: Backend) {
    let mut agent = Agent::start(&backend, &[]);
    create_topic(&agent, "term", 3);
    let lines = stderr_lines(&mut agent);
    let polls: Vec<_> = (0..3).map(|i| start_waiting_read(&agent, i == 2)).collect();
    let held: Vec<_> = (0..2)
        .map(|p| {
            let path = format!("/v1/topics/term/partitions/{p}/records?encoding=utf8");
            let values: Vec<_> = (0..3)
                .map(|i| json!({"value": format!("p{p}-{i}")}))
                .collect();
            raw::hold(agent.addr(), &path, &json!({ "records": values }))
        })
        .collect();
    agent.signal("-TERM");
    wait_for_line(
        &lines,
        "SIGTERM: stopped accepting",
        Duration::from_secs(10),
    );
    for (p, request) in held.into_iter().enumerate() {
        let (status, body) = request.finish();
        assert_eq!(status, 200, "partition {p}: {body}");
        let ack: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (ack["base_offset"].as_u64(), ack["last_offset"].as_u64()),
            (Some(0), Some(2))
        );
    }
    for poll in polls {
        let answer = poll.join().unwrap();
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    let status = agent.wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(0), "{status}");
    let other = agent.another(&[]);
    for p in 0..2 {
        let values: Vec<_> = read_partition(&other, "term", p)
            .into_iter()
            .map(|r| r.1)
            .collect();
        assert_eq!(
            values,
            (0..3).map(|i| format!("p{p}-{i}")).collect::<Vec<_>>()
        );
    }
}

/// Starts a read of empty partition 2 waiting at the tail (an event stream when `stream`),
/// and returns once the agent counts one more long-poll open.
fn start_waiting_read(
    agent: &Agent,
    stream: bool,
) -> std::thread::JoinHandle<common::agent::Answer> {
    let open = || scrape(agent).value("silt_long_polls_open", &[]);
    let before = open();
    let url = agent.at("/v1/topics/term/partitions/2/records?offset=0&wait=50");
    let accept = if stream {
        "text/event-stream"
    } else {
        "application/json"
    };
    let poll = std::thread::spawn(move || call("GET", &url, &[("accept", accept)], b""));
    until(
        Duration::from_secs(20),
        "the read waits at the tail",
        || open() > before,
    );
    poll
}

/// A long-poll counts once in `silt_long_polls_open` while it waits, and no more once its
/// client hung up (the handler is dropped, not finished).
#[test]
fn a_long_poll_is_counted_open_until_its_client_leaves() {
    let agent = Agent::start(&Backend::file(), &[]);
    create_topic(&agent, "gone", 1);
    let open = || scrape(&agent).value("silt_long_polls_open", &[]);
    let before = open();
    let path = "/v1/topics/gone/partitions/0/records?offset=0&wait=50";
    let client = raw::send(agent.addr(), "GET", path);
    until(Duration::from_secs(20), "the poll is counted", || {
        open() > before
    });
    assert_eq!(open(), before + 1.0, "one long-poll counted more than once");
    drop(client);
    until(
        Duration::from_secs(20),
        "the poll is no longer counted",
        || open() == before,
    );
}

/// A second SIGTERM during the graceful stop (an append still in flight) exits at once, 143.
#[test]
fn a_second_sigterm_exits_at_once() {
    second_signal_exits_at_once("TERM", 143);
}

/// The same for SIGINT (Ctrl-C twice): 130.
#[test]
fn a_second_sigint_exits_at_once() {
    second_signal_exits_at_once("INT", 130);
}

fn second_signal_exits_at_once(signal: &str, code: i32) {
    let mut agent = Agent::start(&Backend::file(), &[]);
    create_topic(&agent, "twice", 1);
    let lines = stderr_lines(&mut agent);
    let held = raw::hold(
        agent.addr(),
        "/v1/topics/twice/partitions/0/records",
        &json!({"records": [{"value": "aGk="}]}),
    );
    let limit = Duration::from_secs(10);
    agent.signal(&format!("-{signal}"));
    wait_for_line(&lines, &format!("SIG{signal}: stopped accepting"), limit);
    agent.signal(&format!("-{signal}"));
    let status = agent.wait_exit(limit);
    assert_eq!(status.code(), Some(code), "{status}");
    wait_for_line(&lines, &format!("SIG{signal} again: exiting"), limit);
    drop(held);
}

/// `/metrics` parses, and after a known workload its counters moved by exactly that.
#[test]
fn metrics_count_a_known_workload() {
    let agent = Agent::start(&Backend::file(), &[]);
    let before = scrape(&agent);
    create_topic(&agent, "m", 2);
    for _ in 0..3 {
        let records: Vec<_> = (0..4).map(|_| json!({"value": "0123456789"})).collect();
        let path = "/v1/topics/m/partitions/0/records?encoding=utf8";
        assert_eq!(agent.post(path, &json!({ "records": records })).status, 200);
    }
    let two = json!({"records": [{"partition": 1, "value": "0123456789"}, {"partition": 1, "value": "0123456789"}]});
    assert_eq!(
        agent
            .post("/v1/topics/m/records?encoding=utf8", &two)
            .status,
        200
    );
    for _ in 0..2 {
        let read = agent.get("/v1/topics/m/partitions/0/records?offset=0");
        assert_eq!(read.json()["records"].as_array().unwrap().len(), 12);
    }
    assert_eq!(agent.get("/v1/topics/nope").status, 404);
    let bad = call(
        "POST",
        &agent.at("/v1/topics"),
        &[("content-type", "application/json")],
        b"{",
    );
    assert_eq!(bad.status, 400, "{}", bad.body);
    let after = scrape(&agent);
    after.assert_kind("silt_http_requests_total", "counter");
    after.assert_kind("silt_long_polls_open", "gauge");
    let requests = "silt_http_requests_total";
    let topic = [("topic", "m")];
    let checked = check_moved(
        &before,
        &after,
        &[
            Moved::by(requests, &[("method", "POST"), ("status", "201")], 1.0),
            Moved::by(requests, &[("method", "POST"), ("status", "200")], 4.0),
            // The two reads, and the first scrape (counted once answered).
            Moved::by(requests, &[("method", "GET"), ("status", "200")], 3.0),
            Moved::by(requests, &[("method", "GET"), ("status", "404")], 1.0),
            Moved::by(requests, &[("method", "POST"), ("status", "400")], 1.0),
            Moved::by("silt_records_appended_total", &topic, 14.0).once_exported(),
            Moved::by("silt_bytes_appended_total", &topic, 140.0).once_exported(),
            Moved::by("silt_records_read_total", &topic, 24.0).once_exported(),
            Moved::by("silt_long_polls_open", &[], 0.0).once_exported(),
            // Each read fetches the three segments of partition 0 (one per acknowledged
            // append) from the tail cache, not the store.
            Moved::by(
                "silt_tail_cache_reads_total",
                &[("topic", "m"), ("result", "hit")],
                6.0,
            ),
        ],
    );
    assert!(checked.len() >= 5, "{checked:?}");
}

/// `--listen 0.0.0.0:0` without tokens or `--insecure-no-auth` refuses to start (exit 1,
/// saying what to give), and so does a tokens file with a short token; with
/// `--insecure-no-auth` it serves without tokens.
#[test]
fn an_agent_on_every_address_without_tokens_refuses_to_start() {
    let backend = Backend::file();
    let silt = Silt::new();
    let refuse = |args: &[&str], message: &str| {
        let child = backend
            .command(&silt, args)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let out = run_bounded(child, Duration::from_secs(20));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?} listened");
    };
    refuse(
        &["agent", "--listen", "0.0.0.0:0"],
        "refusing to listen on 0.0.0.0:0 without authentication: give --auth-tokens FILE",
    );
    let short = silt.dir.path().join("short-tokens");
    std::fs::write(&short, "tooshort\n").unwrap();
    let short = short.to_str().unwrap();
    refuse(
        &["agent", "--listen", "0.0.0.0:0", "--auth-tokens", short],
        "a token is shorter than 16 characters",
    );
    let open = Agent::start_on(&backend, "0.0.0.0:0", &["--insecure-no-auth"]);
    assert_eq!(open.get("/v1/topics").status, 200);
}

/// With a tokens file, an agent on every address answers every route but the probes with 401
/// unless the request carries one of the tokens, exactly.
#[test]
fn an_agent_on_every_address_with_tokens_requires_one() {
    let silt = Silt::new();
    let tokens = silt.dir.path().join("tokens");
    std::fs::write(&tokens, "# agents\n\n0123456789abcdef-one\n").unwrap();
    let tokens = ["--auth-tokens", tokens.to_str().unwrap()];
    let agent = Agent::start_on(&Backend::file(), "0.0.0.0:0", &tokens);
    let with = |token: &str| ("authorization", format!("Bearer {token}"));
    for path in ["/healthz", "/readyz"] {
        assert_eq!(agent.get(path).status, 200, "{path}");
    }
    for path in ["/v1/topics", "/v1/topics/t", "/metrics"] {
        let refused = agent.get(path);
        assert_eq!(refused.status, 401, "{path}: {}", refused.body);
        assert_eq!(refused.json()["code"], "unauthorized");
        assert_eq!(refused.header("www-authenticate"), Some("Bearer"));
        // Another token, a prefix of the right one, and the right one made longer.
        for token in [
            "0123456789abcdef-two",
            "0123456789abcdef-on",
            "0123456789abcdef-one1",
        ] {
            let (name, wrong) = with(token);
            let answer = call("GET", &agent.at(path), &[(name, &wrong)], b"");
            assert_eq!(answer.status, 401, "{path} with {token}");
        }
    }
    let create = json!({"name": "t", "partitions": 1});
    assert_eq!(agent.post("/v1/topics", &create).status, 401);
    let (name, right) = with("0123456789abcdef-one");
    let auth = [(name, right.as_str())];
    let described = call("GET", &agent.at("/v1/topics/t"), &auth, b"");
    assert_eq!(
        described.status, 404,
        "created without a token: {}",
        described.body
    );
    assert_eq!(call("GET", &agent.at("/v1/topics"), &auth, b"").status, 200);
    // The scheme's name is case-insensitive (RFC 9110 §11.1).
    let lower = [("authorization", "bearer 0123456789abcdef-one")];
    assert_eq!(
        call("GET", &agent.at("/v1/topics"), &lower, b"").status,
        200
    );
}

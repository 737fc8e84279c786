//! `silt bench` end to end on a tiny budget.

#![allow(clippy::unwrap_used)] // tests fail by panicking

mod common;

use serde_json::Value;

use common::Silt;

/// `silt bench` runs end to end on a small budget and writes every required figure.
#[test]
fn bench_reports_every_figure() {
    let silt = Silt::new();
    let json = silt.dir.path().join("bench.json");
    let args = [
        "--store",
        "memory://",
        "bench",
        "--seconds",
        "0.5",
        "--raw-seconds",
        "0.2",
        "--segment-mib",
        "1",
    ];
    let mut args: Vec<&str> = args.to_vec();
    let path = json.to_str().unwrap();
    args.extend(["--json", path]);
    let table = silt.ok(&args, "");
    assert!(table.contains("catch-up"), "{table}");
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    for key in [
        "raw.put_mib_per_s",
        "raw.get_mib_per_s",
        "produce.mib_per_s",
        "produce.records_per_s",
        "produce.ack_ms.p50",
        "produce.ack_ms.p99",
        "e2e_ms.p50",
        "e2e_ms.p99",
        "read.mib_per_s",
        "requests.put_per_gib",
    ] {
        let value = key.split('.').fold(&report, |v, k| &v[k]);
        assert!(value.as_f64().is_some_and(|v| v > 0.0), "{key} = {value}");
    }
    assert_eq!(
        report["requests"]["list_per_gib"], 0.0,
        "no LIST on the produce or read path"
    );
    assert_eq!(report["produce"]["failed"], 0);
    assert_eq!(report["read"]["records"], report["produce"]["records"]);
    assert_eq!(
        report["machine"]["cores"].as_u64().map(|c| c > 0),
        Some(true)
    );
}

/// The JSON figure at `path` (`a.b.c`).
fn at<'a>(report: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(report, |v, k| &v[k])
}

/// A short bench with `--agent in-process` on `memory://` (3 clients × 50 records), with
/// `extra` arguments; its table and its JSON report.
fn agent_bench(extra: &[&str]) -> (String, Value) {
    let silt = Silt::new();
    let json = silt.dir.path().join("bench.json");
    let mut args = vec![
        "--store",
        "memory://",
        "bench",
        "--seconds",
        "0.5",
        "--raw-seconds",
        "0.1",
        "--segment-mib",
        "1",
        "--agent",
        "in-process",
        "--agent-clients",
        "3",
        "--agent-batch",
        "50",
        "--json",
        json.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let table = silt.ok(&args, "");
    let report = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    (table, report)
}

/// Asserts each figure at `keys` is a number above zero.
fn assert_positive(report: &Value, keys: &[&str]) {
    for key in keys {
        let value = at(report, key);
        assert!(value.as_f64().is_some_and(|v| v > 0.0), "{key} = {value}");
    }
}

/// `--agent in-process` runs the same load through an agent the bench starts over its store,
/// and reports the agent path's figures next to the library path's, with the comparison.
#[test]
fn bench_reports_the_agent_path_next_to_the_library_path() {
    let (table, report) = agent_bench(&[]);
    assert!(table.contains("agent/lib   throughput"), "{table}");
    assert_positive(
        &report,
        &[
            "agent.mib_per_s",
            "agent.records_per_s",
            "agent.ack_ms.p50",
            "agent.ack_ms.p99",
            "agent.e2e_ms.p50",
            "agent.put_per_gib",
            "agent.vs_library.mib_per_s_ratio",
        ],
    );
    let p50_diff = at(&report, "agent.vs_library.ack_p50_diff_ms")
        .as_f64()
        .unwrap();
    let (agent_p50, library_p50) = (
        at(&report, "agent.ack_ms.p50").as_f64().unwrap(),
        at(&report, "produce.ack_ms.p50").as_f64().unwrap(),
    );
    assert!((p50_diff - (agent_p50 - library_p50)).abs() < 1e-9);
    assert_eq!(report["agent"]["failed"], 0, "{}", report["agent"]);
    assert_eq!(report["agent"]["clients"], 3);
    assert_eq!(report["agent"]["batch_records"], 50);
    let records = report["agent"]["records"].as_u64().unwrap();
    let requests = report["agent"]["http_requests"].as_u64().unwrap();
    assert!(
        records > 0 && records <= requests * 50,
        "{records} in {requests}"
    );
    assert_eq!(
        report["agent"]["e2e_ms"]["samples"], records,
        "every record sent through the agent is seen by the tailing readers"
    );
    assert!(report["agent"]["segments"].as_u64().unwrap() > 0);
    assert_eq!(report["settings"]["agent"], "in-process");
}

/// `--agent-protocol kinesis` sends the same load as Kinesis `PutRecords` requests to a stream
/// made by `CreateStream`, one shard per request (checked in every answer), and reports it.
#[test]
fn bench_drives_the_agent_through_kinesis_put_records() {
    let (table, report) = agent_bench(&["--partitions", "2", "--agent-protocol", "kinesis"]);
    assert!(table.contains("kinesis protocol"), "{table}");
    assert_positive(
        &report,
        &[
            "agent.mib_per_s",
            "agent.records_per_s",
            "agent.ack_ms.p50",
            "agent.ack_ms.p99",
            "agent.e2e_ms.p50",
        ],
    );
    assert_eq!(report["agent"]["failed"], 0, "{}", report["agent"]);
    assert_eq!(report["agent"]["protocol"], "kinesis");
    assert_eq!(report["settings"]["agent_protocol"], "kinesis");
    let records = report["agent"]["records"].as_u64().unwrap();
    assert_eq!(
        report["agent"]["e2e_ms"]["samples"], records,
        "every record put through Kinesis is seen by the tailing readers"
    );
}

/// More than Kinesis takes in one `PutRecords` is refused before anything runs.
#[test]
fn bench_refuses_kinesis_batches_over_500_records() {
    let silt = Silt::new();
    let args = [
        "--store",
        "memory://",
        "bench",
        "--agent",
        "in-process",
        "--agent-protocol",
        "kinesis",
        "--agent-batch",
        "501",
    ];
    silt.fails(&args, "", "at most 500 records");
}

/// `--agent URL` drives a running agent: the record budget is met exactly, in a topic of its
/// own on the agent's store.
#[test]
fn bench_drives_a_running_agent_at_its_url() {
    let agent = common::agent::Agent::start(&common::Backend::file(), &[]);
    let silt = Silt::new();
    let json = silt.dir.path().join("bench.json");
    let args = [
        "--store",
        "memory://",
        "bench",
        "--records",
        "400",
        "--raw-seconds",
        "0.1",
        "--segment-mib",
        "1",
        "--agent",
        &agent.url,
        "--agent-clients",
        "2",
        "--json",
        json.to_str().unwrap(),
    ];
    silt.ok(&args, "");
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(report["agent"]["records"], 400, "{}", report["agent"]);
    assert_eq!(
        report["agent"]["http_requests"], 4,
        "two clients, 200 records each"
    );
    assert_eq!(
        report["agent"]["segments"],
        Value::Null,
        "the agent's store is not seen"
    );
    let topic = report["agent"]["topic"].as_str().unwrap();
    let listed = agent.get("/v1/topics");
    assert!(listed.body.contains(topic), "{topic} in {}", listed.body);
    let tail = agent.get(&format!("/v1/topics/{topic}/partitions/0/tail"));
    assert_eq!(tail.json()["next_offset"], 400, "{}", tail.body);
}

//! The Kinesis API (issue 16) as its users meet it: the boto3 suite (`kinesis/suite.py`) and
//! the AWS CLI (`kinesis/cli.sh`) against a real `silt agent` on `file://`, and the same
//! suite and script against moto's Kinesis as a differential check (every difference is in
//! the suite's `KNOWN_DIVERGENCES`, with its reason). Records put through Kinesis are read by
//! `silt consume` and the HTTP API at the same offsets, and records appended through those
//! are read back by GetRecords; an agent with `--auth-keys` checks SigV4.
//!
//! Python is `SILT_TEST_PYTHON` (with boto3), the CLI `SILT_TEST_AWS_CLI`, moto
//! `SILT_TEST_MOTO`; `./scripts/test` sets them, and a case whose tool is unset says it is
//! skipped. One agent serves every case but the auth one; each case uses its own streams.

#![allow(clippy::unwrap_used)] // tests fail by panicking

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::Backend;
use common::agent::{Agent, call};
use serde_json::{Value, json};

/// Where suite.py, cli.sh and cross.py are.
const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/kinesis");

/// The agent shared by this file's cases.
fn agent() -> &'static Agent {
    static AGENT: OnceLock<Agent> = OnceLock::new();
    AGENT.get_or_init(|| Agent::start_shared(&Backend::file(), &[]))
}

/// `$name`, or `None` after saying (once per case) that `case` is skipped without it.
fn tool(name: &str, case: &str) -> Option<String> {
    let value = std::env::var(name).ok();
    if value.is_none() {
        let _ = writeln!(
            std::io::stderr(),
            "skipped on {case}: {name} is not set (./scripts/test sets it)"
        );
    }
    value
}

/// A command with the environment the Kinesis clients get: `endpoint`, fixed credentials and
/// region, and nothing from the machine's AWS configuration.
fn kinesis_command(program: &str, endpoint: &str, target: &str) -> Command {
    let mut c = Command::new(program);
    c.current_dir(DIR)
        .env("SILT_KINESIS_ENDPOINT", endpoint)
        .env("SILT_KINESIS_TARGET", target)
        .env("AWS_ACCESS_KEY_ID", "silt-test")
        .env("AWS_SECRET_ACCESS_KEY", "silt-test")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_ENDPOINT_URL_KINESIS");
    c
}

/// Runs `command`; on failure panics with everything it printed. Returns its stdout.
fn run(command: &mut Command, what: &str) -> String {
    let out = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{what} failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    stdout
}

/// The last line of `output`, said on stderr (past the test harness' capture), as the other
/// suites print their counts.
fn say_last_line(output: &str, prefix: &str) {
    let last = output.lines().last().unwrap_or_default();
    assert!(last.starts_with(prefix), "no summary line in {output}");
    let _ = writeln!(std::io::stderr(), "{last}");
}

/// suite.py on `target` at `endpoint` (`names`: unittest names, all when empty).
fn suite(python: &str, endpoint: &str, target: &str, names: &[&str], env: &[(&str, &str)]) {
    let out = run(
        kinesis_command(python, endpoint, target)
            .arg("suite.py")
            .args(names)
            .envs(env.iter().copied()),
        &format!("the Kinesis suite on {target}"),
    );
    say_last_line(&out, &format!("kinesis suite on {target}: "));
}

/// cli.sh with the AWS CLI at `endpoint`.
fn aws_cli(aws: &str, endpoint: &str, target: &str) {
    let out = run(
        kinesis_command("bash", endpoint, target)
            .args(["cli.sh", endpoint])
            .env("SILT_TEST_AWS_CLI", aws),
        &format!("cli.sh (the AWS CLI) on {target}"),
    );
    say_last_line(&out, &format!("kinesis AWS CLI on {target}: "));
}

/// The suite and the AWS CLI against moto's Kinesis, one after the other: ListStreams paging
/// on moto fails when the stream a page ended at is deleted meanwhile.
#[test]
fn differential_check_on_moto() {
    let (Some(python), Some(moto)) = (
        tool("SILT_TEST_PYTHON", "kinesis-moto"),
        tool("SILT_TEST_MOTO", "kinesis-moto"),
    ) else {
        return;
    };
    suite(&python, &moto, "moto", &[], &[]);
    if let Some(aws) = tool("SILT_TEST_AWS_CLI", "kinesis-moto-cli") {
        aws_cli(&aws, &moto, "moto");
    }
}

#[test]
fn suite_on_silt_agent() {
    let Some(python) = tool("SILT_TEST_PYTHON", "kinesis") else {
        return;
    };
    suite(&python, &agent().url, "silt", &[], &[]);
}

#[test]
fn aws_cli_on_silt_agent() {
    let Some(aws) = tool("SILT_TEST_AWS_CLI", "kinesis-cli") else {
        return;
    };
    aws_cli(&aws, &agent().url, "silt");
}

/// An agent with `--auth-keys` checks SigV4: the suite's `auth_test` cases.
#[test]
fn auth_keys_on_silt_agent() {
    let Some(python) = tool("SILT_TEST_PYTHON", "kinesis-auth") else {
        return;
    };
    let keys = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        keys.path(),
        "# access key id, secret access key\nAKIDSILTTEST wJalrXUtnFEMI/K7MDENG\n",
    )
    .unwrap();
    let agent = Agent::start(
        &Backend::file(),
        &["--auth-keys", keys.path().to_str().unwrap()],
    );
    suite(
        &python,
        &agent.url,
        "silt",
        &["auth_test"],
        &[
            ("SILT_KINESIS_AUTH_KEY_ID", "AKIDSILTTEST"),
            ("SILT_KINESIS_AUTH_SECRET", "wJalrXUtnFEMI/K7MDENG"),
        ],
    );
}

/// A record as both sides see it: key and data.
type Seen = (String, Vec<u8>);

/// Offsets of a sequence number in the agent's format (`4`, 10-digit partition, 20-digit
/// offset): (partition, offset). A silt-only check.
fn offset_of(seq: &str) -> (u32, u64) {
    assert_eq!(seq.len(), 31, "sequence number {seq}");
    let n: u128 = seq.parse().unwrap();
    let offset = u64::try_from(n % 10u128.pow(20)).unwrap();
    let partition = u32::try_from(n / 10u128.pow(20) % 10u128.pow(10)).unwrap();
    (partition, offset)
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn b64(v: &Value) -> Vec<u8> {
    STANDARD.decode(v.as_str().unwrap()).unwrap()
}

/// cross.py with `args` against the shared agent.
fn cross(python: &str, args: &[&str]) -> Vec<Value> {
    let out = run(
        kinesis_command(python, &agent().url, "silt")
            .arg("cross.py")
            .args(args),
        &format!("cross.py {args:?}"),
    );
    json_lines(&out)
}

/// Bytes as `silt consume` prints them: UTF-8 text, else `{"base64": "..."}`.
fn consumed_bytes(v: &Value) -> Vec<u8> {
    match v.as_str() {
        Some(text) => text.as_bytes().to_vec(),
        None => b64(&v["base64"]),
    }
}

/// Partition `p` of `stream` as `silt consume` reads it: offset → (key, value).
fn consumed(stream: &str, p: u32) -> BTreeMap<u64, Seen> {
    let a = agent();
    let args = [
        "consume",
        stream,
        "--partition",
        &p.to_string(),
        "--format",
        "jsonl",
    ];
    let out = run(&mut a.backend.command(&a.silt, &args), "silt consume");
    json_lines(&out)
        .iter()
        .map(|r| {
            let key = String::from_utf8(consumed_bytes(&r["key"])).unwrap();
            (
                r["offset"].as_u64().unwrap(),
                (key, consumed_bytes(&r["value"])),
            )
        })
        .collect()
}

/// Partition `p` as the HTTP API reads it: offset → ((key, value), timestamp).
fn read_http(stream: &str, p: u32) -> BTreeMap<u64, (Seen, i64)> {
    let url = agent().at(&format!(
        "/v1/topics/{stream}/partitions/{p}/records?offset=0"
    ));
    let answer = call("GET", &url, &[], b"");
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.json()["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let seen = (String::from_utf8(b64(&r["key"])).unwrap(), b64(&r["value"]));
            (
                r["offset"].as_u64().unwrap(),
                (seen, r["timestamp"].as_i64().unwrap()),
            )
        })
        .collect()
}

/// Shard `p` as Kinesis GetRecords reads it: offset → ((key, data), arrival ms).
fn read_kinesis(python: &str, stream: &str, p: u32) -> BTreeMap<u64, (Seen, i64)> {
    let shard = format!("shardId-{p:012}");
    cross(python, &["read", stream, &shard])
        .iter()
        .map(|r| {
            let (partition, offset) = offset_of(r["seq"].as_str().unwrap());
            assert_eq!(partition, p, "{r}");
            let seen = (r["key"].as_str().unwrap().to_string(), b64(&r["data"]));
            (offset, (seen, r["arrival_ms"].as_i64().unwrap()))
        })
        .collect()
}

/// What each shard (partition) of a stream holds: offset → (key, data).
type Shards = [BTreeMap<u64, Seen>; 2];

#[test]
fn records_cross_between_kinesis_and_native_apis() {
    let Some(python) = tool("SILT_TEST_PYTHON", "kinesis-cross") else {
        return;
    };
    let stream = "cross";
    // Kinesis → consume and the HTTP API, at the offsets the sequence numbers name.
    let mut expected = put_with_kinesis(&python, stream);
    for (p, expected) in (0..2).zip(&expected) {
        assert_eq!(
            &consumed(stream, p),
            expected,
            "silt consume, partition {p}"
        );
        let http: BTreeMap<u64, Seen> = read_http(stream, p)
            .into_iter()
            .map(|(o, (s, _))| (o, s))
            .collect();
        assert_eq!(&http, expected, "HTTP API, partition {p}");
    }
    // The HTTP API and `silt produce` → Kinesis GetRecords, with the same timestamps.
    append_natively(stream, &mut expected);
    for (p, expected) in (0..2).zip(&expected) {
        let kinesis = read_kinesis(&python, stream, p);
        let seen: BTreeMap<u64, Seen> = kinesis.iter().map(|(o, (s, _))| (*o, s.clone())).collect();
        assert_eq!(&seen, expected, "Kinesis GetRecords, shard {p}");
        let stamps: BTreeMap<u64, i64> = kinesis.iter().map(|(o, (_, t))| (*o, *t)).collect();
        let http: BTreeMap<u64, i64> = read_http(stream, p)
            .into_iter()
            .map(|(o, (_, t))| (o, t))
            .collect();
        assert_eq!(
            stamps, http,
            "ApproximateArrivalTimestamp = the record's timestamp"
        );
    }
}

/// Creates `stream` (2 shards) and puts 20 records with boto3; returns where they went.
fn put_with_kinesis(python: &str, stream: &str) -> Shards {
    let mut put = Shards::default();
    for r in cross(python, &["put", stream, "2", "20"]) {
        let (p, offset) = offset_of(r["seq"].as_str().unwrap());
        assert_eq!(r["shard"], format!("shardId-{p:012}"), "{r}");
        let seen = (r["key"].as_str().unwrap().to_string(), b64(&r["data"]));
        assert!(put[p as usize].insert(offset, seen).is_none(), "{r}");
    }
    assert_eq!(put.iter().map(BTreeMap::len).sum::<usize>(), 20);
    put
}

/// Appends two records to partition 1 with the HTTP API and one to partition 0 with
/// `silt produce`, adding them to `shards` at the offsets they were given.
fn append_natively(stream: &str, shards: &mut Shards) {
    let body = json!({"records": [{"key": "via-http", "value": "from http 0"},
                                   {"key": "via-http", "value": "from http 1"}]});
    let url = agent().at(&format!("/v1/topics/{stream}/partitions/1/records"));
    let answer = call(
        "POST",
        &url,
        &[("Silt-Encoding", "utf8")],
        body.to_string().as_bytes(),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    let base = answer.json()["base_offset"].as_u64().unwrap();
    shards[1].insert(base, ("via-http".into(), b"from http 0".to_vec()));
    shards[1].insert(base + 1, ("via-http".into(), b"from http 1".to_vec()));

    let a = agent();
    let line = "{\"partition\":0,\"key\":\"via-cli\",\"value\":\"from cli\"}\n";
    let args = ["produce", stream, "--format", "jsonl", "--print-acks"];
    let mut produce = a.backend.command(&a.silt, &args);
    let acks = run(produce.stdin(stdin_of(line)), "silt produce");
    // `--print-acks`: input line, partition, offset.
    let ack: Vec<&str> = acks.trim().split('\t').collect();
    assert_eq!(ack[..2], ["0", "0"], "{acks}");
    let offset = ack[2].parse().unwrap();
    shards[0].insert(offset, ("via-cli".into(), b"from cli".to_vec()));
}

/// A child's stdin reading `text` (a pipe, written before the child starts).
fn stdin_of(text: &str) -> Stdio {
    let (reader, mut writer) = std::io::pipe().unwrap();
    writer.write_all(text.as_bytes()).unwrap();
    Stdio::from(reader)
}

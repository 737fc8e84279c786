//! `silt produce` processes killed with SIGKILL lose nothing they acknowledged.

#![allow(clippy::unwrap_used)] // tests fail by panicking

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;
use silt_core::clock::{Clock, SystemClock};

use common::Silt;

/// Two `silt produce` processes on one partition; one is killed with SIGKILL mid-stream.
/// Every acknowledgement either printed is then read back at its offset, with dense offsets.
/// Runs on a local directory, and on SeaweedFS when `SILT_TEST_SEAWEEDFS` is set (with
/// manifests in DynamoDB too when `SILT_TEST_DYNAMODB` is). `silt manifest init` runs first:
/// it creates the DynamoDB table, or does nothing for manifests in the store.
fn killed_producer_loses_nothing(store: &str, env: &[(&str, String)]) {
    use std::io::{BufRead, BufReader};
    let silt = Silt::new();
    let with_env = |mut c: Command| {
        c.env("SILT_STORE", store);
        for (k, v) in env {
            c.env(k, v);
        }
        c
    };
    let produce = || {
        let mut c = with_env(silt.command(&[
            "produce",
            "k",
            "--partition",
            "0",
            "--print-acks",
            "--linger-ms",
            "2",
        ]));
        c.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    for args in [&["manifest", "init"][..], &["topic", "create", "k"]] {
        let out = with_env(silt.command(args)).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        if args[0] == "manifest" {
            let said = String::from_utf8_lossy(&out.stdout);
            let in_dynamodb = env.iter().any(|(k, _)| *k == "SILT_MANIFEST");
            assert_eq!(
                said.contains("created DynamoDB table"),
                in_dynamodb,
                "{said}"
            );
        }
    }
    let mut survivor = produce();
    let mut victim = produce();
    let feed = |child: &mut std::process::Child, name: &'static str, lines: usize| {
        let mut stdin = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            for i in 0..lines {
                if writeln!(stdin, "{name}-{i}").is_err() {
                    return; // killed
                }
                if i % 20 == 0 {
                    silt_core::clock::sleep_blocking(std::time::Duration::from_millis(3));
                }
            }
        })
    };
    let survivor_feed = feed(&mut survivor, "survivor", 1000);
    let _victim_feed = feed(&mut victim, "victim", 100_000);
    let mut acked: HashMap<u64, String> = HashMap::new();
    let mut record = |name: &str, line: &str| {
        let f: Vec<&str> = line.split('\t').collect();
        assert!(
            acked
                .insert(f[2].parse().unwrap(), format!("{name}-{}", f[0]))
                .is_none(),
            "offset acked twice"
        );
    };
    let mut victim_lines = BufReader::new(victim.stdout.take().unwrap()).lines();
    for _ in 0..100 {
        record("victim", &victim_lines.next().unwrap().unwrap());
    }
    victim.kill().unwrap(); // SIGKILL
    victim.wait().unwrap();
    for line in victim_lines.map_while(Result::ok) {
        record("victim", &line);
    }
    survivor_feed.join().unwrap();
    let out = survivor.wait_with_output().unwrap();
    assert!(out.status.success());
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        record("survivor", line);
    }
    let consumed = with_env(silt.command(&["consume", "k", "--format", "jsonl"]))
        .output()
        .unwrap();
    assert!(
        consumed.status.success(),
        "consume failed: {}",
        String::from_utf8_lossy(&consumed.stderr)
    );
    let records: Vec<Value> = String::from_utf8(consumed.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r["offset"], i as u64, "offsets must be dense");
    }
    for (offset, value) in &acked {
        assert_eq!(
            records[*offset as usize]["value"].as_str(),
            Some(value.as_str()),
            "offset {offset}"
        );
    }
    assert!(acked.len() >= 1100, "{} acknowledgements", acked.len());
}

#[test]
fn killed_producer_loses_nothing_locally() {
    killed_producer_loses_nothing("file://./silt-data", &[]);
}

/// The endpoint in `variable`, or `None` after saying the test is skipped.
fn server(variable: &str) -> Option<String> {
    let endpoint = std::env::var(variable).ok();
    if endpoint.is_none() {
        let _ = writeln!(
            std::io::stderr(),
            "skipped on {variable}: not set (./scripts/test starts it)"
        );
    }
    endpoint
}

/// A fresh prefix of the SeaweedFS test bucket and the environment reaching it.
fn seaweedfs() -> Option<(String, Vec<(&'static str, String)>)> {
    let endpoint = server("SILT_TEST_SEAWEEDFS")?;
    let store = format!("s3://silt-test/cli-{}", SystemClock.new_ulid());
    let env = vec![
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ALLOW_HTTP", "true".to_string()),
        ("AWS_ACCESS_KEY_ID", "silt-test".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "silt-test".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
    ];
    Some((store, env))
}

#[test]
fn killed_producer_loses_nothing_on_seaweedfs() {
    let Some((store, env)) = seaweedfs() else {
        return;
    };
    killed_producer_loses_nothing(&store, &env);
}

#[test]
fn killed_producer_loses_nothing_with_dynamodb_manifests() {
    let (Some((store, mut env)), Some(dynamodb)) = (seaweedfs(), server("SILT_TEST_DYNAMODB"))
    else {
        return;
    };
    let table = format!("silt-cli-{}", SystemClock.new_ulid());
    env.push(("AWS_ENDPOINT_URL_DYNAMODB", dynamodb));
    env.push(("SILT_MANIFEST", format!("dynamodb://{table}")));
    killed_producer_loses_nothing(&store, &env);
}

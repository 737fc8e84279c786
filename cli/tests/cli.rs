//! The `silt` binary as users run it: on a local directory, several processes at once, and bad
//! input that must produce clear errors and a non-zero exit.

#![allow(clippy::unwrap_used)] // tests fail by panicking

mod common;

use std::collections::HashMap;
use std::io::Write;
use std::process::Stdio;

use serde_json::Value;

use common::Silt;

#[test]
fn demo_runs_on_the_embedded_default() {
    let silt = Silt::new();
    let out = silt.ok(&["demo"], "");
    assert!(
        out.contains("read every record back at its acknowledged offset"),
        "{out}"
    );
    assert!(
        silt.dir
            .path()
            .join("silt-data/topics/demo/topic.json")
            .exists()
    );
    let described: Value =
        serde_json::from_str(&silt.ok(&["topic", "describe", "demo", "--json"], "")).unwrap();
    let total: u64 = described["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["next_offset"].as_u64().unwrap())
        .sum();
    assert_eq!(total, 1000);
}

#[test]
fn jsonl_round_trips_every_field() {
    let silt = Silt::new();
    silt.ok(&["topic", "create", "orders", "--partitions", "3"], "");
    assert_eq!(silt.ok(&["topic", "list"], ""), "orders\n");
    let input = concat!(
        r#"{"key":"a","value":"one","timestamp":1000,"headers":[{"key":"h","value":"x"}],"partition":2}"#,
        "\n",
        r#"{"value":{"base64":"AP8="},"timestamp":2000,"partition":2}"#,
        "\n",
        r#"{"key":"b","timestamp":3000,"partition":2}"#,
        "\n",
    );
    silt.ok(&["produce", "orders", "--format", "jsonl"], input);
    let out = silt.ok(
        &["consume", "orders", "--partition", "2", "--format", "jsonl"],
        "",
    );
    let lines: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["offset"], 0);
    assert_eq!(lines[0]["key"], "a");
    assert_eq!(lines[0]["value"], "one");
    assert_eq!(lines[0]["timestamp"], 1000);
    assert_eq!(lines[0]["headers"][0]["value"], "x");
    assert_eq!(lines[1]["value"]["base64"], "AP8=");
    assert_eq!(lines[1]["key"], Value::Null);
    assert_eq!(lines[2]["value"], Value::Null);
    // Start positions: an offset, a timestamp, latest.
    assert_eq!(
        silt.ok(
            &[
                "consume",
                "orders",
                "--partition",
                "2",
                "--from",
                "1",
                "--max",
                "1",
                "--format",
                "jsonl"
            ],
            ""
        )
        .lines()
        .count(),
        1
    );
    let from_ts = silt.ok(
        &[
            "consume",
            "orders",
            "--partition",
            "2",
            "--from",
            "@2500",
            "--format",
            "jsonl",
        ],
        "",
    );
    assert_eq!(
        serde_json::from_str::<Value>(from_ts.trim()).unwrap()["offset"],
        2
    );
    assert_eq!(silt.ok(&["consume", "orders", "--from", "latest"], ""), "");
}

#[test]
fn bad_input_fails_clearly() {
    let silt = Silt::new();
    silt.fails(&["topic", "create", "bad name"], "", "invalid topic name");
    silt.fails(
        &["topic", "create", "t", "--partitions", "0"],
        "",
        "invalid partition count 0",
    );
    silt.ok(&["topic", "create", "t", "--partitions", "2"], "");
    silt.fails(&["topic", "create", "t"], "", "already exists");
    silt.fails(
        &["produce", "missing"],
        "x\n",
        "topic missing does not exist",
    );
    silt.fails(
        &["produce", "t", "--partition", "7"],
        "x\n",
        "partition 7 does not exist",
    );
    silt.fails(
        &["produce", "t", "--format", "jsonl"],
        "{\"value\":\"ok\"}\nnot json\n",
        "line 2: not JSON",
    );
    let huge = "x".repeat(1024 * 1024 + 1) + "\n";
    silt.fails(
        &["produce", "t", "--partition", "0"],
        &huge,
        "too large: the limit is 1048576 bytes",
    );
    silt.fails(
        &["consume", "t", "--partition", "0", "--from", "99"],
        "",
        "out of range",
    );
    silt.fails(
        &["consume", "t", "--from", "yesterday"],
        "",
        "expected earliest, latest",
    );
    silt.fails(
        &["--store", "ftp://x", "topic", "list"],
        "",
        "invalid store URL",
    );
    // What was acknowledged before the bad input is intact.
    assert_eq!(silt.ok(&["consume", "t"], ""), "ok\n");
}

#[test]
fn trim_hides_old_records_from_consumers() {
    let silt = Silt::new();
    silt.ok(&["topic", "create", "t"], "");
    let lines: String = (0..10).map(|i| format!("v{i}\n")).collect();
    silt.ok(&["produce", "t"], &lines);
    fn trim(before: &str) -> [&str; 7] {
        ["topic", "trim", "t", "--partition", "0", "--before", before]
    }
    assert_eq!(
        silt.ok(&trim("4"), ""),
        "partition 0: log start moved from 0 to 4 (next offset 10)\n"
    );
    assert_eq!(
        silt.ok(&trim("2"), ""),
        "partition 0: log start stays at 4 (next offset 10)\n"
    );
    assert_eq!(silt.ok(&["consume", "t"], ""), "v4\nv5\nv6\nv7\nv8\nv9\n");
    silt.fails(
        &["consume", "t", "--partition", "0", "--from", "3"],
        "",
        "out of range",
    );
    silt.fails(&trim("11"), "", "its next offset is 10");
    let described = silt.ok(&["topic", "describe", "t", "--json"], "");
    assert!(described.contains("\"log_start_offset\":4"), "{described}");
}

#[test]
fn retention_run_expires_old_segments() {
    let silt = Silt::new();
    silt.ok(&["topic", "create", "old", "--retention-ms", "1"], "");
    silt.ok(&["topic", "create", "kept"], "");
    silt.ok(&["produce", "old"], "a\nb\nc\n");
    silt.ok(&["produce", "kept"], "a\n");
    std::thread::sleep(std::time::Duration::from_millis(20));
    let preview = silt.ok(&["retention", "run", "--dry-run"], "");
    assert!(
        preview.starts_with("old/0: log start would move from 0 to 3 (1 segments, "),
        "{preview}"
    );
    assert!(
        preview
            .ends_with("retention: 1 partitions visited, 1 would move, 0 left for the next run\n"),
        "{preview}"
    );
    assert_eq!(silt.ok(&["consume", "old"], ""), "a\nb\nc\n");
    let done = silt.ok(&["retention", "run", "--topic", "old"], "");
    assert!(done.contains("log start moved from 0 to 3"), "{done}");
    assert_eq!(silt.ok(&["consume", "old"], ""), "");
    assert_eq!(silt.ok(&["consume", "kept"], ""), "a\n");
    silt.fails(
        &["retention", "run", "--topic", "nope"],
        "",
        "nope does not exist",
    );

    let alter = |ms: &str| silt.ok(&["topic", "alter", "kept", "--retention-ms", ms], "");
    assert_eq!(
        alter("1"),
        "kept: retention_ms=1, retention_bytes=unlimited\n"
    );
    silt.fails(
        &["topic", "alter", "kept", "--retention-ms", "0"],
        "",
        "invalid setting retention_ms = 0",
    );
    std::thread::sleep(std::time::Duration::from_millis(20));
    silt.ok(&["retention", "run"], "");
    assert_eq!(silt.ok(&["consume", "kept"], ""), "");
    assert_eq!(
        alter("-1"),
        "kept: retention_ms=forever, retention_bytes=unlimited\n"
    );
    let described = silt.ok(&["topic", "describe", "old"], "");
    assert!(
        described.contains("; retention_ms=1, retention_bytes=unlimited)"),
        "{described}"
    );
}

#[test]
fn compact_and_gc_runs_merge_and_delete() {
    let silt = Silt::new();
    silt.ok(&["topic", "create", "tiny"], "");
    let lines: Vec<String> = (0..12).map(|i| format!("line {i}\n")).collect();
    for line in &lines {
        silt.ok(&["produce", "tiny"], line);
    }
    let segments = || {
        let dir = silt.dir.path().join("silt-data/topics/tiny/00000/seg");
        std::fs::read_dir(dir).unwrap().count()
    };
    assert_eq!(segments(), 12);
    let preview = silt.ok(&["compact", "run", "--dry-run"], "");
    assert!(preview.contains("would merge 12 segments"), "{preview}");
    let done = silt.ok(&["compact", "run", "--topic", "tiny"], "");
    assert!(
        done.contains("merged 12 segments") && done.contains("into 1,"),
        "{done}"
    );
    assert_eq!(silt.ok(&["consume", "tiny"], ""), lines.concat());
    // The replaced segments wait for the reader grace, unless it is overridden.
    let waiting = silt.ok(&["gc", "run"], "");
    assert!(
        waiting.contains("deleted 0 objects and 0 orphans, 12 waiting"),
        "{waiting}"
    );
    assert_eq!(segments(), 13);
    let swept = silt.ok(&["gc", "run", "--grace-ms", "0"], "");
    assert!(swept.contains("deleted 12 objects"), "{swept}");
    assert_eq!(segments(), 1);
    assert_eq!(silt.ok(&["consume", "tiny"], ""), lines.concat());
}

#[test]
fn key_compaction_keeps_the_newest_value_per_key() {
    let silt = Silt::new();
    silt.ok(
        &[
            "topic",
            "create",
            "kv",
            "--cleanup-policy",
            "compact",
            "--delete-retention-ms",
            "0",
        ],
        "",
    );
    let records = [
        r#"{"key":"a","value":"1"}"#,
        r#"{"key":"b","value":"1"}"#,
        r#"{"key":"a","value":"2"}"#,
        r#"{"key":"b"}"#,
    ];
    silt.ok(
        &["produce", "kv", "--format", "jsonl", "--partition", "0"],
        &(records.join("\n") + "\n"),
    );
    std::thread::sleep(std::time::Duration::from_millis(5));
    let done = silt.ok(&["compact", "run"], "");
    assert!(done.contains("removed 3 records"), "{done}");
    let left = silt.ok(&["consume", "kv", "--format", "jsonl"], "");
    assert!(
        left.contains(r#""offset":2"#) && left.lines().count() == 1,
        "{left}"
    );
    let described = silt.ok(&["topic", "describe", "kv"], "");
    assert!(
        described
            .contains("cleanup_policy=compact, min_compaction_lag_ms=0, delete_retention_ms=0"),
        "{described}"
    );
    silt.fails(
        &["topic", "alter", "kv", "--min-compaction-lag-ms", "-5"],
        "",
        "invalid setting min_compaction_lag_ms = -5",
    );
}

#[test]
fn conditional_and_exclusive_produce() {
    let silt = Silt::new();
    silt.ok(&["topic", "create", "c"], "");
    silt.ok(
        &["produce", "c", "--partition", "0", "--expect-offset", "0"],
        "a\nb\n",
    );
    silt.fails(
        &["produce", "c", "--partition", "0", "--expect-offset", "0"],
        "c\n",
        "expected next offset 0, but it is 2",
    );
    silt.ok(
        &["produce", "c", "--partition", "0", "--expect-offset", "2"],
        "c\n",
    );
    silt.ok(&["produce", "c", "--exclusive"], "d\n");
    silt.ok(&["produce", "c", "--exclusive"], "e\n");
    let described: Value =
        serde_json::from_str(&silt.ok(&["topic", "describe", "c", "--json"], "")).unwrap();
    assert_eq!(
        described["partitions"][0]["epoch"], 2,
        "each exclusive producer claims a new epoch"
    );
    assert_eq!(silt.ok(&["consume", "c"], ""), "a\nb\nc\nd\ne\n");
}

/// Several `silt produce` processes append to one partition at once: every acknowledged line
/// is read back exactly once at its acknowledged offset, and offsets are dense.
#[test]
fn concurrent_producer_processes_share_a_partition() {
    let silt = Silt::new();
    silt.ok(&["topic", "create", "shared"], "");
    let children: Vec<_> = (0..4)
        .map(|p| {
            let mut child = silt
                .command(&[
                    "produce",
                    "shared",
                    "--partition",
                    "0",
                    "--print-acks",
                    "--linger-ms",
                    "1",
                ])
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            let input: String = (0..250).map(|i| format!("proc{p}-{i}\n")).collect();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
            (p, child)
        })
        .collect();
    let mut acked: HashMap<u64, String> = HashMap::new();
    for (p, child) in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            let fields: Vec<&str> = line.split('\t').collect();
            let offset: u64 = fields[2].parse().unwrap();
            assert!(
                acked
                    .insert(offset, format!("proc{p}-{}", fields[0]))
                    .is_none(),
                "offset {offset} acknowledged twice"
            );
        }
    }
    assert_eq!(acked.len(), 1000);
    let consumed = silt.ok(&["consume", "shared", "--format", "jsonl"], "");
    let records: Vec<Value> = consumed
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 1000);
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r["offset"], i as u64, "offsets must be dense");
        assert_eq!(
            r["value"].as_str(),
            acked.get(&(i as u64)).map(String::as_str),
            "offset {i}"
        );
    }
}

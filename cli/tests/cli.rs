//! The `silt` binary as users run it: on a local directory and several processes at once.
//! Bad input is the bad-input suite's (`hostile_cli.rs`).

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

/// `topic create --partitioner kinesis-md5`: `produce --key` places each key on the partition
/// Kinesis (moto, 4 shards) puts it on; describe shows the partitioner; alter refuses another.
#[test]
fn kinesis_md5_topics_place_keys_by_md5_ranges() {
    let silt = Silt::new();
    let created = silt.ok(
        &[
            "topic",
            "create",
            "k",
            "--partitions",
            "4",
            "--partitioner",
            "kinesis-md5",
        ],
        "",
    );
    assert!(created.contains("partitioner kinesis-md5"), "{created}");
    // (key, shard of 4): Python's hashlib.md5 ranges, as moto's Kinesis places them.
    for (key, _) in [("user-42", 1), ("shard-me", 3), ("a", 0), ("héllo", 2)] {
        silt.ok(&["produce", "k", "--key", key], &format!("{key}\n"));
    }
    for (key, partition) in [("user-42", 1), ("shard-me", 3), ("a", 0), ("héllo", 2)] {
        let p = partition.to_string();
        assert_eq!(
            silt.ok(&["consume", "k", "--partition", &p], ""),
            format!("{key}\n")
        );
    }
    let described: Value =
        serde_json::from_str(&silt.ok(&["topic", "describe", "k", "--json"], "")).unwrap();
    assert_eq!(described["partitioner"], "kinesis-md5");
    let text = silt.ok(&["topic", "describe", "k"], "");
    assert!(text.contains("partitioner kinesis-md5"), "{text}");
    silt.fails(
        &["topic", "alter", "k", "--partitioner", "murmur2"],
        "",
        "fixed when the topic is created",
    );
    silt.ok(&["topic", "alter", "k", "--partitioner", "kinesis-md5"], "");
    silt.ok(&["topic", "create", "m"], "");
    let described: Value =
        serde_json::from_str(&silt.ok(&["topic", "describe", "m", "--json"], "")).unwrap();
    assert_eq!(described["partitioner"], "murmur2", "the default");
}

/// `silt group`: a reset creates a group (a dry run changes nothing), describe shows Kafka's
/// columns and lag, bad input is refused with what was wrong, and delete removes it.
#[test]
fn group_commands_reset_describe_and_delete() {
    let silt = Silt::new();
    silt.ok(&["topic", "create", "t", "--partitions", "2"], "");
    silt.ok(&["produce", "t", "--partition", "0"], "a\nb\nc\nd\n");
    let reset = |to: &[&str], execute: bool| {
        let mut args = vec!["group", "reset-offsets", "g", "--topic", "t"];
        args.extend(to);
        if execute {
            args.push("--execute");
        }
        silt.ok(&args, "")
    };
    let plan = reset(&["--to-offset", "1", "--partition", "0"], false);
    assert_eq!(
        plan,
        "GROUP  TOPIC  PARTITION  PREVIOUS-OFFSET  NEW-OFFSET\ng      t      0          -                1\n"
    );
    assert_eq!(silt.ok(&["group", "list"], ""), "");
    reset(&["--to-offset", "1", "--partition", "0"], true);
    reset(&["--to-earliest", "--partition", "1"], true);
    assert_eq!(silt.ok(&["group", "list"], ""), "g\n");
    let table = silt.ok(&["group", "describe", "g"], "");
    let rows: Vec<Vec<&str>> = table
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows[0][..6],
        [
            "GROUP",
            "TOPIC",
            "PARTITION",
            "CURRENT-OFFSET",
            "LOG-END-OFFSET",
            "LAG"
        ]
    );
    assert_eq!(rows[1], ["g", "t", "0", "1", "4", "3", "-", "-", "-"]);
    assert_eq!(rows[2], ["g", "t", "1", "0", "0", "0", "-", "-", "-"]);
    let json: Value =
        serde_json::from_str(&silt.ok(&["group", "describe", "g", "--json"], "")).unwrap();
    assert_eq!(json["state"], "empty");
    assert_eq!(json["partitions"][0]["lag"], 3);

    silt.fails(&["group", "describe", "nope"], "", "unknown group nope");
    silt.fails(&["group", "describe", "bad/name"], "", "group name");
    let beyond = [
        "group",
        "reset-offsets",
        "g",
        "--topic",
        "t",
        "--to-offset",
        "9",
        "--execute",
    ];
    silt.fails(&beyond, "", "out of range");
    silt.ok(&["group", "delete", "g"], "");
    assert_eq!(silt.ok(&["group", "list"], ""), "");
    silt.fails(&["group", "delete", "g"], "", "unknown group g");
}

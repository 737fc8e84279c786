//! The jobs from the command line: trim, retention, compaction (merging and by key) and GC on
//! a local directory, with the records consumers see before and after.

#![allow(clippy::unwrap_used)] // tests fail by panicking

mod common;

use common::Silt;

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
    silt_core::clock::sleep_blocking(std::time::Duration::from_millis(20));
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
    silt_core::clock::sleep_blocking(std::time::Duration::from_millis(20));
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
    silt_core::clock::sleep_blocking(std::time::Duration::from_millis(5));
    // b's tombstone stays while b's older record is there to hide; the next run drops it.
    let done = silt.ok(&["compact", "run"], "");
    assert!(done.contains("removed 2 records"), "{done}");
    let left = silt.ok(&["consume", "kv", "--format", "jsonl"], "");
    assert!(
        left.contains(r#""offset":3"#) && left.lines().count() == 2,
        "{left}"
    );
    let again = silt.ok(&["compact", "run"], "");
    assert!(again.contains("removed 1 records"), "{again}");
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

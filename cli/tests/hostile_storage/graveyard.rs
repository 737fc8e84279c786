//! A graveyard holding 4 096 tombstones (issue 21 item 15): compaction stalled silently
//! ("merged 0 ... 0 partitions left"). It now says how many partitions wait for GC and what
//! to run; after `gc run`, it merges again.

use super::{Cli, manifest_key};

on_every_backend!(a_full_graveyard_says_run_gc_first);

fn a_full_graveyard_says_run_gc_first(cli: &Cli) {
    cli.ok(&["topic", "create", "f"], "");
    for i in 0..4 {
        cli.produce("f", 0, &[&format!("r{i}")]);
    }
    // Tombstones of objects removed long ago (they need not exist: deletes are idempotent).
    let tombstones: Vec<serde_json::Value> = (0..4096u64)
        .map(|i| {
            let id = ulid::Ulid::from_parts(1, u128::from(i));
            serde_json::json!({"id": id.to_string(), "kind": "segment", "removed_at_ms": 0})
        })
        .collect();
    cli.edit_json(&manifest_key("f", 0), |m| {
        m["graveyard"] = tombstones.into()
    });
    let out = cli.run(&["compact", "run"], "");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains("merged 0 segments"), "{stdout}");
    assert!(stdout.contains("1 partitions waiting for GC"), "{stdout}");
    let says = "compaction: 1 partitions wait for GC: each graveyard holds 4096 tombstones, so compaction adds no more there. Run `silt gc run` first";
    assert!(stderr.contains(says), "{stderr}");
    let swept = cli.ok(&["gc", "run", "--grace-ms", "0"], "");
    assert!(swept.contains("deleted 4096 objects"), "{swept}");
    let merged = cli.ok(&["compact", "run"], "");
    assert!(merged.contains("merged 4 segments into 1"), "{merged}");
    assert!(merged.contains("0 partitions waiting for GC"), "{merged}");
    assert_eq!(cli.ok(&["consume", "f"], ""), "r0\nr1\nr2\nr3\n");
}

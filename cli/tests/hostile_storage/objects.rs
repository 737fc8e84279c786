//! Objects a manifest references, deleted (issue 21 item 13): a segment, an index chunk, a
//! Parquet file. `consume` names the object and its kind after serving every record before
//! it; `compact run` reports the partition failed (exit 1), never "skipped as changed
//! meanwhile"; GC deletes nothing else; restored, every record reads back.

use super::{Cli, numbered};

on_every_backend!(
    a_deleted_segment_is_named_by_consume,
    a_deleted_segment_fails_compaction_not_skipped,
    a_deleted_segment_fails_sealing,
    gc_keeps_everything_around_a_deleted_segment,
    a_deleted_index_chunk_is_named,
    a_deleted_parquet_file_is_named,
    restored_objects_read_back,
);

/// Topic `h`: three segments of five records (`a-`, `b-`, `c-`) in partition 0; the middle
/// one deleted. Returns its key and bytes.
fn hole(cli: &Cli) -> (String, bytes::Bytes) {
    cli.ok(&["topic", "create", "h"], "");
    for prefix in ["a", "b", "c"] {
        let lines = numbered(prefix, 5);
        cli.produce(
            "h",
            0,
            &lines.iter().map(String::as_str).collect::<Vec<_>>(),
        );
    }
    let key = cli.segment_keys("h", 0)[1].clone();
    let bytes = cli.delete(&key);
    (key, bytes)
}

fn missing(cli: &Cli, kind: &str, key: &str) -> String {
    format!(
        "{kind} {} is missing, though the partition's manifest references it",
        cli.named(key)
    )
}

fn a_deleted_segment_is_named_by_consume(cli: &Cli) {
    let (key, _) = hole(cli);
    let says = format!("error: {}", missing(cli, "segment", &key));
    let (stdout, _) = cli.fails(&["consume", "h"], "", 1, &says);
    assert_eq!(
        stdout,
        numbered("a", 5).join("\n") + "\n",
        "what precedes the hole"
    );
    cli.fails(&["consume", "h", "--from", "7"], "", 1, &says);
    let from_10 = cli.ok(&["consume", "h", "--from", "10"], "");
    assert_eq!(from_10, numbered("c", 5).join("\n") + "\n");
}

fn a_deleted_segment_fails_compaction_not_skipped(cli: &Cli) {
    let (key, _) = hole(cli);
    let says = format!("failed: h/0: {}", missing(cli, "segment", &key));
    let (stdout, _) = cli.fails(&["compact", "run"], "", 1, &says);
    assert!(
        stdout.contains(" 0 skipped as changed meanwhile"),
        "{stdout}"
    );
    assert!(stdout.contains("merged 0 segments"), "{stdout}");
}

fn a_deleted_segment_fails_sealing(cli: &Cli) {
    let (key, _) = hole(cli);
    cli.ok(&["topic", "alter", "h", "--seal-after-ms", "0"], "");
    let says = format!("failed: h/0: {}", missing(cli, "segment", &key));
    let (stdout, _) = cli.fails(&["compact", "run"], "", 1, &says);
    assert!(stdout.contains("sealed 0 segments"), "{stdout}");
    assert_eq!(cli.list("tables"), Vec::<String>::new());
}

/// GC does not read segments: it runs, and deletes none of the others.
fn gc_keeps_everything_around_a_deleted_segment(cli: &Cli) {
    hole(cli);
    let before = cli.list("topics/h/00000");
    let out = cli.ok(&["gc", "run", "--grace-ms", "0"], "");
    assert!(out.contains("deleted 0 objects and 0 orphans"), "{out}");
    // The sweep leaves its hint for the next run (an object of its own, not data).
    let mut after = cli.list("topics/h/00000");
    after.retain(|key| key != "topics/h/00000/orphans-swept");
    assert_eq!(after, before);
}

fn a_deleted_index_chunk_is_named(cli: &Cli) {
    cli.ok(&["topic", "create", "k"], "");
    cli.commit_one_by_one("k", 300);
    let chunk = cli.manifest("k", 0)["chunks"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let key = format!("topics/k/00000/idx/{chunk}.idx");
    cli.delete(&key);
    let says = missing(cli, "index chunk", &key);
    let (stdout, _) = cli.fails(&["consume", "k"], "", 1, &format!("error: {says}"));
    assert!(stdout.is_empty(), "{stdout}");
    cli.fails(&["compact", "run"], "", 1, &format!("failed: k/0: {says}"));
    // The tail, past the chunk, still reads.
    assert_eq!(cli.ok(&["consume", "k", "--from", "299"], ""), "r299\n");
}

fn a_deleted_parquet_file_is_named(cli: &Cli) {
    cli.ok(&["topic", "create", "p", "--seal-after-ms", "0"], "");
    let lines = numbered("p", 10);
    cli.produce(
        "p",
        0,
        &lines.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    let sealed = cli.ok(&["compact", "run"], "");
    assert!(
        sealed.contains("sealed 1 segments into 1 Parquet files"),
        "{sealed}"
    );
    let files = cli.list("tables");
    assert_eq!(files.len(), 1, "{files:?}");
    let bytes = cli.delete(&files[0]);
    let says = missing(cli, "Parquet file (cold segment)", &files[0]);
    cli.fails(&["consume", "p"], "", 1, &format!("error: {says}"));
    cli.put(&files[0], bytes);
    assert_eq!(cli.ok(&["consume", "p"], ""), lines.join("\n") + "\n");
}

/// The deleted segment put back (from a backup): every record reads, compaction merges.
fn restored_objects_read_back(cli: &Cli) {
    let (key, bytes) = hole(cli);
    cli.fails(&["compact", "run"], "", 1, "is missing");
    cli.put(&key, bytes);
    let all = [numbered("a", 5), numbered("b", 5), numbered("c", 5)].concat();
    assert_eq!(cli.ok(&["consume", "h"], ""), all.join("\n") + "\n");
    let merged = cli.ok(&["compact", "run"], "");
    assert!(merged.contains("merged 3 segments into 1"), "{merged}");
    assert_eq!(cli.ok(&["consume", "h"], ""), all.join("\n") + "\n");
}

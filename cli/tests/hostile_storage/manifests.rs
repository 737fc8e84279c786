//! A partition's manifest deleted (issue 21 item 1): `topic create c --partitions 2; seq 1000
//! | silt produce c; rm <store>/topics/c/00000/manifest`. Every command on partition 0 fails
//! naming the manifest; nothing reads it as an empty partition, reuses its offsets, or deletes
//! its segments; restored, all 1000 records are there. A partition whose manifest a cut-short
//! `topic create` never wrote (nothing in it) is empty, and writable from offset 0.

use super::{Cli, manifest_key, numbered};

on_every_backend!(
    consume_names_a_missing_manifest,
    consume_of_the_other_partition_still_works,
    produce_refuses_a_partition_without_manifest,
    gc_deletes_nothing_without_a_manifest,
    compact_and_retention_fail_without_a_manifest,
    trim_and_describe_name_the_missing_manifest,
    a_restored_manifest_brings_every_record_back,
    a_partition_never_created_is_empty_and_writable,
);

/// The setup: 1000 records over two partitions, then partition 0's manifest deleted.
/// Returns what the error names, and the deleted manifest's bytes.
fn lost(cli: &Cli) -> (String, bytes::Bytes) {
    cli.ok(&["topic", "create", "c", "--partitions", "2"], "");
    let lines: String = (1..=1000).map(|i| format!("{i}\n")).collect();
    cli.ok(&["produce", "c"], &lines);
    let removed = cli.delete(&manifest_key("c", 0));
    // Its own segments (`00000/seg/`) or the mixed objects it shares with partition 1.
    let named = format!(
        "the manifest {} of c/0 is missing, but the partition holds objects, such as {}topics/c/",
        cli.named(&manifest_key("c", 0)),
        cli.prefix()
    );
    (named, removed)
}

fn consume_names_a_missing_manifest(cli: &Cli) {
    let (named, _) = lost(cli);
    let (stdout, stderr) = cli.fails(&["consume", "c"], "", 1, &named);
    assert!(
        stdout.is_empty(),
        "nothing read as an empty partition: {stdout}"
    );
    assert!(stderr.contains("until it is restored"), "{stderr}");
    cli.fails(&["consume", "c", "--partition", "0"], "", 1, &named);
    cli.fails(&["consume", "c", "--from", "latest"], "", 1, &named);
}

fn consume_of_the_other_partition_still_works(cli: &Cli) {
    lost(cli);
    let out = cli.ok(&["consume", "c", "--partition", "1"], "");
    assert_eq!(out.lines().count(), 500);
}

/// `produce --partition 0` must not start the partition again at offset 0: nothing is
/// acknowledged, and no manifest is created.
fn produce_refuses_a_partition_without_manifest(cli: &Cli) {
    let (named, _) = lost(cli);
    let args = ["produce", "c", "--partition", "0", "--print-acks"];
    let (acks, _) = cli.fails(&args, "x\n", 1, &named);
    assert!(acks.is_empty(), "acknowledged: {acks}");
    let keys = cli.list("topics/c/00000");
    assert!(!keys.iter().any(|k| k.ends_with("/manifest")), "{keys:?}");
    // Keyless records round-robin: those for partition 1 are committed, the rest refused.
    let (acks, stderr) = cli.fails(&["produce", "c", "--print-acks"], "a\nb\n", 1, &named);
    assert_eq!(acks.lines().count(), 1, "{acks} {stderr}");
    assert!(acks.contains("\t1\t500"), "{acks}");
}

/// `gc run --grace-ms 0` deleted the original segments as orphans: now it fails the partition
/// and deletes nothing there.
fn gc_deletes_nothing_without_a_manifest(cli: &Cli) {
    let (named, _) = lost(cli);
    let before = data_of_partition_0(cli);
    let (stdout, _) = cli.fails(
        &["gc", "run", "--grace-ms", "0"],
        "",
        1,
        &format!("failed: c/0: {named}"),
    );
    assert!(
        stdout.contains("deleted 0 objects and 0 orphans"),
        "{stdout}"
    );
    assert_eq!(data_of_partition_0(cli), before);
    cli.fails(
        &["gc", "run", "--grace-ms", "0"],
        "",
        1,
        "gc failed on 1 partitions",
    );
    assert_eq!(data_of_partition_0(cli), before);
}

/// The objects that may hold partition 0's records: its own folder's, and the topic's mixed
/// objects.
fn data_of_partition_0(cli: &Cli) -> Vec<String> {
    let mut keys = cli.list("topics/c/00000");
    keys.extend(cli.list("topics/c/mixed"));
    keys
}

fn compact_and_retention_fail_without_a_manifest(cli: &Cli) {
    let (named, _) = lost(cli);
    cli.fails(&["compact", "run"], "", 1, &format!("failed: c/0: {named}"));
    cli.ok(
        &["topic", "alter", "c", "--retention-bytes", "1000000000"],
        "",
    );
    cli.fails(
        &["retention", "run"],
        "",
        1,
        &format!("failed: c/0: {named}"),
    );
}

fn trim_and_describe_name_the_missing_manifest(cli: &Cli) {
    let (named, _) = lost(cli);
    let trim = ["topic", "trim", "c", "--partition", "0", "--before", "10"];
    cli.fails(&trim, "", 1, &named);
    cli.fails(&["topic", "describe", "c"], "", 1, &named);
    let listed = cli.ok(&["topic", "list"], "");
    assert_eq!(listed, "c\n");
}

/// Put back (from a backup), the manifest serves all 1000 records, and a new record gets
/// the next offset (500), not one already given.
fn a_restored_manifest_brings_every_record_back(cli: &Cli) {
    let (named, removed) = lost(cli);
    cli.fails(&["gc", "run", "--grace-ms", "0"], "", 1, &named);
    cli.put(&manifest_key("c", 0), removed);
    let mut read: Vec<u32> = cli
        .ok(&["consume", "c"], "")
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    read.sort_unstable();
    assert_eq!(read, (1..=1000).collect::<Vec<_>>());
    let acks = cli.ok(&["produce", "c", "--partition", "0", "--print-acks"], "y\n");
    assert_eq!(acks, "0\t0\t500\n");
    cli.ok(&["gc", "run", "--grace-ms", "0"], "");
    assert_eq!(cli.ok(&["consume", "c"], "").lines().count(), 1001);
}

/// A topic whose creation stopped before partition 1's manifest was written: no objects
/// there, so it is an empty partition (not damage), and the first write creates it.
fn a_partition_never_created_is_empty_and_writable(cli: &Cli) {
    cli.ok(&["topic", "create", "d", "--partitions", "2"], "");
    cli.delete(&manifest_key("d", 1));
    assert_eq!(cli.ok(&["consume", "d", "--partition", "1"], ""), "");
    cli.ok(&["gc", "run", "--grace-ms", "0"], "");
    cli.ok(&["compact", "run"], "");
    let lines = numbered("d", 3).join("\n") + "\n";
    let acks = cli.ok(
        &["produce", "d", "--partition", "1", "--print-acks"],
        &lines,
    );
    assert_eq!(acks, "0\t1\t0\n1\t1\t1\n2\t1\t2\n");
    assert_eq!(cli.ok(&["consume", "d"], ""), lines);
}

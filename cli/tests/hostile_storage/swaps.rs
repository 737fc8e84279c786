//! Entries that lead to the wrong segment (issue 21 item 3): ids swapped in a manifest or an
//! index chunk (still valid JSON), a segment overwritten with another one of the same
//! partition, of another partition, of another topic. Each segment is checked against its
//! entry: `consume` refuses it naming the object and the field that differs, and never prints
//! a record at a wrong offset; `compact run` (merging or sealing) fails the partition and
//! commits nothing.

use super::{Cli, manifest_key, numbered};

on_every_backend!(
    swapped_ids_in_a_manifest_are_refused_by_consume,
    swapped_ids_make_compaction_fail_and_write_nothing,
    swapped_ids_make_sealing_fail_and_write_no_parquet,
    swapped_back_every_record_reads_in_order,
    swapped_ids_in_an_index_chunk_are_refused,
    a_segment_overwritten_by_its_neighbour_is_refused,
    a_segment_of_another_partition_is_refused,
    a_segment_of_another_topic_is_refused,
);

/// Topic `s`: three segments of five records (`a-`, `b-`, `c-`) in partition 0, one per
/// produce run (so their timestamps differ); returns their keys.
fn three_segments(cli: &Cli) -> Vec<String> {
    cli.ok(&["topic", "create", "s", "--partitions", "2"], "");
    for prefix in ["a", "b", "c"] {
        let lines = numbered(prefix, 5);
        cli.produce(
            "s",
            0,
            &lines.iter().map(String::as_str).collect::<Vec<_>>(),
        );
    }
    let keys = cli.segment_keys("s", 0);
    assert_eq!(keys.len(), 3, "{keys:?}");
    keys
}

fn swap_first_two(cli: &Cli) {
    cli.edit_json(&manifest_key("s", 0), |m| {
        let segments = &mut m["segments"];
        let a = segments[0]["id"].take();
        let b = std::mem::replace(&mut segments[1]["id"], a);
        segments[0]["id"] = b;
    });
}

/// The error about the segment at `key`, read through a wrong entry.
fn refused(cli: &Cli, key: &str) -> String {
    format!("error: corrupt segment at {}: its ", cli.named(key))
}

fn swapped_ids_in_a_manifest_are_refused_by_consume(cli: &Cli) {
    let keys = three_segments(cli);
    swap_first_two(cli);
    // Offset 0's entry now names b's segment, offset 5's a's: neither is served.
    let (stdout, stderr) = cli.fails(&["consume", "s"], "", 1, &refused(cli, &keys[1]));
    assert!(stdout.is_empty(), "served at wrong offsets: {stdout}");
    assert!(stderr.contains("but its manifest entry says"), "{stderr}");
    let from_5 = ["consume", "s", "--partition", "0", "--from", "5"];
    let (stdout, _) = cli.fails(&from_5, "", 1, &refused(cli, &keys[0]));
    assert!(stdout.is_empty(), "{stdout}");
    let from_10 = ["consume", "s", "--partition", "0", "--from", "10"];
    assert_eq!(cli.ok(&from_10, ""), numbered("c", 5).join("\n") + "\n");
}

fn swapped_ids_make_compaction_fail_and_write_nothing(cli: &Cli) {
    let keys = three_segments(cli);
    swap_first_two(cli);
    let manifest = cli.get(&manifest_key("s", 0));
    let (stdout, _) = cli.fails(
        &["compact", "run"],
        "",
        1,
        "failed: s/0: corrupt segment at ",
    );
    assert!(stdout.contains("merged 0 segments into 0"), "{stdout}");
    assert_eq!(
        cli.get(&manifest_key("s", 0)),
        manifest,
        "nothing committed"
    );
    let mut left = cli.list("topics/s/00000/seg");
    left.sort();
    let mut expected = keys.clone();
    expected.sort();
    assert_eq!(left, expected, "no merged segment left behind");
    cli.fails(&["compact", "run"], "", 1, &refused(cli, &keys[1])[7..]);
}

fn swapped_ids_make_sealing_fail_and_write_no_parquet(cli: &Cli) {
    let keys = three_segments(cli);
    swap_first_two(cli);
    cli.ok(&["topic", "alter", "s", "--seal-after-ms", "0"], "");
    let manifest = cli.get(&manifest_key("s", 0));
    let (stdout, _) = cli.fails(&["compact", "run"], "", 1, &refused(cli, &keys[1])[7..]);
    assert!(
        stdout.contains("sealed 0 segments into 0 Parquet files"),
        "{stdout}"
    );
    assert_eq!(cli.get(&manifest_key("s", 0)), manifest);
    assert_eq!(cli.list("tables"), Vec::<String>::new());
}

/// The damage repaired, the log is whole and compaction proceeds.
fn swapped_back_every_record_reads_in_order(cli: &Cli) {
    three_segments(cli);
    swap_first_two(cli);
    cli.fails(&["consume", "s"], "", 1, "corrupt segment at");
    swap_first_two(cli);
    let all = [numbered("a", 5), numbered("b", 5), numbered("c", 5)].concat();
    assert_eq!(cli.ok(&["consume", "s"], ""), all.join("\n") + "\n");
    let merged = cli.ok(&["compact", "run"], "");
    assert!(merged.contains("merged 3 segments into 1"), "{merged}");
    assert_eq!(cli.ok(&["consume", "s"], ""), all.join("\n") + "\n");
}

/// 300 one-record commits, so the oldest 192 entries sit in an index chunk; two of its
/// entries' ids swapped.
fn swapped_ids_in_an_index_chunk_are_refused(cli: &Cli) {
    cli.ok(&["topic", "create", "k"], "");
    cli.commit_one_by_one("k", 300);
    let chunk = cli.manifest("k", 0)["chunks"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let key = format!("topics/k/00000/idx/{chunk}.idx");
    let mut second = String::new();
    cli.edit_json(&key, |c| {
        let entries = &mut c["entries"];
        second = entries[1]["id"].as_str().unwrap().to_string();
        let a = entries[0]["id"].take();
        let b = std::mem::replace(&mut entries[1]["id"], a);
        entries[0]["id"] = b;
    });
    let seg = format!("topics/k/00000/seg/{second}.seg");
    let says = format!(
        "{}oldest timestamp is 1, but its manifest entry says 0",
        refused(cli, &seg)
    );
    let (stdout, _) = cli.fails(&["consume", "k"], "", 1, &says);
    assert!(stdout.is_empty(), "{stdout}");
    cli.fails(&["compact", "run"], "", 1, &says[7..]);
    let from_2 = cli.ok(&["consume", "k", "--from", "2", "--max", "2"], "");
    assert_eq!(from_2, "r002\nr003\n");
}

/// The first segment's object overwritten with the second's bytes (a copy gone wrong).
fn a_segment_overwritten_by_its_neighbour_is_refused(cli: &Cli) {
    let keys = three_segments(cli);
    cli.put(&keys[0], cli.get(&keys[1]));
    let (stdout, stderr) = cli.fails(&["consume", "s"], "", 1, &refused(cli, &keys[0]));
    assert!(stdout.is_empty(), "{stdout}");
    assert!(stderr.contains("timestamp is"), "{stderr}");
    cli.fails(
        &["compact", "run"],
        "",
        1,
        "failed: s/0: corrupt segment at",
    );
}

/// Partition 1's segment copied over partition 0's.
fn a_segment_of_another_partition_is_refused(cli: &Cli) {
    let keys = three_segments(cli);
    cli.produce("s", 1, &["other"]);
    let other = cli.segment_keys("s", 1)[0].clone();
    cli.put(&keys[2], cli.get(&other));
    let from_10 = ["consume", "s", "--partition", "0", "--from", "10"];
    let says = format!(
        "{}partition is 1, but its manifest entry says 0",
        refused(cli, &keys[2])
    );
    cli.fails(&from_10, "", 1, &says);
}

/// A segment of topic `t` (another topic id) copied over one of `s`.
fn a_segment_of_another_topic_is_refused(cli: &Cli) {
    let keys = three_segments(cli);
    cli.topic_with("t", 1, &["foreign"]);
    let foreign = cli.segment_keys("t", 0)[0].clone();
    cli.put(&keys[2], cli.get(&foreign));
    let from_10 = ["consume", "s", "--partition", "0", "--from", "10"];
    cli.fails(
        &from_10,
        "",
        1,
        &format!("{}topic id is", refused(cli, &keys[2])),
    );
}

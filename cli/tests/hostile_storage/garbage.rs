//! Objects overwritten with something else: truncated, garbage, empty, one bit flipped, from a
//! newer silt, another partition's. Each is a corrupt object named by its key (a newer
//! format asks for an upgrade), whichever command meets it; GC deletes nothing beside it. A
//! file silt did not write, left in a segment folder, is left alone.

use super::{Cli, manifest_key};

on_every_backend!(
    a_truncated_manifest_is_corrupt_everywhere,
    a_garbage_manifest_is_corrupt,
    an_empty_manifest_is_corrupt,
    a_manifest_from_the_future_asks_for_an_upgrade,
    a_manifest_of_another_partition_is_corrupt,
    a_truncated_segment_is_corrupt,
    a_garbage_segment_of_the_same_size_is_corrupt,
    a_bit_flip_in_a_segment_is_corrupt,
    a_truncated_topic_json_is_corrupt_everywhere,
    a_garbage_index_chunk_is_corrupt,
    a_foreign_file_in_a_segment_folder_is_left_alone,
    an_oversized_manifest_is_refused_before_it_is_read,
    an_entry_claiming_an_oversized_segment_is_refused,
);

/// Topic `g`: one segment of three records in partition 0; returns its key.
fn one_segment(cli: &Cli) -> String {
    cli.topic_with("g", 1, &["x", "y", "z"]);
    cli.segment_keys("g", 0)[0].clone()
}

fn corrupt(cli: &Cli, what: &str, key: &str) -> String {
    format!("corrupt {what} at {}: ", cli.named(key))
}

fn a_truncated_manifest_is_corrupt_everywhere(cli: &Cli) {
    let segment = one_segment(cli);
    let key = manifest_key("g", 0);
    let bytes = cli.get(&key);
    cli.put(&key, bytes.slice(..bytes.len() / 2));
    let says = corrupt(cli, "manifest", &key);
    cli.fails(&["consume", "g"], "", 1, &format!("error: {says}"));
    let (acks, _) = cli.fails(&["produce", "g", "--print-acks"], "w\n", 1, &says);
    assert!(acks.is_empty(), "{acks}");
    cli.fails(&["topic", "describe", "g"], "", 1, &says);
    cli.fails(&["compact", "run"], "", 1, &format!("failed: g/0: {says}"));
    cli.fails(
        &["gc", "run", "--grace-ms", "0"],
        "",
        1,
        &format!("failed: g/0: {says}"),
    );
    assert_eq!(cli.list("topics/g/00000/seg"), [segment]);
    cli.put(&key, bytes);
    assert_eq!(cli.ok(&["consume", "g"], ""), "x\ny\nz\n");
}

fn a_garbage_manifest_is_corrupt(cli: &Cli) {
    one_segment(cli);
    let key = manifest_key("g", 0);
    cli.put(&key, &b"\x00\x01 not a manifest"[..]);
    cli.fails(&["consume", "g"], "", 1, &corrupt(cli, "manifest", &key));
}

fn an_empty_manifest_is_corrupt(cli: &Cli) {
    one_segment(cli);
    let key = manifest_key("g", 0);
    cli.put(&key, &b""[..]);
    cli.fails(&["consume", "g"], "", 1, &corrupt(cli, "manifest", &key));
    cli.fails(&["produce", "g"], "w\n", 1, &corrupt(cli, "manifest", &key));
}

fn a_manifest_from_the_future_asks_for_an_upgrade(cli: &Cli) {
    one_segment(cli);
    let key = manifest_key("g", 0);
    cli.edit_json(&key, |m| m["format_version"] = 99.into());
    let says = format!(
        "manifest at {} has format version 99; this silt reads up to {}: upgrade silt",
        cli.named(&key),
        silt_core::manifest::codec::NEWEST_FORMAT_VERSION
    );
    cli.fails(&["consume", "g"], "", 1, &says);
    cli.fails(&["produce", "g"], "w\n", 1, &says);
}

/// Partition 1's manifest copied over partition 0's: its entries are not partition 0's.
fn a_manifest_of_another_partition_is_corrupt(cli: &Cli) {
    cli.topic_with("g", 2, &["x"]);
    cli.produce("g", 1, &["y"]);
    cli.put(&manifest_key("g", 0), cli.get(&manifest_key("g", 1)));
    let says = format!(
        "{}it is the manifest of partition 1",
        corrupt(cli, "manifest", &manifest_key("g", 0))
    );
    cli.fails(&["consume", "g", "--partition", "0"], "", 1, &says);
    cli.fails(&["produce", "g", "--partition", "0"], "w\n", 1, &says);
    assert_eq!(cli.ok(&["consume", "g", "--partition", "1"], ""), "y\n");
}

fn a_truncated_segment_is_corrupt(cli: &Cli) {
    let key = one_segment(cli);
    let bytes = cli.get(&key);
    cli.put(&key, bytes.slice(..bytes.len() - 10));
    let says = corrupt(cli, "segment", &key);
    let (stdout, _) = cli.fails(&["consume", "g"], "", 1, &says);
    assert!(stdout.is_empty(), "{stdout}");
    cli.produce("g", 0, &["w"]);
    cli.fails(&["compact", "run"], "", 1, &format!("failed: g/0: {says}"));
}

fn a_garbage_segment_of_the_same_size_is_corrupt(cli: &Cli) {
    let key = one_segment(cli);
    let len = cli.get(&key).len();
    cli.put(&key, vec![b'#'; len]);
    let (stdout, _) = cli.fails(&["consume", "g"], "", 1, &corrupt(cli, "segment", &key));
    assert!(stdout.is_empty(), "{stdout}");
}

fn a_bit_flip_in_a_segment_is_corrupt(cli: &Cli) {
    let key = one_segment(cli);
    let mut bytes = cli.get(&key).to_vec();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x10;
    cli.put(&key, bytes);
    let says = format!("{}checksum mismatch", corrupt(cli, "segment", &key));
    let (stdout, _) = cli.fails(&["consume", "g"], "", 1, &says);
    assert!(stdout.is_empty(), "{stdout}");
}

fn a_truncated_topic_json_is_corrupt_everywhere(cli: &Cli) {
    one_segment(cli);
    let key = "topics/g/topic.json";
    let bytes = cli.get(key);
    cli.put(key, bytes.slice(..bytes.len() / 2));
    let says = corrupt(cli, "topic config", key);
    cli.fails(&["consume", "g"], "", 1, &says);
    cli.fails(&["produce", "g"], "w\n", 1, &says);
    cli.fails(&["topic", "describe", "g"], "", 1, &says);
    cli.fails(&["gc", "run", "--grace-ms", "0"], "", 1, &says);
    cli.put(key, &b"[1, 2, 3]"[..]);
    cli.fails(&["consume", "g"], "", 1, &says);
    cli.put(key, bytes);
    assert_eq!(cli.ok(&["consume", "g"], ""), "x\ny\nz\n");
}

fn a_garbage_index_chunk_is_corrupt(cli: &Cli) {
    cli.ok(&["topic", "create", "k"], "");
    cli.commit_one_by_one("k", 300);
    let chunk = cli.manifest("k", 0)["chunks"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let key = format!("topics/k/00000/idx/{chunk}.idx");
    cli.put(&key, &b"{\"format_version\": 1, \"entries\": 7}"[..]);
    let says = corrupt(cli, "index chunk", &key);
    cli.fails(&["consume", "k"], "", 1, &says);
    cli.fails(&["compact", "run"], "", 1, &format!("failed: k/0: {says}"));
}

/// A file silt did not write (no object id in its name), next to the segments.
fn a_foreign_file_in_a_segment_folder_is_left_alone(cli: &Cli) {
    let segment = one_segment(cli);
    let notes = "topics/g/00000/seg/notes.txt";
    cli.put(notes, &b"hello"[..]);
    assert_eq!(cli.ok(&["consume", "g"], ""), "x\ny\nz\n");
    cli.ok(&["gc", "run", "--grace-ms", "0"], "");
    cli.ok(&["compact", "run"], "");
    let mut expected = vec![notes.to_string(), segment];
    expected.sort();
    assert_eq!(cli.list("topics/g/00000/seg"), expected);
}

/// A manifest of more than 16 MiB is not one silt wrote: refused by its size, never loaded.
fn an_oversized_manifest_is_refused_before_it_is_read(cli: &Cli) {
    one_segment(cli);
    let key = manifest_key("g", 0);
    let mut padded = cli.get(&key).to_vec();
    padded.resize(16 * 1024 * 1024 + 1, b' ');
    cli.put(&key, padded);
    let says = corrupt(cli, "manifest", &key);
    let (_, stderr) = cli.fails(&["consume", "g"], "", 1, &says);
    assert!(
        stderr.contains("more than the 16777216 a manifest may hold"),
        "{stderr}"
    );
}

/// An entry whose size is over the segment limit (512 MiB) is damage: the reader names the
/// segment instead of fetching gigabytes.
fn an_entry_claiming_an_oversized_segment_is_refused(cli: &Cli) {
    let segment = one_segment(cli);
    cli.edit_json(&manifest_key("g", 0), |m| {
        m["segments"][0]["bytes"] = serde_json::json!(1u64 << 40);
    });
    let says = corrupt(cli, "segment", &segment);
    let (_, stderr) = cli.fails(&["consume", "g"], "", 1, &says);
    assert!(stderr.contains("over the limit of 536870912"), "{stderr}");
}

//! Arguments out of range or malformed: partitions, offsets, `--from`, topic names, records.

use super::Cli;

on_every_backend!(
    from_a_negative_timestamp_is_refused,
    from_garbage_or_a_negative_offset_is_refused,
    partitions_minus_one_names_the_range,
    partitions_out_of_range_name_the_range,
    a_negative_partition_names_the_range,
    a_partition_the_topic_lacks_is_refused,
    invalid_topic_names_are_refused,
    a_taken_topic_name_is_refused,
    a_missing_topic_is_named,
    reading_below_the_log_start_or_past_the_end_is_out_of_range,
    jsonl_that_is_not_json_is_refused_by_line,
    a_record_over_the_limit_is_refused,
);

fn from_a_negative_timestamp_is_refused(cli: &Cli) {
    cli.topic_with("t", &["a", "b"]);
    for from in ["@-1", "@-2"] {
        cli.fails(
            &["consume", "t", "--from", from],
            "",
            2,
            "expected @TIMESTAMP_MS, milliseconds since the Unix epoch from 0 to 253402300799999",
        );
    }
    cli.fails(
        &["consume", "t", "--from", "@253402300800000"],
        "",
        2,
        "from 0 to 253402300799999",
    );
    assert_eq!(cli.ok(&["consume", "t", "--from", "@0"], ""), "a\nb\n");
}

fn from_garbage_or_a_negative_offset_is_refused(cli: &Cli) {
    cli.topic_with("t", &["a"]);
    for from in ["yesterday", "-1", "1.5", ""] {
        cli.fails(
            &["consume", "t", "--from", from],
            "",
            2,
            "expected earliest, latest, an offset, or @TIMESTAMP_MS",
        );
    }
    assert_eq!(cli.consumed("t"), "a\n");
}

fn partitions_minus_one_names_the_range(cli: &Cli) {
    for args in [
        &["topic", "create", "t", "--partitions", "-1"][..],
        &["topic", "create", "t", "--partitions=-1"],
    ] {
        cli.fails(args, "", 2, "-1 is not in 1..=10000");
    }
    cli.ok(&["topic", "create", "t", "--partitions", "3"], "");
}

fn partitions_out_of_range_name_the_range(cli: &Cli) {
    for n in ["0", "10001", "4294967296", "99999999999999999999"] {
        let args = ["topic", "create", "t", "--partitions", n];
        let out = cli.run(&args, "");
        assert_eq!(out.status.code(), Some(2), "{n}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("1..=10000") || stderr.contains("number too large"),
            "{n}: {stderr}"
        );
    }
    cli.fails(
        &["topic", "create", "t", "--partitions", "two"],
        "",
        2,
        "invalid digit",
    );
}

fn a_negative_partition_names_the_range(cli: &Cli) {
    cli.topic_with("t", &["a"]);
    for args in [
        &["consume", "t", "--partition", "-1"][..],
        &["produce", "t", "--partition", "-1"],
        &["topic", "trim", "t", "--partition", "-1", "--before", "0"],
    ] {
        cli.fails(args, "x\n", 2, "-1 is not in 0..=9999");
    }
    assert_eq!(cli.consumed("t"), "a\n");
}

fn a_partition_the_topic_lacks_is_refused(cli: &Cli) {
    cli.ok(&["topic", "create", "t", "--partitions", "2"], "");
    cli.fails(
        &["produce", "t", "--partition", "7"],
        "x\n",
        1,
        "partition 7 does not exist: topic t has partitions 0..2",
    );
    cli.fails(
        &["consume", "t", "--partition", "2"],
        "",
        1,
        "partition 2 does not exist",
    );
    assert_eq!(cli.consumed("t"), "");
}

fn invalid_topic_names_are_refused(cli: &Cli) {
    for name in ["bad name", "..", "a/b", &"x".repeat(250)] {
        cli.fails(&["topic", "create", name], "", 1, "invalid topic name");
    }
    cli.fails(&["consume", "bad name"], "", 1, "invalid topic name");
}

fn a_taken_topic_name_is_refused(cli: &Cli) {
    cli.topic_with("t", &["a"]);
    cli.fails(&["topic", "create", "t"], "", 1, "topic t already exists");
    assert_eq!(cli.consumed("t"), "a\n");
}

fn a_missing_topic_is_named(cli: &Cli) {
    cli.ok(&["topic", "create", "t"], "");
    cli.fails(
        &["produce", "missing"],
        "x\n",
        1,
        "topic missing does not exist",
    );
    cli.fails(
        &["consume", "missing"],
        "",
        1,
        "topic missing does not exist",
    );
    cli.fails(
        &["topic", "describe", "missing"],
        "",
        1,
        "topic missing does not exist",
    );
}

fn reading_below_the_log_start_or_past_the_end_is_out_of_range(cli: &Cli) {
    cli.topic_with("t", &["a", "b"]);
    cli.fails(
        &["consume", "t", "--partition", "0", "--from", "99"],
        "",
        1,
        "out of range",
    );
    cli.ok(
        &["topic", "trim", "t", "--partition", "0", "--before", "1"],
        "",
    );
    cli.fails(
        &["consume", "t", "--partition", "0", "--from", "0"],
        "",
        1,
        "out of range",
    );
    cli.fails(
        &["topic", "trim", "t", "--partition", "0", "--before", "3"],
        "",
        1,
        "its next offset is 2",
    );
    assert_eq!(cli.consumed("t"), "b\n");
}

fn jsonl_that_is_not_json_is_refused_by_line(cli: &Cli) {
    cli.ok(&["topic", "create", "t"], "");
    cli.fails(
        &["produce", "t", "--format", "jsonl"],
        "{\"value\":\"ok\"}\nnot json\n",
        1,
        "line 2: not JSON",
    );
}

fn a_record_over_the_limit_is_refused(cli: &Cli) {
    cli.topic_with("t", &["ok"]);
    let huge = "x".repeat(1024 * 1024 + 1) + "\n";
    cli.fails(
        &["produce", "t", "--partition", "0"],
        &huge,
        1,
        "too large: the limit is 1048576 bytes",
    );
    assert_eq!(cli.consumed("t"), "ok\n");
}

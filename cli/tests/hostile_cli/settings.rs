//! Topic settings and record timestamps out of range: refused naming the field and the
//! values allowed; what was there before stays.

use super::Cli;

on_every_backend!(
    create_refuses_retention_ms_below_minus_one,
    create_refuses_retention_bytes_below_minus_one,
    create_refuses_seal_after_ms_below_minus_one,
    create_takes_minus_one_as_no_limit,
    alter_refuses_negative_settings_and_keeps_the_old_ones,
    alter_takes_minus_one_as_no_limit,
    timestamps_before_year_0000_are_refused_at_produce,
    timestamps_after_year_9999_are_refused_at_produce,
    timestamps_at_the_bounds_are_kept,
);

fn create_refuses_retention_ms_below_minus_one(cli: &Cli) {
    cli.fails(
        &["topic", "create", "t", "--retention-ms=-2"],
        "",
        1,
        "invalid setting retention_ms = -2: -1 (keep forever) or at least 1",
    );
    cli.fails(
        &["topic", "create", "t", "--retention-ms", "0"],
        "",
        1,
        "retention_ms = 0: -1 (keep forever) or at least 1",
    );
    assert_eq!(cli.ok(&["topic", "create", "t"], "").lines().count(), 1);
}

fn create_refuses_retention_bytes_below_minus_one(cli: &Cli) {
    cli.fails(
        &["topic", "create", "t", "--retention-bytes=-5"],
        "",
        1,
        "invalid setting retention_bytes = -5: -1 (no size limit) or at least 1",
    );
    cli.fails(
        &["topic", "create", "t", "--retention-bytes", "-5"],
        "",
        1,
        "retention_bytes = -5",
    );
    cli.ok(&["topic", "create", "t"], "");
}

fn create_refuses_seal_after_ms_below_minus_one(cli: &Cli) {
    cli.fails(
        &["topic", "create", "t", "--seal-after-ms=-7"],
        "",
        1,
        "invalid setting seal_after_ms = -7: -1 (never seal) or at least 0",
    );
    cli.ok(&["topic", "create", "t", "--seal-after-ms", "0"], "");
}

fn create_takes_minus_one_as_no_limit(cli: &Cli) {
    cli.ok(
        &[
            "topic",
            "create",
            "t",
            "--retention-ms=-1",
            "--retention-bytes=-1",
            "--seal-after-ms=-1",
        ],
        "",
    );
    let described = cli.ok(&["topic", "describe", "t"], "");
    assert!(
        described.contains("retention_ms=forever, retention_bytes=unlimited)"),
        "{described}"
    );
}

fn alter_refuses_negative_settings_and_keeps_the_old_ones(cli: &Cli) {
    cli.ok(
        &[
            "topic",
            "create",
            "t",
            "--retention-ms",
            "5000",
            "--retention-bytes",
            "7000",
            "--seal-after-ms",
            "9000",
        ],
        "",
    );
    let cases = [
        ("--retention-ms=-2", "retention_ms = -2: -1 (keep forever)"),
        (
            "--retention-bytes=-5",
            "retention_bytes = -5: -1 (no size limit)",
        ),
        ("--seal-after-ms=-7", "seal_after_ms = -7: -1 (never seal)"),
    ];
    for (arg, message) in cases {
        cli.fails(&["topic", "alter", "t", arg], "", 1, message);
    }
    let described = cli.ok(&["topic", "describe", "t"], "");
    assert!(
        described.contains("retention_ms=5000, retention_bytes=7000, seal_after_ms=9000"),
        "{described}"
    );
}

fn alter_takes_minus_one_as_no_limit(cli: &Cli) {
    cli.ok(&["topic", "create", "t", "--retention-ms", "5000"], "");
    let out = cli.ok(
        &[
            "topic",
            "alter",
            "t",
            "--retention-ms",
            "-1",
            "--seal-after-ms",
            "-1",
        ],
        "",
    );
    assert_eq!(out, "t: retention_ms=forever, retention_bytes=unlimited\n");
}

/// Produces `kept` then a record at `timestamp_ms`, which must be refused naming the range;
/// `kept` stays readable.
fn refused_timestamp(cli: &Cli, timestamp_ms: i64) {
    cli.topic_with("t", &["kept"]);
    let line = format!("{{\"value\":\"far\",\"timestamp\":{timestamp_ms}}}\n");
    cli.fails(
        &["produce", "t", "--format", "jsonl"],
        &line,
        1,
        &format!(
            "record timestamp {timestamp_ms} ms is out of range: it must be between -62167219200000 (0000-01-01T00:00:00Z) and 253402300799999 (9999-12-31T23:59:59.999Z)"
        ),
    );
    assert_eq!(cli.consumed("t"), "kept\n");
}

fn timestamps_before_year_0000_are_refused_at_produce(cli: &Cli) {
    refused_timestamp(cli, -62_167_219_200_001);
}

fn timestamps_after_year_9999_are_refused_at_produce(cli: &Cli) {
    refused_timestamp(cli, 253_402_300_800_000);
}

fn timestamps_at_the_bounds_are_kept(cli: &Cli) {
    cli.ok(&["topic", "create", "t"], "");
    let input = concat!(
        "{\"value\":\"first\",\"timestamp\":-62167219200000}\n",
        "{\"value\":\"last\",\"timestamp\":253402300799999}\n",
    );
    cli.ok(&["produce", "t", "--format", "jsonl"], input);
    let out = cli.ok(&["consume", "t", "--format", "jsonl"], "");
    assert!(out.contains("\"timestamp\":-62167219200000"), "{out}");
    assert!(out.contains("\"timestamp\":253402300799999"), "{out}");
}

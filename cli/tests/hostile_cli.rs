//! The bad-input suite at the command line: the real `silt` binary given hostile arguments,
//! stores and pipes. Each case asserts the exact exit status (2 for arguments clap refuses, 1
//! for a refused command, 0 for a closed stdout), a message naming what was wrong and the
//! limit, and that nothing acknowledged was lost. Cases that make sense on any store run on
//! `file://` and on SeaweedFS (`SILT_TEST_SEAWEEDFS`); the rest (permissions, URLs) once.

#![allow(clippy::unwrap_used)] // tests fail by panicking

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};

use common::Silt;

/// The silt binary on one backend, in a fresh temporary directory.
struct Cli {
    silt: Silt,
    store: String,
    env: Vec<(&'static str, String)>,
}

impl Cli {
    fn file() -> Cli {
        Cli {
            silt: Silt::new(),
            store: "file://./silt-data".into(),
            env: Vec::new(),
        }
    }

    /// A fresh prefix of the SeaweedFS test bucket, or `None` after saying the case is skipped.
    fn seaweedfs() -> Option<Cli> {
        let Ok(endpoint) = std::env::var("SILT_TEST_SEAWEEDFS") else {
            let _ = writeln!(
                std::io::stderr(),
                "skipped on seaweedfs: SILT_TEST_SEAWEEDFS not set (./scripts/test starts it)"
            );
            return None;
        };
        Some(Cli {
            silt: Silt::new(),
            store: format!("s3://silt-test/hostile-{}", ulid::Ulid::new()),
            env: vec![
                ("AWS_ENDPOINT_URL", endpoint),
                ("AWS_ALLOW_HTTP", "true".into()),
                ("AWS_ACCESS_KEY_ID", "silt-test".into()),
                ("AWS_SECRET_ACCESS_KEY", "silt-test".into()),
                ("AWS_REGION", "us-east-1".into()),
            ],
        })
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = self.silt.command(args);
        c.env("SILT_STORE", &self.store);
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A command may exit before reading its input (a refused argument): ignore EPIPE.
        let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
        child.wait_with_output().unwrap()
    }

    fn ok(&self, args: &[&str], stdin: &str) -> String {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "silt {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Runs a command that must exit with `code`, print nothing on stdout, and say `message`
    /// on stderr; returns stderr.
    fn fails(&self, args: &[&str], stdin: &str, code: i32, message: &str) -> String {
        let out = self.run(args, stdin);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(code), "silt {args:?}: {stderr}");
        assert!(
            stderr.contains(message),
            "silt {args:?}: expected {message:?} in {stderr}"
        );
        assert!(!stderr.contains("panicked"), "silt {args:?}: {stderr}");
        stderr
    }

    /// Runs a command whose stdout is a pipe nobody reads (as `| head -0` leaves it).
    fn closed_stdout(&self, args: &[&str]) -> Output {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        self.command(args)
            .stdin(Stdio::null())
            .stdout(writer)
            .stderr(Stdio::piped())
            .output()
            .unwrap()
    }

    fn topic_with(&self, name: &str, values: &[&str]) {
        self.ok(&["topic", "create", name], "");
        let lines: String = values.iter().map(|v| format!("{v}\n")).collect();
        if !lines.is_empty() {
            self.ok(&["produce", name, "--partition", "0"], &lines);
        }
    }

    /// What the store's keys start with: nothing for a directory, the prefix on S3.
    fn prefix(&self) -> String {
        match self.store.strip_prefix("s3://") {
            Some(rest) => format!("{}/", rest.split_once('/').unwrap().1),
            None => String::new(),
        }
    }

    fn consumed(&self, topic: &str) -> String {
        self.ok(&["consume", topic], "")
    }

    /// Deletes one object of the store, as an operator's mistake would.
    fn delete(&self, key: &str) {
        if self.env.is_empty() {
            let path = self.silt.dir.path().join("silt-data").join(key);
            std::fs::remove_file(&path).unwrap();
            return;
        }
        use object_store::ObjectStoreExt;
        let (bucket, prefix) = self
            .store
            .strip_prefix("s3://")
            .unwrap()
            .split_once('/')
            .unwrap();
        let mut builder = object_store::aws::AmazonS3Builder::new().with_bucket_name(bucket);
        for (k, v) in &self.env {
            if let Ok(key) = k.to_ascii_lowercase().parse() {
                builder = builder.with_config(key, v);
            }
        }
        let store = builder.build().unwrap();
        let path = object_store::path::Path::from(format!("{prefix}/{key}"));
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(store.delete(&path))
            .unwrap();
    }
}

/// One `#[test]` per case and backend: `file::case` and `seaweedfs::case`.
macro_rules! on_every_backend {
    ($($case:ident),* $(,)?) => {
        mod file {
            $( #[test] fn $case() { super::$case(&super::Cli::file()); } )*
        }
        mod seaweedfs {
            $( #[test] fn $case() {
                if let Some(cli) = super::Cli::seaweedfs() { super::$case(&cli); }
            } )*
        }
    };
}

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
    topic_list_exits_quietly_on_a_closed_stdout,
    consume_exits_quietly_on_a_closed_stdout,
    describe_and_jobs_exit_quietly_on_a_closed_stdout,
    a_missing_topic_json_is_damage_everywhere,
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

/// A command whose stdout is closed exits 0 without a word, as Unix tools do.
fn quietly(cli: &Cli, args: &[&str]) {
    let out = cli.closed_stdout(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "silt {args:?}: {stderr}");
    assert_eq!(stderr, "", "silt {args:?}");
}

fn topic_list_exits_quietly_on_a_closed_stdout(cli: &Cli) {
    for name in ["a", "b", "c"] {
        cli.ok(&["topic", "create", name], "");
    }
    quietly(cli, &["topic", "list"]);
}

fn consume_exits_quietly_on_a_closed_stdout(cli: &Cli) {
    let values: Vec<String> = (0..3000).map(|i| format!("v{i}")).collect();
    let values: Vec<&str> = values.iter().map(String::as_str).collect();
    cli.topic_with("t", &values);
    quietly(cli, &["consume", "t"]);
    quietly(cli, &["consume", "t", "--format", "jsonl", "--max", "10"]);
    assert_eq!(cli.consumed("t").lines().count(), 3000, "nothing lost");
}

fn describe_and_jobs_exit_quietly_on_a_closed_stdout(cli: &Cli) {
    cli.topic_with("t", &["a"]);
    quietly(cli, &["topic", "describe", "t"]);
    quietly(cli, &["topic", "describe", "t", "--json"]);
    quietly(cli, &["topic", "alter", "t", "--retention-ms", "60000"]);
    quietly(cli, &["table", "t"]);
    quietly(cli, &["retention", "run"]);
    quietly(cli, &["compact", "run"]);
    quietly(cli, &["gc", "run"]);
    assert_eq!(cli.consumed("t"), "a\n");
}

/// `topics/t/topic.json` deleted while its manifests remain: every command names the missing
/// object and the repair; `topic create` refuses rather than write a configuration the
/// manifests would not match; other topics stay usable.
fn a_missing_topic_json_is_damage_everywhere(cli: &Cli) {
    cli.topic_with("t", &["a"]);
    cli.topic_with("u", &["b"]);
    cli.delete("topics/t/topic.json");
    let prefix = cli.prefix();
    let missing =
        format!("topic t is damaged: its configuration {prefix}topics/t/topic.json is missing");
    let missing = missing.as_str();
    let list = cli.run(&["topic", "list"], "");
    assert_eq!(list.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&list.stdout), "u\n");
    let stderr = String::from_utf8_lossy(&list.stderr);
    assert!(stderr.contains(missing), "{stderr}");
    assert!(stderr.contains("1 damaged topics"), "{stderr}");
    for args in [
        &["topic", "describe", "t"][..],
        &["consume", "t"],
        &["table", "t"],
        &["topic", "alter", "t", "--retention-ms", "1000"],
    ] {
        cli.fails(args, "", 1, missing);
    }
    cli.fails(&["produce", "t"], "x\n", 1, missing);
    let create = cli.fails(&["topic", "create", "t"], "", 1, missing);
    assert!(
        create.contains(&format!("delete everything under {prefix}topics/t/")),
        "{create}"
    );
    // Still damaged (create wrote nothing), and the other topic is intact.
    cli.fails(&["topic", "describe", "t"], "", 1, missing);
    assert_eq!(cli.consumed("u"), "b\n");
}

// Once: the store's own setup.

/// Read-only commands on a `file://` directory that does not exist: "no silt store", exit 1,
/// and the directory is still not there.
#[test]
fn read_only_commands_do_not_create_a_store() {
    let cli = Cli::file();
    let commands: [&[&str]; 9] = [
        &["topic", "list"],
        &["topic", "describe", "t"],
        &["topic", "alter", "t", "--retention-ms", "1"],
        &["topic", "trim", "t", "--partition", "0", "--before", "0"],
        &["consume", "t"],
        &["table", "t"],
        &["retention", "run"],
        &["compact", "run"],
        &["gc", "run"],
    ];
    let typo = cli.silt.dir.path().join("typo/dir");
    let store = format!("file://{}", typo.display());
    for args in commands {
        let mut with_store = vec!["--store", &store];
        with_store.extend_from_slice(args);
        cli.fails(
            &with_store,
            "",
            1,
            &format!("no silt store at {} (no such directory)", typo.display()),
        );
        assert!(!typo.exists(), "silt {args:?} created {}", typo.display());
    }
}

/// Writing commands may create the store they are pointed at.
#[test]
fn writing_commands_create_a_missing_store() {
    let cli = Cli::file();
    let fresh = cli.silt.dir.path().join("fresh");
    let store = format!("file://{}", fresh.display());
    cli.ok(&["--store", &store, "topic", "create", "t"], "");
    assert!(fresh.join("topics/t/topic.json").exists());
    cli.ok(&["--store", &store, "produce", "t"], "a\n");
    assert_eq!(cli.ok(&["--store", &store, "consume", "t"], ""), "a\n");
}

#[test]
fn unusable_store_urls_say_what_to_use() {
    let cli = Cli::file();
    let cases = [
        (
            "ftp://x",
            "invalid store URL \"ftp://x\": use file://DIR, memory:// or s3://BUCKET/PREFIX",
        ),
        ("file://", "give a directory"),
        (
            "s3://",
            "invalid store URL \"s3://\": give a bucket, as in s3://BUCKET/PREFIX",
        ),
    ];
    for (url, message) in cases {
        let stderr = cli.fails(&["--store", url, "topic", "list"], "", 1, message);
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    cli.fails(
        &["--manifest", "dynamodb://", "topic", "list"],
        "",
        1,
        "a manifest URL is dynamodb://TABLE",
    );
}

#[test]
fn a_plain_http_endpoint_needs_allow_http() {
    let cli = Cli::file();
    let out = cli
        .command(&["--store", "s3://bucket/prefix", "topic", "list"])
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .env_remove("AWS_ALLOW_HTTP")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr,
        "error: invalid store URL \"s3://bucket/prefix\": the endpoint http://127.0.0.1:9 (AWS_ENDPOINT_URL) is plain HTTP: set AWS_ALLOW_HTTP=true to allow it, or use https://\n"
    );
}

/// No AWS credentials for a DynamoDB manifest: one plain line, no ANSI colours, no debug dump
/// of the SDK's error, no SDK warnings.
#[test]
fn dynamodb_without_credentials_says_what_to_set() {
    let cli = Cli::file();
    let mut c = cli.command(&["--manifest", "dynamodb://silt", "topic", "list"]);
    for var in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "RUST_LOG",
        "SILT_LOG",
    ] {
        c.env_remove(var);
    }
    let none = cli.silt.dir.path().join("no-aws-config");
    let out = c
        .env("AWS_CONFIG_FILE", &none)
        .env("AWS_SHARED_CREDENTIALS_FILE", &none)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", "us-east-1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr,
        "error: no AWS credentials found for dynamodb://silt: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE for DynamoDB), or run where a role provides them\n"
    );
}

#[test]
fn help_says_memory_stores_last_one_process() {
    let cli = Cli::file();
    let help = cli.ok(&["--help"], "");
    assert!(
        help.contains("memory:// (kept only while this one process runs"),
        "{help}"
    );
    cli.ok(&["--store", "memory://", "topic", "create", "t"], "");
    assert_eq!(cli.ok(&["--store", "memory://", "topic", "list"], ""), "");
}

/// Makes files immutable (`chattr +i`, which binds root too) until dropped.
struct Immutable(std::path::PathBuf);

impl Immutable {
    /// `None` (after saying the case is skipped) where `chattr` is missing or not permitted.
    fn new(dir: &std::path::Path) -> Option<Immutable> {
        let set = Command::new("chattr").args(["-R", "+i"]).arg(dir).output();
        if !set.is_ok_and(|o| o.status.success()) {
            let _ = writeln!(
                std::io::stderr(),
                "skipped on eacces: chattr +i is not available here"
            );
            return None;
        }
        Some(Immutable(dir.to_path_buf()))
    }
}

impl Drop for Immutable {
    fn drop(&mut self) {
        let _ = Command::new("chattr")
            .args(["-R", "-i"])
            .arg(&self.0)
            .status();
    }
}

/// A store the process cannot write: commands that would write fail at once naming the path
/// (bounded by `timeout`, which would say 124 while a commit spun on it); reading still works.
#[test]
fn a_store_that_cannot_be_written_fails_at_once() {
    let cli = Cli::file();
    cli.topic_with("t", &["a"]);
    cli.ok(&["produce", "t"], "b\n");
    cli.ok(
        &["topic", "trim", "t", "--partition", "0", "--before", "1"],
        "",
    );
    let Some(_frozen) = Immutable::new(&cli.silt.dir.path().join("silt-data")) else {
        return;
    };
    let bounded = |args: &[&str]| {
        let out = Command::new("timeout")
            .arg("10")
            .arg(env!("CARGO_BIN_EXE_silt"))
            .args(args)
            .current_dir(cli.silt.dir.path())
            .env("SILT_STORE", &cli.store)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(1), "silt {args:?}: {stderr}");
        assert!(!stderr.contains("outcome unknown"), "{stderr}");
        stderr
    };
    let lock = "silt-data/topics/t/00000/manifest.lock: Operation not permitted";
    let trim = bounded(&["topic", "trim", "t", "--partition", "0", "--before", "2"]);
    assert!(trim.contains(lock), "{trim}");
    // GC buries the segment below the log start: one commit, refused at once.
    let gc = bounded(&["gc", "run", "--grace-ms", "0"]);
    assert!(gc.contains(lock), "{gc}");
    let alter = bounded(&["topic", "alter", "t", "--retention-ms", "5"]);
    assert!(alter.contains("topics/t/topic.json.lock"), "{alter}");
    assert_eq!(cli.consumed("t"), "b\n");
}

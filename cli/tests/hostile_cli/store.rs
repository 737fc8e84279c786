//! The store itself: damaged topics, missing directories, unusable URLs and credentials,
//! a store the process cannot write.

use super::Cli;
use std::io::Write;
use std::process::{Command, Stdio};

on_every_backend!(a_missing_topic_json_is_damage_everywhere,);

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
            .env("SILT_STORE", &cli.backend.store)
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

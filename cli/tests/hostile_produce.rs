//! Bad input, broken outputs, signals and fencing against the real `silt produce` (issues 21
//! and 14). Each case asserts the exact outcome: the exit code, the message (what was wrong,
//! the line, the limit), and that nothing acknowledged is lost: the log holds exactly the
//! acknowledged records, each at its acknowledged offset. Every case runs on a local directory
//! and on SeaweedFS (skipped with a printed line when `SILT_TEST_SEAWEEDFS` is unset). The
//! JSON-lines cases are in `hostile/json_lines.rs`, the helpers in `hostile/mod.rs`.

#![allow(clippy::unwrap_used)] // tests fail by panicking

mod common;
mod hostile;

use std::io::Write;
use std::process::Stdio;

use common::Backend;
use hostile::json_lines::*;
use hostile::{Log, Running};

/// One `#[test]` per case and backend: `file::case` and `seaweedfs::case`.
macro_rules! on_every_backend {
    ($($case:ident),* $(,)?) => {
        mod file {
            $(#[test]
            fn $case() {
                super::$case(&super::Backend::file());
            })*
        }
        mod seaweedfs {
            $(#[test]
            fn $case() {
                if let Some(backend) = super::Backend::seaweedfs() {
                    super::$case(&backend);
                }
            })*
        }
    };
}

on_every_backend!(
    bad_utf8_on_the_first_line,
    bad_utf8_mid_stream,
    bad_utf8_on_a_last_line_without_newline,
    crlf_endings_are_not_part_of_values,
    invalid_json_mid_stream,
    json_line_that_is_not_an_object,
    unknown_json_field,
    repeated_json_key,
    big_integer_key,
    float_value,
    boolean_value,
    array_value,
    nested_object_value,
    base64_object_with_another_field,
    invalid_base64,
    numeric_header_value,
    header_key_that_is_not_a_string,
    partition_conflicting_with_the_flag,
    partition_agreeing_with_the_flag,
    partition_the_topic_lacks,
    partition_given_as_a_string,
    fractional_timestamp,
    timestamp_beyond_the_limit,
    record_too_large_mid_stream,
    line_longer_than_the_limit,
    stdin_that_cannot_be_read,
    bad_line_in_a_conditional_batch_sends_nothing,
    acks_to_a_full_stdout,
    acks_to_a_closed_pipe,
    sigint_flushes_and_reports,
    sigterm_flushes_and_reports,
    acks_print_before_the_next_line,
    fenced_producer_exits_at_once,
    fenced_idle_producer_exits_without_more_input,
);

/// Good text lines, then `bad` as line `good.len() + 1`, then one more line never sent.
fn refused_text(b: &Backend, good: &[&str], bad: &[u8], message: &str) {
    let log = Log::new(b, 1);
    let mut input: Vec<u8> = good
        .iter()
        .flat_map(|l| format!("{l}\n").into_bytes())
        .collect();
    input.extend_from_slice(bad);
    input.extend_from_slice(b"\nnever sent\n");
    let line = good.len() + 1;
    let produced = log.produce(&[], &input);
    produced.assert_failed(1, &format!("error: line {line}: {message}"));
    log.assert_holds_exactly(&produced, good);
}

fn bad_utf8_on_the_first_line(b: &Backend) {
    refused_text(
        b,
        &[],
        b"\xff",
        "not UTF-8 (invalid byte at byte 1 of the line)",
    );
}

/// `(seq 1 100; printf 'z\xffz\n') | silt produce d --print-acks`: 100 acks, the summary, then
/// the error naming line 101.
fn bad_utf8_mid_stream(b: &Backend) {
    let good: Vec<String> = (1..=100).map(|i| i.to_string()).collect();
    let good: Vec<&str> = good.iter().map(String::as_str).collect();
    refused_text(
        b,
        &good,
        b"z\xffz",
        "not UTF-8 (invalid byte at byte 2 of the line)",
    );
}

fn bad_utf8_on_a_last_line_without_newline(b: &Backend) {
    let log = Log::new(b, 1);
    let produced = log.produce(&[], b"a\nb\nok\xfe");
    produced.assert_failed(1, "error: line 3: not UTF-8 (invalid byte at byte 3");
    log.assert_holds_exactly(&produced, &["a", "b"]);
}

fn crlf_endings_are_not_part_of_values(b: &Backend) {
    let log = Log::new(b, 1);
    let produced = log.produce(&[], b"a\r\nb\r\n\r\nc");
    produced.assert_succeeded();
    log.assert_holds_exactly(&produced, &["a", "b", "", "c"]);
}

fn record_too_large_mid_stream(b: &Backend) {
    let huge = vec![b'x'; 1024 * 1024 + 1];
    refused_text(
        b,
        &["a", "b"],
        &huge,
        "record of 1048577 bytes is too large: the limit is 1048576 bytes",
    );
}

fn line_longer_than_the_limit(b: &Backend) {
    let endless = vec![b'x'; 8 * 1024 * 1024 + 1];
    refused_text(
        b,
        &["a"],
        &endless,
        "longer than the limit of 8388608 bytes (a record is at most 1048576 bytes)",
    );
}

/// `silt produce t < some-directory`: reading fails at line 1.
fn stdin_that_cannot_be_read(b: &Backend) {
    let log = Log::new(b, 1);
    let directory = std::fs::File::open(std::env::temp_dir()).unwrap();
    let child = log
        .command(&["produce", "t", "--print-acks"])
        .stdin(directory)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut running = Running::watch(child, None);
    let (code, stderr) = running.exit();
    let produced = running.produced(code, stderr);
    produced.assert_failed(1, "error: line 1: could not read stdin: Is a directory");
    log.assert_holds_exactly(&produced, &[]);
}

fn bad_line_in_a_conditional_batch_sends_nothing(b: &Backend) {
    let log = Log::new(b, 1);
    let args = ["--partition", "0", "--expect-offset", "0"];
    let produced = log.produce(&args, b"a\nb\n\xff\n");
    produced.assert_failed(1, "error: line 3: not UTF-8");
    log.assert_holds_exactly(&produced, &[]);
}

/// `--print-acks > /dev/full`: the producer stops reading and exits 4; the summary on stderr
/// still says what was committed, and the log holds exactly that.
fn acks_to_a_full_stdout(b: &Backend) {
    let log = Log::new(b, 1);
    let input: String = (0..1000).map(|i| format!("{i}\n")).collect();
    let full = std::fs::File::create("/dev/full").unwrap();
    let produced = log.produce_to(&[], input.as_bytes(), full.into());
    produced.assert_failed(4, "error: could not print acknowledgements: No space left");
    let committed = produced.summarized();
    assert!(committed >= 1, "{}", produced.stderr);
    assert_eq!(log.consumed().len(), committed, "{}", produced.stderr);
}

/// The reader of the acks went away (`silt produce --print-acks | head -1`).
fn acks_to_a_closed_pipe(b: &Backend) {
    let log = Log::new(b, 1);
    let mut child = log
        .command(&["produce", "t", "--print-acks"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut stdin = child.stdin.take().unwrap();
    let _ = stdin.write_all(b"a\nb\n");
    let mut running = Running::watch(child, Some(stdin));
    let (code, stderr) = running.exit();
    assert_eq!(code, Some(4), "{stderr}");
    assert!(
        stderr.contains("could not print acknowledgements: Broken pipe"),
        "{stderr}"
    );
    let committed = hostile::summarized(&stderr);
    assert_eq!(log.consumed().len(), committed, "{stderr}");
}

/// A signal with stdin still open: the producer stops reading, flushes, prints every ack and
/// the summary, and exits with the signal's code.
fn stopped_by(b: &Backend, signal: &str, code: i32, name: &str) {
    let log = Log::new(b, 1);
    let mut running = log.spawn(&["--partition", "0"]);
    running.write("a\nb\n");
    running.ack();
    running.ack();
    running.write("c\n");
    running.signal(signal);
    let (exit, stderr) = running.exit();
    assert_eq!(exit, Some(code), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "error: stopped by {name}; input after it was not read"
        )),
        "{stderr}"
    );
    let produced = running.produced(exit, stderr);
    let acked = produced.acks.len();
    assert!(acked == 2 || acked == 3, "{acked} acks");
    log.assert_holds_exactly(&produced, &["a", "b", "c"][..acked]);
}

fn sigint_flushes_and_reports(b: &Backend) {
    stopped_by(b, "-INT", 130, "SIGINT");
}

fn sigterm_flushes_and_reports(b: &Backend) {
    stopped_by(b, "-TERM", 143, "SIGTERM");
}

/// `(echo a; sleep 5; echo b) | silt produce t --print-acks` prints a's ack before b comes.
fn acks_print_before_the_next_line(b: &Backend) {
    let log = Log::new(b, 1);
    let mut running = log.spawn(&[]);
    running.write("a\n");
    let ack = running.ack();
    assert_eq!((ack.line, ack.offset), (0, 0));
    running.close_stdin();
    let (exit, stderr) = running.exit();
    assert_eq!(exit, Some(0), "{stderr}");
}

/// An endless `--exclusive` producer loses its partition to a newer one: at its next line it
/// prints the fencing error and exits 3 while its stdin is still open.
fn fenced_producer_exits_at_once(b: &Backend) {
    let log = Log::new(b, 1);
    let mut first = log.spawn(&["--exclusive", "--partition", "0"]);
    first.write("a\n");
    assert_eq!(first.ack().offset, 0);
    let second = log.produce(&["--exclusive", "--partition", "0"], b"b\n");
    second.assert_succeeded();
    first.write("c\n");
    let (exit, stderr) = first.exit();
    assert_eq!(exit, Some(3), "{stderr}");
    assert!(
        stderr.contains("error: fenced: partition 0 was claimed by writer"),
        "{stderr}"
    );
    assert!(
        stderr.contains("1 append(s) refused; stopped reading input"),
        "{stderr}"
    );
    assert!(
        first.stdin_open(),
        "it must exit without waiting for its input to end"
    );
    let values: Vec<_> = log.consumed().into_iter().map(|(_, v)| v).collect();
    assert_eq!(values, ["a", "b"]);
}

/// The same, with no more input: the leader's lease renewal (every third of the 10 s lease)
/// finds it fenced, and it exits 3 though its input is idle, as `tail -f app.log | silt
/// produce --exclusive` on a quiet log would.
fn fenced_idle_producer_exits_without_more_input(b: &Backend) {
    let log = Log::new(b, 1);
    let mut first = log.spawn(&["--exclusive", "--partition", "0"]);
    first.write("a\n");
    assert_eq!(first.ack().offset, 0);
    let second = log.produce(&["--exclusive", "--partition", "0"], b"b\n");
    second.assert_succeeded();
    let (exit, stderr) = first.exit();
    assert_eq!(exit, Some(3), "{stderr}");
    assert!(
        stderr.contains("error: fenced: partition 0 was claimed by writer"),
        "{stderr}"
    );
    assert!(first.stdin_open(), "it must not wait for its input to end");
}

/// A second SIGINT exits at once, even while the store does not answer: here the store is a
/// server that accepts connections and never replies.
#[test]
fn second_signal_exits_at_once() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let (connected, connection) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in silent.incoming() {
            held.push(stream);
            let _ = connected.send(());
        }
    });
    let backend = Backend {
        store: "s3://silent/prefix".to_string(),
        env: vec![
            ("AWS_ENDPOINT_URL", endpoint),
            ("AWS_ALLOW_HTTP", "true".to_string()),
            ("AWS_ACCESS_KEY_ID", "silt-test".to_string()),
            ("AWS_SECRET_ACCESS_KEY", "silt-test".to_string()),
            ("AWS_REGION", "us-east-1".to_string()),
        ],
    };
    let silt = common::Silt::new();
    let child = backend
        .command(&silt, &["produce", "t", "--print-acks"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut running = Running::watch(child, None);
    connection.recv_timeout(hostile::DEADLINE).unwrap();
    running.signal("-INT");
    running.wait_for_stderr("SIGINT: stopped reading input");
    running.signal("-INT");
    let (exit, stderr) = running.exit();
    assert_eq!(exit, Some(130), "{stderr}");
    assert!(
        stderr.contains("error: SIGINT again: exiting without waiting"),
        "{stderr}"
    );
}

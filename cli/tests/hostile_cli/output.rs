//! A closed stdout (`silt ... | head -0`): every command that prints exits 0, silently.

use super::Cli;

on_every_backend!(
    topic_list_exits_quietly_on_a_closed_stdout,
    consume_exits_quietly_on_a_closed_stdout,
    describe_and_jobs_exit_quietly_on_a_closed_stdout,
);

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

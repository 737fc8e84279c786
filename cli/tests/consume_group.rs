//! `silt consume --group` on `file://` (docs/consumer-groups.md): arguments a group member
//! refuses, runs that continue where the previous one committed, a clean leave on SIGTERM,
//! `--from latest` for a new group, a static member (`--instance-id`) restarted after a
//! SIGKILL that gets its partitions back at once, with no rebalance, and one replaced by a
//! newer process with its instance id, which exits 1. The faults across processes on real
//! stores are in `group_faults.rs`.

#![allow(clippy::unwrap_used)] // tests fail by panicking

mod common;
#[allow(dead_code)] // the producer is group_faults.rs'
#[path = "group_faults/fleet.rs"]
mod fleet;

use std::collections::BTreeSet;
use std::time::Duration;

use common::Cli;
use fleet::{Fleet, Member};
use tokio::time::Instant;

/// Quick timings, so a member takes its partitions within a fraction of a second.
const QUICK: [&str; 4] = ["--heartbeat-ms", "100", "--session-timeout-ms", "1000"];

/// A topic `t` of 3 partitions with `n` records `v0`, `v1`, ... spread over them.
fn topic(cli: &Cli, n: usize) {
    cli.ok(&["topic", "create", "t", "--partitions", "3"], "");
    let lines: String = (0..n).map(|i| format!("v{i}\n")).collect();
    cli.ok(&["produce", "t"], &lines);
}

fn consume(cli: &Cli, group: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["consume", "t", "--group", group];
    args.extend(QUICK);
    args.extend(extra);
    let out = cli.ok(&args, "");
    out.lines().map(str::to_string).collect()
}

fn args(group: &str, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["consume", "t", "--group", group];
    args.extend(extra);
    args.iter().map(|a| a.to_string()).collect()
}

/// Waits up to 20 s until `done` holds.
fn wait(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        silt_core::clock::sleep_blocking(Duration::from_millis(50));
    }
}

/// The partitions `member` holds by its stderr: assigned, and not revoked or lost since.
fn held(member: &Member) -> BTreeSet<String> {
    let mut held = BTreeSet::new();
    for (_, line) in member.said() {
        let Some((event, rest)) = line.strip_prefix("group: ").and_then(|l| l.split_once(' '))
        else {
            continue;
        };
        let partition = rest.split(' ').next().unwrap_or_default().to_string();
        match event {
            "assigned" => held.insert(partition),
            "revoked" | "lost" => held.remove(&partition),
            _ => false,
        };
    }
    held
}

#[test]
fn arguments_a_group_member_cannot_take_are_refused() {
    let cli = Cli::file();
    topic(&cli, 3);
    let group = ["consume", "t", "--group", "g"];
    let with = |extra: &[&'static str]| [&group[..], extra].concat();
    cli.exits(
        &with(&["--partition", "1"]),
        "",
        1,
        "--partition cannot be used with --group",
    );
    for from in ["5", "@0"] {
        let (_, stderr) = cli.exits(&with(&["--from", from]), "", 1, "earliest or latest");
        assert!(stderr.contains("silt group reset-offsets"), "{stderr}");
    }
    let alone = ["consume", "t", "--instance-id", "a"];
    cli.exits(&alone, "", 2, "--group <GROUP>");
    cli.exits(
        &["consume", "t", "--group", "a b"],
        "",
        1,
        "invalid group name",
    );
    let short = with(&["--heartbeat-ms", "1000", "--session-timeout-ms", "2000"]);
    cli.exits(&short, "", 1, "session_timeout_ms");
    let zero = with(&["--auto-commit-ms", "0"]);
    cli.exits(&zero, "", 1, "auto_commit_ms");
}

#[test]
fn each_run_continues_where_the_last_committed() {
    let cli = Cli::file();
    topic(&cli, 30);
    let first = consume(&cli, "g", &["--max", "10"]);
    let second = consume(&cli, "g", &["--max", "20"]);
    assert_eq!((first.len(), second.len()), (10, 20));
    let all: BTreeSet<&String> = first.iter().chain(&second).collect();
    assert_eq!(all.len(), 30, "no record twice, none skipped");
    // Another group starts from the beginning (--from earliest is the default).
    assert_eq!(consume(&cli, "other", &["--max", "30"]).len(), 30);
}

#[test]
fn sigterm_commits_what_was_printed_and_leaves() {
    let cli = Cli::file();
    topic(&cli, 12);
    let mut fleet = Fleet::default();
    fleet
        .members
        .push(Member::spawn(&cli, 0, 0, &args("g", &QUICK)));
    let member = &fleet.members[0];
    wait("12 records printed", || {
        std::fs::read_to_string(&member.output)
            .unwrap()
            .lines()
            .count()
            == 12
    });
    member.signal("-TERM");
    let status = fleet.members[0].wait_exit(Duration::from_secs(20));
    assert!(status.success(), "{status}");
    cli.ok(&["produce", "t"], "late\n");
    assert_eq!(consume(&cli, "g", &["--max", "1"]), ["late"]);
}

#[test]
fn from_latest_starts_a_new_group_at_the_log_end() {
    let cli = Cli::file();
    topic(&cli, 6);
    let mut fleet = Fleet::default();
    let extra = [&QUICK[..], &["--from", "latest", "--max", "2"]].concat();
    fleet
        .members
        .push(Member::spawn(&cli, 0, 0, &args("g", &extra)));
    wait("3 partitions assigned", || {
        held(&fleet.members[0]).len() == 3
    });
    cli.ok(&["produce", "t"], "new-1\nnew-2\n");
    let status = fleet.members[0].wait_exit(Duration::from_secs(20));
    assert!(status.success(), "{status}");
    let printed = std::fs::read_to_string(&fleet.members[0].output).unwrap();
    let mut printed: Vec<&str> = printed.lines().collect();
    printed.sort();
    assert_eq!(printed, ["new-1", "new-2"]);
}

#[test]
fn a_static_member_restarted_gets_its_partitions_back_without_a_rebalance() {
    let cli = Cli::file();
    topic(&cli, 6);
    // A session far longer than the test: nothing may wait for it.
    let timings = ["--heartbeat-ms", "100", "--session-timeout-ms", "60000"];
    let with_id = [&timings[..], &["--instance-id", "static-a"]].concat();
    let mut fleet = Fleet::default();
    fleet
        .members
        .push(Member::spawn(&cli, 0, 0, &args("g", &with_id)));
    fleet
        .members
        .push(Member::spawn(&cli, 1, 0, &args("g", &timings)));
    let settled = |fleet: &Fleet| {
        let (a, b) = (held(&fleet.members[0]), held(&fleet.members[1]));
        a.len() + b.len() == 3 && !a.is_empty() && !b.is_empty()
    };
    wait("both members hold partitions", || settled(&fleet));
    let mine = held(&fleet.members[0]);
    let peer = fleet.members[1].said().len();
    fleet.members[0].kill();
    let restarted = Instant::now();
    fleet
        .members
        .push(Member::spawn(&cli, 0, 1, &args("g", &with_id)));
    wait("the restart holds its partitions again", || {
        held(&fleet.members[2]).len() == mine.len()
    });
    assert_eq!(held(&fleet.members[2]), mine, "the same partitions");
    assert!(
        restarted.elapsed() < Duration::from_secs(30),
        "well within the session"
    );
    let peer_said = fleet.members[1].said();
    assert_eq!(
        peer_said.len(),
        peer,
        "the peer's partitions did not move: {peer_said:?}"
    );
}

#[test]
fn a_member_replaced_by_a_newer_process_with_its_instance_id_exits_1() {
    let cli = Cli::file();
    topic(&cli, 3);
    let with_id = [&QUICK[..], &["--instance-id", "twin"]].concat();
    let mut fleet = Fleet::default();
    fleet
        .members
        .push(Member::spawn(&cli, 0, 0, &args("g", &with_id)));
    wait("the first holds the partitions", || {
        held(&fleet.members[0]).len() == 3
    });
    fleet
        .members
        .push(Member::spawn(&cli, 0, 1, &args("g", &with_id)));
    let status = fleet.members[0].wait_exit(Duration::from_secs(20));
    assert_eq!(status.code(), Some(1), "{status}");
    wait("its error on stderr", || {
        fleet.members[0]
            .said()
            .iter()
            .any(|(_, l)| l.contains("replaced by a newer incarnation"))
    });
    wait("the newer holds the partitions", || {
        held(&fleet.members[1]).len() == 3
    });
}

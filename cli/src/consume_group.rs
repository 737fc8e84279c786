//! `silt consume TOPIC --group G`: this process is one member of a consumer group (crate
//! `silt-group`, docs/consumer-groups.md). It prints the records of the partitions the group
//! gives it, flushes stdout, and only then lets the next poll count them as processed, so
//! auto-commit never commits a record that was not printed (at least once). Assignment changes
//! go to stderr, one `group: ...` line each; SIGINT or SIGTERM (or `--max`) leave the group:
//! commit, release every partition, remove the member.

use std::io::{self, Write};
use std::time::Duration;

use silt_core::error::ErrorKind;
use silt_core::ids::{GroupName, TopicName};
use silt_core::store::Storage;
use silt_group::{Event, GroupConsumer, GroupError, GroupSettings, MemberId, OffsetReset};
use silt_reader::StartFrom;

use crate::CliResult;
use crate::args::ConsumeArgs;
use crate::out::write_error;
use crate::signals::{self, Signals};

/// Records asked for per poll.
const BATCH: usize = 1000;
/// How long a poll waits for records before the loop looks at the signals again.
const POLL_WAIT: Duration = Duration::from_millis(500);
/// The pause after a poll failed on a store that may come back.
const RETRY_PAUSE: Duration = Duration::from_secs(1);
/// `--client-id` unless given.
const CLIENT_ID: &str = "silt-consume";

/// Listens for SIGINT and SIGTERM ([`signals::listen`]) the way a group member answers them.
pub(crate) fn listen() -> io::Result<Signals> {
    signals::listen(
        "leaving the group: committing what was printed and releasing its partitions",
        "leaving the group (peers take its partitions after the session timeout)",
    )
}

/// Joins the group and prints records until a signal, `--max`, or a member that ended.
pub(crate) async fn run(
    storage: &Storage,
    args: ConsumeArgs,
    signals: Option<Signals>,
) -> CliResult {
    let signals = match signals {
        Some(signals) => signals,
        None => listen()?,
    };
    let settings = settings(&args)?;
    let (Some(group), topic) = (&args.group, TopicName::new(args.topic.clone())?) else {
        return Err("consume_group::run needs --group".into());
    };
    let group = GroupName::new(group.as_str())?;
    let mut consumer = GroupConsumer::join(storage.clone(), &group, &[topic], settings).await?;
    let mut member = consumer.member_id().await;
    say(&format!("joined {group} as member {member}"));
    match consume(&mut consumer, &args, &signals, &group, &mut member).await {
        Ok(()) => Ok(consumer.close().await?),
        // What was polled but not printed must not be committed: no close, peers take the
        // partitions after the session timeout and read them again.
        Err(e) => Err(e),
    }
}

/// The member's settings from the arguments; refuses what a group member cannot do.
fn settings(args: &ConsumeArgs) -> CliResult<GroupSettings> {
    if args.partition.is_some() {
        return Err(
            "--partition cannot be used with --group: the group assigns partitions to its members (leave out --group to read one partition)".into(),
        );
    }
    let auto_offset_reset = match args.from {
        None | Some(StartFrom::Earliest) => OffsetReset::Earliest,
        Some(StartFrom::Latest) => OffsetReset::Latest,
        Some(_) => {
            return Err(
                "--from with --group takes only earliest or latest (where a partition with no committed offset starts): to start the group at an offset or a time, stop its members and use `silt group reset-offsets`".into(),
            );
        }
    };
    let defaults = GroupSettings::default();
    Ok(GroupSettings {
        heartbeat_ms: args.heartbeat_ms.unwrap_or(defaults.heartbeat_ms),
        session_timeout_ms: args
            .session_timeout_ms
            .unwrap_or(defaults.session_timeout_ms),
        auto_commit_ms: args.auto_commit_ms.or(defaults.auto_commit_ms),
        auto_offset_reset,
        instance_id: args.instance_id.clone(),
        client_id: args.client_id.clone().unwrap_or_else(|| CLIENT_ID.into()),
        host: host(),
        ..defaults
    })
}

/// Polls and prints until a signal or `--max`; an error ends the member.
async fn consume(
    consumer: &mut GroupConsumer,
    args: &ConsumeArgs,
    signals: &Signals,
    group: &GroupName,
    member: &mut MemberId,
) -> CliResult {
    let mut left = args.max.unwrap_or(u64::MAX);
    let mut out = io::stdout().lock();
    while left > 0 && signals.borrow().is_none() {
        let polled = match consumer.poll(BATCH.min(left as usize), POLL_WAIT).await {
            Ok(polled) => polled,
            Err(e) if store_may_come_back(&e) => {
                say(&format!("retrying in {RETRY_PAUSE:?}: {e}"));
                silt_core::clock::sleep(RETRY_PAUSE).await;
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        for batch in &polled.batches {
            crate::consume::print(&mut out, &batch.records, args.format).map_err(write_error)?;
            left -= batch.records.len() as u64;
        }
        // Flushed before the next poll counts these records as processed.
        out.flush().map_err(write_error)?;
        report(consumer, &polled.events, group, member).await;
    }
    Ok(())
}

/// Errors of a store that is unreachable or busy for now: the member keeps trying, as its
/// heartbeat task does (peers take its partitions if it stays away for the session timeout).
fn store_may_come_back(e: &GroupError) -> bool {
    matches!(e.kind(), ErrorKind::Retryable | ErrorKind::Indeterminate)
}

/// Prints the events on stderr, with the join of a new incarnation (the member was removed
/// and joined again) after the partitions it lost.
async fn report(
    consumer: &GroupConsumer,
    events: &[Event],
    group: &GroupName,
    member: &mut MemberId,
) {
    let now = consumer.member_id().await;
    let rejoined = now != *member;
    let split = match rejoined {
        true => events
            .iter()
            .rposition(|e| matches!(e, Event::Lost(_)))
            .map_or(0, |i| i + 1),
        false => events.len(),
    };
    let assignment = consumer.assignment().await;
    let line = |event: &Event| match event {
        Event::Assigned(tp) => match assignment.iter().find(|a| &a.partition == tp) {
            Some(a) => match a.committed {
                Some(offset) => format!("assigned {tp} epoch {} committed {offset}", a.lease_epoch),
                None => format!("assigned {tp} epoch {} committed none", a.lease_epoch),
            },
            None => format!("assigned {tp}"),
        },
        Event::Revoked(tp) => format!("revoked {tp}"),
        Event::Lost(tp) => format!("lost {tp}"),
    };
    events[..split].iter().for_each(|e| say(&line(e)));
    if rejoined {
        say(&format!("joined {group} as member {now}"));
        *member = now;
    }
    events[split..].iter().for_each(|e| say(&line(e)));
}

/// One `group: ...` line on stderr (nothing is left to tell if stderr is gone).
fn say(line: &str) {
    let _ = writeln!(io::stderr(), "group: {line}");
}

/// This machine's name, shown by `silt group describe` (empty if unknown).
fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default()
}

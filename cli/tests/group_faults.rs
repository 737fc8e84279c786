//! Consumer groups across processes (issue 17, docs/consumer-groups.md §5–§7), on SeaweedFS
//! (group records in the object store) and with manifests in DynamoDB (group records in the
//! table): four `silt consume --group` processes share 12 partitions while `silt produce`
//! writes numbered records. Members chosen by a seeded RNG are SIGKILLed and restarted, and one
//! is SIGSTOPped past the session timeout, then woken: a zombie, whose commits must all be
//! refused and which must report its partitions lost. Checked: every record was printed at
//! least once; no lease epoch or committed offset ever went backwards (sampled all along, so a
//! zombie's commit that landed would show as one); each failover finished within a bound; a
//! closed member committed everything. Printed: each failover's time next to S + 2H and its
//! duplicate window (records printed by the victim past its last commit, printed again by the
//! partition's next owner). `SILT_GROUP_FAULTS_SEED` replays a run's choices.

#![allow(clippy::unwrap_used)] // tests fail by panicking

mod common;
#[path = "group_faults/failover.rs"]
mod failover;
#[path = "group_faults/fleet.rs"]
mod fleet;
#[path = "group_faults/leases.rs"]
mod leases;

use std::collections::BTreeSet;
use std::io::Write;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use silt_core::clock::Clock;
use silt_core::ids::{PartitionId, TopicName};
use silt_core::store::{DynamoManifestStore, Storage};
use tokio::time::Instant;

use common::{Backend, Cli, Silt};
use failover::{Failover, kill, summary, zombie};
use fleet::{Fleet, Member, Producer};
use leases::{Leases, Sampler, held_by};

pub(crate) const TOPIC: &str = "numbers";
const GROUP: &str = "counters";
const PARTITIONS: u32 = 12;
const MEMBERS: usize = 4;
const HEARTBEAT_MS: u64 = 500;
const SESSION_MS: u64 = 3_000;
const AUTO_COMMIT_MS: u64 = 1_000;
/// SIGKILLs (the SIGSTOP comes after the first).
const KILLS: usize = 3;
/// The failover bound of docs/consumer-groups.md §5.
pub(crate) const BOUND: Duration = Duration::from_millis(SESSION_MS + 2 * HEARTBEAT_MS);
/// What the test accepts: the bound, one more heartbeat for the new owners to look, and
/// room for a slow shared machine. A fallback to the 30 s handoff timeout would exceed it.
pub(crate) const LIMIT: Duration = Duration::from_millis(2 * (SESSION_MS + 2 * HEARTBEAT_MS));
/// How often a wait reads every lease; one that reads a few or none looks more often. Kept
/// low for moto, which answers one request at a time for everyone.
const ALL_EVERY: Duration = Duration::from_millis(250);
pub(crate) const FEW_EVERY: Duration = Duration::from_millis(100);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_and_paused_members_on_seaweedfs() {
    if let Some(backend) = Backend::seaweedfs() {
        run(backend, "seaweedfs", Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_and_paused_members_with_dynamodb_manifests() {
    if let Some(backend) = Backend::dynamodb() {
        // moto copies the whole table for every manifest commit (a transaction): one burst
        // a second (12 commits) keeps the table small and moto's answers quick.
        run(backend, "dynamodb", Duration::from_secs(1)).await;
    }
}

/// One run on `backend`: the producer writes a burst of 24 records every `burst_every`.
async fn run(backend: Backend, name: &str, burst_every: Duration) {
    let seed = std::env::var("SILT_GROUP_FAULTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| silt_core::clock::SystemClock.now_ms() as u64);
    say(&format!(
        "{name}: seed {seed} (SILT_GROUP_FAULTS_SEED replays it)"
    ));
    let mut rng = StdRng::seed_from_u64(seed);
    let cli = Cli {
        silt: Silt::new(),
        backend,
    };
    cli.ok(&["topic", "create", TOPIC, "--partitions", "12"], "");
    let storage = open(&cli.backend).await;
    let leases = Leases::new(&storage, GROUP, TOPIC, PARTITIONS);
    let sampler = Sampler::start(leases.clone());
    let started = Instant::now();
    let mut fleet = Fleet::default();
    fleet.producer = Some(Producer::spawn(&cli, TOPIC, 24, burst_every));
    for slot in 0..MEMBERS {
        fleet
            .members
            .push(Member::spawn(&cli, slot, 0, &member_args()));
    }
    let mut failovers = Vec::new();
    for round in 0..=KILLS {
        settle(&fleet, &leases).await;
        let pause = Duration::from_millis(rng.random_range(0..1_000));
        silt_core::clock::sleep(pause).await;
        let slot = rng.random_range(0..MEMBERS);
        let failover = match round {
            1 => zombie(&mut fleet, &leases, slot).await,
            _ => kill(&mut fleet, &leases, slot).await,
        };
        failovers.push(failover);
        if round != 1 {
            let incarnation = fleet.members.iter().filter(|m| m.slot == slot).count();
            let restarted = Member::spawn(&cli, slot, incarnation, &member_args());
            fleet.members.push(restarted);
        }
    }
    settle(&fleet, &leases).await;
    finish(&mut fleet, &storage, &leases, sampler, &failovers).await;
    say(&format!("{name}: done in {:?}", started.elapsed()));
}

fn member_args() -> Vec<String> {
    let args = [
        "consume",
        TOPIC,
        "--group",
        GROUP,
        "--format",
        "jsonl",
        "--client-id",
        "fault-test",
    ];
    let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    for (flag, ms) in [
        ("--heartbeat-ms", HEARTBEAT_MS),
        ("--session-timeout-ms", SESSION_MS),
        ("--auto-commit-ms", AUTO_COMMIT_MS),
    ] {
        args.extend([flag.to_string(), ms.to_string()]);
    }
    args
}

/// The storage the members use, opened in the test to read the group's records and the log.
async fn open(backend: &Backend) -> Storage {
    let env = |name: &str| {
        let found = backend.env.iter().find(|(k, _)| *k == name);
        found.map(|(_, v)| v.clone())
    };
    let options = backend
        .env
        .iter()
        .filter(|(k, _)| k.starts_with("AWS_") && *k != "AWS_ENDPOINT_URL_DYNAMODB")
        .map(|(k, v)| (k.to_string(), v.clone()));
    let storage = Storage::open_with(&backend.store, options).await.unwrap();
    let Some(table) = env("SILT_MANIFEST") else {
        return storage;
    };
    let endpoint = env("AWS_ENDPOINT_URL_DYNAMODB").unwrap();
    let client = DynamoManifestStore::client(Some(&endpoint)).await;
    storage.with_dynamodb(client, table.trim_start_matches("dynamodb://"))
}

/// Polls `check` every `every` until it gives a value, for at most `limit`.
pub(crate) async fn until<T, F: Future<Output = Option<T>>>(
    every: Duration,
    limit: Duration,
    mut check: impl FnMut() -> F,
) -> Option<T> {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if let Some(found) = check().await {
            return Some(found);
        }
        silt_core::clock::sleep(every).await;
    }
    None
}

/// Waits until every member has joined and holds its share, every partition held.
async fn settle(fleet: &Fleet, leases: &Leases) {
    let share = PARTITIONS as usize / MEMBERS;
    let settled = until(ALL_EVERY, Duration::from_secs(30), || async move {
        let ids = fleet.live_ids()?;
        let now = leases.read().await;
        let held: Vec<usize> = ids.iter().map(|id| held_by(&now, id).len()).collect();
        held.iter().all(|h| *h == share).then_some(())
    });
    if settled.await.is_none() {
        panic!("the group did not settle: {}", dump(fleet, leases));
    }
}

/// One printed record: partition, offset, value.
pub(crate) type Printed = (u64, u64, String);

/// What `member` printed so far (complete lines).
pub(crate) fn printed(member: &Member) -> Vec<Printed> {
    let text = std::fs::read_to_string(&member.output).unwrap_or_default();
    text.split_inclusive('\n')
        .filter(|l| l.ends_with('\n'))
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let value = v["value"].as_str().unwrap().to_string();
            (
                v["partition"].as_u64().unwrap(),
                v["offset"].as_u64().unwrap(),
                value,
            )
        })
        .collect()
}

/// Stops the producer, lets the members catch up, closes them, and checks and reports.
async fn finish(
    fleet: &mut Fleet,
    storage: &Storage,
    leases: &Leases,
    sampler: Sampler,
    failovers: &[Failover],
) {
    let sent = fleet.producer.as_mut().unwrap().finish();
    let topic = TopicName::new(TOPIC).unwrap();
    let mut ends = Vec::new();
    for p in 0..PARTITIONS {
        let snapshot = storage
            .manifests
            .read(&topic, PartitionId(p))
            .await
            .unwrap();
        ends.push(snapshot.map_or(0, |s| s.manifest.next_offset.0));
    }
    assert_eq!(
        ends.iter().sum::<u64>(),
        sent,
        "every line sent is in the log, once"
    );
    let all: BTreeSet<(u64, u64)> = (0..PARTITIONS as u64)
        .flat_map(|p| (0..ends[p as usize]).map(move |o| (p, o)))
        .collect();
    // Caught up: the owners committed the log ends (so they printed everything), and every
    // record was printed (by someone).
    let (view, all, ends) = (&*fleet, &all, &ends);
    let caught_up = until(ALL_EVERY, Duration::from_secs(30), || async move {
        let now = leases.read().await;
        let committed = (0..PARTITIONS as usize)
            .all(|p| now[p].as_ref().and_then(|l| l.offset) == Some(ends[p]));
        let seen: BTreeSet<(u64, u64)> = view
            .members
            .iter()
            .flat_map(printed)
            .map(|(p, o, _)| (p, o))
            .collect();
        (committed && seen == *all).then_some(())
    });
    if caught_up.await.is_none() {
        let now = leases.read().await;
        let offsets: Vec<Option<u64>> = now.iter().map(|l| l.as_ref()?.offset).collect();
        panic!(
            "not caught up: committed {offsets:?}, log ends {ends:?}: {}",
            dump(fleet, leases)
        );
    }
    for m in fleet.members.iter().filter(|m| !m.gone) {
        m.signal("-TERM");
    }
    for m in fleet.members.iter_mut().filter(|m| !m.gone) {
        let status = m.wait_exit(Duration::from_secs(20));
        assert!(status.success(), "{} exited {status}", m.name());
    }
    let history = sampler.finish().await;
    assert!(history.violations.is_empty(), "{:#?}", history.violations);
    let last = leases.read().await;
    for (p, lease) in last.iter().enumerate() {
        let lease = lease.as_ref().unwrap();
        assert_eq!(
            lease.offset,
            Some(ends[p]),
            "partition {p}: committed at close"
        );
        assert!(lease.released, "partition {p}: released at close");
    }
    let everything: Vec<Vec<Printed>> = fleet.members.iter().map(printed).collect();
    let values: BTreeSet<&str> = everything.iter().flatten().map(|r| r.2.as_str()).collect();
    let expected: BTreeSet<String> = (0..sent).map(|i| format!("n-{i}")).collect();
    assert!(
        values
            .iter()
            .copied()
            .eq(expected.iter().map(String::as_str)),
        "values printed"
    );
    let printed_total: usize = everything.iter().map(Vec::len).sum();
    say(&format!(
        "{sent} records produced, {printed_total} printed ({} again); {} lease writes seen in {} samples, none going backwards",
        printed_total as u64 - sent,
        history.changes,
        history.samples
    ));
    // Joins beyond the first ones, the restarts and the zombie's: live members expired by
    // peers (a machine too slow for the session timeout).
    let joins = fleet
        .members
        .iter()
        .flat_map(Member::said)
        .filter(|(_, line)| line.starts_with("group: joined "))
        .count();
    say(&format!(
        "{joins} joins, {} more than the faults explain; slowest lease read {:?}",
        joins - (MEMBERS + KILLS + 1),
        leases.slowest_read()
    ));
    for f in failovers {
        say(&summary(f, &everything[f.victim]));
    }
}

/// The members and their last stderr lines, for a failure message.
pub(crate) fn dump(fleet: &Fleet, leases: &Leases) -> String {
    let slowest = leases.slowest_read();
    let mut out = format!(
        "(the slowest lease read took {slowest:?}: a stalled store stalls the members too)"
    );
    for m in &fleet.members {
        let said = m.said();
        let tail: Vec<&str> = said
            .iter()
            .rev()
            .take(8)
            .rev()
            .map(|(_, l)| l.as_str())
            .collect();
        out.push_str(&format!(
            "\n{} (gone: {}):\n  {}",
            m.name(),
            m.gone,
            tail.join("\n  ")
        ));
    }
    out
}

/// A line the test harness shows (written to the handle, not captured like `println!`).
pub(crate) fn say(line: &str) {
    let _ = writeln!(std::io::stderr(), "group faults: {line}");
}

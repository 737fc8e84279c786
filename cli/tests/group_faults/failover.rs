//! The faults of the group fault test and what each cost: a member SIGKILLed, or SIGSTOPped
//! past the session timeout and woken as a zombie. Each waits until other members hold the
//! victim's partitions at a later lease epoch (the failover time, next to the bound S + 2H of
//! docs/consumer-groups.md §5), and remembers what the victim had committed, to count at the
//! end what it printed past that: the duplicate window, printed again by the next owners.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use tokio::time::Instant;

use crate::fleet::Fleet;
use crate::leases::{Lease, Leases, held_by};
use crate::{BOUND, FEW_EVERY, LIMIT, Printed, TOPIC, dump, printed, say, until};

/// One taking-over of a member's partitions.
pub(crate) struct Failover {
    pub(crate) what: String,
    /// Index of the victim in `fleet.members`.
    pub(crate) victim: usize,
    /// Its partitions and their committed offsets when it died or stopped.
    pub(crate) committed: Vec<(usize, Option<u64>)>,
    pub(crate) took: Duration,
    /// For the zombie: how many of its output lines came before it joined again.
    pub(crate) lines_before_rejoin: Option<usize>,
}

/// SIGKILLs the member in `slot` and waits until others took its partitions.
pub(crate) async fn kill(fleet: &mut Fleet, leases: &Leases, slot: usize) -> Failover {
    let victim = fleet.live(slot);
    let id = fleet.members[victim].member_id().unwrap();
    fleet.members[victim].kill();
    let killed = Instant::now();
    let at_kill = leases.read().await;
    let held = held_by(&at_kill, &id);
    let what = format!("SIGKILL {}", fleet.members[victim].name());
    let took = taken(fleet, leases, &id, &held, &what).await - killed;
    Failover {
        what,
        victim,
        committed: committed(&at_kill, &held),
        took,
        lines_before_rejoin: None,
    }
}

/// SIGSTOPs the member in `slot` until others took its partitions, then SIGCONTs it: it must
/// report every one of them lost and join again under a new member id. That none of its
/// commits landed meanwhile, the sampler checks (one would take an offset or epoch back).
pub(crate) async fn zombie(fleet: &mut Fleet, leases: &Leases, slot: usize) -> Failover {
    let z = fleet.live(slot);
    let id = fleet.members[z].member_id().unwrap();
    fleet.members[z].signal("-STOP");
    let stopped = Instant::now();
    let at_stop = leases.read().await;
    let held = held_by(&at_stop, &id);
    let what = format!("SIGSTOP {}", fleet.members[z].name());
    let took = taken(fleet, leases, &id, &held, &what).await - stopped;
    let member = &fleet.members[z];
    let mark = member.said().len();
    member.signal("-CONT");
    let woken = Instant::now();
    let (id, held) = (&id, &held);
    let noticed = until(FEW_EVERY, Duration::from_secs(10), || async move {
        let said = member.said();
        let lost: BTreeSet<&str> = said[mark..]
            .iter()
            .filter_map(|(_, line)| line.strip_prefix("group: lost "))
            .collect();
        let all_lost = held
            .iter()
            .all(|(p, _)| lost.contains(format!("{TOPIC}/{p}").as_str()));
        let rejoined = member.member_id().is_some_and(|now| now != *id);
        (all_lost && rejoined).then(|| printed(member).len())
    });
    let Some(lines) = noticed.await else {
        panic!(
            "the zombie did not drop {held:?} and rejoin: {}",
            dump(fleet, leases)
        );
    };
    for (at, line) in &member.said()[mark..] {
        let after = at.saturating_duration_since(woken).as_secs_f64();
        say(&format!("zombie, {after:.2} s after SIGCONT: {line}"));
    }
    Failover {
        what,
        victim: z,
        committed: committed(&at_stop, held),
        took,
        lines_before_rejoin: Some(lines),
    }
}

/// Waits until every partition in `held` is held by another member at a later epoch; when.
async fn taken(
    fleet: &Fleet,
    leases: &Leases,
    id: &str,
    held: &[(usize, u64)],
    what: &str,
) -> Instant {
    assert!(!held.is_empty(), "{what}: it held nothing");
    let partitions: Vec<usize> = held.iter().map(|(p, _)| *p).collect();
    let partitions = &partitions;
    let done = until(FEW_EVERY, LIMIT, || async move {
        let now = leases.read_some(partitions).await;
        let moved = held.iter().all(|(p, epoch)| {
            now[*p].as_ref().is_some_and(|l| {
                let owner = l.owner.as_ref().map(|o| o.member_id.0.as_str());
                l.lease_epoch > *epoch && !l.released && owner.is_some_and(|o| o != id)
            })
        });
        moved.then(Instant::now)
    });
    match done.await {
        Some(at) => at,
        None => panic!(
            "{what}: {held:?} not taken over within {LIMIT:?}: {}",
            dump(fleet, leases)
        ),
    }
}

fn committed(leases: &[Option<Lease>], held: &[(usize, u64)]) -> Vec<(usize, Option<u64>)> {
    let offset = |p: usize| leases[p].as_ref().and_then(|l| l.offset);
    held.iter().map(|(p, _)| (*p, offset(*p))).collect()
}

/// A failover's line: its time next to the bound, and its duplicate window.
pub(crate) fn summary(f: &Failover, victim_printed: &[Printed]) -> String {
    let lines = f.lines_before_rejoin.unwrap_or(victim_printed.len());
    let mut window = BTreeMap::new();
    for (p, c) in &f.committed {
        let again = victim_printed[..lines]
            .iter()
            .filter(|(q, o, _)| *q == *p as u64 && Some(*o) >= *c)
            .count();
        window.insert(*p, again);
    }
    format!(
        "{}: {} partitions taken over in {:.1} s (bound S + 2H = {:.1} s); duplicate window {} records {:?} (partition: printed past its last commit)",
        f.what,
        f.committed.len(),
        f.took.as_secs_f64(),
        BOUND.as_secs_f64(),
        window.values().sum::<usize>(),
        window
    )
}

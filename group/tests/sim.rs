//! The deterministic simulation of a group (docs/consumer-groups.md): members on `memory://`
//! under injected faults (conditional writes racing, answers lost after the write landed,
//! delays that interleave members, paused members that wake as zombies, crashes and restarts,
//! static members rejoining under their instance id), driven by tokio's paused clock and
//! seeded randomness. Checked on the history of accepted lease writes: epochs never go down,
//! one owner per epoch, committed offsets never go backwards, and every offset below a
//! committed one was processed. After the faults stop, every partition has exactly one live
//! owner within the failover bound, and the assignment is balanced (max − min ≤ 1).
//! `SILT_SIM_SEEDS` sets how many seeds run (8).

#![allow(clippy::unwrap_used)] // tests fail by panicking

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use object_store::memory::InMemory;
use object_store::path::Path;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use silt_core::ids::{GroupName, PartitionId, TopicName};
use silt_core::keys::Keys;
use silt_core::store::Storage;
use silt_core::store::cas::CasKey;
use silt_core::testing::{Call, Fault, FlakyStore, Rule};
use silt_core::topic::TopicSettings;
use silt_group::records::{GroupDocument, Lease};
use silt_group::{GroupError, GroupMember, GroupSettings, MemberId, TopicPartition};
use tokio::time::Instant;

use common::audit::{audit_leases, check_leases};
use common::sim_clock::SimClock;

const PARTITIONS: u32 = 12;
const SLOTS: usize = 4;
const HEARTBEAT_MS: u64 = 1_000;
const SESSION_MS: u64 = 6_000;
const HANDOFF_MS: u64 = 4_000;
const FAULT_PHASE: Duration = Duration::from_secs(150);
/// After the faults stop: removal of dead members (one chain link each), a handoff, and a
/// few heartbeats to take the partitions.
const FAILOVER_BOUND: Duration =
    Duration::from_millis(2 * (SESSION_MS + 2 * HEARTBEAT_MS) + HANDOFF_MS + 3 * HEARTBEAT_MS);

/// What the simulation shares with its members.
struct World {
    storage: Storage,
    group: GroupName,
    topic: TopicName,
    origin: Instant,
    stop: AtomicBool,
    /// Per slot: incarnation number (a crash bumps it), paused until, member id, held set.
    slots: Mutex<Vec<Slot>>,
    processed: Mutex<BTreeMap<TopicPartition, Vec<Range<u64>>>>,
    fenced: AtomicU64,
}

#[derive(Default, Clone)]
struct Slot {
    generation: u64,
    paused_until: Duration,
    member: Option<MemberId>,
    held: BTreeSet<TopicPartition>,
}

impl World {
    fn now(&self) -> Duration {
        self.origin.elapsed()
    }

    fn settings(slot: usize) -> GroupSettings {
        GroupSettings {
            heartbeat_ms: HEARTBEAT_MS,
            session_timeout_ms: SESSION_MS,
            handoff_timeout_ms: HANDOFF_MS,
            // Slots 0 and 1 are static members.
            instance_id: (slot < 2).then(|| format!("slot-{slot}")),
            ..GroupSettings::default()
        }
    }
}

/// One member incarnation: process, commit, tick, every heartbeat, until crashed or stopped.
async fn run_member(world: Arc<World>, slot: usize, generation: u64, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let topics = [world.topic.clone()];
    let mut member = loop {
        if world.stop.load(Ordering::SeqCst) || current(&world, slot) != generation {
            return;
        }
        let settings = World::settings(slot);
        match GroupMember::join(&world.storage, &world.group, &topics, settings, world.now()).await
        {
            Ok(member) => break member,
            Err(_) => silt_core::clock::sleep(Duration::from_millis(HEARTBEAT_MS)).await,
        }
    };
    let mut positions: BTreeMap<TopicPartition, (u64, u64)> = BTreeMap::new();
    while !world.stop.load(Ordering::SeqCst) && current(&world, slot) == generation {
        let paused = world.slots.lock().unwrap()[slot].paused_until > world.now();
        if !paused {
            process(&world, &mut member, &mut positions, &mut rng).await;
            if let Err(GroupError::Replaced { .. }) = member.tick(world.now()).await {
                return;
            }
            let mut slots = world.slots.lock().unwrap();
            slots[slot].member = Some(member.member_id().clone());
            slots[slot].held = member
                .assignment()
                .into_iter()
                .map(|a| a.partition)
                .collect();
        }
        silt_core::clock::sleep(Duration::from_millis(HEARTBEAT_MS)).await;
    }
}

fn current(world: &World, slot: usize) -> u64 {
    world.slots.lock().unwrap()[slot].generation
}

/// Processes a few records of every partition held and commits them (a woken zombie commits
/// before it learns it was removed: those commits must be refused).
async fn process(
    world: &World,
    member: &mut GroupMember,
    positions: &mut BTreeMap<TopicPartition, (u64, u64)>,
    rng: &mut StdRng,
) {
    for a in member.assignment() {
        let start = match positions.get(&a.partition) {
            Some((epoch, at)) if *epoch == a.lease_epoch => *at,
            _ => a.committed.unwrap_or(0),
        };
        let next = start + rng.random_range(0..=5);
        world
            .processed
            .lock()
            .unwrap()
            .entry(a.partition.clone())
            .or_default()
            .push(start..next);
        positions.insert(a.partition.clone(), (a.lease_epoch, next));
        if let Err(GroupError::Fenced { .. }) = member.commit(&a.partition, next, "").await {
            world.fenced.fetch_add(1, Ordering::SeqCst);
        }
    }
}

fn faults() -> Vec<Rule> {
    let on = |call, fault, p| Rule::new(call, fault, p).on_keys("groups/");
    vec![
        on(Call::PutUpdate, Fault::ErrorAfter, 0.04),
        on(Call::PutUpdate, Fault::PreconditionAfter, 0.03),
        on(Call::PutUpdate, Fault::ErrorBefore, 0.04),
        on(
            Call::PutUpdate,
            Fault::Delay(Duration::from_millis(700)),
            0.05,
        ),
        on(Call::PutCreate, Fault::ErrorAfter, 0.05),
        on(Call::PutCreate, Fault::ConflictAfter, 0.05),
        on(Call::Get, Fault::ErrorBefore, 0.04),
        on(Call::Get, Fault::Delay(Duration::from_millis(300)), 0.1),
    ]
}

async fn simulate(seed: u64) {
    let flaky = FlakyStore::new(Arc::new(InMemory::new()), seed);
    let audit = audit_leases(&flaky);
    let clock = Arc::new(SimClock::new(1_800_000_000_000, seed));
    let storage =
        Storage::over(flaky.clone(), Path::default(), "memory://").with_clock(clock.clone());
    let topic = TopicName::new("orders").unwrap();
    storage
        .create_topic(&topic, PARTITIONS, TopicSettings::default())
        .await
        .unwrap();
    flaky.set_rules(faults());
    let world = Arc::new(World {
        storage,
        group: GroupName::new("billing").unwrap(),
        topic,
        origin: Instant::now(),
        stop: AtomicBool::new(false),
        slots: Mutex::new(vec![Slot::default(); SLOTS]),
        processed: Mutex::new(BTreeMap::new()),
        fenced: AtomicU64::new(0),
    });
    let mut tasks: Vec<_> = (0..SLOTS)
        .map(|slot| {
            let seed = seed * 100 + slot as u64;
            tokio::spawn(run_member(world.clone(), slot, 0, seed))
        })
        .collect();
    let mut rng = StdRng::seed_from_u64(seed);
    // The fault phase: pauses past the session timeout (zombies), short pauses, crashes.
    while world.now() < FAULT_PHASE {
        let wait = rng.random_range(2_000..8_000);
        silt_core::clock::sleep(Duration::from_millis(wait)).await;
        clock.advance(wait as i64);
        let slot = rng.random_range(0..SLOTS);
        let now = world.now();
        match rng.random_range(0..3) {
            0 => {
                world.slots.lock().unwrap()[slot].paused_until =
                    now + Duration::from_millis(SESSION_MS * 3 / 2)
            }
            1 => {
                world.slots.lock().unwrap()[slot].paused_until =
                    now + Duration::from_millis(SESSION_MS / 3)
            }
            _ => {
                let generation = {
                    let mut slots = world.slots.lock().unwrap();
                    slots[slot].generation += 1;
                    slots[slot].member = None;
                    slots[slot].held.clear();
                    slots[slot].generation
                };
                // A crash: the process is gone at once, mid-request or not.
                tasks[slot].abort();
                let seed = seed * 100 + generation * 10 + slot as u64;
                tasks[slot] = tokio::spawn(run_member(world.clone(), slot, generation, seed));
            }
        }
    }
    flaky.set_rules(Vec::new());
    let healed = world.now();
    for slot in world.slots.lock().unwrap().iter_mut() {
        slot.paused_until = Duration::ZERO;
    }
    let converged_after = loop {
        silt_core::clock::sleep(Duration::from_millis(HEARTBEAT_MS)).await;
        let elapsed = world.now() - healed;
        if converged(&world).await.is_ok() {
            break elapsed;
        }
        if elapsed > FAILOVER_BOUND {
            let why = converged(&world).await.unwrap_err();
            panic!("seed {seed}: not converged {elapsed:?} after the faults stopped: {why}");
        }
    };
    world.stop.store(true, Ordering::SeqCst);
    for task in tasks {
        task.await.unwrap();
    }
    check_leases(&audit.lock().unwrap());
    check_processed(&world).await;
    let fenced = world.fenced.load(Ordering::SeqCst);
    println!(
        "seed {seed}: converged {converged_after:?} after the faults stopped; {fenced} zombie commits refused; {} faults injected",
        flaky.injected()
    );
    assert!(
        flaky.injected() > 100,
        "seed {seed}: the faults were exercised"
    );
}

/// Every partition has exactly one live owner, the one the target names, holding it in its
/// lease; the group holds exactly the live members; loads differ by at most one.
async fn converged(world: &World) -> Result<(), String> {
    let slots = world.slots.lock().unwrap().clone();
    let live: BTreeSet<MemberId> = slots.iter().filter_map(|s| s.member.clone()).collect();
    if live.len() != SLOTS {
        return Err(format!("{} of {SLOTS} members joined", live.len()));
    }
    let doc: GroupDocument = read(world, Keys::group_document_name())
        .await
        .ok_or("no document")?;
    let members: BTreeSet<MemberId> = doc.members.iter().map(|m| m.member_id.clone()).collect();
    if members != live {
        return Err(format!("group members {members:?}, live {live:?}"));
    }
    let mut loads: BTreeMap<&MemberId, usize> = live.iter().map(|m| (m, 0)).collect();
    for p in 0..PARTITIONS {
        let tp = TopicPartition {
            topic: world.topic.clone(),
            partition: PartitionId(p),
        };
        let lease: Lease = read(world, Keys::group_offset_name(&tp.topic, tp.partition))
            .await
            .ok_or("no lease")?;
        let owner = lease
            .owner
            .as_ref()
            .filter(|_| !lease.released)
            .map(|o| &o.member_id);
        let target = doc.target[&tp.topic][p as usize].as_ref();
        let holders: Vec<&MemberId> = slots
            .iter()
            .filter(|s| s.held.contains(&tp))
            .filter_map(|s| s.member.as_ref())
            .collect();
        if owner.is_none() || owner != target || holders != [owner.unwrap()] {
            return Err(format!(
                "{tp}: lease owner {owner:?}, target {target:?}, held by {holders:?}"
            ));
        }
        *loads.get_mut(owner.unwrap()).unwrap() += 1;
    }
    let (lo, hi) = (loads.values().min().unwrap(), loads.values().max().unwrap());
    if hi - lo > 1 {
        return Err(format!("unbalanced: {loads:?}"));
    }
    Ok(())
}

async fn read<T: serde::de::DeserializeOwned>(world: &World, name: String) -> Option<T> {
    let key = CasKey {
        scope: world.storage.keys.group(&world.group),
        name,
    };
    let found = world.storage.cas().get(&key).await.unwrap()?;
    Some(serde_json::from_slice(&found.body).unwrap())
}

/// Every offset below a partition's committed offset was processed by some member.
async fn check_processed(world: &World) {
    let processed = world.processed.lock().unwrap().clone();
    for p in 0..PARTITIONS {
        let tp = TopicPartition {
            topic: world.topic.clone(),
            partition: PartitionId(p),
        };
        let lease: Lease = read(world, Keys::group_offset_name(&tp.topic, tp.partition))
            .await
            .unwrap();
        let committed = lease.offset.unwrap_or(0);
        let mut ranges = processed.get(&tp).cloned().unwrap_or_default();
        ranges.sort_by_key(|r| r.start);
        let mut covered = 0;
        for r in &ranges {
            if r.start > covered {
                break;
            }
            covered = covered.max(r.end);
        }
        assert!(
            covered >= committed,
            "{tp}: committed {committed} but only 0..{covered} was processed"
        );
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_group_under_faults_keeps_its_invariants_and_converges() {
    let seeds: u64 = std::env::var("SILT_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    for seed in 1..=seeds {
        simulate(seed).await;
    }
}

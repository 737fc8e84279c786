//! A simulation of a Kafka classic group (docs/consumer-groups.md §13): members join, sync,
//! heartbeat, commit, leave and fall silent against two coordinators over one `memory://`
//! store, the registry moving the group between them every few seconds while both stay up (the
//! worst case: the one that lost it still answers until it notices), under injected faults
//! (writes failing before or after they land, lost answers, delays). Driven by tokio's paused
//! clock and seeded randomness. Checked on the history of the accepted writes of
//! `classic.json`: the generation never goes down, every generation a member was told of was
//! stored with it as a member, and every assignment handed out was stored for that member.
//! After the faults stop, the members settle into one stable generation.
//! `SILT_SIM_SEEDS` sets how many seeds run (8).

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use object_store::memory::InMemory;
use object_store::path::Path;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use silt_core::ids::GroupName;
use silt_core::store::Storage;
use silt_core::testing::{Call, Fault, FlakyStore, Rule};
use silt_group::classic::{
    ClassicCoordinator, ClassicError, ClassicSettings, JoinRequest, MemberRef, SyncRequest,
};
use silt_group::records::{ClassicGroupRecord, ClassicProtocol, ClassicState};

const MEMBERS: usize = 4;
const STEPS: usize = 40;
const SESSION_MS: i32 = 6_000;

/// What a member was told.
#[derive(Debug, Clone)]
enum Told {
    Joined {
        generation: i32,
        member: String,
    },
    Synced {
        generation: i32,
        member: String,
        assignment: Bytes,
    },
}

struct World {
    group: GroupName,
    coordinators: [Arc<ClassicCoordinator>; 2],
    current: AtomicUsize,
    told: Mutex<Vec<Told>>,
}

impl World {
    fn coordinator(&self) -> &ClassicCoordinator {
        &self.coordinators[self.current.load(Ordering::SeqCst) % 2]
    }
}

/// A member's state between steps.
struct Member {
    name: String,
    id: String,
    generation: i32,
}

impl Member {
    fn join_request(&self, group: &GroupName) -> JoinRequest {
        JoinRequest {
            group: group.clone(),
            member_id: self.id.clone(),
            instance_id: None,
            client_id: self.name.clone(),
            client_host: "/127.0.0.1".into(),
            session_timeout_ms: SESSION_MS,
            rebalance_timeout_ms: 2 * SESSION_MS,
            protocol_type: "consumer".into(),
            protocols: vec![ClassicProtocol {
                name: "range".into(),
                metadata: Bytes::from(self.name.clone()),
            }],
            require_known_member_id: true,
        }
    }

    fn me(&self) -> MemberRef {
        MemberRef {
            member_id: self.id.clone(),
            instance_id: None,
        }
    }

    /// After a refusal: what Kafka clients do.
    fn refused(&mut self, e: &ClassicError) {
        match e {
            ClassicError::MemberIdRequired { member_id } => self.id = member_id.clone(),
            ClassicError::UnknownMember { .. } => (self.id.clear(), self.generation = -1).1,
            _ => self.generation = -1, // rejoin (with our id)
        }
    }

    /// Joins and syncs; the leader assigns each member its own index.
    async fn rejoin(&mut self, world: &World) {
        let c = world.coordinator();
        let joined = match c.join(self.join_request(&world.group)).await {
            Ok(joined) => joined,
            Err(e) => return self.refused(&e),
        };
        let (generation, member) = (joined.generation, joined.member_id.clone());
        world
            .told
            .lock()
            .unwrap()
            .push(Told::Joined { generation, member });
        let assignments = joined
            .members
            .iter()
            .enumerate()
            .map(|(i, m)| {
                (
                    m.member_id.clone(),
                    Bytes::from(format!("{generation}/{i}")),
                )
            })
            .collect();
        let sync = SyncRequest {
            group: world.group.clone(),
            generation,
            member: MemberRef {
                member_id: joined.member_id.clone(),
                instance_id: None,
            },
            protocol_type: Some("consumer".into()),
            protocol_name: joined.protocol_name.clone(),
            assignments,
        };
        self.id = joined.member_id;
        match c.sync(sync).await {
            Ok(synced) => {
                let (member, assignment) = (self.id.clone(), synced.assignment);
                let told = Told::Synced {
                    generation,
                    member,
                    assignment,
                };
                world.told.lock().unwrap().push(told);
                self.generation = generation;
            }
            Err(e) => self.refused(&e),
        }
    }

    async fn step(&mut self, world: &World, rng: &mut StdRng) {
        if self.generation < 0 {
            return self.rejoin(world).await;
        }
        let c = world.coordinator();
        let answer = match rng.random_range(0..10) {
            0 => c.leave(&world.group, &[self.me()]).await.map(|_| {
                self.id.clear();
                self.generation = -1;
            }),
            1 => {
                let silence = rng.random_range(0..2 * SESSION_MS as u64);
                silt_core::clock::sleep(Duration::from_millis(silence)).await;
                Ok(())
            }
            _ => c.heartbeat(&world.group, self.generation, &self.me()).await,
        };
        if let Err(e) = answer {
            self.refused(&e);
        }
    }
}

fn faults() -> Vec<Rule> {
    let on = |call, fault, p| Rule::new(call, fault, p).on_keys("classic.json");
    vec![
        on(Call::PutUpdate, Fault::ErrorAfter, 0.05),
        on(Call::PutUpdate, Fault::PreconditionAfter, 0.05),
        on(Call::PutUpdate, Fault::ErrorBefore, 0.05),
        on(
            Call::PutUpdate,
            Fault::Delay(Duration::from_millis(800)),
            0.1,
        ),
        on(Call::PutCreate, Fault::ErrorAfter, 0.1),
        on(Call::Get, Fault::ErrorBefore, 0.03),
    ]
}

async fn simulate(seed: u64) {
    let flaky = FlakyStore::new(Arc::new(InMemory::new()), seed);
    let stored: Arc<Mutex<Vec<ClassicGroupRecord>>> = Arc::default();
    let audit = stored.clone();
    flaky.observe_puts(move |location, body| {
        if location.as_ref().ends_with("classic.json") {
            audit
                .lock()
                .unwrap()
                .push(serde_json::from_slice(body).unwrap());
        }
    });
    let storage = Storage::over(flaky.clone(), Path::default(), "memory://");
    flaky.set_rules(faults());
    let coordinator = |name: &str| {
        let settings = ClassicSettings {
            coordinator: name.into(),
            ..ClassicSettings::default()
        };
        Arc::new(ClassicCoordinator::new(&storage, settings))
    };
    let world = Arc::new(World {
        group: GroupName::new("billing").unwrap(),
        coordinators: [coordinator("agent-0"), coordinator("agent-1")],
        current: AtomicUsize::new(0),
        told: Mutex::default(),
    });
    let tickers: Vec<_> = world
        .coordinators
        .iter()
        .map(|c| {
            let c = c.clone();
            tokio::spawn(async move { c.run_ticks().await })
        })
        .collect();
    let mover = {
        let world = world.clone();
        let mut rng = StdRng::seed_from_u64(seed);
        tokio::spawn(async move {
            loop {
                let pause = rng.random_range(2_000..8_000);
                silt_core::clock::sleep(Duration::from_millis(pause)).await;
                world.current.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    let members: Vec<_> = (0..MEMBERS)
        .map(|i| {
            let world = world.clone();
            tokio::spawn(async move {
                let mut rng = StdRng::seed_from_u64(seed * 100 + i as u64);
                let name = format!("m{i}");
                let mut member = Member {
                    name,
                    id: String::new(),
                    generation: -1,
                };
                for _ in 0..STEPS {
                    member.step(&world, &mut rng).await;
                    let pause = rng.random_range(100..3_000);
                    silt_core::clock::sleep(Duration::from_millis(pause)).await;
                }
                member
            })
        })
        .collect();
    let mut done = Vec::new();
    for m in members {
        done.push(m.await.unwrap());
    }
    mover.abort();
    assert!(flaky.injected() > 0, "seed {seed}: no fault was injected");
    flaky.set_rules(Vec::new());
    check_history(&stored.lock().unwrap(), &world.told.lock().unwrap(), seed);
    settle(&world, done, seed).await;
    for t in tickers {
        t.abort();
    }
}

/// The invariants on what was stored and what members were told.
fn check_history(stored: &[ClassicGroupRecord], told: &[Told], seed: u64) {
    assert!(
        stored.len() > MEMBERS,
        "seed {seed}: the audit saw too few writes"
    );
    for pair in stored.windows(2) {
        assert!(
            pair[1].generation >= pair[0].generation,
            "seed {seed}: the stored generation went from {} to {}",
            pair[0].generation,
            pair[1].generation
        );
    }
    let mut synced = 0;
    for t in told {
        let found = match t {
            Told::Joined { generation, member } => stored.iter().any(|r| {
                r.generation == *generation && r.members.iter().any(|m| &m.member_id == member)
            }),
            Told::Synced {
                generation,
                member,
                assignment,
            } => {
                synced += 1;
                stored.iter().any(|r| {
                    r.generation == *generation
                        && r.state == ClassicState::Stable
                        && r.members
                            .iter()
                            .any(|m| &m.member_id == member && m.assignment == assignment)
                })
            }
        };
        assert!(found, "seed {seed}: told {t:?}, never stored so");
    }
    assert!(
        synced > MEMBERS,
        "seed {seed}: only {synced} syncs succeeded"
    );
    let takeovers = stored
        .iter()
        .map(|r| r.coordinator_epoch)
        .max()
        .unwrap_or(0);
    assert!(
        takeovers > 2,
        "seed {seed}: the group moved {takeovers} times only"
    );
    let last = &stored[stored.len() - 1];
    eprintln!(
        "seed {seed}: {} writes, {} answers checked, {takeovers} takeovers, generation {}",
        stored.len(),
        told.len(),
        last.generation
    );
}

/// Without faults, on one coordinator, every member (each its own task: rejoin when told,
/// else heartbeat every second) ends in one stable generation.
async fn settle(world: &Arc<World>, members: Vec<Member>, seed: u64) {
    let generations = Arc::new(Mutex::new(vec![-1; members.len()]));
    let tasks: Vec<_> = members
        .into_iter()
        .enumerate()
        .map(|(i, mut m)| {
            let (world, generations) = (world.clone(), generations.clone());
            tokio::spawn(async move {
                loop {
                    if m.generation < 0 {
                        m.rejoin(&world).await;
                    } else {
                        let c = world.coordinator();
                        if let Err(e) = c.heartbeat(&world.group, m.generation, &m.me()).await {
                            m.refused(&e);
                        }
                    }
                    generations.lock().unwrap()[i] = m.generation;
                    silt_core::clock::sleep(Duration::from_secs(1)).await;
                }
            })
        })
        .collect();
    let mut seen = Vec::new();
    for _ in 0..120 {
        silt_core::clock::sleep(Duration::from_secs(1)).await;
        seen = generations.lock().unwrap().clone();
        if seen[0] >= 0 && seen.windows(2).all(|w| w[0] == w[1]) {
            break;
        }
    }
    for t in tasks {
        t.abort();
    }
    assert!(
        seen[0] >= 0 && seen.windows(2).all(|w| w[0] == w[1]),
        "seed {seed}: the members did not settle: generations {seen:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn classic_groups_hold_their_invariants_under_faults_and_coordinator_moves() {
    let seeds: u64 = std::env::var("SILT_SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(8);
    for seed in 1..=seeds {
        simulate(seed).await;
    }
}

//! [`ClassicCoordinator`]: the classic groups one agent coordinates. Each group is behind its
//! own lock, held while a request changes it and while the change is stored; a request that
//! waits at a barrier (join, sync) lets go of the lock and waits for its answer, waking at the
//! group's next deadline to end what is due (`Group::expire`). [`ClassicCoordinator::tick`]
//! ends sessions of groups nobody is waiting on.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use silt_core::ids::GroupName;
use silt_core::keys::Keys;
use silt_core::store::Storage;
use tokio::sync::Mutex as AsyncMutex;
use tokio::time::Instant;

use super::error::ClassicError;
use super::join::Step;
use super::state::{Group, Phase};
use super::store::store;
use super::{ClassicSettings, JoinRequest, JoinResponse, MemberRef, SyncRequest, SyncResponse};
use crate::member::Mono;
use crate::records::{ClassicGroupRecord, ClassicState, GroupKeys, Records};

/// Shortest pause between two looks at a waiting request's group.
const WAKE_MIN: Duration = Duration::from_millis(5);
/// Longest pause, when the group has nothing due.
const WAKE_MAX: Duration = Duration::from_secs(1);

/// A classic group as DescribeGroups shows it.
#[derive(Debug, Clone)]
pub struct ClassicSnapshot {
    /// Kafka's name of its state: `Empty`, `PreparingRebalance`, `CompletingRebalance`,
    /// `Stable`.
    pub state: &'static str,
    /// Its members, protocol and generation.
    pub record: ClassicGroupRecord,
}

/// Kafka's name of a stored group's state.
fn stored_state(record: &ClassicGroupRecord) -> &'static str {
    match record.state {
        _ if record.members.is_empty() => "Empty",
        ClassicState::Empty => "Empty",
        ClassicState::AwaitingSync => "CompletingRebalance",
        ClassicState::Stable => "Stable",
    }
}

/// A group's place in memory: `None` until loaded (and after it was dropped).
#[derive(Debug, Default)]
pub(super) struct Slot {
    pub(super) group: Option<Group>,
}

impl Slot {
    /// Drops the group from memory; its waiting requests get `error`.
    pub(super) fn drop_group(&mut self, error: &ClassicError) {
        if let Some(mut dropped) = self.group.take() {
            dropped.fail_waiting(error);
        }
    }
}

/// The classic groups coordinated by this agent.
#[derive(Debug)]
pub struct ClassicCoordinator {
    pub(super) records: Records,
    pub(super) keys: Keys,
    pub(super) settings: ClassicSettings,
    origin: Instant,
    groups: Mutex<HashMap<GroupName, Arc<AsyncMutex<Slot>>>>,
}

impl ClassicCoordinator {
    /// A coordinator of groups stored in `storage`.
    pub fn new(storage: &Storage, settings: ClassicSettings) -> ClassicCoordinator {
        ClassicCoordinator {
            records: Records {
                cas: storage.cas(),
                clock: storage.clock.clone(),
            },
            keys: storage.keys.clone(),
            settings,
            origin: Instant::now(),
            groups: Mutex::default(),
        }
    }

    pub(super) fn now(&self) -> Mono {
        Instant::now().saturating_duration_since(self.origin)
    }

    pub(super) fn slot_of(&self, name: &GroupName) -> Arc<AsyncMutex<Slot>> {
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        groups.entry(name.clone()).or_default().clone()
    }

    /// Handles a JoinGroup; waits at the barrier.
    pub async fn join(&self, req: JoinRequest) -> Result<JoinResponse, ClassicError> {
        let slot = self.slot_of(&req.group);
        let step = {
            let mut held = slot.lock().await;
            if held.group.as_ref().is_none_or(|g| g.phase == Phase::Empty) {
                self.refuse_native(&req.group).await?;
            }
            let now = self.now();
            let group = self.ready(&mut held, &req.group, now, true).await?;
            let new_id = || format!("{}-{}", req.client_id, self.records.clock.new_ulid());
            let step = group.join(&req, new_id, &self.settings, now);
            self.settle(&mut held).await;
            step
        };
        self.wait(&slot, step).await
    }

    /// Handles a SyncGroup; followers wait for the leader's assignment.
    pub async fn sync(&self, req: SyncRequest) -> Result<SyncResponse, ClassicError> {
        let slot = self.slot_of(&req.group);
        let step = {
            let mut held = slot.lock().await;
            let now = self.now();
            let group = self.ready(&mut held, &req.group, now, false).await?;
            let step = group.sync(&req, now);
            self.settle(&mut held).await;
            step
        };
        self.wait(&slot, step).await
    }

    /// Handles a Heartbeat.
    pub async fn heartbeat(
        &self,
        group: &GroupName,
        generation: i32,
        member: &MemberRef,
    ) -> Result<(), ClassicError> {
        let slot = self.slot_of(group);
        let mut held = slot.lock().await;
        let now = self.now();
        let loaded = self.ready(&mut held, group, now, false).await?;
        let answer = loaded.heartbeat(member, generation, now);
        self.settle(&mut held).await;
        answer
    }

    /// Handles a LeaveGroup: one answer per member named.
    pub async fn leave(
        &self,
        group: &GroupName,
        members: &[MemberRef],
    ) -> Result<Vec<Result<(), ClassicError>>, ClassicError> {
        let slot = self.slot_of(group);
        let mut held = slot.lock().await;
        let now = self.now();
        let loaded = self.ready(&mut held, group, now, false).await?;
        let answers = members
            .iter()
            .map(|m| loaded.leave(m, &self.settings, now))
            .collect();
        self.settle(&mut held).await;
        Ok(answers)
    }

    /// The group as DescribeGroups shows it: from memory when this agent holds it, else as
    /// stored; `None` when it has no record.
    pub async fn describe(
        &self,
        group: &GroupName,
    ) -> Result<Option<ClassicSnapshot>, ClassicError> {
        {
            let slot = self.slot_of(group);
            let held = slot.lock().await;
            if let Some(held) = held.group.as_ref().filter(|g| g.stored.is_some()) {
                let record = held.to_record();
                let state = held.kafka_state();
                return Ok(Some(ClassicSnapshot { state, record }));
            }
        }
        let key = GroupKeys::new(&self.keys, group).classic();
        let stored = self.records.read::<ClassicGroupRecord>(&key).await;
        let stored = stored.map_err(|e| store(group, &e))?;
        Ok(stored.map(|s| ClassicSnapshot {
            state: stored_state(&s.value),
            record: s.value,
        }))
    }

    /// Drops `group` from memory (this agent no longer coordinates it): its waiting requests
    /// are told NOT_COORDINATOR. Nothing stored changes.
    pub async fn forget(&self, group: &GroupName) {
        let slot = self.slot_of(group);
        let mut held = slot.lock().await;
        held.drop_group(&ClassicError::NotCoordinator {
            group: group.to_string(),
        });
    }

    /// Ends the sessions that are over in every group held, and drops from memory the groups
    /// without members unused for `idle_evict_ms`. Call it every second or so.
    pub async fn tick(&self) {
        let slots: Vec<Arc<AsyncMutex<Slot>>> = {
            let groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
            groups.values().cloned().collect()
        };
        let idle = Duration::from_millis(self.settings.idle_evict_ms);
        for slot in slots {
            let Ok(mut held) = slot.try_lock() else {
                continue; // a request holds it and looks at it anyway
            };
            let now = self.now();
            if let Some(group) = held.group.as_mut() {
                group.expire(&self.settings, now);
            }
            self.settle(&mut held).await;
            if held.group.as_ref().is_some_and(|g| {
                g.phase == Phase::Empty && g.pending.is_empty() && now - g.used_at >= idle
            }) {
                held.group = None;
            }
        }
        let mut groups = self.groups.lock().unwrap_or_else(|e| e.into_inner());
        groups.retain(|_, slot| Arc::strong_count(slot) > 1 || !slot_is_empty(slot));
    }

    /// Ticks every second until the task is dropped.
    pub async fn run_ticks(&self) {
        loop {
            silt_core::clock::sleep(WAKE_MAX).await;
            self.tick().await;
        }
    }

    /// Waits for the answer of `step`, ending what falls due in its group meanwhile.
    async fn wait<T>(&self, slot: &AsyncMutex<Slot>, step: Step<T>) -> Result<T, ClassicError> {
        let mut answer = match step {
            Step::Now(answer) => return answer,
            Step::Wait(rx) => rx,
        };
        loop {
            let pause = {
                let held = slot.lock().await;
                let due = held.group.as_ref().and_then(Group::next_deadline);
                due.map_or(WAKE_MAX, |d| d.saturating_sub(self.now()))
                    .clamp(WAKE_MIN, WAKE_MAX)
            };
            tokio::select! {
                got = &mut answer => {
                    return got.unwrap_or_else(|_| Err(ClassicError::RebalanceInProgress));
                }
                () = silt_core::clock::sleep(pause) => {
                    let mut held = slot.lock().await;
                    let now = self.now();
                    if let Some(group) = held.group.as_mut() {
                        group.expire(&self.settings, now);
                    }
                    self.settle(&mut held).await;
                }
            }
        }
    }
}

/// True when the slot holds no group (it may go from the map).
fn slot_is_empty(slot: &AsyncMutex<Slot>) -> bool {
    slot.try_lock().is_ok_and(|held| held.group.is_none())
}

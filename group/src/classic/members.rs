//! SyncGroup, Heartbeat, LeaveGroup and the member check of OffsetCommit, as an Apache Kafka
//! coordinator answers them: followers wait for the leader's assignment, which is stored
//! before anyone gets theirs; a heartbeat tells a member of a rebalance; a leave starts one.

use bytes::Bytes;
use tokio::sync::oneshot;

use super::error::ClassicError;
use super::join::Step;
use super::state::{Group, Phase, Reply};
use super::{ClassicSettings, MemberRef, SyncRequest, SyncResponse};
use crate::member::Mono;

impl Group {
    /// The member `who` names, checked as Kafka's `validateCurrentMember`; its session starts
    /// again.
    fn current_member(&mut self, who: &MemberRef, now: Mono) -> Result<(), ClassicError> {
        if let Some(instance) = &who.instance_id
            && let Some(holder) = self.by_instance(instance)
            && holder.info.member_id != who.member_id
        {
            let instance_id = instance.clone();
            return Err(ClassicError::FencedInstance { instance_id });
        }
        match self.members.get_mut(&who.member_id) {
            Some(member) => {
                member.touch(now);
                Ok(())
            }
            None => Err(ClassicError::UnknownMember {
                member_id: who.member_id.clone(),
            }),
        }
    }

    fn check_generation(&self, generation: i32) -> Result<(), ClassicError> {
        match generation == self.generation {
            true => Ok(()),
            false => Err(ClassicError::IllegalGeneration {
                generation,
                current: self.generation,
            }),
        }
    }

    /// Handles a SyncGroup.
    pub(super) fn sync(&mut self, req: &SyncRequest, now: Mono) -> Step<SyncResponse> {
        if let Err(e) = self.check_sync(req, now) {
            return Step::Now(Err(e));
        }
        match self.phase {
            Phase::Empty => Step::Now(Err(ClassicError::UnknownMember {
                member_id: req.member.member_id.clone(),
            })),
            Phase::Joining { .. } => Step::Now(Err(ClassicError::RebalanceInProgress)),
            Phase::Stable => Step::Now(Ok(self.sync_response(&req.member.member_id))),
            Phase::AwaitingSync { .. } => {
                let (tx, rx) = oneshot::channel();
                if let Some(member) = self.members.get_mut(&req.member.member_id) {
                    member.sync = Some(tx);
                }
                if self.leader.as_deref() == Some(req.member.member_id.as_str()) {
                    self.settle_assignment(&req.assignments);
                }
                Step::Wait(rx)
            }
        }
    }

    fn check_sync(&mut self, req: &SyncRequest, now: Mono) -> Result<(), ClassicError> {
        self.current_member(&req.member, now)?;
        self.check_generation(req.generation)?;
        let differs = |asked: &Option<String>, ours: &Option<String>| {
            asked.as_ref().is_some_and(|a| Some(a) != ours.as_ref())
        };
        if differs(&req.protocol_type, &self.protocol_type)
            || differs(&req.protocol_name, &self.protocol_name)
        {
            let reason = "the SyncGroup's protocol differs from the group's".into();
            return Err(ClassicError::InconsistentProtocol { reason });
        }
        Ok(())
    }

    /// The leader's assignment: stored, then every waiting member gets its part.
    fn settle_assignment(&mut self, assignments: &[(String, Bytes)]) {
        for member in self.members.values_mut() {
            member.info.assignment = assignments
                .iter()
                .find(|(id, _)| id == &member.info.member_id)
                .map_or_else(Bytes::new, |(_, a)| a.clone());
        }
        self.phase = Phase::Stable;
        self.effects.persist = true;
        let waiting: Vec<String> = self
            .members
            .values()
            .filter(|m| m.sync.is_some())
            .map(|m| m.info.member_id.clone())
            .collect();
        for id in waiting {
            let answer = self.sync_response(&id);
            if let Some(tx) = self.members.get_mut(&id).and_then(|m| m.sync.take()) {
                self.effects.replies.push(Reply::Sync(tx, Ok(answer)));
            }
        }
    }

    /// Handles a Heartbeat.
    pub(super) fn heartbeat(
        &mut self,
        who: &MemberRef,
        generation: i32,
        now: Mono,
    ) -> Result<(), ClassicError> {
        if self.phase == Phase::Empty {
            let member_id = who.member_id.clone();
            return Err(ClassicError::UnknownMember { member_id });
        }
        self.current_member(who, now)?;
        self.check_generation(generation)?;
        match self.phase {
            Phase::Joining { .. } => Err(ClassicError::RebalanceInProgress),
            _ => Ok(()),
        }
    }

    /// Handles one member of a LeaveGroup (v3+ lists several). A static member may be named
    /// by its instance id alone (an administrator removing it).
    pub(super) fn leave(
        &mut self,
        who: &MemberRef,
        settings: &ClassicSettings,
        now: Mono,
    ) -> Result<(), ClassicError> {
        let unknown = || ClassicError::UnknownMember {
            member_id: who.member_id.clone(),
        };
        let member_id = match &who.instance_id {
            Some(instance) => {
                let holder = self.by_instance(instance).ok_or_else(unknown)?;
                let id = holder.info.member_id.clone();
                if !who.member_id.is_empty() && who.member_id != id {
                    let instance_id = instance.clone();
                    return Err(ClassicError::FencedInstance { instance_id });
                }
                id
            }
            None if self.pending.remove(&who.member_id).is_some() => {
                self.maybe_complete_join(now);
                return Ok(());
            }
            None => {
                self.members.get(&who.member_id).ok_or_else(unknown)?;
                who.member_id.clone()
            }
        };
        self.remove_member(&member_id, settings, now);
        Ok(())
    }

    /// Checks an OffsetCommit's member and generation (Kafka's `validateOffsetCommit`): a
    /// commit of generation < 0 is the simple consumer's, accepted only while the group has no
    /// members; a member's commit needs the current generation, and is refused while the
    /// generation waits for its assignment.
    pub(super) fn check_commit(
        &mut self,
        who: &MemberRef,
        generation: i32,
        now: Mono,
    ) -> Result<(), ClassicError> {
        if generation < 0 && self.phase == Phase::Empty {
            return Ok(());
        }
        if generation < 0 && who.member_id.is_empty() && who.instance_id.is_none() {
            let member_id = String::new();
            return Err(ClassicError::UnknownMember { member_id });
        }
        self.current_member(who, now)?;
        self.check_generation(generation)?;
        match self.phase {
            Phase::AwaitingSync { .. } => Err(ClassicError::RebalanceInProgress),
            _ => Ok(()),
        }
    }
}

//! JoinGroup, as an Apache Kafka coordinator answers it (`GroupCoordinator.handleJoinGroup`):
//! a new dynamic member first gets an id to join again with (MEMBER_ID_REQUIRED, v4+); a
//! member joining or rejoining with other protocols starts a rebalance and waits at the
//! barrier (`barrier.rs`); a known member of a settled generation gets that generation again;
//! a static member (`group.instance.id`) that restarts takes its old place.

use tokio::sync::oneshot;

use super::error::ClassicError;
use super::state::{Group, Member, Phase, Reply};
use super::{ClassicSettings, JoinRequest, JoinResponse};
use crate::member::Mono;
use crate::records::ClassicMember;

/// An answer now, or one to wait for.
#[derive(Debug)]
pub(super) enum Step<T> {
    Now(Result<T, ClassicError>),
    Wait(oneshot::Receiver<Result<T, ClassicError>>),
}

impl Group {
    /// Handles a JoinGroup; `new_id` mints a member id.
    pub(super) fn join(
        &mut self,
        req: &JoinRequest,
        new_id: impl FnOnce() -> String,
        settings: &ClassicSettings,
        now: Mono,
    ) -> Step<JoinResponse> {
        if let Err(e) = self.check_join(req, settings) {
            return Step::Now(Err(e));
        }
        if req.member_id.is_empty() {
            return self.join_unknown(req, new_id(), settings, now);
        }
        if self.pending.remove(&req.member_id).is_some() {
            return self.add_and_wait(req, req.member_id.clone(), settings, now);
        }
        if let Some(instance) = &req.instance_id
            && let Some(holder) = self.by_instance(instance)
            && holder.info.member_id != req.member_id
        {
            let instance_id = instance.clone();
            return Step::Now(Err(ClassicError::FencedInstance { instance_id }));
        }
        let Some(member) = self.members.get_mut(&req.member_id) else {
            let member_id = req.member_id.clone();
            return Step::Now(Err(ClassicError::UnknownMember { member_id }));
        };
        member.touch(now);
        let same = member.info.protocols == req.protocols;
        let is_leader = self.leader.as_deref() == Some(req.member_id.as_str());
        match self.phase {
            Phase::AwaitingSync { .. } if same => Step::Now(Ok(self.join_response(&req.member_id))),
            Phase::Stable if same && !is_leader => {
                Step::Now(Ok(self.join_response(&req.member_id)))
            }
            _ => self.update_and_wait(req, settings, now),
        }
    }

    /// Session timeout in bounds; protocols that the group's members all share one of.
    fn check_join(
        &self,
        req: &JoinRequest,
        settings: &ClassicSettings,
    ) -> Result<(), ClassicError> {
        let (min_ms, max_ms) = (
            settings.min_session_timeout_ms,
            settings.max_session_timeout_ms,
        );
        let timeout = req.session_timeout_ms;
        if u32::try_from(timeout).map_or(true, |t| t < min_ms || t > max_ms) {
            let timeout_ms = timeout;
            return Err(ClassicError::InvalidSessionTimeout {
                timeout_ms,
                min_ms,
                max_ms,
            });
        }
        if req.protocol_type.is_empty() || req.protocols.is_empty() {
            let reason = "a JoinGroup must name a protocol type and at least one protocol".into();
            return Err(ClassicError::InconsistentProtocol { reason });
        }
        let others: Vec<&Member> = self
            .members
            .values()
            .filter(|m| m.info.member_id != req.member_id)
            .collect();
        if others.is_empty() {
            return Ok(());
        }
        if self.protocol_type.as_deref() != Some(req.protocol_type.as_str()) {
            let reason = format!(
                "protocol type {} differs from the group's {}",
                req.protocol_type,
                self.protocol_type.as_deref().unwrap_or("(none)")
            );
            return Err(ClassicError::InconsistentProtocol { reason });
        }
        let shared = req
            .protocols
            .iter()
            .any(|p| others.iter().all(|m| m.info.metadata(&p.name).is_some()));
        if !shared {
            let reason = "none of the member's protocols is supported by every member".into();
            return Err(ClassicError::InconsistentProtocol { reason });
        }
        Ok(())
    }

    /// A join without a member id.
    fn join_unknown(
        &mut self,
        req: &JoinRequest,
        new_id: String,
        settings: &ClassicSettings,
        now: Mono,
    ) -> Step<JoinResponse> {
        if let Some(instance) = &req.instance_id
            && let Some(old) = self.by_instance(instance)
        {
            let old = old.info.member_id.clone();
            return self.replace_static(req, &old, new_id, settings, now);
        }
        if let Err(reason) = self.room_for(req, settings) {
            return Step::Now(Err(ClassicError::GroupFull { reason }));
        }
        if req.instance_id.is_none() && req.require_known_member_id {
            let session = Mono::from_millis(u64::try_from(req.session_timeout_ms).unwrap_or(0));
            self.pending.insert(new_id.clone(), now + session);
            let member_id = new_id;
            return Step::Now(Err(ClassicError::MemberIdRequired { member_id }));
        }
        self.add_and_wait(req, new_id, settings, now)
    }

    /// Whether one more member fits: `members_max`, and the group's record (every member's
    /// metadata, and an assignment of about the same size) under [`RECORD_BYTES_MAX`].
    fn room_for(&self, req: &JoinRequest, settings: &ClassicSettings) -> Result<(), String> {
        let max = settings.members_max;
        if self.members.len() + self.pending.len() >= max {
            return Err(format!("it has {max} members, as many as a group may have"));
        }
        let bytes: usize = self
            .members
            .values()
            .map(|m| record_bytes(&m.info.protocols, m.info.assignment.len()))
            .sum::<usize>()
            + record_bytes(&req.protocols, 0);
        if bytes > RECORD_BYTES_MAX {
            return Err(format!(
                "its members' metadata would take about {bytes} bytes in the group's record, more than {RECORD_BYTES_MAX}"
            ));
        }
        Ok(())
    }

    /// Adds a new member and waits for the rebalance it starts.
    fn add_and_wait(
        &mut self,
        req: &JoinRequest,
        member_id: String,
        settings: &ClassicSettings,
        now: Mono,
    ) -> Step<JoinResponse> {
        if self.members.is_empty() {
            self.protocol_type = Some(req.protocol_type.clone());
        }
        let info = member_info(req, member_id.clone());
        self.members
            .insert(member_id.clone(), Member::new(info, now));
        if let Phase::Joining {
            deadline,
            limit,
            initial: true,
        } = &mut self.phase
        {
            *deadline = (now + settings.initial_rebalance_delay()).min(*limit);
        }
        self.wait_for_join(&member_id, settings, now)
    }

    /// A known member's new protocols or timeouts; waits for the rebalance.
    fn update_and_wait(
        &mut self,
        req: &JoinRequest,
        settings: &ClassicSettings,
        now: Mono,
    ) -> Step<JoinResponse> {
        if let Some(member) = self.members.get_mut(&req.member_id) {
            let id = member.info.member_id.clone();
            member.info = ClassicMember {
                assignment: member.info.assignment.clone(),
                ..member_info(req, id)
            };
        }
        self.wait_for_join(&req.member_id, settings, now)
    }

    /// Parks the member's join at the barrier and starts a rebalance if none is running.
    fn wait_for_join(
        &mut self,
        member_id: &str,
        settings: &ClassicSettings,
        now: Mono,
    ) -> Step<JoinResponse> {
        let (tx, rx) = oneshot::channel();
        if let Some(member) = self.members.get_mut(member_id)
            && let Some(earlier) = member.join.replace(tx)
        {
            drop(earlier.send(Err(ClassicError::RebalanceInProgress)));
        }
        self.prepare_rebalance(settings, now);
        self.maybe_complete_join(now);
        Step::Wait(rx)
    }

    /// A static member restarted under a new id: it takes the old member's place. In a stable
    /// group with the same protocols nothing moves: the new id is stored and the current
    /// generation returned (its leader is told to skip the assignment); otherwise a rebalance.
    fn replace_static(
        &mut self,
        req: &JoinRequest,
        old_id: &str,
        new_id: String,
        settings: &ClassicSettings,
        now: Mono,
    ) -> Step<JoinResponse> {
        let Some(mut old) = self.members.remove(old_id) else {
            let member_id = old_id.to_string();
            return Step::Now(Err(ClassicError::UnknownMember { member_id }));
        };
        let fenced = ClassicError::FencedInstance {
            instance_id: req.instance_id.clone().unwrap_or_default(),
        };
        if let Some(tx) = old.join.take() {
            drop(tx.send(Err(fenced.clone())));
        }
        if let Some(tx) = old.sync.take() {
            drop(tx.send(Err(fenced)));
        }
        let same = old.info.protocols == req.protocols;
        let mut info = member_info(req, new_id.clone());
        info.assignment = old.info.assignment.clone();
        self.members.insert(new_id.clone(), Member::new(info, now));
        if self.leader.as_deref() == Some(old_id) {
            self.leader = Some(new_id.clone());
        }
        if self.phase == Phase::Stable && same {
            let mut answer = self.join_response(&new_id);
            answer.skip_assignment = self.leader.as_deref() == Some(new_id.as_str());
            let (tx, rx) = oneshot::channel();
            self.effects.persist = true;
            self.effects.replies.push(Reply::Join(tx, Ok(answer)));
            return Step::Wait(rx);
        }
        self.wait_for_join(&new_id, settings, now)
    }
}

/// Largest `classic.json` a group may grow to: a DynamoDB item holds at most 400 KB.
pub const RECORD_BYTES_MAX: usize = 350 * 1024;

/// About what one member takes in the record: its protocols' metadata (base64) and an
/// assignment at least as large, plus names and numbers.
fn record_bytes(protocols: &[crate::records::ClassicProtocol], assignment: usize) -> usize {
    let metadata: usize = protocols
        .iter()
        .map(|p| p.name.len() + p.metadata.len())
        .sum();
    512 + (metadata + assignment.max(metadata)) * 4 / 3
}

/// What a JoinGroup says of its member.
fn member_info(req: &JoinRequest, member_id: String) -> ClassicMember {
    let timeout = |ms: i32| u32::try_from(ms).unwrap_or(0);
    ClassicMember {
        member_id,
        instance_id: req.instance_id.clone(),
        client_id: req.client_id.clone(),
        client_host: req.client_host.clone(),
        session_timeout_ms: timeout(req.session_timeout_ms),
        // v0 has no rebalance timeout: the session timeout stands for it.
        rebalance_timeout_ms: match req.rebalance_timeout_ms {
            ms if ms > 0 => timeout(ms),
            _ => timeout(req.session_timeout_ms),
        },
        protocols: req.protocols.clone(),
        assignment: bytes::Bytes::new(),
    }
}

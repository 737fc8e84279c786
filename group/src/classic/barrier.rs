//! The join barrier (Kafka's `PreparingRebalance` → `CompletingRebalance`): a rebalance waits
//! until every member has rejoined (and every id handed out joined or expired), or until the
//! longest rebalance timeout; an empty group's first rebalance waits a short delay for more
//! members first. Completing it removes the dynamic members that did not rejoin, starts the
//! next generation with the protocol most members prefer among those all support, and answers
//! every waiting join, once the new generation is stored. Sessions that end remove members
//! here too.

use super::ClassicSettings;
use super::error::ClassicError;
use super::state::{Group, Phase, Reply, longest_rebalance};
use crate::member::Mono;

impl Group {
    /// Starts a rebalance unless one is running: waiting syncs are told to rejoin.
    pub(super) fn prepare_rebalance(&mut self, settings: &ClassicSettings, now: Mono) {
        if matches!(self.phase, Phase::Joining { .. }) {
            return;
        }
        for member in self.members.values_mut() {
            if let Some(tx) = member.sync.take() {
                drop(tx.send(Err(ClassicError::RebalanceInProgress)));
            }
        }
        let limit = now + longest_rebalance(&self.members);
        let initial = self.phase == Phase::Empty;
        let deadline = match initial {
            true => (now + settings.initial_rebalance_delay()).min(limit),
            false => limit,
        };
        self.phase = Phase::Joining {
            deadline,
            limit,
            initial,
        };
    }

    /// Completes the rebalance if everyone is in or its time is up.
    pub(super) fn maybe_complete_join(&mut self, now: Mono) {
        let Phase::Joining {
            deadline, initial, ..
        } = self.phase
        else {
            return;
        };
        let all_in = self.members.values().all(|m| m.join.is_some()) && self.pending.is_empty();
        if (all_in && !initial) || now >= deadline {
            self.complete_join(now);
        }
    }

    /// The next generation: members that did not rejoin are removed (static ones stay), a
    /// protocol and a leader are chosen, the record is to be stored, and the joins answered.
    fn complete_join(&mut self, now: Mono) {
        self.members
            .retain(|_, m| m.join.is_some() || m.info.instance_id.is_some());
        self.generation = self.generation.wrapping_add(1).max(1);
        self.effects.persist = true;
        for member in self.members.values_mut() {
            member.info.assignment = bytes::Bytes::new();
            member.touch(now);
        }
        if self.members.is_empty() {
            self.phase = Phase::Empty;
            self.protocol_name = None;
            self.leader = None;
            return;
        }
        self.phase = Phase::AwaitingSync {
            deadline: now + longest_rebalance(&self.members),
        };
        self.protocol_name = self.select_protocol();
        let leader_in = self
            .leader
            .as_ref()
            .is_some_and(|l| self.members.get(l).is_some_and(|m| m.join.is_some()));
        if !leader_in {
            self.leader = self
                .members
                .values()
                .find(|m| m.join.is_some())
                .or_else(|| self.members.values().next())
                .map(|m| m.info.member_id.clone());
        }
        let waiting: Vec<String> = self
            .members
            .values()
            .filter(|m| m.join.is_some())
            .map(|m| m.info.member_id.clone())
            .collect();
        for id in waiting {
            let answer = self.join_response(&id);
            if let Some(tx) = self.members.get_mut(&id).and_then(|m| m.join.take()) {
                self.effects.replies.push(Reply::Join(tx, Ok(answer)));
            }
        }
    }

    /// Among the protocols every member supports, the one most members list first (ties: the
    /// first member's order), as Kafka's `selectProtocol`.
    fn select_protocol(&self) -> Option<String> {
        let first = self.members.values().next()?;
        let candidates: Vec<&str> = first
            .info
            .protocols
            .iter()
            .map(|p| p.name.as_str())
            .filter(|name| {
                self.members
                    .values()
                    .all(|m| m.info.metadata(name).is_some())
            })
            .collect();
        let votes = |name: &str| {
            self.members
                .values()
                .filter(|m| {
                    m.info
                        .protocols
                        .iter()
                        .find(|p| candidates.contains(&p.name.as_str()))
                        .is_some_and(|p| p.name == name)
                })
                .count()
        };
        let mut best: Option<(&str, usize)> = None;
        for name in &candidates {
            let count = votes(name);
            if best.is_none_or(|(_, most)| count > most) {
                best = Some((name, count));
            }
        }
        best.map(|(name, _)| name.to_string())
    }

    /// Removes `member_id` (it left, or its session ended) and rebalances the rest.
    pub(super) fn remove_member(&mut self, member_id: &str, settings: &ClassicSettings, now: Mono) {
        let Some(mut gone) = self.members.remove(member_id) else {
            return;
        };
        let error = ClassicError::UnknownMember {
            member_id: member_id.to_string(),
        };
        if let Some(tx) = gone.join.take() {
            drop(tx.send(Err(error.clone())));
        }
        if let Some(tx) = gone.sync.take() {
            drop(tx.send(Err(error)));
        }
        if self.phase != Phase::Empty {
            self.prepare_rebalance(settings, now);
            self.maybe_complete_join(now);
        }
    }

    /// Ends what is due at `now`: ids handed out and not used, sessions of members not
    /// waiting at a barrier, the join barrier's deadline, and members that did not sync in
    /// time.
    pub(super) fn expire(&mut self, settings: &ClassicSettings, now: Mono) {
        self.pending.retain(|_, until| *until > now);
        let sync_over = matches!(self.phase, Phase::AwaitingSync { deadline } if deadline <= now);
        let expired: Vec<String> = self
            .members
            .values()
            .filter(|m| {
                let silent = m.join.is_none() && m.sync.is_none() && m.deadline <= now;
                silent || (sync_over && m.sync.is_none())
            })
            .map(|m| m.info.member_id.clone())
            .collect();
        for id in &expired {
            tracing::info!(group = %self.name, member = %id, "session expired: member removed");
            self.remove_member(id, settings, now);
        }
        self.maybe_complete_join(now);
    }
}

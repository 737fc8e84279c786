//! Changes of the group document (docs/consumer-groups.md §1, §6): join (or replace a static
//! member's earlier incarnation in place), leave and expiry, each a conditional write of the
//! whole document that recomputes the target. A lost race reads the newer document and applies
//! the change again. A group that Kafka clients are members of (`classic.json`) is refused.

use super::{GroupMember, Mono};
use crate::assign::assign;
use crate::error::GroupError;
use crate::ids::MemberId;
use crate::records::{ClassicGroupRecord, GroupDocument, MemberInfo, Outcome};

/// Attempts at one change before giving up with `Contended`.
const CHANGE_ATTEMPTS: u32 = 100;

/// A membership change.
#[derive(Debug, Clone)]
pub(super) enum Change {
    /// Add this member, or replace the member with its instance id.
    Join(MemberInfo),
    /// Remove a member (it left, or it was silent for the session timeout).
    Remove(MemberId),
}

impl Change {
    /// The document after the change, and the member it replaced; `None` when `current`
    /// needs no change.
    fn apply(
        &self,
        current: &GroupDocument,
        partitions: &std::collections::BTreeMap<silt_core::ids::TopicName, u32>,
    ) -> Option<(GroupDocument, Option<MemberId>)> {
        let mut next = current.clone();
        let mut replaced = None;
        match self {
            Change::Join(me) => {
                if current.member(&me.member_id).is_some() {
                    return None;
                }
                let same_instance =
                    |m: &MemberInfo| me.instance_id.is_some() && m.instance_id == me.instance_id;
                match next.members.iter_mut().find(|m| same_instance(m)) {
                    Some(slot) => {
                        replaced = Some(slot.member_id.clone());
                        *slot = me.clone();
                    }
                    None => next.members.push(me.clone()),
                }
                if let Some(old) = &replaced {
                    for owner in next.target.values_mut().flatten() {
                        if owner.as_ref() == Some(old) {
                            *owner = Some(me.member_id.clone());
                        }
                    }
                }
                for (topic, count) in partitions {
                    next.partitions.insert(topic.clone(), *count);
                }
            }
            Change::Remove(id) => {
                current.member(id)?;
                next.members.retain(|m| &m.member_id != id);
                let members = &next.members;
                next.partitions
                    .retain(|t, _| members.iter().any(|m| m.topics.contains(t)));
            }
        }
        next.members.sort_by(|a, b| a.member_id.cmp(&b.member_id));
        next.group_epoch += 1;
        next.target = assign(&next.members, &next.partitions, &next.target);
        Some((next, replaced))
    }
}

impl GroupMember {
    /// Joins (again) under a new member id: creates the heartbeat, then adds this member to
    /// the group document.
    pub(super) async fn enter(&mut self, now: Mono) -> Result<(), GroupError> {
        let classic = self.keys.classic();
        let classic = self.records.read::<ClassicGroupRecord>(&classic).await?;
        let members = classic.map_or(0, |c| c.value.members.len());
        if members > 0 {
            return Err(GroupError::KafkaGroup { members });
        }
        self.me.member_id = MemberId(self.records.clock.new_ulid().to_string());
        self.heartbeat = None;
        self.watch = None;
        self.beat().await?;
        self.change_document(Change::Join(self.me.clone())).await?;
        self.last_ok = now;
        Ok(())
    }

    /// Applies `change` to the group document by conditional writes until it is in.
    pub(super) async fn change_document(&mut self, change: Change) -> Result<(), GroupError> {
        let key = self.keys.document();
        if self.doc.is_none() {
            self.doc = self.records.read(&key).await?;
        }
        // Listed before the document is first written: a listed group may have no document
        // yet, never the reverse.
        if self.doc.is_none() && matches!(change, Change::Join(_)) {
            self.records.register(&self.index).await?;
        }
        for _ in 0..CHANGE_ATTEMPTS {
            let empty = GroupDocument::empty();
            let current = self.doc.as_ref().map_or(&empty, |d| &d.value);
            let Some((mut next, replaced)) = change.apply(current, &self.partitions) else {
                return Ok(());
            };
            next.changed_at_ms = Some(self.records.clock.now_ms());
            match self.records.write(&key, self.doc.as_ref(), next).await? {
                Outcome::Written(stored) => {
                    self.doc = Some(stored);
                    if let Some(old) = replaced {
                        self.records.cas.delete(&self.keys.heartbeat(&old)).await?;
                    }
                    return Ok(());
                }
                Outcome::Lost(now) => self.doc = now,
            }
        }
        Err(GroupError::Contended {
            attempts: CHANGE_ATTEMPTS,
        })
    }
}

//! Taking and releasing partitions (docs/consumer-groups.md §2, §6). A partition the target
//! moved away is released: its final offset and `released = true` in one write conditioned
//! on this member's lease. A partition the target gives this member is taken (a write that
//! bumps `lease_epoch`) once its lease has no owner, is released, is held by a member no longer
//! in the group (or by this member's earlier self), or its live holder ignored the handoff
//! timeout, timed on this member's monotonic clock.

use std::collections::BTreeSet;

use super::{Event, GroupMember, Held, Mono};
use crate::error::GroupError;
use crate::ids::TopicPartition;
use crate::records::{Lease, Outcome, Owner};

impl GroupMember {
    /// Releases what the target moved away and takes what it gives this member.
    pub(super) async fn reconcile(&mut self, now: Mono) -> Result<(), GroupError> {
        let mine = self.target_of_mine();
        let moved: Vec<TopicPartition> = self
            .held
            .keys()
            .filter(|tp| !mine.contains(*tp))
            .cloned()
            .collect();
        for tp in moved {
            self.release(&tp).await?;
        }
        self.waiting.retain(|tp, _| mine.contains(tp));
        for tp in mine {
            if !self.held.contains_key(&tp) {
                self.try_take(&tp, now).await?;
            }
        }
        Ok(())
    }

    /// The partitions the group document's target gives this member.
    fn target_of_mine(&self) -> BTreeSet<TopicPartition> {
        let Some(doc) = &self.doc else {
            return BTreeSet::new();
        };
        let mut mine = BTreeSet::new();
        for (topic, owners) in &doc.value.target {
            if !self.topic_ids.contains_key(topic) {
                continue;
            }
            for (p, owner) in owners.iter().enumerate() {
                if owner.as_ref() == Some(&self.me.member_id) {
                    let partition = silt_core::ids::PartitionId(p as u32);
                    mine.insert(TopicPartition {
                        topic: topic.clone(),
                        partition,
                    });
                }
            }
        }
        mine
    }

    /// Commits the final (consumed) offset of `tp` and marks it released, in one write.
    pub(super) async fn release(&mut self, tp: &TopicPartition) -> Result<(), GroupError> {
        let Some(held) = self.held.get(tp) else {
            return Ok(());
        };
        let lease = &held.lease.value;
        let committed = lease.offset_of(held.topic_id);
        let offset = held.consumed.max(committed);
        let moved = offset != committed;
        let next = Lease {
            released: true,
            offset,
            committed_at_ms: match moved {
                true => Some(self.records.clock.now_ms()),
                false => lease.committed_at_ms,
            },
            topic_id: Some(held.topic_id),
            ..lease.clone()
        };
        match self.write_held(tp, next, Event::Lost(tp.clone())).await {
            Ok(()) => {
                self.events.push(Event::Revoked(tp.clone()));
                Ok(())
            }
            Err(GroupError::Fenced { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn try_take(&mut self, tp: &TopicPartition, now: Mono) -> Result<(), GroupError> {
        let Some(&topic_id) = self.topic_ids.get(&tp.topic) else {
            return Ok(());
        };
        let key = self.keys.lease(tp);
        let current = self.records.read::<Lease>(&key).await?;
        let lease = current
            .as_ref()
            .map_or_else(Lease::empty, |c| c.value.clone());
        if !self.may_take(tp, &lease, now) {
            return Ok(());
        }
        let same_topic = lease.topic_id == Some(topic_id);
        let next = Lease {
            owner: Some(Owner {
                member_id: self.me.member_id.clone(),
                instance_id: self.me.instance_id.clone(),
            }),
            lease_epoch: lease.lease_epoch + 1,
            released: false,
            offset: lease.offset.filter(|_| same_topic),
            metadata: if same_topic {
                lease.metadata.clone()
            } else {
                String::new()
            },
            topic_id: Some(topic_id),
            ..lease
        };
        if let Outcome::Written(stored) = self.records.write(&key, current.as_ref(), next).await? {
            self.waiting.remove(tp);
            let held = Held {
                lease: stored,
                topic_id,
                consumed: None,
            };
            self.held.insert(tp.clone(), held);
            self.events.push(Event::Assigned(tp.clone()));
        }
        Ok(())
    }

    /// Whether this member may take `tp` from `lease` now.
    fn may_take(&mut self, tp: &TopicPartition, lease: &Lease, now: Mono) -> bool {
        let Some(owner) = &lease.owner else {
            return true;
        };
        let gone = self
            .doc
            .as_ref()
            .is_none_or(|d| d.value.member(&owner.member_id).is_none());
        if lease.released || gone || owner.member_id == self.me.member_id {
            return true;
        }
        let since = *self.waiting.entry(tp.clone()).or_insert(now);
        now.saturating_sub(since) >= self.settings.handoff()
    }
}

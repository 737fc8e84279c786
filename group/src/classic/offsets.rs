//! OffsetCommit and OffsetFetch. Offsets are the lease records' (`offsets/<topic>/<partition>`),
//! so `silt group describe` and `reset-offsets` see Kafka groups' offsets too. A Kafka group has
//! no partition leases: the coordinator checks member and generation in memory, then writes
//! each partition's record conditioned on the version it last saw. A lost write is another
//! writer's: if the group's record is unchanged this coordinator still coordinates and writes
//! again over the newer version, otherwise another agent took over: NOT_COORDINATOR.
//!
//! As in Kafka, an offset may go backwards (a consumer that seeks back commits what it did),
//! and is not checked against the log. A commit of what is already committed writes nothing.

use silt_core::ids::GroupName;

use super::coordinator::ClassicCoordinator;
use super::error::ClassicError;
use super::state::Group;
use super::store::{not_coordinator, store};
use super::{CommitRequest, CommittedOffset, OFFSET_METADATA_BYTES_MAX, OffsetToCommit};
use crate::admin::partition_of;
use crate::ids::TopicPartition;
use crate::records::{GroupKeys, Lease, Outcome};

/// Writes of one partition's offset before giving up on a busy record.
const COMMIT_ATTEMPTS: u32 = 5;

/// Each partition's answer to an OffsetCommit.
pub type CommitAnswers = Vec<(TopicPartition, Result<(), ClassicError>)>;

impl ClassicCoordinator {
    /// Handles an OffsetCommit: the member's check, then one answer per partition.
    pub async fn commit(&self, req: CommitRequest) -> Result<CommitAnswers, ClassicError> {
        let slot = self.slot_of(&req.group);
        let mut held = slot.lock().await;
        let now = self.now();
        let group = self.ready(&mut held, &req.group, now, false).await?;
        group.check_commit(&req.member, req.generation, now)?;
        // The simple consumer's first commit creates the group (as Kafka does); any other
        // commit first checks that no other agent took the group over.
        let checked = match group.claimed {
            false => self.write(group, &req.group, true).await,
            true => self.verify(group, &req.group, now).await,
        };
        if let Err(e) = checked {
            if let Some(mut dropped) = held.group.take() {
                dropped.fail_waiting(&e);
            }
            return Err(e);
        }
        let mut answers = Vec::with_capacity(req.offsets.len());
        let mut failed: Option<ClassicError> = None;
        for offset in &req.offsets {
            let answer = match (&failed, held.group.as_mut()) {
                (Some(e), _) => Err(e.clone()),
                (None, Some(group)) => self.commit_one(group, offset).await,
                (None, None) => Err(not_coordinator(&req.group)),
            };
            if let Err(
                e @ (ClassicError::NotCoordinator { .. }
                | ClassicError::CoordinatorNotAvailable { .. }),
            ) = &answer
                && failed.is_none()
            {
                failed = Some(e.clone());
                if let Some(mut dropped) = held.group.take() {
                    dropped.fail_waiting(e);
                }
            }
            answers.push((offset.partition.clone(), answer));
        }
        Ok(answers)
    }

    async fn commit_one(&self, group: &mut Group, to: &OffsetToCommit) -> Result<(), ClassicError> {
        let offset = u64::try_from(to.offset)
            .map_err(|_| ClassicError::NegativeOffset { offset: to.offset })?;
        if to.metadata.len() > OFFSET_METADATA_BYTES_MAX {
            return Err(ClassicError::MetadataTooLarge {
                bytes: to.metadata.len(),
                max: OFFSET_METADATA_BYTES_MAX,
            });
        }
        let name = group.name.clone();
        let key = GroupKeys::new(&self.keys, &name).lease(&to.partition);
        let mut base = match group.leases.get(&to.partition) {
            Some(known) => Some(known.clone()),
            None => self
                .records
                .read(&key)
                .await
                .map_err(|e| store(&name, &e))?,
        };
        let same = |l: &Lease| {
            l.offset == Some(offset) && l.metadata == to.metadata && l.topic_id == Some(to.topic_id)
        };
        if base.as_ref().is_some_and(|b| same(&b.value)) {
            return Ok(()); // already committed: nothing to write
        }
        for _ in 0..COMMIT_ATTEMPTS {
            let current = base.as_ref().map_or_else(Lease::empty, |b| b.value.clone());
            let next = Lease {
                offset: Some(offset),
                metadata: to.metadata.clone(),
                committed_at_ms: Some(self.records.clock.now_ms()),
                topic_id: Some(to.topic_id),
                ..current
            };
            let written = self.records.write(&key, base.as_ref(), next).await;
            match written.map_err(|e| store(&name, &e))? {
                Outcome::Written(stored) => {
                    group.leases.insert(to.partition.clone(), stored);
                    return Ok(());
                }
                Outcome::Lost(now) => {
                    group.leases.remove(&to.partition);
                    let at = self.now();
                    self.verify(group, &name, at).await?;
                    base = now;
                }
            }
        }
        Err(ClassicError::CoordinatorNotAvailable {
            group: name.to_string(),
            reason: format!("the offset record of {} kept changing", to.partition),
        })
    }

    /// Handles an OffsetFetch: the committed offsets of `partitions`, or of every partition
    /// the group has one for (`None`). Read from the store, so any agent can answer.
    pub async fn fetch(
        &self,
        group: &GroupName,
        partitions: Option<&[TopicPartition]>,
    ) -> Result<Vec<CommittedOffset>, ClassicError> {
        let keys = GroupKeys::new(&self.keys, group);
        let wanted: Vec<TopicPartition> = match partitions {
            Some(some) => some.to_vec(),
            None => {
                let names = self.records.cas.list(&keys.scope, "offsets/").await;
                let names = names.map_err(|e| store(group, &e))?;
                names.iter().filter_map(|n| partition_of(n)).collect()
            }
        };
        let mut found = Vec::with_capacity(wanted.len());
        for partition in wanted {
            let lease = self.records.read::<Lease>(&keys.lease(&partition)).await;
            let lease = lease.map_err(|e| store(group, &e))?.map(|s| s.value);
            found.push(CommittedOffset {
                offset: lease.as_ref().and_then(|l| l.offset),
                metadata: lease
                    .as_ref()
                    .map(|l| l.metadata.clone())
                    .unwrap_or_default(),
                topic_id: lease.as_ref().and_then(|l| l.topic_id),
                partition,
            });
        }
        Ok(found)
    }
}

//! OffsetCommit and OffsetFetch. Offsets are the lease records' (`offsets/<topic>/<partition>`),
//! so `silt group describe` and `reset-offsets` see Kafka groups' offsets too. A Kafka group has
//! no partition leases: the coordinator checks member and generation in memory, then writes
//! each partition's record conditioned on the version it last saw. A lost write is another
//! writer's: if the group's record is unchanged this coordinator still coordinates and writes
//! again over the newer version, otherwise another agent took over: NOT_COORDINATOR.
//!
//! As in Kafka, an offset may go backwards (a consumer that seeks back commits what it did),
//! and is not checked against the log. A member's commit of what is already committed writes
//! nothing; up to [`CONCURRENT_WRITES`] partitions are written at once.

use futures::{StreamExt, TryStreamExt, stream};
use silt_core::ids::GroupName;

use super::coordinator::ClassicCoordinator;
use super::error::ClassicError;
use super::state::Group;
use super::store::{not_coordinator, store};
use super::{CommitRequest, CommittedOffset, OFFSET_METADATA_BYTES_MAX, OffsetToCommit};
use crate::admin::partition_of;
use crate::ids::TopicPartition;
use crate::records::{GroupKeys, Lease, Outcome, Stored};

/// Writes of one partition's offset before giving up on a busy record.
const COMMIT_ATTEMPTS: u32 = 5;
/// Offset records one commit writes (or one fetch reads) at once.
const CONCURRENT_WRITES: usize = 16;

/// The version a write is conditioned on.
#[derive(Debug)]
enum Base {
    /// Known to be what is stored.
    Current(Stored<Lease>),
    /// What this coordinator last wrote; someone may have written since.
    Written(Stored<Lease>),
}

/// What one write of a partition's offset did.
#[derive(Debug)]
enum Attempt {
    /// The offset was already committed.
    Same,
    Written(Stored<Lease>),
    /// Another writer got there first: what is stored now.
    Lost(Option<Stored<Lease>>),
}

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
            held.drop_group(&e);
            return Err(e);
        }
        let Some(group) = held.group.as_mut() else {
            return Err(not_coordinator(&req.group));
        };
        // Every partition's first write at once, over the versions this coordinator knows.
        // Those are current while the group has members (nobody else writes its offsets then:
        // `silt group reset-offsets` refuses), so an offset they show committed is skipped;
        // without members an operator may have reset it, so it is written.
        let cached = |to: &OffsetToCommit| match group.members.is_empty() {
            true => group.leases.get(&to.partition).cloned().map(Base::Written),
            false => group.leases.get(&to.partition).cloned().map(Base::Current),
        };
        // The futures are made first: a stream mapping through a closure would not be `Send`.
        let attempts: Vec<_> = (req.offsets.iter())
            .map(|to| self.attempt(&req.group, to, cached(to)))
            .collect();
        let first: Vec<Result<Attempt, ClassicError>> = stream::iter(attempts)
            .buffered(CONCURRENT_WRITES)
            .collect()
            .await;
        let mut answers = Vec::with_capacity(req.offsets.len());
        let mut failed: Option<ClassicError> = None;
        for (to, first) in req.offsets.iter().zip(first) {
            let answer = match (&failed, held.group.as_mut()) {
                (Some(e), _) => Err(e.clone()),
                (None, Some(group)) => self.settle_commit(group, to, first).await,
                (None, None) => Err(not_coordinator(&req.group)),
            };
            if let Err(
                e @ (ClassicError::NotCoordinator { .. }
                | ClassicError::CoordinatorNotAvailable { .. }),
            ) = &answer
                && failed.is_none()
            {
                failed = Some(e.clone());
                held.drop_group(e);
            }
            answers.push((to.partition.clone(), answer));
        }
        Ok(answers)
    }

    /// Keeps what a partition's first write did; a write lost to another writer is made
    /// again over the newer version, once the group's record shows this coordinator still
    /// coordinates.
    async fn settle_commit(
        &self,
        group: &mut Group,
        to: &OffsetToCommit,
        mut attempt: Result<Attempt, ClassicError>,
    ) -> Result<(), ClassicError> {
        let name = group.name.clone();
        for _ in 0..COMMIT_ATTEMPTS {
            match attempt? {
                Attempt::Same => return Ok(()),
                Attempt::Written(stored) => {
                    group.leases.insert(to.partition.clone(), stored);
                    return Ok(());
                }
                Attempt::Lost(now) => {
                    group.leases.remove(&to.partition);
                    let at = self.now();
                    self.verify(group, &name, at).await?;
                    attempt = self.attempt(&name, to, now.map(Base::Current)).await;
                }
            }
        }
        Err(ClassicError::CoordinatorNotAvailable {
            group: name.to_string(),
            reason: format!("the offset record of {} kept changing", to.partition),
        })
    }

    /// One write of a partition's offset over `base` (`None`: read it first).
    async fn attempt(
        &self,
        name: &GroupName,
        to: &OffsetToCommit,
        base: Option<Base>,
    ) -> Result<Attempt, ClassicError> {
        let offset = u64::try_from(to.offset)
            .map_err(|_| ClassicError::NegativeOffset { offset: to.offset })?;
        if to.metadata.len() > OFFSET_METADATA_BYTES_MAX {
            return Err(ClassicError::MetadataTooLarge {
                bytes: to.metadata.len(),
                max: OFFSET_METADATA_BYTES_MAX,
            });
        }
        let key = GroupKeys::new(&self.keys, name).lease(&to.partition);
        let (base, current_for_sure) = match base {
            Some(Base::Current(known)) => (Some(known), true),
            Some(Base::Written(known)) => (Some(known), false),
            None => (
                self.records.read(&key).await.map_err(|e| store(name, &e))?,
                true,
            ),
        };
        let current = base.as_ref().map_or_else(Lease::empty, |b| b.value.clone());
        let same = current.offset == Some(offset)
            && current.metadata == to.metadata
            && current.topic_id == Some(to.topic_id);
        if same && current_for_sure {
            return Ok(Attempt::Same); // already committed: nothing to write
        }
        let next = Lease {
            offset: Some(offset),
            metadata: to.metadata.clone(),
            committed_at_ms: Some(self.records.clock.now_ms()),
            topic_id: Some(to.topic_id),
            ..current
        };
        let written = self.records.write(&key, base.as_ref(), next).await;
        Ok(match written.map_err(|e| store(name, &e))? {
            Outcome::Written(stored) => Attempt::Written(stored),
            Outcome::Lost(now) => Attempt::Lost(now),
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
        let read = |partition: TopicPartition| {
            let key = keys.lease(&partition);
            async move {
                let lease = self.records.read::<Lease>(&key).await;
                let lease = lease.map_err(|e| store(group, &e))?.map(|s| s.value);
                Ok::<_, ClassicError>(CommittedOffset {
                    offset: lease.as_ref().and_then(|l| l.offset),
                    metadata: lease
                        .as_ref()
                        .map(|l| l.metadata.clone())
                        .unwrap_or_default(),
                    topic_id: lease.as_ref().and_then(|l| l.topic_id),
                    partition,
                })
            }
        };
        let reads: Vec<_> = wanted.into_iter().map(read).collect();
        let found: Vec<CommittedOffset> = stream::iter(reads)
            .buffered(CONCURRENT_WRITES)
            .try_collect()
            .await?;
        Ok(found)
    }
}

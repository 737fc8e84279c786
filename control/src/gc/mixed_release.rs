//! Releasing mixed objects from one partition (docs/design.md §19, GC), in GC step two: when
//! partition p's `mixed` tombstone passed the reader grace, or p's buried index chunk listing
//! mixed entries did, p lets go of those objects. Each object is deleted only if the holder
//! check (`mixed_holder`) finds that no other partition in its toc holds it; either way p then
//! forgets its tombstone, and a partition still holding the object releases it in turn.
//! Deleting an object twice (two partitions releasing it at once) is harmless.
//!
//! When the check is unsure for a reason that may pass (a storage error), nothing is deleted
//! and the tombstone stays for the next run; an object damaged or foreign for good is kept,
//! with a warning, and its tombstone forgotten.

use silt_core::error::Result;
use silt_core::ids::{ObjectId, PartitionId, TopicName};
use silt_core::store::Storage;

use super::mixed_holder::{Holders, Verdict};
use crate::job::delete;

/// What releasing some mixed objects from one partition did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Released {
    /// Objects deleted, no partition holding them (in a dry run: found so).
    pub(super) deleted: u64,
    /// Objects kept: another partition holds them (or they are damaged).
    pub(super) kept: u64,
    /// The tombstone must stay for a later run: a check could not be made now.
    pub(super) retry: bool,
}

/// Releases mixed objects `ids` of `topic` from partition `p`, deleting those no other
/// partition holds.
pub(super) async fn release(
    storage: &Storage,
    topic: &TopicName,
    holders: &mut Holders<'_>,
    ids: &[ObjectId],
    p: PartitionId,
    dry_run: bool,
) -> Result<Released> {
    let mut released = Released::default();
    for &id in ids {
        match holders.verdict(id, Some(p)).await {
            Verdict::Gone => {}
            Verdict::Free => {
                if !dry_run {
                    delete(storage, &storage.keys.mixed(topic, id)).await?;
                }
                released.deleted += 1;
            }
            Verdict::HeldBy(q) => {
                tracing::debug!("{topic}/{p}: mixed object {id} kept, {q} holds it");
                released.kept += 1;
            }
            Verdict::Unsure(unsure) if unsure.lasting() => {
                tracing::warn!("{topic}/{p}: keeping mixed object {id} for good: {unsure}");
                released.kept += 1;
            }
            Verdict::Unsure(unsure) => {
                tracing::warn!("{topic}/{p}: mixed object {id} released next run: {unsure}");
                released.retry = true;
            }
        }
    }
    Ok(released)
}

//! The sweep of a topic's mixed objects that no partition committed (docs/design.md §19, GC):
//! a writer that crashed between uploading a mixed object and its commits leaves an object no
//! graveyard will ever release. Once per topic per GC run, after its partitions' own steps:
//!
//! 1. the sweep's floor: the lowest orphan floor among the topic's partitions (those this run
//!    visited give theirs; the others' manifests are read). No partition can commit an object
//!    whose id time is below it any more (§6 rule 8);
//! 2. read the hint (`topics/<t>/mixed-swept`): where the last sweep stopped;
//! 3. list `mixed/` from there (ids are ULIDs: id-time order) up to the floor; each object last
//!    modified before the orphan grace gets the holder check over every partition in its toc
//!    (`mixed_holder`) and is deleted if no one holds it;
//! 4. store the hint, if it listed anything: the floor (at most `now - LATE_UPLOAD_MS`), or
//!    the id time of the first object left for later (uploaded too recently, a check unsure
//!    for now, a budget spent).
//!
//! An object some partition holds is passed for good: that partition committed it, and
//! releases it through its graveyard (`mixed_release`). The hint never passes an object a
//! partition may still commit, since it stays below every floor. Like the orphan sweep's, the
//! hint is only an optimisation (`crate::hint`): without it the sweep lists everything.

use std::collections::HashMap;

use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use silt_core::error::Result;
use silt_core::ids::{PartitionId, TopicId, TopicName};
use silt_core::keys::Keys;
use silt_core::store::Storage;
use silt_core::topic::TopicConfig;
use ulid::Ulid;

use super::GcOptions;
use super::mixed_holder::{Holders, Verdict, id_ms};
use super::orphans::{LATE_UPLOAD_MS, LISTED_PER_SWEEP};
use crate::hint;
use crate::job::delete;

/// Format of the hint document.
const FORMAT_VERSION: u32 = 1;

/// Where the sweep of a topic's mixed objects resumes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct MixedSweepHint {
    format_version: u32,
    /// The topic incarnation it belongs to.
    topic_id: TopicId,
    /// Every mixed object whose id time is below this was deleted or held when swept.
    resume_ms: i64,
}

impl MixedSweepHint {
    fn at(topic_id: TopicId, resume_ms: i64) -> MixedSweepHint {
        MixedSweepHint {
            format_version: FORMAT_VERSION,
            topic_id,
            resume_ms,
        }
    }

    /// The topic's hint if it can be trusted for a sweep below `floor_ms`; from 0 otherwise.
    async fn read(
        storage: &Storage,
        topic: &TopicName,
        topic_id: TopicId,
        floor_ms: i64,
    ) -> Result<Self> {
        let path = storage.keys.mixed_sweep_hint(topic);
        let found: Option<MixedSweepHint> = hint::read(storage, &path).await?;
        match found {
            Some(h) if h.usable(topic_id, floor_ms) => Ok(h),
            Some(_) => {
                tracing::warn!("ignoring the mixed sweep hint {path}: not of this topic");
                Ok(MixedSweepHint::at(topic_id, 0))
            }
            None => Ok(MixedSweepHint::at(topic_id, 0)),
        }
    }

    fn usable(&self, topic_id: TopicId, floor_ms: i64) -> bool {
        self.format_version == FORMAT_VERSION
            && self.topic_id == topic_id
            && (0..=floor_ms).contains(&self.resume_ms)
    }
}

/// Sweeps the mixed objects of topic `config` that no partition holds, at most `budget`;
/// `floors` are the orphan floors of the partitions this run visited. Returns how many it
/// deleted (in a dry run: found).
pub(super) async fn sweep(
    storage: &Storage,
    config: &TopicConfig,
    floors: &HashMap<PartitionId, i64>,
    now_ms: i64,
    budget: u64,
    options: &GcOptions,
) -> Result<u64> {
    let (topic, topic_id) = (&config.name, config.topic_id);
    let mut holders = Holders::new(storage, topic, topic_id, now_ms, options.reader_grace_ms);
    let mut floor_ms = i64::MAX;
    for p in config.partition_ids() {
        if let Some(floor) = floors.get(&p) {
            floor_ms = floor_ms.min(*floor);
            continue;
        }
        let Some(snapshot) = storage.manifests.read(topic, p).await? else {
            return Ok(0); // no floor to sweep below
        };
        floor_ms = floor_ms.min(snapshot.manifest.orphan_floor_ms);
        holders.seed(p, snapshot);
    }
    let hint = MixedSweepHint::read(storage, topic, topic_id, floor_ms).await?;
    let mut pass = Pass {
        storage,
        topic,
        floor_ms,
        modified_before_ms: now_ms.saturating_sub(options.orphan_grace_ms),
        budget,
        dry_run: options.dry_run,
        swept: 0,
        looked_at: 0,
        resume_ms: floor_ms.min(now_ms.saturating_sub(LATE_UPLOAD_MS)),
    };
    pass.list(hint.resume_ms, &mut holders).await?;
    let next = MixedSweepHint::at(topic_id, pass.resume_ms);
    // A topic without mixed objects below the floor writes no hint: listing nothing again
    // next time costs as little as reading a hint.
    if !options.dry_run && pass.looked_at > 0 && next != hint {
        let path = storage.keys.mixed_sweep_hint(topic);
        hint::write(storage, &path, &next).await?;
    }
    Ok(pass.swept)
}

/// One sweep's progress over `mixed/`.
struct Pass<'a> {
    storage: &'a Storage,
    topic: &'a TopicName,
    floor_ms: i64,
    modified_before_ms: i64,
    budget: u64,
    dry_run: bool,
    /// Objects deleted (found, in a dry run).
    swept: u64,
    /// Objects looked at (below the floor), against [`LISTED_PER_SWEEP`].
    looked_at: u64,
    /// Where the next sweep resumes.
    resume_ms: i64,
}

impl Pass<'_> {
    /// Looks at the mixed objects from id time `from_ms` up to the floor, in id order.
    async fn list(&mut self, from_ms: i64, holders: &mut Holders<'_>) -> Result<()> {
        let folder = self.storage.keys.mixed_folder(self.topic);
        let from = Ulid::from_parts(u64::try_from(from_ms).unwrap_or(0), 0);
        let offset = folder.clone().join(from.to_string());
        let objects = &self.storage.objects;
        let mut listing = objects.list_with_offset(Some(&folder), &offset);
        while let Some(meta) = listing.try_next().await? {
            let Some(id) = meta.location.filename().and_then(Keys::object_id_of) else {
                continue; // not an object silt wrote: leave it alone
            };
            let t = id_ms(id);
            if t >= self.floor_ms {
                break; // the rest are newer still
            }
            self.looked_at += 1;
            if self.looked_at > LISTED_PER_SWEEP {
                self.leave(t);
                break;
            }
            if meta.last_modified.timestamp_millis() > self.modified_before_ms {
                self.leave(t); // uploaded too recently: look again next time
                continue;
            }
            match holders.verdict(id, None).await {
                Verdict::Gone | Verdict::HeldBy(_) => {}
                Verdict::Free if self.swept >= self.budget => {
                    self.leave(t);
                    break;
                }
                Verdict::Free => {
                    if !self.dry_run {
                        delete(self.storage, &meta.location).await?;
                    }
                    self.swept += 1;
                }
                Verdict::Unsure(unsure) if unsure.lasting() => {
                    tracing::warn!(
                        "{}: keeping mixed object {id} for good: {unsure}",
                        self.topic
                    );
                }
                Verdict::Unsure(unsure) => {
                    tracing::warn!("{}: mixed object {id} swept next run: {unsure}", self.topic);
                    self.leave(t);
                    break;
                }
            }
        }
        Ok(())
    }

    /// Makes the next sweep start at or before id time `ms`.
    fn leave(&mut self, ms: i64) {
        self.resume_ms = self.resume_ms.min(ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hint_is_used_only_for_its_incarnation_below_the_floor() {
        let id = TopicId(Ulid::from_parts(5, 5));
        let other = TopicId(Ulid::from_parts(6, 6));
        let hint = MixedSweepHint::at(id, 1_000);
        assert!(hint.usable(id, 1_000) && hint.usable(id, 2_000));
        assert!(
            !hint.usable(id, 999),
            "past the floor: a floor cannot move back"
        );
        assert!(!hint.usable(other, 2_000), "another incarnation's");
        assert!(!MixedSweepHint::at(id, -1).usable(id, 2_000));
        let future = MixedSweepHint {
            format_version: FORMAT_VERSION + 1,
            ..hint
        };
        assert!(!future.usable(id, 2_000));
    }
}

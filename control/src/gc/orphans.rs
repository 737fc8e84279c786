//! GC step three: sweep orphans, objects uploaded under a partition that no commit references
//! (a writer or compaction that crashed or lost its race before committing).
//! docs/design.md §6 rule 8, §8.3:
//!
//! 1. commit `RaiseOrphanFloor { now - orphan grace }`: from then on every commit that would
//!    reference an object whose id time is below the floor is refused (`StaleUpload`), so an
//!    unreferenced object below it can never become referenced;
//! 2. read the manifest again, and the sweep hint (`sweep_hint`): where the last sweep stopped;
//! 3. list `seg/` and `idx/` from there (`list_with_offset`: ids are ULIDs, so the listing is
//!    in id-time order) up to the first id at or above the floor, and the partition's cold
//!    segments under `tables/` (named by offsets, so listed whole, but only ids in the same
//!    window are looked at); delete each object that the manifest does not reference and
//!    that was last modified before the grace too (a second, independent clock);
//! 4. store the hint: the floor (at most `now - LATE_UPLOAD_MS`: an upload may land a while
//!    after its id was minted), or the id time of the first object left for later (modified
//!    too recently, or past the delete or listing budget).
//!
//! Compaction deletes a cold segment whose commit was refused itself, at once (analysts'
//! globs see every file under `tables/`); this sweep finds those a crash left behind.

use futures::TryStreamExt;
use object_store::ObjectMeta;
use object_store::path::Path;
use silt_core::error::Result;
use silt_core::ids::{ObjectId, PartitionId, TopicName};
use silt_core::keys::Keys;
use silt_core::manifest::Edit;
use silt_core::store::{Snapshot, Storage};
use ulid::Ulid;

use super::GcOptions;
use super::references::References;
use super::sweep_hint::SweepHint;
use crate::job::{JobRun, delete};

/// How late after its id was minted an upload may still land (a slow or retried PUT, a large
/// multipart upload). A sweep resumes at least this far back, so an object that landed after
/// a sweep listed its place is listed by the next one. The default orphan grace (1 h) is
/// longer, so this matters only with a shorter one: an upload so late could not commit anyway.
pub(super) const LATE_UPLOAD_MS: i64 = 15 * 60 * 1000;

/// Objects one sweep of a partition looks at, at most (below the floor, from the hint on); the
/// rest waits for the next run.
pub(super) const LISTED_PER_SWEEP: u64 = 100_000;

/// What the orphan sweep of one partition did.
pub(super) struct Orphans {
    /// Orphans deleted (in a dry run: found).
    pub(super) swept: u64,
    /// The orphan floor of the manifest read after raising it (none without a manifest).
    pub(super) floor_ms: Option<i64>,
}

/// Sweeps the orphans of one partition, at most `budget`.
#[allow(clippy::too_many_arguments)] // one step of `partition`, with its context spelled out
pub(super) async fn sweep(
    storage: &Storage,
    topic: &TopicName,
    p: PartitionId,
    base: Snapshot,
    now_ms: i64,
    budget: u64,
    options: &GcOptions,
    run: &mut JobRun,
) -> Result<Orphans> {
    let floor_ms = raise_floor(storage, topic, p, &base, now_ms, options, run).await?;
    // Read after the floor is in place: anything committed later has ids at or above it. Not
    // the raising commit's own result: on DynamoDB that is exact only in what the edit read,
    // and its stale next offset would hide segments committed meanwhile (below the floor).
    let Some(fresh) = storage.manifests.read(topic, p).await? else {
        return Ok(Orphans {
            swept: 0,
            floor_ms: None,
        });
    };
    let topic_id = fresh.manifest.topic_id;
    let hint = SweepHint::read(storage, topic, p, topic_id, floor_ms).await?;
    let mut refs = References::new(storage, topic, p, &fresh, &hint).await?;
    let mut pass = Pass {
        storage,
        floor_ms,
        modified_before_ms: now_ms.saturating_sub(options.orphan_grace_ms),
        budget,
        dry_run: options.dry_run,
        swept: 0,
        looked_at: 0,
        resume_ms: floor_ms.min(now_ms.saturating_sub(LATE_UPLOAD_MS)),
    };
    let folder = storage.keys.partition(topic, p);
    for (name, in_index) in [("seg", true), ("idx", false)] {
        let listed = folder.clone().join(name);
        pass.in_id_order(listed, hint.resume_ms, in_index, &mut refs)
            .await?;
    }
    let tables = storage.keys.partition_table(topic, p);
    pass.in_any_order(tables, hint.resume_ms, &mut refs).await?;
    let next = SweepHint::next(
        topic_id,
        pass.resume_ms,
        refs.settled(&hint, pass.resume_ms),
    );
    if !options.dry_run && next != hint {
        next.write(storage, topic, p).await?;
    }
    Ok(Orphans {
        swept: pass.swept,
        floor_ms: Some(fresh.manifest.orphan_floor_ms),
    })
}

/// Commits a raised orphan floor when it is due; returns the floor to sweep below.
async fn raise_floor(
    storage: &Storage,
    topic: &TopicName,
    p: PartitionId,
    base: &Snapshot,
    now_ms: i64,
    options: &GcOptions,
    run: &mut JobRun,
) -> Result<i64> {
    let floor_ms = now_ms.saturating_sub(options.orphan_grace_ms);
    let current = base.manifest.orphan_floor_ms;
    // Raising the floor is a commit (which races appends): only when it lags by more than
    // half the grace, so a partition sees one every half grace at most.
    let due = floor_ms > current.saturating_add(options.orphan_grace_ms / 2);
    Ok(match options.dry_run {
        // A dry run raises nothing: it reports what lies below the current floor.
        true => current,
        false if due => {
            let edit = Edit::RaiseOrphanFloor { to_ms: floor_ms };
            run.commit(storage, topic, p, base, edit).await?;
            floor_ms
        }
        false => current,
    })
}

/// One sweep's progress over the listings of a partition.
struct Pass<'a> {
    storage: &'a Storage,
    floor_ms: i64,
    modified_before_ms: i64,
    budget: u64,
    dry_run: bool,
    /// Orphans deleted (found, in a dry run).
    swept: u64,
    /// Objects looked at, against [`LISTED_PER_SWEEP`].
    looked_at: u64,
    /// Where the next sweep resumes: the floor (or `LATE_UPLOAD_MS` back), or the id time of
    /// the first object left.
    resume_ms: i64,
}

/// Whether a pass goes on after an object.
#[derive(Debug, PartialEq, Eq)]
enum Next {
    Go,
    Stop,
}

impl Pass<'_> {
    /// Sweeps `folder`, whose names are ids (listed in key order, so in id-time order), from
    /// id time `from_ms` up to the floor.
    async fn in_id_order(
        &mut self,
        folder: Path,
        from_ms: i64,
        in_index: bool,
        refs: &mut References<'_>,
    ) -> Result<()> {
        let from = Ulid::from_parts(u64::try_from(from_ms).unwrap_or(0), 0);
        let offset = folder.clone().join(from.to_string());
        let mut listing = self
            .storage
            .objects
            .list_with_offset(Some(&folder), &offset);
        while let Some(meta) = listing.try_next().await? {
            let Some(id) = meta.location.filename().and_then(Keys::object_id_of) else {
                continue; // not an object silt wrote: leave it alone
            };
            if id_ms(id) >= self.floor_ms {
                break; // the rest are newer still
            }
            if self.look_at(&meta, id, in_index, refs).await? == Next::Stop {
                self.leave(id_ms(id));
                break;
            }
        }
        Ok(())
    }

    /// Sweeps `folder`, whose names are not in id order (cold segments), looking only at ids
    /// from `from_ms` up to the floor.
    async fn in_any_order(
        &mut self,
        folder: Path,
        from_ms: i64,
        refs: &mut References<'_>,
    ) -> Result<()> {
        let mut listing = self.storage.objects.list(Some(&folder));
        while let Some(meta) = listing.try_next().await? {
            let Some(id) = meta.location.filename().and_then(Keys::object_id_of) else {
                continue;
            };
            if !(from_ms..self.floor_ms).contains(&id_ms(id)) {
                continue;
            }
            if self.look_at(&meta, id, true, refs).await? == Next::Stop {
                self.leave(from_ms); // what was not listed yet may be anywhere in the window
                break;
            }
        }
        Ok(())
    }

    /// Deletes object `id` (at `meta`, below the floor) if it is an orphan old enough and the
    /// budget allows; `Stop` when a budget ran out before it.
    async fn look_at(
        &mut self,
        meta: &ObjectMeta,
        id: ObjectId,
        in_index: bool,
        refs: &mut References<'_>,
    ) -> Result<Next> {
        self.looked_at += 1;
        if self.looked_at > LISTED_PER_SWEEP {
            return Ok(Next::Stop);
        }
        if refs.hold(id, in_index).await? {
            return Ok(Next::Go);
        }
        if meta.last_modified.timestamp_millis() > self.modified_before_ms {
            self.leave(id_ms(id)); // uploaded too recently: look again next time
            return Ok(Next::Go);
        }
        if self.swept >= self.budget {
            return Ok(Next::Stop);
        }
        if !self.dry_run {
            delete(self.storage, &meta.location).await?;
        }
        self.swept += 1;
        Ok(Next::Go)
    }

    /// Makes the next sweep start at or before id time `ms`.
    fn leave(&mut self, ms: i64) {
        self.resume_ms = self.resume_ms.min(ms);
    }
}

/// The time part of an object id, in ms.
fn id_ms(id: ObjectId) -> i64 {
    i64::try_from(id.timestamp_ms()).unwrap_or(i64::MAX)
}

//! GC step three: sweep orphans, objects uploaded under a partition that no commit references
//! (a writer or compaction that crashed or lost its race before committing).
//! docs/design.md §6 rule 8:
//!
//! 1. commit `RaiseOrphanFloor { now - orphan grace }`: from then on every commit that would
//!    reference an object whose id time is below the floor is refused (`StaleUpload`), so an
//!    unreferenced object below it can never become referenced;
//! 2. read the manifest again, collect every id it references (tail, chunks and their entries,
//!    the graveyard, and the entries of buried chunks);
//! 3. list `seg/`, `idx/` and the partition's cold segments under `tables/`, and delete each
//!    object below the floor that is not referenced and was last modified before the grace
//!    too (a second, independent clock).
//!
//! Compaction deletes a cold segment whose commit was refused itself, at once (analysts'
//! globs see every file under `tables/`); this sweep finds those a crash left behind.

use std::collections::HashSet;

use futures::TryStreamExt;
use silt_core::error::Result;
use silt_core::ids::{ObjectId, Offset, PartitionId, TopicName};
use silt_core::keys::Keys;
use silt_core::manifest::{Edit, TombstoneKind};
use silt_core::store::{Snapshot, Storage};

use super::GcOptions;
use super::graveyard::chunk_segments;
use crate::job::{JobRun, delete};

/// Sweeps the orphans of one partition, at most `budget`; returns how many it deleted (in a
/// dry run: found).
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
) -> Result<u64> {
    let floor_ms = now_ms.saturating_sub(options.orphan_grace_ms);
    let current = base.manifest.orphan_floor_ms;
    // Raising the floor is a commit (which races appends): only when it lags by more than
    // half the grace, so a partition sees one every half grace at most.
    let due = floor_ms > current.saturating_add(options.orphan_grace_ms / 2);
    let floor_ms = match options.dry_run {
        // A dry run raises nothing: it reports what lies below the current floor.
        true => current,
        false if due => {
            let edit = Edit::RaiseOrphanFloor { to_ms: floor_ms };
            run.commit(storage, topic, p, &base, edit).await?;
            floor_ms
        }
        false => current,
    };
    // Read after the floor is in place: anything committed later has ids at or above it. Not
    // the raising commit's own result: on DynamoDB that is exact only in what the edit read,
    // and its stale next offset would hide segments committed meanwhile (below the floor).
    let Some(fresh) = storage.manifests.read(topic, p).await? else {
        return Ok(0);
    };
    let referenced = referenced(storage, topic, p, &fresh).await?;
    let modified_before_ms = now_ms.saturating_sub(options.orphan_grace_ms);
    let mut swept = 0;
    let folder = storage.keys.partition(topic, p);
    let folders = [
        folder.clone().join("seg"),
        folder.join("idx"),
        storage.keys.partition_table(topic, p),
    ];
    for folder in folders {
        let listed: Vec<_> = storage.objects.list(Some(&folder)).try_collect().await?;
        for meta in listed {
            let Some(id) = meta.location.filename().and_then(Keys::object_id_of) else {
                continue; // not an object silt wrote: leave it alone
            };
            let below_floor = (id.timestamp_ms() as i64) < floor_ms;
            let old = meta.last_modified.timestamp_millis() <= modified_before_ms;
            if below_floor && old && !referenced.contains(&id) && swept < budget {
                if !options.dry_run {
                    delete(storage, &meta.location).await?;
                }
                swept += 1;
            }
        }
    }
    Ok(swept)
}

/// Every object id `snapshot` references, the graveyard's included.
async fn referenced(
    storage: &Storage,
    topic: &TopicName,
    p: PartitionId,
    snapshot: &Snapshot,
) -> Result<HashSet<ObjectId>> {
    let m = &snapshot.manifest;
    let entries = storage
        .manifests
        .segments_from(topic, p, snapshot, Offset(0), usize::MAX)
        .await?;
    let mut ids: HashSet<ObjectId> = entries.iter().map(|e| e.id).collect();
    ids.extend(m.chunks.iter().map(|c| c.id));
    for t in storage.manifests.graveyard(topic, p, snapshot).await? {
        ids.insert(t.id);
        if t.kind == TombstoneKind::ChunkWithSegments {
            let chunk = storage.keys.index_chunk(topic, p, t.id);
            ids.extend(chunk_segments(storage, &chunk).await?.iter().map(|e| e.id));
        }
    }
    Ok(ids)
}

//! GC of deleted topics (docs/design.md §4.1): for each tombstone not purged yet, once the
//! reader grace has passed since the delete,
//!
//! 1. mark every partition deleted again (finishes a delete cut short), so from here on no
//!    commit to the old incarnation can succeed and nothing of it can be referenced;
//! 2. delete every object under `topics/<name>/` and `tables/topic=<name>/` except the
//!    manifests and `topic.json` (segments, index chunks, cold files, hints, orphans), within
//!    the run's delete budget;
//! 3. remove each partition's manifest (object, or DynamoDB items), only if it is still the
//!    deleted incarnation's;
//! 4. list again: only when nothing but `topic.json` is left (no late upload of a writer that
//!    was open across the delete), mark the tombstone purged, which frees the name.
//!
//! A run cut short anywhere is finished by the next: every step is idempotent.

use std::collections::HashSet;

use futures::TryStreamExt;
use object_store::path::Path;
use silt_core::error::Result;
use silt_core::store::Storage;
use silt_core::topic::TopicConfig;

use super::GcOptions;
use crate::job::delete;

/// What the purge of deleted topics did (in a dry run: would do).
#[derive(Debug, Default)]
pub(super) struct Purged {
    /// Objects, manifests and DynamoDB items deleted.
    pub(super) deleted: u64,
    /// Deleted topics whose data is all gone now.
    pub(super) topics: u64,
    /// Deleted topics left for a later run (inside the reader grace, past the budget, or
    /// with an object that appeared during the purge).
    pub(super) waiting: u64,
    /// Deleted topics this run could not finish, with why.
    pub(super) failed: Vec<String>,
}

/// Purges the deleted topics `tombstones` (those in scope), deleting at most `budget` objects.
pub(super) async fn purge_deleted(
    storage: &Storage,
    tombstones: &[TopicConfig],
    options: &GcOptions,
    budget: u64,
) -> Purged {
    let mut purged = Purged::default();
    for tombstone in tombstones {
        let deleted_ms = tombstone.deleted.map_or(i64::MAX, |d| d.deleted_ms);
        let due = storage.clock.now_ms() >= deleted_ms.saturating_add(options.reader_grace_ms);
        if !due || options.scope.out_of_time() {
            purged.waiting += 1;
            continue;
        }
        let left = budget.saturating_sub(purged.deleted);
        match purge_topic(storage, tombstone, options.dry_run, left).await {
            Ok((deleted, done)) => {
                purged.deleted += deleted;
                match done {
                    true => purged.topics += 1,
                    false => purged.waiting += 1,
                }
            }
            Err(e) => purged
                .failed
                .push(format!("{} (deleted): {e}", tombstone.name)),
        }
    }
    purged
}

/// Steps 1 to 4 on one deleted topic: how many it deleted, and whether it is purged now.
async fn purge_topic(
    storage: &Storage,
    tombstone: &TopicConfig,
    dry_run: bool,
    budget: u64,
) -> Result<(u64, bool)> {
    if !dry_run {
        storage.mark_partitions_deleted(tombstone).await?;
    }
    let left = leftovers(storage, tombstone).await?;
    if dry_run {
        return Ok((left.len() as u64, false));
    }
    let mut deleted = 0;
    for path in left
        .iter()
        .take(usize::try_from(budget).unwrap_or(usize::MAX))
    {
        delete(storage, path).await?;
        deleted += 1;
    }
    if deleted < left.len() as u64 {
        return Ok((deleted, false));
    }
    for p in tombstone.partition_ids() {
        let manifests = &storage.manifests;
        deleted += manifests
            .remove_deleted(&tombstone.name, p, tombstone.topic_id)
            .await?;
    }
    // A writer open across the delete may have uploaded meanwhile: the next run deletes it.
    if !leftovers(storage, tombstone).await?.is_empty() {
        return Ok((deleted, false));
    }
    let done = storage.mark_purged(tombstone).await?;
    Ok((deleted, done))
}

/// Every object of the deleted topic but its manifests and `topic.json`.
async fn leftovers(storage: &Storage, tombstone: &TopicConfig) -> Result<Vec<Path>> {
    let name = &tombstone.name;
    let group_size = tombstone.settings.manifest_group_size;
    let manifests = (storage.keys).manifest_objects(name, tombstone.partitions, group_size);
    let mut kept: HashSet<Path> = manifests.into_iter().collect();
    kept.insert(storage.keys.topic_config(name));
    let mut left = Vec::new();
    for prefix in [storage.keys.topic(name), storage.keys.topic_table(name)] {
        let listed: Vec<_> = storage.objects.list(Some(&prefix)).try_collect().await?;
        let found = listed.into_iter().map(|meta| meta.location);
        left.extend(found.filter(|path| !kept.contains(path)));
    }
    Ok(left)
}

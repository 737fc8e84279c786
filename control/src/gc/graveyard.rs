//! GC step two: delete the objects of tombstones older than the reader grace, then drop those
//! tombstones with a `Forget` commit, a batch at a time, so a run cut short (by its delete
//! budget or a crash) keeps what it did. A crash between the two leaves tombstones whose
//! objects are gone; the next run deletes them again (a no-op) and forgets them.
//!
//! A mixed object (docs/design.md §19) is not this partition's alone: its tombstone, or a
//! buried chunk listing it, releases it (`mixed_release`), which deletes it only when no
//! other partition holds it.

use object_store::ObjectStoreExt;
use silt_core::error::{Error, Result};
use silt_core::ids::{ObjectId, PartitionId, TopicName};
use silt_core::manifest::{Edit, SegmentEntry, Tombstone, TombstoneKind, codec};
use silt_core::store::{Snapshot, Storage};

use super::GcOptions;
use super::mixed_holder::Holders;
use super::mixed_release::{Released, release};
use crate::job::{JobRun, delete};

/// Tombstones dropped per `Forget` commit (a DynamoDB transaction holds 100 items, one of
/// them the head).
const TOMBSTONES_PER_FORGET: usize = 99;

/// What a sweep did.
pub(super) struct Swept {
    /// Objects of this partition's own deleted (segments, chunks, cold segments).
    pub(super) deleted: u64,
    /// Tombstones left for a later run.
    pub(super) waiting: u64,
    /// Mixed objects released and deleted.
    pub(super) mixed_deleted: u64,
    /// Mixed objects released but kept: another partition holds them.
    pub(super) mixed_kept: u64,
}

/// Deletes what the graveyard of `base` holds past the reader grace, at most about `budget`
/// objects.
#[allow(clippy::too_many_arguments)] // one step of `partition`, with its context spelled out
pub(super) async fn sweep(
    storage: &Storage,
    topic: &TopicName,
    p: PartitionId,
    base: &Snapshot,
    now_ms: i64,
    budget: u64,
    options: &GcOptions,
    run: &mut JobRun,
) -> Result<Swept> {
    let tombstones = storage.manifests.graveyard(topic, p, base).await?;
    let cutoff = now_ms.saturating_sub(options.reader_grace_ms);
    let (due, waiting): (Vec<Tombstone>, Vec<Tombstone>) = tombstones
        .into_iter()
        .partition(|t| t.removed_at_ms <= cutoff);
    let mut swept = Swept {
        deleted: 0,
        waiting: waiting.len() as u64,
        mixed_deleted: 0,
        mixed_kept: 0,
    };
    let topic_id = base.manifest.topic_id;
    let mut holders = Holders::new(storage, topic, topic_id, now_ms, options.reader_grace_ms);
    let mut base = base.clone();
    let mut done: Vec<ObjectId> = Vec::new();
    for (n, t) in due.iter().enumerate() {
        if swept.deleted + swept.mixed_deleted >= budget {
            swept.waiting += (due.len() - n) as u64;
            break;
        }
        let out = objects(storage, topic, p, t, &mut holders, options.dry_run).await?;
        swept.deleted += out.deleted;
        swept.mixed_deleted += out.mixed.deleted;
        swept.mixed_kept += out.mixed.kept;
        match out.mixed.retry {
            true => swept.waiting += 1,
            false => done.push(t.id),
        }
        let spent = swept.deleted + swept.mixed_deleted >= budget;
        let last = n + 1 == due.len() || spent;
        if !done.is_empty() && (done.len() == TOMBSTONES_PER_FORGET || last) {
            let ids = std::mem::take(&mut done);
            if !options.dry_run {
                base = run
                    .commit(storage, topic, p, &base, Edit::Forget { ids })
                    .await?
                    .snapshot;
            }
        }
    }
    Ok(swept)
}

/// What deleting one tombstone's objects did.
struct Outcome {
    /// Objects of the partition's own deleted.
    deleted: u64,
    /// The mixed objects it released.
    mixed: Released,
}

/// Deletes the object(s) of one tombstone, releasing the mixed objects it names.
async fn objects(
    storage: &Storage,
    topic: &TopicName,
    p: PartitionId,
    t: &Tombstone,
    holders: &mut Holders<'_>,
    dry_run: bool,
) -> Result<Outcome> {
    let keys = &storage.keys;
    let mut paths = Vec::new();
    let mut mixed = Released::default();
    match t.kind {
        TombstoneKind::Segment => paths.push(keys.segment(topic, p, t.id)),
        TombstoneKind::Chunk => paths.push(keys.index_chunk(topic, p, t.id)),
        TombstoneKind::ChunkWithSegments => {
            // The chunk goes last: while it exists, a crashed run can still find its segments.
            let chunk = keys.index_chunk(topic, p, t.id);
            let (shared, own): (Vec<SegmentEntry>, Vec<SegmentEntry>) =
                chunk_segments(storage, &chunk)
                    .await?
                    .into_iter()
                    .partition(SegmentEntry::is_mixed);
            // A mixed object may hold other partitions' live segments (§19).
            let ids: Vec<ObjectId> = shared.iter().map(|e| e.id).collect();
            mixed = release(storage, topic, holders, &ids, p, dry_run).await?;
            if mixed.retry {
                // The chunk stays: it names the mixed objects the next run releases.
                return Ok(Outcome { deleted: 0, mixed });
            }
            paths.extend(own.iter().map(|e| keys.segment_object(topic, p, e)));
            paths.push(chunk);
        }
        TombstoneKind::Mixed => {
            mixed = release(storage, topic, holders, &[t.id], p, dry_run).await?;
        }
        TombstoneKind::Cold { day, first, last } => {
            paths.push(keys.cold_segment(topic, p, day, first, last, t.id));
        }
    }
    if !dry_run {
        for path in &paths {
            delete(storage, path).await?;
        }
    }
    Ok(Outcome {
        deleted: paths.len() as u64,
        mixed,
    })
}

/// The segments an index chunk lists; none if it is already deleted.
pub(crate) async fn chunk_segments(
    storage: &Storage,
    chunk: &object_store::path::Path,
) -> Result<Vec<SegmentEntry>> {
    let bytes = match storage.objects.get(chunk).await {
        Ok(got) => got.bytes().await?,
        Err(object_store::Error::NotFound { .. }) => return Ok(Vec::new()),
        Err(e) => return Err(Error::from(e)),
    };
    let body = codec::decode_chunk(&bytes, chunk.as_ref())?;
    Ok(body.entries)
}

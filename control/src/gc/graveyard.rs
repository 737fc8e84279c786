//! GC step two: delete the objects of tombstones older than the reader grace, then drop those
//! tombstones with a `Forget` commit, a batch at a time, so a run cut short (by its delete
//! budget or a crash) keeps what it did. A crash between the two leaves tombstones whose
//! objects are gone; the next run deletes them again (a no-op) and forgets them.

use object_store::ObjectStoreExt;
use silt_core::error::{Error, Result};
use silt_core::ids::{ObjectId, PartitionId, TopicName};
use silt_core::manifest::{Edit, SegmentEntry, Tombstone, TombstoneKind, codec};
use silt_core::store::{Snapshot, Storage};

use super::GcOptions;
use crate::job::{JobRun, delete};

/// Tombstones dropped per `Forget` commit (a DynamoDB transaction holds 100 items, one of
/// them the head).
const TOMBSTONES_PER_FORGET: usize = 99;

/// What a sweep did.
pub(super) struct Swept {
    pub(super) deleted: u64,
    pub(super) waiting: u64,
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
    };
    let mut base = base.clone();
    let mut done: Vec<ObjectId> = Vec::new();
    for (n, t) in due.iter().enumerate() {
        if swept.deleted >= budget {
            swept.waiting += (due.len() - n) as u64;
            break;
        }
        swept.deleted += objects(storage, topic, p, t, options.dry_run).await?;
        done.push(t.id);
        if done.len() == TOMBSTONES_PER_FORGET || n + 1 == due.len() || swept.deleted >= budget {
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

/// Deletes the object(s) of one tombstone; returns how many objects that was.
async fn objects(
    storage: &Storage,
    topic: &TopicName,
    p: PartitionId,
    t: &Tombstone,
    dry_run: bool,
) -> Result<u64> {
    let keys = &storage.keys;
    let mut paths = Vec::new();
    match t.kind {
        TombstoneKind::Segment => paths.push(keys.segment(topic, p, t.id)),
        TombstoneKind::Chunk => paths.push(keys.index_chunk(topic, p, t.id)),
        TombstoneKind::ChunkWithSegments => {
            // The chunk goes last: while it exists, a crashed run can still find its segments.
            let chunk = keys.index_chunk(topic, p, t.id);
            for entry in chunk_segments(storage, &chunk).await? {
                // A mixed object may hold other partitions' live segments (§19).
                if !entry.is_mixed() {
                    paths.push(keys.segment_object(topic, p, &entry));
                }
            }
            paths.push(chunk);
        }
        // Never deleted by one partition alone (§19): issue 19's mixed release decides.
        TombstoneKind::Mixed => {}
        TombstoneKind::Cold { day, first, last } => {
            paths.push(keys.cold_segment(topic, p, day, first, last, t.id));
        }
    }
    if !dry_run {
        for path in &paths {
            delete(storage, path).await?;
        }
    }
    Ok(paths.len() as u64)
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

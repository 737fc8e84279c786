//! GC step one: move entries wholly below the log start into the graveyard. On an inline
//! index one `Bury` takes every such sealed chunk and tail entry; on an external index
//! (DynamoDB) each `Bury` names the segment items it removes, a transaction's worth at a time.

use silt_core::error::Result;
use silt_core::ids::{Offset, PartitionId, TopicName};
use silt_core::manifest::{Edit, SegmentIndex};
use silt_core::store::{Snapshot, Storage};

use crate::job::JobRun;

/// Segment items buried per commit on an external index: each costs a delete and a graveyard
/// put in a transaction of at most 100 items, one of them the head.
const ITEMS_PER_BURY: usize = 48;
/// Commits per partition per run on an external index (bounds one run's work).
const BURIALS_PER_RUN: usize = 20;

/// Buries what lies below the log start of `base`; returns the manifest after (the one to go
/// on with) and how many entries and chunks moved.
pub(super) async fn bury(
    storage: &Storage,
    topic: &TopicName,
    p: PartitionId,
    mut base: Snapshot,
    dry_run: bool,
    run: &mut JobRun,
) -> Result<(Snapshot, u64)> {
    let start = base.manifest.log_start_offset;
    if let SegmentIndex::Inline = base.manifest.index {
        let m = &base.manifest;
        let below = m
            .chunks
            .iter()
            .take_while(|c| c.end_offset <= start)
            .count()
            + m.segments
                .iter()
                .take_while(|e| e.end_offset() <= start)
                .count();
        if below == 0 || dry_run {
            return Ok((base, below as u64));
        }
        let edit = Edit::Bury {
            entries: Vec::new(),
        };
        let committed = run.commit(storage, topic, p, &base, edit).await?;
        return Ok((committed.snapshot, below as u64));
    }
    let mut buried = 0;
    for _ in 0..BURIALS_PER_RUN {
        let page = storage
            .manifests
            .segments_from(topic, p, &base, Offset(0), ITEMS_PER_BURY)
            .await?;
        let entries: Vec<_> = page
            .into_iter()
            .take_while(|e| e.end_offset() <= start)
            .collect();
        let (full, count) = (entries.len() == ITEMS_PER_BURY, entries.len() as u64);
        if entries.is_empty() || dry_run {
            buried += count;
            break;
        }
        let edit = Edit::Bury { entries };
        match run.try_commit(storage, topic, p, &base, edit).await? {
            Some(committed) => {
                base = committed.snapshot;
                buried += count;
            }
            // Another GC run buried (or compaction rewrote) some of them first: look again.
            None => match storage.manifests.read(topic, p).await? {
                Some(fresh) => {
                    base = fresh;
                    continue;
                }
                None => break,
            },
        }
        if !full {
            break;
        }
    }
    Ok((base, buried))
}

//! The jobs' edits (docs/design.md §6 rules 3 and 8, §8): `Bury` moves what retention left below
//! the log start into the graveyard, `Replace` swaps compacted entries in. Both only ever move
//! objects into the graveyard, never out of the log's readable range, and both refuse with
//! `Rejection::Stale` when what they planned on changed: the job plans again on its next run.

use super::edit::Replace;
use super::model::{ChunkRef, Manifest, SegmentEntry, SegmentIndex, Tombstone, TombstoneKind};
use crate::error::Rejection;
use crate::ids::ObjectId;

/// Refuses an object that a commit would add if its id time is below the orphan floor: an
/// orphan sweep may already have deleted it.
pub(super) fn check_floor(m: &Manifest, id: ObjectId) -> Result<(), Rejection> {
    if (id.timestamp_ms() as i64) < m.orphan_floor_ms {
        return Err(Rejection::StaleUpload {
            partition: m.partition,
            id,
            floor_ms: m.orphan_floor_ms,
        });
    }
    Ok(())
}

/// Moves entries wholly below the log start to the graveyard (see `Edit::Bury`).
pub(super) fn bury(
    m: &mut Manifest,
    entries: &[SegmentEntry],
    now_ms: i64,
) -> Result<(), Rejection> {
    let start = m.log_start_offset;
    let tomb = |id, kind| Tombstone {
        id,
        kind,
        removed_at_ms: now_ms,
    };
    if let SegmentIndex::External { segments, bytes } = &mut m.index {
        if let Some(e) = entries.iter().find(|e| e.end_offset() > start) {
            return Err(Rejection::Invariant {
                partition: m.partition,
                reason: format!(
                    "segment at {} is not wholly below the log start {start}",
                    e.base_offset
                ),
            });
        }
        *segments = segments.saturating_sub(entries.len() as u64);
        *bytes = bytes.saturating_sub(entries.iter().map(|e| e.bytes).sum());
        m.graveyard = entries.iter().map(|e| e.tombstone(now_ms)).collect();
        return Ok(());
    }
    let chunks = m.chunks.partition_point(|c| c.end_offset <= start);
    let tail = m.segments.partition_point(|e| e.end_offset() <= start);
    let buried = m
        .chunks
        .drain(..chunks)
        .map(|c| tomb(c.id, TombstoneKind::ChunkWithSegments));
    let buried: Vec<Tombstone> = buried
        .chain(m.segments.drain(..tail).map(|e| e.tombstone(now_ms)))
        .collect();
    m.graveyard.extend(buried);
    Ok(())
}

/// Swaps `r.old` for `r.new` (see `Edit::Replace`), refusing with `Stale` if the entries (or
/// the chunk) are no longer exactly as the job read them.
pub(super) fn replace(m: &mut Manifest, r: &Replace, now_ms: i64) -> Result<(), Rejection> {
    check_same_records(m, r)?;
    let added = r.new.iter().filter(|n| !r.old.iter().any(|o| o.id == n.id));
    for e in added {
        check_floor(m, e.id)?;
    }
    let stale = |what: &str| Rejection::Stale {
        partition: m.partition,
        what: what.to_string(),
    };
    let tomb = |id, kind| Tombstone {
        id,
        kind,
        removed_at_ms: now_ms,
    };
    // Entries between the merged runs come through unchanged: only the merged ones are buried.
    let merged = r.old.iter().filter(|o| !r.new.iter().any(|n| n.id == o.id));
    let mut buried: Vec<Tombstone> = merged.map(|e| e.tombstone(now_ms)).collect();
    match (&mut m.index, r.chunk) {
        (SegmentIndex::External { segments, bytes }, _) => {
            let (old_bytes, new_bytes) = (total_bytes(&r.old), total_bytes(&r.new));
            *segments = segments
                .saturating_sub(r.old.len() as u64)
                .saturating_add(r.new.len() as u64);
            *bytes = bytes.saturating_sub(old_bytes).saturating_add(new_bytes);
            m.graveyard = buried;
            return Ok(());
        }
        (SegmentIndex::Inline, Some((old, new))) => {
            check_floor(m, new.id)?;
            let slot = m.chunks.iter_mut().find(|c| **c == old);
            let slot = slot.ok_or_else(|| stale("the sealed chunk being compacted"))?;
            *slot = new;
            buried.push(tomb(old.id, TombstoneKind::Chunk));
        }
        (SegmentIndex::Inline, None) => {
            let first = r.old.first().map(|e| e.id);
            let at = m.segments.iter().position(|e| Some(e.id) == first);
            let run = at.filter(|&at| m.segments[at..].starts_with(&r.old));
            let at = run.ok_or_else(|| stale("the tail entries being compacted"))?;
            m.segments
                .splice(at..at + r.old.len(), r.new.iter().copied());
        }
    }
    m.graveyard.extend(buried);
    Ok(())
}

/// `r.new` must hold exactly the offsets of `r.old` in entries of at least one offset, and
/// rewrite at least one. An entry kept keeps its place; only sealing (new cold entries) may
/// start an entry inside an old one; a cold entry is never replaced.
fn check_same_records(m: &Manifest, r: &Replace) -> Result<(), Rejection> {
    let span = |es: &[SegmentEntry]| Some((es.first()?.base_offset, es.last()?.end_offset()));
    let chained =
        |es: &[SegmentEntry]| es.windows(2).all(|w| w[0].end_offset() == w[1].base_offset);
    let chunk_kept = r.chunk.is_none_or(|(old, new): (ChunkRef, ChunkRef)| {
        (old.base_offset, old.end_offset) == (new.base_offset, new.end_offset)
    });
    let kept = |o: &SegmentEntry| r.new.iter().any(|n| n.id == o.id);
    if r.old.iter().any(|o| o.is_cold() && !kept(o)) {
        // A glob over `tables/` must see each offset once: a cold file is never rewritten.
        return Err(Rejection::Invariant {
            partition: m.partition,
            reason: "cold (Parquet) segments are final; a compaction may not replace one".into(),
        });
    }
    let placed = r.new.iter().all(|n| {
        let old_at = r.old.iter().find(|o| o.base_offset == n.base_offset);
        let same = r.old.iter().find(|o| o.id == n.id);
        n.records > 0 && (n.is_cold() || old_at.is_some()) && same.is_none_or(|o| o == n)
    });
    let ok = span(&r.old).is_some()
        && placed
        && span(&r.old) == span(&r.new)
        && r.new.iter().any(|n| !r.old.iter().any(|o| o.id == n.id))
        && chained(&r.old)
        && chained(&r.new)
        && chunk_kept;
    if !ok {
        return Err(Rejection::Invariant {
            partition: m.partition,
            reason: "a compaction's new entries must cover exactly its old ones, with at least one rewritten"
                .into(),
        });
    }
    Ok(())
}

fn total_bytes(entries: &[SegmentEntry]) -> u64 {
    entries.iter().map(|e| e.bytes).sum()
}

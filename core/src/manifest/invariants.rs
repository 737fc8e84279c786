//! Manifest invariants, checked after every edit and after every decode (a pair assertion):
//! offsets contiguous from the sealed chunks through the tail to the next offset, the log start
//! inside the log, sizes that add up within `u64`, and versions, epochs, offsets and the orphan
//! floor never moving backwards.
//! A manifest whose index is external (DynamoDB) lists only newly added segments, so only the
//! rules about those and about its scalars apply.

use super::model::{Manifest, SegmentIndex};
use crate::error::Rejection;
use crate::ids::Offset;

/// Checks one manifest on its own; the error says which rule broke.
pub fn check(m: &Manifest) -> Result<(), String> {
    let mut expected: Option<Offset> = None;
    let ranges = m
        .chunks
        .iter()
        .map(|c| (c.base_offset, c.end_offset, "chunk"))
        .chain(
            m.segments
                .iter()
                .map(|s| (s.base_offset, s.end_offset(), "segment")),
        );
    for (base, end, what) in ranges {
        if end <= base || end == Offset(u64::MAX) {
            return Err(format!("{what} at offset {base} holds no records"));
        }
        if let Some(e) = expected
            && e != base
        {
            return Err(format!("{what} starts at offset {base}, expected {e}"));
        }
        expected = Some(end);
    }
    let sizes = m.chunks.iter().map(|c| c.bytes);
    let mut sizes = sizes.chain(m.segments.iter().map(|s| s.bytes));
    if sizes.try_fold(0u64, u64::checked_add).is_none() {
        return Err("segment sizes add up past u64::MAX bytes".into());
    }
    let first = m
        .chunks
        .first()
        .map(|c| c.base_offset)
        .or(m.segments.first().map(|s| s.base_offset));
    if let SegmentIndex::External { .. } = m.index {
        if !m.chunks.is_empty() {
            return Err("an external index with sealed chunks".into());
        }
        if expected.is_some_and(|end| end != m.next_offset) {
            return Err("new segments do not end at the next offset".into());
        }
    } else {
        check_inline_bounds(m, first, expected)?;
    }
    if m.log_start_offset > m.next_offset {
        return Err(format!(
            "log start {} is past next offset {}",
            m.log_start_offset, m.next_offset
        ));
    }
    if m.leader.is_some() && m.epoch.0 == 0 {
        return Err("a leader at epoch 0".into());
    }
    Ok(())
}

/// The inline index must cover the log from its start to the next offset.
fn check_inline_bounds(
    m: &Manifest,
    first: Option<Offset>,
    expected: Option<Offset>,
) -> Result<(), String> {
    match (first, expected) {
        (Some(first), Some(end)) => {
            if end != m.next_offset {
                return Err(format!(
                    "segments end at {end}, next offset is {}",
                    m.next_offset
                ));
            }
            if m.log_start_offset < first {
                return Err(format!(
                    "log start {} precedes the first segment {first}",
                    m.log_start_offset
                ));
            }
        }
        _ if m.log_start_offset != m.next_offset && m.next_offset != Offset(0) => {
            return Err(format!(
                "no segments, yet log start {} differs from next offset {}",
                m.log_start_offset, m.next_offset
            ));
        }
        _ => {}
    }
    Ok(())
}

/// Checks `next` on its own and as the successor of `prev`.
pub(crate) fn check_transition(prev: &Manifest, next: &Manifest) -> Result<(), Rejection> {
    let fail = |reason: String| Rejection::Invariant {
        partition: prev.partition,
        reason,
    };
    check(next).map_err(fail)?;
    let rules = [
        (
            Some(next.version.0) == prev.version.0.checked_add(1),
            "version must grow by one",
        ),
        (
            next.topic_id == prev.topic_id && next.partition == prev.partition,
            "identity changed",
        ),
        (next.epoch >= prev.epoch, "epoch went backwards"),
        (
            next.next_offset >= prev.next_offset,
            "next offset went backwards",
        ),
        (
            next.log_start_offset >= prev.log_start_offset,
            "log start went backwards",
        ),
        (
            next.orphan_floor_ms >= prev.orphan_floor_ms,
            "orphan floor went backwards",
        ),
        (
            prev.deleted_ms.is_none() || next.deleted_ms == prev.deleted_ms,
            "a deleted partition came back",
        ),
    ];
    match rules.iter().find(|(ok, _)| !ok) {
        Some((_, reason)) => Err(fail((*reason).to_string())),
        None => Ok(()),
    }
}

//! What writers and jobs do next with a manifest read from storage: every kind of edit,
//! applied to each manifest the fuzz targets decode. A damaged but decodable manifest may be
//! refused any edit, never panic one, and what an edit returns keeps the invariants.

use silt_core::ids::{CommitSeq, Epoch, ObjectId, Offset, WriterId};
use silt_core::manifest::{
    Append, Commit, Edit, Manifest, NewSegment, Replace, SegmentEntry, apply, check_invariants,
};
use silt_core::testing::fuzz::Broken;
use ulid::Ulid;

/// Applies each edit at a few clock readings; every outcome must be a result, not a panic.
pub(crate) fn survive_edits(m: &Manifest) -> Result<(), Broken> {
    let leader = m.leader.map(|l| l.writer_id);
    for now_ms in [0, i64::MAX, i64::MIN, m.orphan_floor_ms] {
        for (writer, edit) in edits(m, leader) {
            let commit = Commit {
                writer,
                seq: CommitSeq(u64::MAX),
                now_ms,
                edit,
            };
            if let Ok(next) = apply(m, &commit) {
                check_invariants(&next).map_err(|e| format!("{commit:?} broke {e}"))?;
                let _ = commit.is_in(&next);
            }
        }
    }
    Ok(())
}

fn edits(m: &Manifest, leader: Option<WriterId>) -> Vec<(WriterId, Edit)> {
    let stranger = WriterId(Ulid::from_parts(1, 1));
    let segment = |records| NewSegment {
        id: ObjectId(Ulid::from_parts(1 << 40, 2)),
        records,
        bytes: u64::MAX,
        min_ts: i64::MIN,
        max_ts: i64::MAX,
        producer: None,
        mixed_at: None,
    };
    let append = |records, epoch: Option<Epoch>| {
        Edit::Append(Append {
            segments: vec![segment(records)],
            leader_epoch: epoch,
            expect_next_offset: Some(m.next_offset),
            lease_until_ms: Some(i64::MAX),
            seal: None,
        })
    };
    let mut out = vec![
        (stranger, append(1, None)),
        (stranger, append(u32::MAX, None)),
        (leader.unwrap_or(stranger), append(1, Some(m.epoch))),
        (
            stranger,
            Edit::Claim {
                lease_until_ms: i64::MAX,
            },
        ),
        (leader.unwrap_or(stranger), Edit::Release { epoch: m.epoch }),
        (
            stranger,
            Edit::Trim {
                before: m.next_offset,
            },
        ),
        (
            stranger,
            Edit::Trim {
                before: Offset(u64::MAX),
            },
        ),
        (
            stranger,
            Edit::Bury {
                entries: m.segments.clone(),
            },
        ),
        (
            stranger,
            Edit::Forget {
                ids: m.graveyard.iter().map(|t| t.id).collect(),
            },
        ),
        (stranger, Edit::RaiseOrphanFloor { to_ms: i64::MAX }),
    ];
    if let [first, second, ..] = m.segments.as_slice() {
        out.push((stranger, Edit::Replace(merge(first, second))));
    }
    out
}

/// Compaction merging two tail entries into one rewritten entry over the same offsets.
fn merge(first: &SegmentEntry, second: &SegmentEntry) -> Replace {
    let merged = SegmentEntry {
        id: ObjectId(Ulid::from_parts(1 << 40, 3)),
        records: first.records.saturating_add(second.records),
        bytes: first.bytes.saturating_add(second.bytes),
        min_ts: first.min_ts.min(second.min_ts),
        max_ts: first.max_ts.max(second.max_ts),
        ..*first
    };
    Replace {
        old: vec![*first, *second],
        new: vec![merged],
        chunk: None,
    }
}

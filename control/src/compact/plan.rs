//! Which entries to merge: runs of consecutive small segments, greedily grouped up to the
//! target size. A segment counts as small below half the target, so a merged segment that
//! reached it is never rewritten again: each record is rewritten a few times at most (bounded
//! write amplification), and a run reads only what it rewrites.
//!
//! A range of a mixed object (docs/design.md §19) counts as small whatever its size, and is
//! rewritten even alone: long-lived data becomes per partition again, and the mixed object
//! can be released once no partition references it.

use std::ops::Range;

use silt_core::limits::SEGMENT_RECORDS_MAX;
use silt_core::manifest::SegmentEntry;

/// The groups of `entries` (by index) worth merging: two or more consecutive small entries
/// whose total stays within `target_bytes` and the segment record limit, or any run holding a
/// range of a mixed object. Cold segments are final and never merged.
pub(super) fn groups(entries: &[SegmentEntry], target_bytes: u64) -> Vec<Range<usize>> {
    let small = |e: &SegmentEntry| (e.bytes < target_bytes / 2 || e.is_mixed()) && !e.is_cold();
    let mut out = Vec::new();
    let mut i = 0;
    while i < entries.len() {
        if !small(&entries[i]) {
            i += 1;
            continue;
        }
        let (mut bytes, mut records) = (0u64, 0u64);
        let mut end = i;
        while let Some(e) = entries.get(end).filter(|e| small(e)) {
            let fits = bytes + e.bytes <= target_bytes
                && records + u64::from(e.records) <= u64::from(SEGMENT_RECORDS_MAX);
            if !fits {
                break;
            }
            bytes += e.bytes;
            records += u64::from(e.records);
            end += 1;
        }
        let end = end.max(i + 1);
        if end - i >= 2 || entries[i..end].iter().any(SegmentEntry::is_mixed) {
            out.push(i..end);
        }
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use silt_core::clock::{Clock, SystemClock};
    use silt_core::ids::{ObjectId, Offset};

    fn entries(sizes: &[u64]) -> Vec<SegmentEntry> {
        let mut base = 0;
        sizes
            .iter()
            .map(|&bytes| {
                let e = SegmentEntry {
                    id: ObjectId(SystemClock.new_ulid()),
                    base_offset: Offset(base),
                    records: 1,
                    bytes,
                    min_ts: 0,
                    max_ts: 0,
                    cold_day: None,
                    mixed_at: None,
                };
                base += 1;
                e
            })
            .collect()
    }

    #[test]
    fn merges_runs_of_small_segments_up_to_the_target() {
        let e = entries(&[10, 10, 10, 60, 10, 30, 30, 40, 10]);
        // 60 is not small (target 100): it splits the runs; 10+30+30+40 would pass 100.
        assert_eq!(groups(&e, 100), vec![0..3, 4..7, 7..9]);
    }

    #[test]
    fn leaves_lone_and_large_segments_alone() {
        assert!(groups(&entries(&[10]), 100).is_empty());
        assert!(groups(&entries(&[60, 70, 80]), 100).is_empty());
        assert!(groups(&entries(&[10, 60, 10]), 100).is_empty());
        assert!(groups(&[], 100).is_empty());
    }

    #[test]
    fn ranges_of_mixed_objects_are_rewritten_even_alone() {
        let mut e = entries(&[10, 60, 500, 60, 10]);
        for i in [1, 2] {
            e[i].mixed_at = Some(0);
        }
        // 60 is small when mixed; 500 (above the target) is a run of its own.
        assert_eq!(groups(&e, 100), vec![0..2, 2..3]);
        let mut lone = entries(&[80]);
        lone[0].mixed_at = Some(7);
        assert_eq!(groups(&lone, 100), vec![0..1]);
    }

    #[test]
    fn a_merged_segment_is_not_merged_again() {
        // After one run of many 1-byte segments, each group is one segment of about the target.
        let e = entries(&[1; 1000]);
        let first = groups(&e, 100);
        assert_eq!(first.len(), 10);
        let merged = entries(&[100; 10]);
        assert!(groups(&merged, 100).is_empty());
    }
}

//! What a compaction run is asked to do, and what it reports (and how a rewrite counts).

use serde::Serialize;
use silt_core::cold::ColdOptions;

use silt_core::ids::Offset;
use silt_core::manifest::SegmentEntry;

use super::Pass;
use super::seal::COLD_FILE_BYTES;
use crate::scope::{Coverage, Scope};

/// Default size merged segments aim for.
pub const TARGET_SEGMENT_BYTES: u64 = 8 * 1024 * 1024;
/// What a compaction run does.
#[derive(Debug, Clone)]
pub struct CompactOptions {
    /// Which partitions.
    pub scope: Scope,
    /// Decide and report; write and commit nothing.
    pub dry_run: bool,
    /// Size merged segments aim for; segments below half of it count as small.
    pub target_bytes: u64,
    /// Segment bytes read per run, at most (checked before each unit).
    pub max_bytes_read: u64,
    /// Size sealed (cold) segments aim for.
    pub cold_file_bytes: u64,
    /// Row groups and pages of sealed segments.
    pub cold: ColdOptions,
}

impl Default for CompactOptions {
    fn default() -> Self {
        CompactOptions {
            scope: Scope::default(),
            dry_run: false,
            target_bytes: TARGET_SEGMENT_BYTES,
            max_bytes_read: 2 * 1024 * 1024 * 1024,
            cold_file_bytes: COLD_FILE_BYTES,
            cold: ColdOptions::default(),
        }
    }
}

/// What a run did (in a dry run: would do), summed over partitions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CompactReport {
    /// Partitions visited and left.
    #[serde(flatten)]
    pub coverage: Coverage,
    /// Segments merged away.
    pub segments_merged: u64,
    /// Segments written in their place.
    pub segments_written: u64,
    /// Records key compaction removed (superseded records and old tombstones).
    pub records_removed: u64,
    /// Segments key compaction rewrote without them.
    pub segments_rewritten: u64,
    /// Hot segments sealed into cold (Parquet) segments.
    pub segments_sealed: u64,
    /// Cold segments written.
    pub cold_written: u64,
    /// Bytes of segments read (merged, rewritten, or scanned for keys).
    pub bytes_read: u64,
    /// Bytes written.
    pub bytes_written: u64,
    /// Units refused because what they read changed meanwhile (or vanished: a concurrent GC
    /// deleted a segment they were reading), or because an orphan sweep raised the floor past
    /// their uploads; the next run plans again.
    pub stale: u64,
    /// Partitions with work left that compaction did not touch because their graveyard holds
    /// `GRAVEYARD_MAX` tombstones: GC must delete some first (after the reader grace).
    pub waiting_for_gc: u64,
    /// Partitions this run could not finish, with why; the next run retries.
    pub failed: Vec<String>,
}

impl CompactReport {
    /// Counts one run's rewrite (into `written` segments).
    pub(super) fn count(&mut self, old: &[SegmentEntry], pass: &Pass, written: usize) {
        let bytes: u64 = old.iter().map(|e| e.bytes).sum();
        match pass {
            Pass::Merge => {
                self.segments_merged += old.len() as u64;
                self.segments_written += 1;
                self.bytes_read += bytes;
            }
            Pass::Keys(removed) => {
                let in_old: usize = old.iter().map(|e| removed_in(removed, e)).sum();
                self.records_removed += in_old as u64;
                self.segments_rewritten += 1;
            }
            Pass::Seal(_) => {
                self.segments_sealed += old.len() as u64;
                self.cold_written += written as u64;
                self.bytes_read += bytes;
            }
        }
    }
}

/// How many of `removed` (ascending) fall inside `e`.
pub(super) fn removed_in(removed: &[Offset], e: &SegmentEntry) -> usize {
    let start = removed.partition_point(|o| *o < e.base_offset);
    let end = removed.partition_point(|o| *o < e.end_offset());
    end - start
}

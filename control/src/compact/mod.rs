//! Compaction (DESIGN §8): merge runs of small committed segments into segments near a target
//! size, so readers make fewer requests and the index stays small. Every record keeps its
//! offset, key, value, timestamp and headers: a merged segment holds exactly the records of
//! the segments it replaces, in order, and the `Replace` commit swaps entries covering exactly
//! the same offsets. The replaced objects go to the graveyard; GC deletes them after the
//! reader grace, so readers holding an older manifest keep working.
//!
//! A partition is compacted a unit at a time: each sealed index chunk (rewritten as a new
//! chunk), then the manifest's tail; on an external index (DynamoDB), pages of segment items.
//! Each unit is one `Replace`. It never blocks a writer: appends rebase over it, and if what
//! it read changed meanwhile (a writer sealed the tail, another compaction or GC got there
//! first) the commit is refused as `Stale`, counted, and the unit is left for the next run;
//! its uploads become orphans for GC. Work per run is bounded by a partition budget and a
//! byte budget.

mod merge;
mod plan;

use serde::Serialize;
use silt_core::error::{Error, Rejection, Result};
use silt_core::ids::{Offset, PartitionId, TopicName};
use silt_core::manifest::{ChunkRef, Edit, Replace, SegmentEntry, SegmentIndex};
use silt_core::store::{Snapshot, Storage};

use crate::job::JobRun;
use crate::scope::{Coverage, Scope};

/// Default size merged segments aim for.
pub const TARGET_SEGMENT_BYTES: u64 = 8 * 1024 * 1024;
/// Segment items per unit on an external index: a `Replace` costs up to two transaction items
/// per entry (overwrite or delete, and a graveyard put) in a transaction of at most 100.
const ITEMS_PER_UNIT: usize = 48;

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
}

impl Default for CompactOptions {
    fn default() -> Self {
        CompactOptions {
            scope: Scope::default(),
            dry_run: false,
            target_bytes: TARGET_SEGMENT_BYTES,
            max_bytes_read: 2 * 1024 * 1024 * 1024,
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
    /// Bytes read from the merged segments.
    pub bytes_read: u64,
    /// Bytes written.
    pub bytes_written: u64,
    /// Units refused because what they read changed meanwhile, or because an orphan sweep
    /// raised the floor past their uploads; the next run plans again.
    pub stale: u64,
    /// Partitions this run could not finish, with why; the next run retries.
    pub failed: Vec<String>,
}

/// Runs compaction once over the partitions in `options.scope`.
pub async fn run_compaction(storage: &Storage, options: &CompactOptions) -> Result<CompactReport> {
    run_compaction_observed(storage, options, |_, _| {}).await
}

/// [`run_compaction`], calling `progress(visited, to_visit)` after each partition.
pub async fn run_compaction_observed(
    storage: &Storage,
    options: &CompactOptions,
    mut progress: impl FnMut(usize, usize) + Send,
) -> Result<CompactReport> {
    let due = options.scope.partitions(storage).await?;
    let (due, coverage) = options.scope.this_run(due, storage.clock.now_ms());
    let mut report = CompactReport {
        coverage,
        ..CompactReport::default()
    };
    let mut run = JobRun::new();
    for (n, (topic, p)) in due.iter().enumerate() {
        progress(n, due.len());
        if report.bytes_read >= options.max_bytes_read {
            report.coverage.partitions_visited -= due.len() - n;
            report.coverage.partitions_left += due.len() - n;
            break;
        }
        let mut job = Partition {
            storage,
            topic,
            p: *p,
            options,
            run: &mut run,
            report: &mut report,
        };
        if let Err(e) = job.compact().await {
            report.failed.push(format!("{topic}/{p}: {e}"));
        }
    }
    progress(due.len(), due.len());
    Ok(report)
}

/// Compaction of one partition.
struct Partition<'a> {
    storage: &'a Storage,
    topic: &'a TopicName,
    p: PartitionId,
    options: &'a CompactOptions,
    run: &'a mut JobRun,
    report: &'a mut CompactReport,
}

impl Partition<'_> {
    async fn compact(&mut self) -> Result<()> {
        let Some(mut base) = self.storage.manifests.read(self.topic, self.p).await? else {
            return Ok(());
        };
        if let SegmentIndex::External { .. } = base.manifest.index {
            let mut from = base.manifest.log_start_offset;
            while let Some(end) = self.external_unit(&mut base, from).await? {
                from = end;
            }
            return Ok(());
        }
        let start = base.manifest.log_start_offset;
        let chunks: Vec<ChunkRef> = base.manifest.chunks.clone();
        for chunk in chunks.iter().filter(|c| c.end_offset > start) {
            let entries = self
                .entries(&base, chunk.base_offset, chunk.segments as usize)
                .await?;
            self.unit(&mut base, &entries, Some(*chunk)).await?;
        }
        let tail: Vec<SegmentEntry> = base
            .manifest
            .segments
            .iter()
            .filter(|e| e.end_offset() > start)
            .copied()
            .collect();
        self.unit(&mut base, &tail, None).await
    }

    /// One page of segment items from `from`; returns where the next page starts, if any.
    async fn external_unit(&mut self, base: &mut Snapshot, from: Offset) -> Result<Option<Offset>> {
        let page = self.entries(base, from, ITEMS_PER_UNIT).await?;
        let Some(end) = page.last().map(|e| e.end_offset()) else {
            return Ok(None);
        };
        self.unit(base, &page, None).await?;
        let more =
            page.len() == ITEMS_PER_UNIT && self.report.bytes_read < self.options.max_bytes_read;
        Ok(more.then_some(end))
    }

    async fn entries(
        &self,
        base: &Snapshot,
        from: Offset,
        max: usize,
    ) -> Result<Vec<SegmentEntry>> {
        self.storage
            .manifests
            .segments_from(self.topic, self.p, base, from, max)
            .await
    }

    /// Merges the groups of `entries` and commits one `Replace` (with a rewritten chunk when
    /// they are a sealed chunk's entries).
    async fn unit(
        &mut self,
        base: &mut Snapshot,
        entries: &[SegmentEntry],
        chunk: Option<ChunkRef>,
    ) -> Result<()> {
        let groups = plan::groups(entries, self.options.target_bytes);
        let (Some(first), Some(last)) = (groups.first(), groups.last()) else {
            return Ok(());
        };
        if self.report.bytes_read >= self.options.max_bytes_read {
            return Ok(());
        }
        let span = first.start..last.end;
        let mut new = Vec::new();
        let mut at = span.start;
        for group in &groups {
            new.extend_from_slice(&entries[at..group.start]);
            let run = &entries[group.clone()];
            self.report.segments_merged += run.len() as u64;
            self.report.segments_written += 1;
            self.report.bytes_read += run.iter().map(|e| e.bytes).sum::<u64>();
            if !self.options.dry_run {
                let merged = merge::merge(
                    self.storage,
                    self.topic,
                    &base.manifest,
                    run,
                    self.run.writer(),
                );
                let merged = merged.await?;
                self.report.bytes_written += merged.bytes;
                new.push(merged);
            }
            at = group.end;
        }
        if self.options.dry_run {
            return Ok(());
        }
        let old = entries[span.clone()].to_vec();
        let chunk = match chunk {
            Some(old_chunk) => Some((
                old_chunk,
                self.rewrite_chunk(base, entries, span, &new).await?,
            )),
            None => None,
        };
        let edit = Edit::Replace(Replace { old, new, chunk });
        match self
            .run
            .commit(self.storage, self.topic, self.p, base, edit)
            .await
        {
            Ok(committed) => *base = committed.snapshot,
            // Planned on what changed, or raced by an orphan sweep that got to its uploads.
            Err(Error::Rejected(Rejection::Stale { .. } | Rejection::StaleUpload { .. })) => {
                self.report.stale += 1;
                if let Some(fresh) = self.storage.manifests.read(self.topic, self.p).await? {
                    *base = fresh;
                }
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// Writes the chunk holding `entries` with `span` swapped for `new`.
    async fn rewrite_chunk(
        &self,
        base: &Snapshot,
        entries: &[SegmentEntry],
        span: std::ops::Range<usize>,
        new: &[SegmentEntry],
    ) -> Result<ChunkRef> {
        let mut all = entries[..span.start].to_vec();
        all.extend_from_slice(new);
        all.extend_from_slice(&entries[span.end..]);
        let written = self
            .storage
            .write_chunk(self.topic, &base.manifest, &all)
            .await?;
        written.ok_or_else(|| {
            Error::Rejected(Rejection::Invariant {
                partition: self.p,
                reason: "a rewritten chunk with no entries".into(),
            })
        })
    }
}

//! Compaction (DESIGN §8): merge runs of small committed segments into segments near a target
//! size, so readers make fewer requests and the index stays small. Every record keeps its
//! offset, key, value, timestamp and headers: a merged segment holds exactly the records of
//! the segments it replaces, in order, and the `Replace` commit swaps entries covering exactly
//! the same offsets. The replaced objects go to the graveyard; GC deletes them after the
//! reader grace, so readers holding an older manifest keep working.
//!
//! Topics with `cleanup_policy = compact` first get key compaction (see `keys`): each segment
//! holding a superseded record is rewritten without it, keeping every other record at its
//! offset (the segment then has gaps; readers skip them). Then small segments are merged.
//!
//! A partition is compacted a unit at a time: each sealed index chunk (rewritten as a new
//! chunk), then the manifest's tail; on an external index (DynamoDB), pages of segment items.
//! Each unit is one `Replace`. It never blocks a writer: appends rebase over it, and if what
//! it read changed meanwhile (a writer sealed the tail, another compaction or GC got there
//! first) the commit is refused as `Stale`, counted, and the unit is left for the next run;
//! its uploads become orphans for GC. Work per run is bounded by a partition budget and a
//! byte budget.

mod keys;
mod merge;
mod plan;

use std::collections::BTreeSet;
use std::ops::Range;

use serde::Serialize;
use silt_core::error::{Error, Rejection, Result};
use silt_core::ids::{Offset, PartitionId, TopicName};
use silt_core::manifest::{ChunkRef, Edit, Replace, SegmentEntry, SegmentIndex};
use silt_core::store::{Snapshot, Storage};
use silt_core::topic::{CleanupPolicy, DELETE_RETENTION_MS, TopicSettings};

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
    /// Records key compaction removed (superseded records and old tombstones).
    pub records_removed: u64,
    /// Segments key compaction rewrote without them.
    pub segments_rewritten: u64,
    /// Bytes of segments read (merged, rewritten, or scanned for keys).
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
    let configs = options.scope.configs(storage).await?;
    let due: Vec<_> = configs
        .iter()
        .flat_map(|c| c.partition_ids().map(move |p| (c, p)))
        .collect();
    let (due, coverage) = options.scope.this_run(due, storage.clock.now_ms());
    let mut report = CompactReport {
        coverage,
        ..CompactReport::default()
    };
    let mut run = JobRun::new();
    for (n, (config, p)) in due.iter().enumerate() {
        progress(n, due.len());
        if report.bytes_read >= options.max_bytes_read {
            report.coverage.partitions_visited -= due.len() - n;
            report.coverage.partitions_left += due.len() - n;
            break;
        }
        let mut job = Partition {
            storage,
            topic: &config.name,
            p: *p,
            settings: &config.settings,
            options,
            run: &mut run,
            report: &mut report,
        };
        if let Err(e) = job.compact().await {
            report.failed.push(format!("{}/{p}: {e}", config.name));
        }
    }
    progress(due.len(), due.len());
    Ok(report)
}

/// What one pass over a partition rewrites.
enum Pass {
    /// Key compaction: each segment holding one of these offsets, without them.
    Keys(BTreeSet<Offset>),
    /// Runs of small segments, merged.
    Merge,
}

/// Compaction of one partition.
struct Partition<'a> {
    storage: &'a Storage,
    topic: &'a TopicName,
    p: PartitionId,
    settings: &'a TopicSettings,
    options: &'a CompactOptions,
    run: &'a mut JobRun,
    report: &'a mut CompactReport,
}

impl Partition<'_> {
    async fn compact(&mut self) -> Result<()> {
        let Some(mut base) = self.storage.manifests.read(self.topic, self.p).await? else {
            return Ok(());
        };
        if self.settings.cleanup_policy == CleanupPolicy::Compact {
            let removed = self.removable(&base).await?;
            if !removed.is_empty() {
                self.pass(&mut base, &Pass::Keys(removed)).await?;
            }
        }
        self.pass(&mut base, &Pass::Merge).await
    }

    /// The offsets key compaction removes: decided over the segments from the log start that
    /// are all older than the compaction lag (and fit the byte budget).
    async fn removable(&mut self, base: &Snapshot) -> Result<BTreeSet<Offset>> {
        let now_ms = self.storage.clock.now_ms();
        let lag_cutoff = now_ms.saturating_sub(self.settings.min_compaction_lag_ms.unwrap_or(0));
        let retention = self
            .settings
            .delete_retention_ms
            .unwrap_or(DELETE_RETENTION_MS);
        let start = base.manifest.log_start_offset;
        let mut records = Vec::new();
        for entry in self.entries(base, start, usize::MAX).await? {
            let over_budget = self.report.bytes_read + entry.bytes > self.options.max_bytes_read;
            if entry.max_ts >= lag_cutoff || over_budget {
                break;
            }
            self.report.bytes_read += entry.bytes;
            for r in merge::read(self.storage, self.topic, &base.manifest, &entry).await? {
                records.push((entry.base_offset.plus(u64::from(r.position)), r.record));
            }
        }
        Ok(keys::removable(&records, now_ms.saturating_sub(retention)))
    }

    /// Walks the partition a unit at a time and commits each unit's rewrites.
    async fn pass(&mut self, base: &mut Snapshot, pass: &Pass) -> Result<()> {
        let start = base.manifest.log_start_offset;
        if let SegmentIndex::External { .. } = base.manifest.index {
            let mut from = start;
            loop {
                let page = self.entries(base, from, ITEMS_PER_UNIT).await?;
                let Some(end) = page.last().map(|e| e.end_offset()) else {
                    return Ok(());
                };
                self.unit(base, &page, None, pass).await?;
                if page.len() < ITEMS_PER_UNIT || self.out_of_budget() {
                    return Ok(());
                }
                from = end;
            }
        }
        let chunks: Vec<ChunkRef> = base.manifest.chunks.clone();
        for chunk in chunks.iter().filter(|c| c.end_offset > start) {
            let entries = self.entries(base, chunk.base_offset, chunk.segments as usize);
            let entries = entries.await?;
            self.unit(base, &entries, Some(*chunk), pass).await?;
        }
        let tail = base
            .manifest
            .segments
            .iter()
            .filter(|e| e.end_offset() > start);
        let tail: Vec<SegmentEntry> = tail.copied().collect();
        self.unit(base, &tail, None, pass).await
    }

    fn out_of_budget(&self) -> bool {
        self.report.bytes_read >= self.options.max_bytes_read
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

    /// The runs of `entries` a pass rewrites, each into one segment.
    fn runs(&self, entries: &[SegmentEntry], pass: &Pass) -> Vec<Range<usize>> {
        match pass {
            Pass::Merge => plan::groups(entries, self.options.target_bytes),
            Pass::Keys(removed) => {
                let holds = |e: &SegmentEntry| {
                    removed
                        .range(e.base_offset..e.end_offset())
                        .next()
                        .is_some()
                };
                let with = entries.iter().enumerate().filter(|(_, e)| holds(e));
                with.map(|(i, _)| i..i + 1).collect()
            }
        }
    }

    /// Rewrites the runs of `entries` and commits one `Replace` (with a rewritten chunk when
    /// they are a sealed chunk's entries).
    async fn unit(
        &mut self,
        base: &mut Snapshot,
        entries: &[SegmentEntry],
        chunk: Option<ChunkRef>,
        pass: &Pass,
    ) -> Result<()> {
        let runs = self.runs(entries, pass);
        let (Some(first), Some(last)) = (runs.first(), runs.last()) else {
            return Ok(());
        };
        if self.out_of_budget() {
            return Ok(());
        }
        let span = first.start..last.end;
        let no_removals = BTreeSet::new();
        let removed = match pass {
            Pass::Keys(removed) => removed,
            Pass::Merge => &no_removals,
        };
        let mut new = Vec::new();
        let mut at = span.start;
        for run in &runs {
            new.extend_from_slice(&entries[at..run.start]);
            let old = &entries[run.clone()];
            self.count(old, removed, pass);
            if !self.options.dry_run {
                let (m, writer) = (&base.manifest, self.run.writer());
                let written = merge::rewrite(self.storage, self.topic, m, old, writer, removed);
                let written = written.await?;
                self.report.bytes_written += written.bytes;
                new.push(written);
            }
            at = run.end;
        }
        if self.options.dry_run {
            return Ok(());
        }
        let old = entries[span.clone()].to_vec();
        let chunk = match chunk {
            Some(c) => Some((c, self.rewrite_chunk(base, entries, span, &new).await?)),
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

    /// Counts one run's rewrite in the report.
    fn count(&mut self, old: &[SegmentEntry], removed: &BTreeSet<Offset>, pass: &Pass) {
        let r = &mut *self.report;
        match pass {
            Pass::Merge => {
                r.segments_merged += old.len() as u64;
                r.segments_written += 1;
                r.bytes_read += old.iter().map(|e| e.bytes).sum::<u64>();
            }
            Pass::Keys(_) => {
                let offsets = old.iter().flat_map(|e| e.base_offset.0..e.end_offset().0);
                r.records_removed +=
                    offsets.filter(|o| removed.contains(&Offset(*o))).count() as u64;
                r.segments_rewritten += 1;
            }
        }
    }

    /// Writes the chunk holding `entries` with `span` swapped for `new`.
    async fn rewrite_chunk(
        &self,
        base: &Snapshot,
        entries: &[SegmentEntry],
        span: Range<usize>,
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

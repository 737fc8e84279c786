//! Compaction (docs/design.md §8): merge runs of small committed segments into segments near a
//! target size, so readers make fewer requests and the index stays small. Every record keeps its
//! offset, key, value, timestamp and headers: a merged segment holds exactly the records of
//! the segments it replaces, in order, and the `Replace` commit swaps entries covering exactly
//! the same offsets. The replaced objects go to the graveyard; GC deletes them after the
//! reader grace, so readers holding an older manifest keep working.
//!
//! Topics with `cleanup_policy = compact` first get key compaction (see `keys`): each segment
//! holding a superseded record is rewritten without it, keeping every other record at its
//! offset (the segment then has gaps; readers skip them). It scans a window a run, from a
//! checkpoint per partition (see `checkpoint`), so a long log is cleaned past one run's budget. Topics with `seal_after_ms` then
//! have their old hot segments sealed as cold Parquet segments (see `seal`). Then small
//! segments are merged.
//!
//! A partition is compacted a unit at a time: each sealed index chunk (rewritten as a new
//! chunk), then the manifest's tail; on an external index (DynamoDB), pages of segment items.
//! Each unit is one `Replace`. It never blocks a writer: appends rebase over it, and if what
//! it read changed meanwhile (a writer sealed the tail, another compaction or GC got there
//! first) the commit is refused as `Stale`, counted, and the unit is left for the next run;
//! its uploads become orphans for GC. Work per run is bounded by a partition budget and a
//! byte budget.

mod checkpoint;
mod commit;
mod keys;
mod merge;
mod options;
mod plan;
mod seal;

use options::removed_in;
pub use options::{CompactOptions, CompactReport, TARGET_SEGMENT_BYTES};
pub use seal::COLD_FILE_BYTES;

use std::ops::Range;

use silt_core::error::ErrorKind;
use silt_core::error::Result;
use silt_core::ids::{Offset, PartitionId, TopicName};
use silt_core::limits::TRANSACTION_ITEMS_MAX;
use silt_core::manifest::{ChunkRef, Edit, Manifest, Replace, SegmentEntry, SegmentIndex};
use silt_core::store::{Snapshot, Storage};
use silt_core::topic::{CleanupPolicy, TopicSettings};

use crate::job::JobRun;

/// Tombstones an inline manifest may hold before compaction waits for GC (about 300 KiB of
/// its 1 MiB budget); the report counts the partitions waiting.
pub const GRAVEYARD_MAX: usize = 4096;
/// Cold files starting inside a segment per unit on an inline index, at most (each adds an
/// entry to the manifest; later days stay in the file before).
const INLINE_SPLITS_MAX: usize = 256;
/// Segment items per unit on an external index: a `Replace` costs up to two transaction items
/// per entry (overwrite or delete, and a graveyard put), and one for the head.
const ITEMS_PER_UNIT: usize = 48;

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
        if report.bytes_read >= options.max_bytes_read || options.scope.out_of_time() {
            report.coverage.stopped_early(due.len() - n);
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
            sealing: true,
            keys_unfinished: false,
            waits_for_gc: false,
        };
        let Err(e) = job.compact().await else {
            continue;
        };
        match storage.confirm_missing(&config.name, *p, e).await {
            // An object a job removed under it: the manifest moved on, as for a `Stale` unit.
            None => report.stale += 1,
            Some(e) => report.failed.push(format!("{}/{p}: {e}", config.name)),
        }
    }
    progress(due.len(), due.len());
    Ok(report)
}

/// What one pass over a partition rewrites.
enum Pass {
    /// Key compaction: each segment holding one of these offsets (ascending), without them.
    Keys(Vec<Offset>),
    /// Runs of small segments, merged.
    Merge,
    /// The oldest hot segments whose records are all older than this (ms), sealed cold.
    Seal(i64),
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
    /// False once sealing met a segment too young to seal, or a sealing unit went stale: only
    /// a prefix of the log is sealed.
    sealing: bool,
    /// True once a key compaction unit was left for a later run (out of time, or the
    /// graveyard full): the checkpoint must not pass it.
    keys_unfinished: bool,
    /// True once a unit was left because the graveyard is full (counted once per partition).
    waits_for_gc: bool,
}

impl Partition<'_> {
    async fn compact(&mut self) -> Result<()> {
        let Some(mut base) = self.storage.manifests.read(self.topic, self.p).await? else {
            return Ok(());
        };
        if self.settings.cleanup_policy == CleanupPolicy::Compact {
            self.compact_keys(&mut base).await?;
        }
        if let Some(after_ms) = self.settings.seal_after_ms {
            let cutoff_ms = self.storage.clock.now_ms().saturating_sub(after_ms);
            // A failed seal is reported, and small segments are still merged; damage (a
            // segment missing or not the one its entry describes) fails the partition.
            if let Err(e) = self.pass(&mut base, &Pass::Seal(cutoff_ms)).await {
                let (topic, p) = (self.topic, self.p);
                match self.storage.confirm_missing(topic, p, e).await {
                    None => self.report.stale += 1,
                    Some(e) if e.kind() == ErrorKind::Corrupt => return Err(e),
                    Some(e) => self
                        .report
                        .failed
                        .push(format!("{topic}/{p}: sealing: {e}")),
                }
                match self.storage.manifests.read(topic, p).await? {
                    Some(fresh) => base = fresh,
                    None => return Ok(()),
                }
            }
        }
        self.pass(&mut base, &Pass::Merge).await
    }

    /// Walks the partition a unit at a time and commits each unit's rewrites.
    async fn pass(&mut self, base: &mut Snapshot, pass: &Pass) -> Result<()> {
        let start = base.manifest.log_start_offset;
        // Key compaction rewrites only segments holding a removed offset: none before the first.
        let start = match pass {
            Pass::Keys(removed) => removed.first().map_or(start, |first| start.max(*first)),
            _ => start,
        };
        if let SegmentIndex::External { .. } = base.manifest.index {
            let mut from = start;
            loop {
                let page = self.entries(base, from, ITEMS_PER_UNIT).await?;
                let Some(end) = page.last().map(|e| e.end_offset()) else {
                    return Ok(());
                };
                self.unit(base, &page, None, pass).await?;
                if page.len() < ITEMS_PER_UNIT
                    || self.out_of_budget_for(pass)
                    || self.finished(pass)
                {
                    return Ok(());
                }
                from = end;
            }
        }
        let chunks: Vec<ChunkRef> = base.manifest.chunks.clone();
        for chunk in chunks.iter().filter(|c| c.end_offset > start) {
            if self.finished(pass) {
                return Ok(());
            }
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

    /// True once sealing stopped: the rest of the log stays hot this run.
    fn finished(&self, pass: &Pass) -> bool {
        matches!(pass, Pass::Seal(_)) && !self.sealing
    }

    fn out_of_budget(&self) -> bool {
        self.report.bytes_read >= self.options.max_bytes_read || self.options.scope.out_of_time()
    }

    /// [`out_of_budget`](Self::out_of_budget) for `pass`: key compaction's scan already paid
    /// for reading what it rewrites, so only time stops it (and leaves it unfinished).
    fn out_of_budget_for(&mut self, pass: &Pass) -> bool {
        let Pass::Keys(_) = pass else {
            return self.out_of_budget();
        };
        let out = self.options.scope.out_of_time();
        self.keys_unfinished |= out;
        out
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
    fn runs(&mut self, entries: &[SegmentEntry], pass: &Pass) -> Vec<Range<usize>> {
        match pass {
            Pass::Merge => plan::groups(entries, self.options.target_bytes),
            Pass::Seal(_) if self.finished(pass) => Vec::new(),
            Pass::Seal(cutoff_ms) => {
                let file_bytes = self.options.cold_file_bytes;
                let (runs, stopped) = seal::groups(entries, *cutoff_ms, file_bytes);
                self.sealing = !stopped;
                runs
            }
            Pass::Keys(removed) => {
                let holds = |e: &SegmentEntry| removed_in(removed, e) > 0;
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
        let inline = base.manifest.index == SegmentIndex::Inline;
        let runs = self.runs(entries, pass);
        let (Some(first), Some(last)) = (runs.first(), runs.last()) else {
            return Ok(());
        };
        // Every rewrite adds tombstones to an inline manifest: leave room for writers until
        // GC has caught up, and say so.
        let graveyard_full = inline && base.manifest.graveyard.len() >= GRAVEYARD_MAX;
        if graveyard_full && !self.waits_for_gc {
            self.waits_for_gc = true;
            self.report.waiting_for_gc += 1;
        }
        if self.out_of_budget_for(pass) || graveyard_full {
            self.keys_unfinished |= matches!(pass, Pass::Keys(_));
            return Ok(());
        }
        let span = first.start..last.end;
        let (new, written) = self
            .write_runs(&base.manifest, entries, &runs, pass)
            .await?;
        let old = entries[span.clone()].to_vec();
        if self.options.dry_run || new == old {
            return Ok(());
        }
        let chunk = match chunk {
            Some(c) => match self.rewrite_chunk(base, entries, span, &new).await {
                Ok(rewritten) => Some((c, rewritten)),
                Err(e) => {
                    seal::delete_files(self.storage, self.topic, self.p, &written).await;
                    return Err(e);
                }
            },
            None => None,
        };
        self.commit(base, Edit::Replace(Replace { old, new, chunk }), &written)
            .await
    }

    /// Rewrites `runs` of `entries`; returns the entries from the first run's start to the
    /// last one's end with the runs replaced, and the entries written. On failure, the cold
    /// segments written are deleted (never committed, so nothing can reference them).
    async fn write_runs(
        &mut self,
        m: &Manifest,
        entries: &[SegmentEntry],
        runs: &[Range<usize>],
        pass: &Pass,
    ) -> Result<(Vec<SegmentEntry>, Vec<SegmentEntry>)> {
        // On DynamoDB, one transaction: two items per rewritten segment, one per cold file
        // starting inside a segment, one for the head.
        let mut splits = match m.index {
            SegmentIndex::Inline => INLINE_SPLITS_MAX,
            SegmentIndex::External { .. } => {
                let old: usize = runs.iter().map(|r| r.len()).sum();
                TRANSACTION_ITEMS_MAX.saturating_sub(1 + 2 * old)
            }
        };
        let (mut new, mut written) = (Vec::new(), Vec::new());
        let mut at = runs.first().map_or(0, |r| r.start);
        for run in runs {
            new.extend_from_slice(&entries[at..run.start]);
            at = run.end;
            let old = &entries[run.clone()];
            if self.options.dry_run {
                self.report.count(old, pass, 1);
                continue;
            }
            let files = match self.rewrite(m, old, pass, splits).await {
                Ok(Some(files)) => files,
                // Another run already removed what this one would.
                Ok(None) => {
                    new.extend_from_slice(old);
                    continue;
                }
                Err(e) => {
                    seal::delete_files(self.storage, self.topic, self.p, &written).await;
                    return Err(e);
                }
            };
            let inside = |n: &&SegmentEntry| !old.iter().any(|o| o.base_offset == n.base_offset);
            splits = splits.saturating_sub(files.iter().filter(inside).count());
            self.report.count(old, pass, files.len());
            self.report.bytes_written += files.iter().map(|e| e.bytes).sum::<u64>();
            new.extend_from_slice(&files);
            written.extend(files);
        }
        Ok((new, written))
    }

    /// Writes one run of `old` as a pass wants it; `None` if there is nothing to change.
    async fn rewrite(
        &self,
        m: &Manifest,
        old: &[SegmentEntry],
        pass: &Pass,
        max_splits: usize,
    ) -> Result<Option<Vec<SegmentEntry>>> {
        let (storage, topic) = (self.storage, self.topic);
        let removed: &[Offset] = match pass {
            Pass::Keys(removed) => removed,
            Pass::Merge => &[],
            Pass::Seal(_) => {
                let cold = &self.options.cold;
                let files = seal::write(storage, topic, m, old, cold, max_splits).await?;
                return Ok(Some(files));
            }
        };
        let writer = self.run.writer();
        let merged = merge::rewrite(storage, topic, m, old, writer, removed).await?;
        Ok(merged.map(|e| vec![e]))
    }
}

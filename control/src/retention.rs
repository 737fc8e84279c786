//! Retention (docs/design.md §8): each topic's `retention_ms` and `retention_bytes` decide how far
//! each partition's log start moves, and the move is a `Trim` commit, as with `silt topic trim`.
//!
//! Decisions are per segment, as in Kafka: from the log start, a segment expires while its
//! newest record is older than the retention time, or while the partition would still hold at
//! least `retention_bytes` without it; the first segment that does neither stops the walk. So
//! the time rule never removes a record inside the retention time (the size rule, as in
//! Kafka, may). Age is the records' own timestamps, as in Kafka: records written with old
//! timestamps expire at the next run. Nothing is deleted here: garbage collection removes what
//! falls below the start.
//!
//! A run is bounded (see [`Scope`]), safe to run twice at once (trims only
//! move the start forward, conditionally) and resumable (each run decides from the manifests).
//! A partition that fails is reported in `failed` and the run goes on.

use serde::Serialize;
use silt_core::error::Result;
use silt_core::ids::{Offset, PartitionId, TopicName};
use silt_core::store::{Snapshot, Storage};
use silt_core::topic::TopicSettings;

use crate::job::JobRun;
use crate::scope::{Coverage, Scope};
use crate::trim::{Trimmed, commit_trim};

/// Segment entries read at a time when only the time rule applies.
const SEGMENTS_PER_PAGE: usize = 128;

/// What a retention run does.
#[derive(Debug, Clone, Default)]
pub struct RetentionOptions {
    /// Which partitions (only those of topics with a retention setting count).
    pub scope: Scope,
    /// Decide and report, commit nothing.
    pub dry_run: bool,
}

/// One partition whose log start retention moved (or, in a dry run, would move).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Expired {
    /// The topic.
    pub topic: TopicName,
    /// The trim (in a dry run: the one that would be committed).
    pub trim: Trimmed,
    /// Segments that fell below the start.
    pub segments: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RetentionReport {
    /// Partitions with a retention setting visited, and left for the next run.
    #[serde(flatten)]
    pub coverage: Coverage,
    /// The partitions whose start moved.
    pub expired: Vec<Expired>,
    /// Partitions (or topics) this run could not handle, with why; the next run retries.
    pub failed: Vec<String>,
}

/// Runs retention once over the topics in `options`.
pub async fn run_retention(
    storage: &Storage,
    options: &RetentionOptions,
) -> Result<RetentionReport> {
    run_retention_observed(storage, options, |_, _| {}).await
}

/// [`run_retention`], calling `progress(visited, to_visit)` after each partition (the CLI
/// draws a progress bar with it).
pub async fn run_retention_observed(
    storage: &Storage,
    options: &RetentionOptions,
    mut progress: impl FnMut(usize, usize) + Send,
) -> Result<RetentionReport> {
    let mut report = RetentionReport::default();
    let due = due_partitions(storage, options, &mut report).await?;
    let now_ms = storage.clock.now_ms();
    let (due, coverage) = options.scope.this_run(due, now_ms);
    report.coverage = coverage;
    let visit = due.len();
    let mut run = JobRun::new();
    for (n, (topic, p, settings)) in due.into_iter().enumerate() {
        progress(n, visit);
        if options.scope.out_of_time() {
            report.coverage.stopped_early(visit - n);
            break;
        }
        let expired = partition(
            storage,
            &topic,
            p,
            &settings,
            now_ms,
            options.dry_run,
            &mut run,
        );
        let expired = expired.await;
        match expired {
            Ok(Some(expired)) => report.expired.push(expired),
            Ok(None) => {}
            // One partition's failure (a contended commit, a store error) does not stop the
            // others; the next run tries it again.
            Err(e) => report.failed.push(format!("{topic}/{p}: {e}")),
        }
    }
    progress(visit, visit);
    Ok(report)
}

/// The partitions of the topics in `options` that have retention settings. Topics whose
/// stored settings are invalid (from before they were checked) are reported, not trimmed.
async fn due_partitions(
    storage: &Storage,
    options: &RetentionOptions,
    report: &mut RetentionReport,
) -> Result<Vec<(TopicName, PartitionId, TopicSettings)>> {
    let mut due = Vec::new();
    for config in options.scope.configs(storage).await? {
        let (name, settings) = (&config.name, &config.settings);
        if let Err(e) = settings.validate() {
            report
                .failed
                .push(format!("{name}: {e}; fix it with `silt topic alter`"));
            continue;
        }
        if settings.retention_ms.is_some() || settings.retention_bytes.is_some() {
            let partitions = config.partition_ids();
            due.extend(partitions.map(|p| (name.clone(), p, settings.clone())));
        }
    }
    Ok(due)
}

/// Applies retention to one partition; what expired, if anything.
async fn partition(
    storage: &Storage,
    topic: &TopicName,
    p: PartitionId,
    settings: &TopicSettings,
    now_ms: i64,
    dry_run: bool,
    run: &mut JobRun,
) -> Result<Option<Expired>> {
    let Some(base) = storage.manifests.read(topic, p).await? else {
        return Ok(None);
    };
    let expiry = expiry(storage, topic, p, &base, settings, now_ms).await?;
    if expiry.to <= base.manifest.log_start_offset {
        return Ok(None);
    }
    let trim = match dry_run {
        true => Trimmed {
            partition: p,
            from: base.manifest.log_start_offset,
            to: expiry.to,
            next_offset: base.manifest.next_offset,
        },
        false => commit_trim(storage, topic, p, &base, expiry.to, run).await?,
    };
    Ok(Some(Expired {
        topic: topic.clone(),
        trim,
        segments: expiry.segments,
        bytes: expiry.bytes,
    }))
}

/// Where retention moves a partition's start, and what falls below it.
struct Expiry {
    to: Offset,
    segments: u64,
    bytes: u64,
}

/// Walks the segments of `base` from its log start while they expire (see the module docs).
async fn expiry(
    storage: &Storage,
    topic: &TopicName,
    p: PartitionId,
    base: &Snapshot,
    settings: &TopicSettings,
    now_ms: i64,
) -> Result<Expiry> {
    let m = &base.manifest;
    let cutoff_ms = settings.retention_ms.map(|ms| now_ms.saturating_sub(ms));
    // The size rule needs the bytes of every retained segment first; the time rule alone
    // reads a page at a time and stops at the first young segment.
    let page = match settings.retention_bytes {
        Some(_) => usize::MAX,
        None => SEGMENTS_PER_PAGE,
    };
    let mut expiry = Expiry {
        to: m.log_start_offset,
        segments: 0,
        bytes: 0,
    };
    let mut left: Option<u64> = None;
    loop {
        let segments = storage
            .manifests
            .segments_from(topic, p, base, expiry.to, page)
            .await?;
        if segments.is_empty() {
            return Ok(expiry);
        }
        let left = left.get_or_insert_with(|| segments.iter().map(|s| s.bytes).sum());
        for s in segments {
            let too_old = cutoff_ms.is_some_and(|cutoff| s.max_ts < cutoff);
            let too_big = settings
                .retention_bytes
                .is_some_and(|max| left.saturating_sub(s.bytes) >= max);
            if !too_old && !too_big {
                return Ok(expiry);
            }
            *left = left.saturating_sub(s.bytes);
            expiry.to = s.end_offset();
            expiry.segments += 1;
            expiry.bytes += s.bytes;
        }
    }
}

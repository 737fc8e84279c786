//! Garbage collection (docs/design.md §6 rule 8, §8): the last step of every object's life. Per
//! partition, in order:
//!
//! 1. **bury** (`bury`): entries that retention left wholly below the log start move to the
//!    graveyard with a `Bury` commit (a whole sealed chunk as one tombstone);
//! 2. **sweep the graveyard** (`graveyard`): objects removed at least the reader grace ago are
//!    deleted, then their tombstones dropped with a `Forget` commit;
//! 3. **sweep orphans** (`orphans`): objects uploaded but never committed (a crashed writer, a
//!    compaction that lost a race). First the orphan floor is raised to `now - orphan grace`
//!    with a commit, so no commit can reference an object older than that any more; only then
//!    are unreferenced objects older than the floor deleted. A hint per partition
//!    (`sweep_hint`) says where the last sweep stopped, so a sweep lists only what is new and
//!    reads only the index chunks that could reference it (`references`).
//!
//! Then deleted topics (`purge`): once the reader grace has passed since the delete, every
//! object, manifest and DynamoDB item of the deleted incarnation, and the tombstone is marked
//! purged, which frees the name.
//!
//! Last, consumer groups (`idle_groups`): a run over every topic deletes the groups with no
//! members and no commit or membership change for `group_idle_ms` (7 days, as Kafka keeps
//! offsets).
//!
//! Every delete is idempotent, every decision is made from a manifest read in this run, and
//! every commit is conditional: two GC runs at once, or a run that crashed halfway, leave
//! nothing referenced deleted and nothing unreferenced forever. Grace periods are measured on
//! the storage's clock (injected in tests).

mod bury;
pub(crate) mod graveyard;
mod idle_groups;
mod orphans;
mod purge;
mod references;
mod sweep_hint;

use serde::Serialize;
use silt_core::error::Result;
use silt_core::ids::{PartitionId, TopicName};
use silt_core::store::Storage;

use crate::job::JobRun;
use crate::scope::{Coverage, Scope};

/// Default time a removed object stays readable for readers holding an older manifest.
pub const READER_GRACE_MS: i64 = 15 * 60 * 1000;
/// Default age below which an uncommitted object is never taken for an orphan: far longer
/// than any commit takes (`COMMIT_RESOLVE_TIMEOUT` plus retries) plus clock skew.
pub const ORPHAN_GRACE_MS: i64 = 60 * 60 * 1000;

/// What a GC run does.
#[derive(Debug, Clone)]
pub struct GcOptions {
    /// Which partitions.
    pub scope: Scope,
    /// Decide and report; commit and delete nothing.
    pub dry_run: bool,
    /// How long a removed object stays before it is deleted.
    pub reader_grace_ms: i64,
    /// How old an unreferenced object must be to be swept as an orphan.
    pub orphan_grace_ms: i64,
    /// Objects deleted per run, at most (graveyard and orphans together); the rest waits for
    /// the next run.
    pub max_deletes: u64,
    /// How long a consumer group with no members and no commits is kept.
    pub group_idle_ms: i64,
}

impl Default for GcOptions {
    fn default() -> Self {
        GcOptions {
            scope: Scope::default(),
            dry_run: false,
            reader_grace_ms: READER_GRACE_MS,
            orphan_grace_ms: ORPHAN_GRACE_MS,
            max_deletes: 20_000,
            group_idle_ms: silt_group::admin::GROUP_IDLE_MS,
        }
    }
}

/// What a run did (in a dry run: would do), summed over partitions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct GcReport {
    /// Partitions visited and left.
    #[serde(flatten)]
    pub coverage: Coverage,
    /// Segment entries and sealed chunks moved below the log start into the graveyard.
    pub buried: u64,
    /// Graveyard objects deleted (segments and chunks).
    pub deleted: u64,
    /// Tombstones left for a later run: inside the reader grace, or past `max_deletes`.
    pub waiting: u64,
    /// Orphans deleted.
    pub orphans: u64,
    /// Objects, manifests and DynamoDB items of deleted topics deleted.
    pub deleted_topic_objects: u64,
    /// Deleted topics whose data is all gone now (their names are free again).
    pub topics_purged: u64,
    /// Deleted topics left for a later run: inside the reader grace, or past the budget.
    pub topics_waiting: u64,
    /// Consumer groups idle for `group_idle_ms` deleted.
    pub groups_deleted: u64,
    /// Partitions this run could not finish, with why; the next run retries.
    pub failed: Vec<String>,
}

/// Runs GC once over the partitions in `options.scope`.
pub async fn run_gc(storage: &Storage, options: &GcOptions) -> Result<GcReport> {
    run_gc_observed(storage, options, |_, _| {}).await
}

/// [`run_gc`], calling `progress(visited, to_visit)` after each partition.
pub async fn run_gc_observed(
    storage: &Storage,
    options: &GcOptions,
    mut progress: impl FnMut(usize, usize) + Send,
) -> Result<GcReport> {
    let (live, deleted) = options.scope.topics_in_scope(storage).await?;
    let due = Scope::partitions_of(&live);
    let (due, coverage) = options.scope.this_run(due, storage.clock.now_ms());
    let mut report = GcReport {
        coverage,
        ..GcReport::default()
    };
    let mut run = JobRun::new();
    for (n, (topic, p)) in due.iter().enumerate() {
        progress(n, due.len());
        if options.scope.out_of_time() {
            report.coverage.stopped_early(due.len() - n);
            break;
        }
        if let Err(e) = partition(storage, topic, *p, options, &mut run, &mut report).await {
            report.failed.push(format!("{topic}/{p}: {e}"));
        }
    }
    progress(due.len(), due.len());
    let budget = options
        .max_deletes
        .saturating_sub(report.deleted + report.orphans);
    let purged = purge::purge_deleted(storage, &deleted, options, budget).await;
    report.deleted_topic_objects = purged.deleted;
    report.topics_purged = purged.topics;
    report.topics_waiting = purged.waiting;
    report.failed.extend(purged.failed);
    if options.scope.topics.is_empty() {
        idle_groups::sweep(storage, options, &mut report).await;
    }
    Ok(report)
}

/// The three steps on one partition.
async fn partition(
    storage: &Storage,
    topic: &TopicName,
    p: PartitionId,
    options: &GcOptions,
    run: &mut JobRun,
    report: &mut GcReport,
) -> Result<()> {
    let Some(base) = storage.manifests.read(topic, p).await? else {
        return Ok(());
    };
    let (base, buried) = bury::bury(storage, topic, p, base, options.dry_run, run).await?;
    report.buried += buried;
    let now_ms = storage.clock.now_ms();
    let budget = options
        .max_deletes
        .saturating_sub(report.deleted + report.orphans);
    let swept = graveyard::sweep(storage, topic, p, &base, now_ms, budget, options, run).await?;
    report.deleted += swept.deleted;
    report.waiting += swept.waiting;
    let budget = options
        .max_deletes
        .saturating_sub(report.deleted + report.orphans);
    let orphans = orphans::sweep(storage, topic, p, base, now_ms, budget, options, run);
    report.orphans += orphans.await?;
    Ok(())
}

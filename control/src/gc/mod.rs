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
//! Mixed objects (docs/design.md §19) hold segments of several partitions, so no partition
//! deletes one on its own word: step two releases them (`mixed_release`), deleting one only
//! when the holder check (`mixed_holder`) finds no other partition holding it; and once per
//! topic, after its partitions, a sweep of `mixed/` (`mixed_sweep`) deletes those no
//! partition committed and none can commit any more.
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
mod mixed_holder;
mod mixed_release;
mod mixed_sweep;
mod orphans;
mod purge;
mod references;
mod sweep_hint;

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use silt_core::error::Result;
use silt_core::ids::{PartitionId, TopicName};
use silt_core::store::Storage;
use silt_core::topic::TopicConfig;

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
    /// Mixed objects (§19) deleted when a partition released them and no other held them.
    pub mixed_deleted: u64,
    /// Mixed objects a partition released but kept, another partition holding them still
    /// (it deletes them at its own release).
    pub mixed_kept: u64,
    /// Mixed objects no partition committed, deleted by the sweep of `mixed/`.
    pub mixed_orphans: u64,
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
    let mut floors: HashMap<TopicName, HashMap<PartitionId, i64>> = HashMap::new();
    let mut failed_topics: HashSet<TopicName> = HashSet::new();
    for (n, (topic, p)) in due.iter().enumerate() {
        progress(n, due.len());
        if options.scope.out_of_time() {
            report.coverage.stopped_early(due.len() - n);
            break;
        }
        let floor = partition(storage, topic, *p, options, &mut run, &mut report).await;
        match floor {
            Ok(floor) => {
                let topic_floors = floors.entry(topic.clone()).or_default();
                topic_floors.extend(floor.map(|f| (*p, f)));
            }
            Err(e) => {
                report.failed.push(format!("{topic}/{p}: {e}"));
                failed_topics.insert(topic.clone());
            }
        }
    }
    progress(due.len(), due.len());
    // A topic with a partition failed this run waits: that failure is reported already.
    floors.retain(|topic, _| !failed_topics.contains(topic));
    mixed_sweeps(storage, &live, &floors, options, &mut report).await;
    let purged =
        purge::purge_deleted(storage, &deleted, options, budget_left(options, &report)).await;
    report.deleted_topic_objects = purged.deleted;
    report.topics_purged = purged.topics;
    report.topics_waiting = purged.waiting;
    report.failed.extend(purged.failed);
    if options.scope.topics.is_empty() {
        idle_groups::sweep(storage, options, &mut report).await;
    }
    Ok(report)
}

/// Deletes left in the run's budget.
fn budget_left(options: &GcOptions, report: &GcReport) -> u64 {
    let spent = report.deleted + report.orphans + report.mixed_deleted + report.mixed_orphans;
    options.max_deletes.saturating_sub(spent)
}

/// The sweep of `mixed/` of each topic whose partition 0 this run visited (so every topic
/// once per full round of bounded runs), after its partitions raised their floors.
async fn mixed_sweeps(
    storage: &Storage,
    live: &[TopicConfig],
    floors: &HashMap<TopicName, HashMap<PartitionId, i64>>,
    options: &GcOptions,
    report: &mut GcReport,
) {
    for config in live {
        let Some(topic_floors) = floors.get(&config.name) else {
            continue;
        };
        if !topic_floors.contains_key(&PartitionId(0)) || options.scope.out_of_time() {
            continue;
        }
        let now_ms = storage.clock.now_ms();
        let budget = budget_left(options, report);
        match mixed_sweep::sweep(storage, config, topic_floors, now_ms, budget, options).await {
            Ok(swept) => report.mixed_orphans += swept,
            Err(e) => report
                .failed
                .push(format!("{} (mixed objects): {e}", config.name)),
        }
    }
}

/// The three steps on one partition; returns its orphan floor after them (none without a
/// manifest).
async fn partition(
    storage: &Storage,
    topic: &TopicName,
    p: PartitionId,
    options: &GcOptions,
    run: &mut JobRun,
    report: &mut GcReport,
) -> Result<Option<i64>> {
    let Some(base) = storage.manifests.read(topic, p).await? else {
        return Ok(None);
    };
    let (base, buried) = bury::bury(storage, topic, p, base, options.dry_run, run).await?;
    report.buried += buried;
    let now_ms = storage.clock.now_ms();
    let budget = budget_left(options, report);
    let swept = graveyard::sweep(storage, topic, p, &base, now_ms, budget, options, run).await?;
    report.deleted += swept.deleted;
    report.waiting += swept.waiting;
    report.mixed_deleted += swept.mixed_deleted;
    report.mixed_kept += swept.mixed_kept;
    let budget = budget_left(options, report);
    let orphans = orphans::sweep(storage, topic, p, base, now_ms, budget, options, run).await?;
    report.orphans += orphans.swept;
    Ok(orphans.floor_ms)
}

//! `silt retention run`, `silt compact run`, `silt gc run`: one bounded pass of a job (the
//! same function the scheduled Lambda calls), a progress bar on a terminal, what changed, then
//! a summary. A partition the job could not finish makes the command fail (run it again).

use std::io::IsTerminal;

use silt_control::{
    CompactOptions, GRAVEYARD_MAX, GcOptions, RetentionOptions, Scope, run_compaction_observed,
    run_gc_observed, run_retention_observed,
};
use silt_core::cold::ColdOptions;
use silt_core::ids::TopicName;
use silt_core::store::Storage;

use crate::CliResult;
use crate::args::{CompactCommand, GcCommand, JobArgs, RetentionCommand};
use crate::out::outln;

pub(crate) async fn retention(storage: &Storage, cmd: RetentionCommand) -> CliResult {
    let RetentionCommand::Run(job) = cmd;
    let dry_run = job.dry_run;
    let options = RetentionOptions {
        scope: scope(job)?,
        dry_run,
    };
    let report = with_progress(|bar| run_retention_observed(storage, &options, bar)).await?;
    let verb = if dry_run { "would move" } else { "moved" };
    for e in &report.expired {
        outln!(
            "{}/{}: log start {verb} from {} to {} ({} segments, {} bytes)",
            e.topic,
            e.trim.partition,
            e.trim.from,
            e.trim.to,
            e.segments,
            e.bytes
        )?;
    }
    let c = report.coverage;
    let summary = format!(
        "retention: {} partitions visited, {} {verb}, {} left for the next run",
        c.partitions_visited,
        report.expired.len(),
        c.partitions_left
    );
    finish("retention", &summary, &report.failed)
}

pub(crate) async fn compact(storage: &Storage, cmd: CompactCommand) -> CliResult {
    let CompactCommand::Run {
        job,
        target_bytes,
        cold_file_bytes,
        row_group_bytes,
    } = cmd;
    let dry_run = job.dry_run;
    let defaults = CompactOptions::default();
    let options = CompactOptions {
        scope: scope(job)?,
        dry_run,
        target_bytes,
        cold_file_bytes,
        cold: ColdOptions {
            row_group_bytes,
            ..defaults.cold
        },
        ..defaults
    };
    let r = with_progress(|bar| run_compaction_observed(storage, &options, bar)).await?;
    let verb = if dry_run { "would merge" } else { "merged" };
    let removed = if dry_run { "would remove" } else { "removed" };
    let seal = if dry_run { "would seal" } else { "sealed" };
    let summary = format!(
        "compaction: {} partitions visited, {verb} {} segments into {}, {seal} {} segments into {} Parquet files, {removed} {} records by key from {} segments, {} bytes read, {} written, {} skipped as changed meanwhile, {} partitions waiting for GC, {} partitions left for the next run",
        r.coverage.partitions_visited,
        r.segments_merged,
        r.segments_written,
        r.segments_sealed,
        r.cold_written,
        r.records_removed,
        r.segments_rewritten,
        r.bytes_read,
        r.bytes_written,
        r.stale,
        r.waiting_for_gc,
        r.coverage.partitions_left
    );
    if r.waiting_for_gc > 0 {
        eprintln!(
            "compaction: {} partitions wait for GC: each graveyard holds {GRAVEYARD_MAX} tombstones, so compaction adds no more there. Run `silt gc run` first (it deletes what was removed more than the reader grace, 15 minutes, ago), then compact again",
            r.waiting_for_gc
        );
    }
    finish("compaction", &summary, &r.failed)
}

pub(crate) async fn gc(storage: &Storage, cmd: GcCommand) -> CliResult {
    let GcCommand::Run { job, grace_ms } = cmd;
    let dry_run = job.dry_run;
    let defaults = GcOptions::default();
    let grace = grace_ms.map(|ms| i64::try_from(ms).unwrap_or(i64::MAX));
    let options = GcOptions {
        scope: scope(job)?,
        dry_run,
        reader_grace_ms: grace.unwrap_or(defaults.reader_grace_ms),
        orphan_grace_ms: grace.unwrap_or(defaults.orphan_grace_ms),
        ..defaults
    };
    let r = with_progress(|bar| run_gc_observed(storage, &options, bar)).await?;
    let verb = if dry_run { "would delete" } else { "deleted" };
    let summary = format!(
        "gc: {} partitions visited, {} entries buried below the log start, {verb} {} objects and {} orphans, {} waiting for the reader grace, {} partitions left for the next run",
        r.coverage.partitions_visited,
        r.buried,
        r.deleted,
        r.orphans,
        r.waiting,
        r.coverage.partitions_left
    );
    let summary = match r.topics_purged + r.topics_waiting {
        0 => summary,
        _ => format!(
            "{summary}; deleted topics: {verb} {} objects, {} purged (their names are free), {} left for a later run",
            r.deleted_topic_objects, r.topics_purged, r.topics_waiting
        ),
    };
    let summary = match r.mixed_deleted + r.mixed_kept + r.mixed_orphans {
        0 => summary,
        _ => format!(
            "{summary}; mixed objects: {verb} {} released by every partition and {} no partition committed, {} kept for partitions still holding them",
            r.mixed_deleted, r.mixed_orphans, r.mixed_kept
        ),
    };
    let summary = match r.groups_deleted {
        0 => summary,
        n => format!("{summary}; {verb} {n} consumer groups idle for 7 days"),
    };
    finish("gc", &summary, &r.failed)
}

fn scope(job: JobArgs) -> CliResult<Scope> {
    let topics = job.topics.into_iter().map(TopicName::new);
    Ok(Scope {
        topics: topics.collect::<Result<_, _>>()?,
        max_partitions: job.max_partitions,
        deadline: None,
    })
}

/// Runs a job, drawing its progress bar on stderr when it is a terminal.
async fn with_progress<T, F>(job: impl FnOnce(Box<dyn FnMut(usize, usize) + Send>) -> F) -> T
where
    F: Future<Output = T>,
{
    let on_terminal = std::io::stderr().is_terminal();
    let bar = Box::new(move |done, total| {
        if on_terminal {
            eprint!("\r{}", progress_bar(done, total));
        }
    });
    let out = job(bar).await;
    if on_terminal {
        eprint!("\r\x1b[K"); // clear the bar's line
    }
    out
}

/// Prints the failures and the summary; fails when a partition failed.
fn finish(job: &str, summary: &str, failed: &[String]) -> CliResult {
    for failure in failed {
        eprintln!("failed: {failure}");
    }
    let printed = outln!("{summary}");
    match failed.len() {
        0 => printed,
        n => Err(format!("{job} failed on {n} partitions or topics (above); run it again").into()),
    }
}

/// `[#####-----]  12/40 partitions`.
fn progress_bar(done: usize, total: usize) -> String {
    const WIDTH: usize = 30;
    let filled = (done * WIDTH).checked_div(total).unwrap_or(WIDTH);
    format!(
        "[{}{}] {done:>4}/{total} partitions",
        "#".repeat(filled),
        "-".repeat(WIDTH - filled)
    )
}

#[cfg(test)]
mod tests {
    use super::progress_bar;

    #[test]
    fn bar_fills_with_progress() {
        assert!(progress_bar(0, 40).starts_with("[------------------------------]"));
        assert!(progress_bar(20, 40).starts_with("[###############---------------]"));
        assert_eq!(
            progress_bar(40, 40),
            "[##############################]   40/40 partitions"
        );
        assert!(
            progress_bar(0, 0).starts_with("[#####"),
            "nothing to do is done"
        );
    }
}

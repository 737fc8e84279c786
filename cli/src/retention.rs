//! `silt retention run`: one bounded retention pass (the same function a scheduled job calls),
//! a line per partition whose log start moves, then a summary.

use silt_control::{RetentionOptions, run_retention};
use silt_core::ids::TopicName;
use silt_core::store::Storage;

use crate::CliResult;
use crate::args::RetentionCommand;

pub(crate) async fn run(storage: &Storage, cmd: RetentionCommand) -> CliResult {
    let RetentionCommand::Run {
        topics,
        dry_run,
        max_partitions,
    } = cmd;
    let options = RetentionOptions {
        topics: topics
            .into_iter()
            .map(TopicName::new)
            .collect::<Result<_, _>>()?,
        max_partitions,
        dry_run,
    };
    let report = run_retention(storage, &options).await?;
    let verb = if dry_run { "would move" } else { "moved" };
    for e in &report.expired {
        println!(
            "{}/{}: log start {verb} from {} to {} ({} segments, {} bytes)",
            e.topic, e.trim.partition, e.trim.from, e.trim.to, e.segments, e.bytes
        );
    }
    println!(
        "retention: {} partitions visited, {} {verb}, {} left for the next run",
        report.partitions_visited,
        report.expired.len(),
        report.partitions_left
    );
    Ok(())
}

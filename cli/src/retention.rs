//! `silt retention run`: one bounded retention pass (the same function a scheduled job calls),
//! a progress bar on a terminal, a line per partition whose log start moves, then a summary.

use std::io::IsTerminal;

use silt_control::{RetentionOptions, run_retention_observed};
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
    let on_terminal = std::io::stderr().is_terminal();
    let bar = |done, total| {
        if on_terminal {
            eprint!("\r{}", progress_bar(done, total));
        }
    };
    let report = run_retention_observed(storage, &options, bar).await;
    if on_terminal {
        eprint!("\r\x1b[K"); // clear the bar's line
    }
    let report = report?;
    let verb = if dry_run { "would move" } else { "moved" };
    for e in &report.expired {
        println!(
            "{}/{}: log start {verb} from {} to {} ({} segments, {} bytes)",
            e.topic, e.trim.partition, e.trim.from, e.trim.to, e.segments, e.bytes
        );
    }
    for failure in &report.failed {
        eprintln!("failed: {failure}");
    }
    println!(
        "retention: {} partitions visited, {} {verb}, {} left for the next run",
        report.partitions_visited,
        report.expired.len(),
        report.partitions_left
    );
    match report.failed.len() {
        0 => Ok(()),
        n => Err(
            format!("retention failed on {n} partitions or topics (above); run it again").into(),
        ),
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

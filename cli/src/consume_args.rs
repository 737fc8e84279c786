//! `silt consume`'s arguments: a plain read of chosen partitions (`consume`), or, with
//! `--group`, one member of a consumer group (`consume_group`).

use clap::{Args as ClapArgs, ValueEnum};
use silt_reader::StartFrom;

use crate::args::partition_id;

/// What `--group` does, after the options in `silt consume --help`.
const GROUP_HELP: &str = "\
With --group, this process is one member of a consumer group (docs/consumer-groups.md): it reads
the partitions the group assigns it, from their committed offsets, always follows, and commits
the position after what it printed every --auto-commit-ms and when it gives a partition up (at
least once: after a crash, what was printed since the last commit is printed again by the
partition's next owner). Changes of assignment go to stderr, one line each:
  group: joined GROUP as member ID
  group: assigned TOPIC/PARTITION epoch E committed OFFSET|none   (read from there, or --from)
  group: revoked TOPIC/PARTITION   (handed to another member after a final commit)
  group: lost TOPIC/PARTITION      (taken away: its new owner may print records again)
SIGINT or SIGTERM leaves the group (commit, then release every partition) and exits 0; a
second signal exits at once (peers take the partitions after the session timeout). It exits 1
if a newer process with the same --instance-id replaced it.";

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ConsumeFormat {
    /// The value only.
    Value,
    /// One JSON object per record: partition, offset, timestamp, key, value, headers.
    Jsonl,
}

#[derive(Debug, ClapArgs)]
#[command(after_help = GROUP_HELP)]
pub(crate) struct ConsumeArgs {
    /// Topic to read.
    pub(crate) topic: String,
    /// Read only this partition (default: all).
    #[arg(long, value_parser = partition_id(), allow_negative_numbers = true)]
    pub(crate) partition: Option<u32>,
    /// Where to start: earliest (default), latest, an offset, or @TIMESTAMP_MS. With
    /// --group, where a partition with no committed offset starts: earliest or latest.
    #[arg(long, value_parser = crate::consume::parse_from, allow_hyphen_values = true)]
    pub(crate) from: Option<StartFrom>,
    /// Stop after this many records (with --group: then commit and leave).
    #[arg(long)]
    pub(crate) max: Option<u64>,
    /// Keep waiting for new records at the end of the log (always, with --group).
    #[arg(long)]
    pub(crate) follow: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ConsumeFormat::Value)]
    pub(crate) format: ConsumeFormat,
    /// Read as a member of this consumer group, committing what was printed (see below).
    #[arg(long)]
    pub(crate) group: Option<String>,
    /// A static member's id (Kafka's group.instance.id): a restart within the session timeout
    /// keeps its partitions, with no rebalance.
    #[arg(long, requires = "group")]
    pub(crate) instance_id: Option<String>,
    /// How long a member may be silent before peers take its partitions [default: 45000].
    #[arg(long, requires = "group")]
    pub(crate) session_timeout_ms: Option<u64>,
    /// How often the member heartbeats and looks at its group [default: 3000].
    #[arg(long, requires = "group")]
    pub(crate) heartbeat_ms: Option<u64>,
    /// How often the position after the printed records is committed [default: 5000].
    #[arg(long, requires = "group")]
    pub(crate) auto_commit_ms: Option<u64>,
    /// The client's name, shown by `silt group describe` [default: silt-consume].
    #[arg(long, requires = "group")]
    pub(crate) client_id: Option<String>,
}

//! Command-line arguments.

use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};
use silt_core::limits::PARTITIONS_MAX;
use silt_core::store::DEFAULT_STORE_URL;
use silt_core::topic::{MANIFEST_GROUP_SIZE_MAX, PartitionerKind};

/// silt: a partitioned log on object storage.
#[derive(Debug, Parser)]
#[command(name = "silt", version, about)]
pub(crate) struct Args {
    /// Where the log lives: file://DIR, s3://BUCKET/PREFIX (AWS_* variables) or memory://
    /// (kept only while this one process runs: each silt command starts empty).
    #[arg(long, env = "SILT_STORE", default_value = DEFAULT_STORE_URL, global = true)]
    pub(crate) store: String,
    /// Where manifests and topic configurations live: in the store (default) or
    /// dynamodb://TABLE (AWS_REGION, credentials, AWS_ENDPOINT_URL_DYNAMODB).
    #[arg(long, env = "SILT_MANIFEST", global = true)]
    pub(crate) manifest: Option<String>,
    /// Topics this command creates (`topic create`, the agent's create and auto-create,
    /// `bench`) keep their manifests this many partitions to an object, so a writer commits
    /// to all of them with one conditional write (manifest groups, docs/design.md §19).
    /// Fixed once a topic exists; ignored with DynamoDB manifests. Default: one object per
    /// partition.
    #[arg(long, env = "SILT_MANIFEST_GROUP_SIZE", global = true, value_parser = clap::value_parser!(u32).range(1..=i64::from(MANIFEST_GROUP_SIZE_MAX)))]
    pub(crate) manifest_group_size: Option<u32>,
    #[command(subcommand)]
    pub(crate) command: Command,
}

/// `silt produce --help`'s exit codes (`produce/failure.rs` maps failures to them).
const PRODUCE_EXIT_CODES: &str = "\
Whatever stops it, the producer first waits for every record it sent, prints their acks and the
summary of what was committed, then the error.

Exit codes:
  0         every input line was acknowledged
  1         a line was refused (the error names it), an append failed, or the store failed
  2         bad arguments
  3         fenced: a newer --exclusive producer claimed a partition; nothing more can commit
  4         the acknowledgements could not be printed (stdout closed or full)
  130, 143  stopped by SIGINT, SIGTERM; a second signal exits at once
When several apply, the first in this order wins: 3, 4, 130/143, 1.";

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create, list and describe topics.
    #[command(subcommand)]
    Topic(TopicCommand),
    /// Append records read from stdin and print where they were committed.
    #[command(after_help = PRODUCE_EXIT_CODES)]
    Produce(ProduceArgs),
    /// Print records from a topic.
    Consume(ConsumeArgs),
    /// List, describe, reset the offsets of and delete consumer groups.
    #[command(subcommand)]
    Group(crate::group::GroupCommand),
    /// Serve the HTTP API (docs/http-api.md): append, read, topics, metrics.
    Agent(crate::agent::AgentArgs),
    /// Show the whole flow on the current store: create a topic, produce, consume, describe.
    Demo,
    /// Measure throughput, latency and request cost next to the store's raw limits.
    Bench(BenchArgs),
    /// Set up the manifest store.
    #[command(subcommand)]
    Manifest(ManifestCommand),
    /// Apply topics' retention settings.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Merge small segments (offsets, keys, values, timestamps and headers stay as they are).
    #[command(subcommand)]
    Compact(CompactCommand),
    /// Delete what retention and compaction removed, and uploads never committed.
    #[command(subcommand)]
    Gc(GcCommand),
    /// Print the DuckDB, Athena and Spark statements that query a topic's sealed Parquet
    /// files (see `topic create --seal-after-ms`).
    Table {
        /// Topic name.
        name: String,
    },
}

/// Options every job takes.
#[derive(Debug, ClapArgs)]
pub(crate) struct JobArgs {
    /// Only this topic (repeatable); default: every topic.
    #[arg(long = "topic")]
    pub(crate) topics: Vec<String>,
    /// Show what would change, change nothing.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Most partitions to visit in this run.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) max_partitions: usize,
}

#[derive(Debug, Subcommand)]
pub(crate) enum RetentionCommand {
    /// Move each partition's log start past the segments its topic's retention_ms and
    /// retention_bytes no longer keep (nothing is deleted: GC does that).
    Run(JobArgs),
}

#[derive(Debug, Subcommand)]
pub(crate) enum CompactCommand {
    /// Merge runs of small committed segments into segments near --target-bytes, and seal
    /// records older than a topic's --seal-after-ms as Parquet (the old segments are deleted
    /// by GC after the reader grace).
    Run {
        #[command(flatten)]
        job: JobArgs,
        /// Size merged segments aim for, in bytes.
        #[arg(long, default_value_t = silt_control::TARGET_SEGMENT_BYTES)]
        target_bytes: u64,
        /// Size sealed Parquet files aim for, in bytes.
        #[arg(long, default_value_t = silt_control::COLD_FILE_BYTES)]
        cold_file_bytes: u64,
        /// Size Parquet row groups aim for, in bytes.
        #[arg(long, default_value_t = silt_core::cold::ROW_GROUP_BYTES)]
        row_group_bytes: usize,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum GcCommand {
    /// Bury what lies below each log start, delete the graveyard after the reader grace (15
    /// min), and sweep orphans older than the orphan grace (1 h).
    Run {
        #[command(flatten)]
        job: JobArgs,
        /// Override both grace periods, in ms (0: delete at once; only when no reader or
        /// writer may be working from an older manifest).
        #[arg(long)]
        grace_ms: Option<u64>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ManifestCommand {
    /// Create the DynamoDB table named by --manifest unless it exists (nothing to do for
    /// manifests kept in the store).
    Init,
}

/// `--cleanup-policy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Cleanup {
    /// Records go only by retention.
    Delete,
    /// Also keep only the newest record per key.
    Compact,
}

impl From<Cleanup> for silt_core::topic::CleanupPolicy {
    fn from(c: Cleanup) -> Self {
        match c {
            Cleanup::Delete => silt_core::topic::CleanupPolicy::Delete,
            Cleanup::Compact => silt_core::topic::CleanupPolicy::Compact,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Payload {
    /// Incompressible bytes.
    Random,
    /// Log-like text lines (compress several times).
    Text,
}

/// How the bench's agent path talks to the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum AgentProtocol {
    /// silt's HTTP API: `POST /v1/topics/{t}/partitions/{p}/records`.
    Http,
    /// The Kinesis API: `PutRecords` (`POST /`, JSON 1.1).
    Kinesis,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct BenchArgs {
    /// Partitions of the bench topic.
    #[arg(long, default_value_t = 1, value_parser = partition_count(), allow_negative_numbers = true)]
    pub(crate) partitions: u32,
    /// Concurrent producer tasks.
    #[arg(long, default_value_t = 4)]
    pub(crate) producers: usize,
    /// Bytes per record (value).
    #[arg(long, default_value_t = 1024)]
    pub(crate) record_bytes: usize,
    /// What the records hold.
    #[arg(long, value_enum, default_value_t = Payload::Random)]
    pub(crate) payload: Payload,
    /// Target produce rate in MiB/s of payload; 0 = as fast as possible.
    #[arg(long, default_value_t = 0.0)]
    pub(crate) rate_mib_s: f64,
    /// How long to produce.
    #[arg(long, default_value_t = 10.0)]
    pub(crate) seconds: f64,
    /// Produce this many records instead of for a time.
    #[arg(long)]
    pub(crate) records: Option<u64>,
    /// Writer linger.
    #[arg(long, default_value_t = 10)]
    pub(crate) linger_ms: u64,
    /// Adaptive linger: how much longer than the linger a fast-filling batch may be held.
    #[arg(long, default_value_t = 50)]
    pub(crate) linger_budget_ms: u64,
    /// Segment size (MiB) at which the writer flushes.
    #[arg(long, default_value_t = 8)]
    pub(crate) segment_mib: usize,
    /// zstd level of segments.
    #[arg(long, default_value_t = 1)]
    pub(crate) zstd_level: i32,
    /// One object per partition per flush, instead of mixed objects (one object per flush for
    /// all partitions ready, the default; docs/design.md §19).
    #[arg(long)]
    pub(crate) per_partition_objects: bool,
    /// MiB of just-uploaded segments kept for the tailing readers, as the agent keeps them
    /// (0: they GET every segment from the store). The catch-up read never uses it.
    #[arg(long, default_value_t = silt_core::store::TAIL_CACHE_BYTES / (1024 * 1024))]
    pub(crate) tail_cache_mib: u64,
    /// How long each raw store measurement runs.
    #[arg(long, default_value_t = 3.0)]
    pub(crate) raw_seconds: f64,
    /// Also write every figure as JSON to this file.
    #[arg(long)]
    pub(crate) json: Option<std::path::PathBuf>,
    /// Also drive the load through the agent's HTTP API: `in-process` (an agent on
    /// 127.0.0.1 over the same store and writer settings, started by the bench) or the URL of
    /// a running agent (`http://host:port`).
    #[arg(long, value_name = "in-process|URL")]
    pub(crate) agent: Option<String>,
    /// Concurrent HTTP clients on the agent path, each with one keep-alive connection and one
    /// request in flight.
    #[arg(long, default_value_t = 128)]
    pub(crate) agent_clients: usize,
    /// Records per HTTP append request on the agent path.
    #[arg(long, default_value_t = 100)]
    pub(crate) agent_batch: usize,
    /// The agent path's requests: silt's HTTP API (`http`) or Kinesis' `PutRecords` to a
    /// stream made by `CreateStream` (`kinesis`; at most 500 records and 5 MiB per request).
    #[arg(long, value_enum, default_value_t = AgentProtocol::Http)]
    pub(crate) agent_protocol: AgentProtocol,
}

#[derive(Debug, Subcommand)]
pub(crate) enum TopicCommand {
    /// Create a topic.
    Create(CreateArgs),
    /// List topics.
    List,
    /// Show partitions with their offsets, segments, bytes and leader epoch.
    Describe {
        /// Topic name.
        name: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Change a topic's settings (the jobs apply them on their next run).
    Alter(AlterArgs),
    /// Delete a topic: readers and writers see an unknown topic at once, and `silt gc run`
    /// removes its data after the reader grace; the name is free again after that.
    Delete {
        /// Topic name.
        name: String,
    },
    /// Remove a partition's records below an offset: moves its log start offset forward
    /// (never back), so reads below it fail with an offset-out-of-range error.
    Trim {
        /// Topic name.
        name: String,
        /// The partition to trim.
        #[arg(long, value_parser = partition_id(), allow_negative_numbers = true)]
        partition: u32,
        /// The new log start offset (at most the partition's next offset).
        #[arg(long)]
        before: u64,
    },
}

/// `topic create`.
#[derive(Debug, ClapArgs)]
pub(crate) struct CreateArgs {
    /// Topic name: 1 to 249 characters from [a-zA-Z0-9._-].
    pub(crate) name: String,
    /// Number of partitions (1 to 10000).
    #[arg(long, default_value_t = 1, value_parser = partition_count(), allow_negative_numbers = true)]
    pub(crate) partitions: u32,
    /// Keep records at least this long (ms); default (or -1): forever.
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) retention_ms: Option<i64>,
    /// Keep at most about this many bytes per partition; default (or -1): unlimited.
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) retention_bytes: Option<i64>,
    /// compact: compaction also keeps only the newest record per key.
    #[arg(long, value_enum, default_value_t = Cleanup::Delete)]
    pub(crate) cleanup_policy: Cleanup,
    /// Key compaction leaves records younger than this (ms) alone; default 0.
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) min_compaction_lag_ms: Option<i64>,
    /// Key compaction keeps tombstones (keyed records with no value) this long (ms);
    /// default one day.
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) delete_retention_ms: Option<i64>,
    /// Compaction seals records older than this (ms) as Parquet under `tables/`; 0: at
    /// its next run; default (or -1): never.
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) seal_after_ms: Option<i64>,
    /// How keyed records are placed: murmur2 (Kafka's default partitioner) or kinesis-md5
    /// (Amazon Kinesis: MD5 hash-key ranges). Fixed once the topic exists.
    #[arg(long, default_value = "murmur2", value_parser = PartitionerKind::NAMES)]
    pub(crate) partitioner: String,
}

/// `--partitions`: the count a topic may have, refused at parse time with the real range.
fn partition_count() -> clap::builder::RangedI64ValueParser<u32> {
    clap::value_parser!(u32).range(1..=i64::from(PARTITIONS_MAX))
}

/// `--partition`: an id any topic may have; the topic's own count is checked later.
pub(crate) fn partition_id() -> clap::builder::RangedI64ValueParser<u32> {
    clap::value_parser!(u32).range(0..=i64::from(PARTITIONS_MAX) - 1)
}

/// `topic alter`: only the settings given change.
#[derive(Debug, ClapArgs)]
pub(crate) struct AlterArgs {
    /// Topic name.
    pub(crate) name: String,
    /// Keep records at least this long (ms); -1: forever.
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) retention_ms: Option<i64>,
    /// Keep at most about this many bytes per partition; -1: no limit.
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) retention_bytes: Option<i64>,
    /// compact: compaction also keeps only the newest record per key.
    #[arg(long, value_enum)]
    pub(crate) cleanup_policy: Option<Cleanup>,
    /// Key compaction leaves records younger than this (ms) alone.
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) min_compaction_lag_ms: Option<i64>,
    /// Key compaction keeps tombstones this long (ms).
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) delete_retention_ms: Option<i64>,
    /// Compaction seals records older than this (ms) as Parquet; -1: never.
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) seal_after_ms: Option<i64>,
    /// Refused unless it is the topic's own: the partitioner is fixed at create.
    #[arg(long, hide = true)]
    pub(crate) partitioner: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProduceFormat {
    /// One value per line.
    Lines,
    /// One JSON object per line: key, value, partition, timestamp, headers (all optional);
    /// key and values are strings, null or {"base64": "..."} (numbers are refused, not converted).
    Jsonl,
}

#[derive(Debug, ClapArgs)]
pub(crate) struct ProduceArgs {
    /// Topic to append to.
    pub(crate) topic: String,
    /// Send every record to this partition (default: by key, or round-robin); a JSON line
    /// naming another partition is refused.
    #[arg(long, value_parser = partition_id(), allow_negative_numbers = true)]
    pub(crate) partition: Option<u32>,
    /// Key for every record (lines format).
    #[arg(long)]
    pub(crate) key: Option<String>,
    /// Input format.
    #[arg(long, value_enum, default_value_t = ProduceFormat::Lines)]
    pub(crate) format: ProduceFormat,
    /// Claim the partitions written to: fence any previous exclusive writer and refuse others.
    #[arg(long)]
    pub(crate) exclusive: bool,
    /// Append all input as one batch, only if the partition's next offset is exactly this
    /// (needs --partition).
    #[arg(long, requires = "partition")]
    pub(crate) expect_offset: Option<u64>,
    /// Wait at most this long for more records before committing a segment.
    #[arg(long, default_value_t = 10)]
    pub(crate) linger_ms: u64,
    /// Print one line per acknowledged record as acks arrive: the line's index (from 0),
    /// partition and offset, tab-separated.
    #[arg(long)]
    pub(crate) print_acks: bool,
}

pub(crate) use crate::consume_args::{ConsumeArgs, ConsumeFormat};

//! `silt bench`: throughput, latency and request cost of silt, next to the raw limits of the
//! same store measured in the same run (docs/design.md §13). Requests are counted by wrapping the
//! `ObjectStore` ([`CountingStore`]), not estimated. Everything runs under a fresh
//! `bench-runs/<id>/` prefix of the store, which is removed at the end.
//!
//! 1. raw: PUT/GET of segment-sized objects at the writer's concurrency; sequential
//!    conditional writes on one key;
//! 2. produce: records/s, MiB/s of payload, ack latency, segments, commits, requests per GiB;
//! 3. end-to-end latency: send → visible to a tailing reader of the same process, which reads
//!    the segments still in the tail cache (`--tail-cache-mib`) without a GET, as the agent's
//!    consumers do;
//! 4. catch-up read from offset 0, from the store (no tail cache);
//! 5. ratios against the raw limits;
//! 6. with `--agent`, the produce load again through the agent's HTTP API (`agent`), side by
//!    side with the library path: silt's own API or, with `--agent-protocol kinesis`, Kinesis'
//!    `PutRecords` (`protocol`).

mod agent;
mod cpu;
mod http;
mod load;
mod protocol;
mod raw;
mod report;
mod stats;

use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use silt_agent::MetricsRenderer;
use silt_core::ids::{PartitionId, TopicName};
use silt_core::manifest::Manifest;
use silt_core::store::{CountingStore, Storage};
use silt_writer::WriterSettings;

use crate::CliResult;
use crate::args::{AgentProtocol, BenchArgs, Payload};
use crate::out::out;
use load::Load;
use report::{AgentMeasured, Measured, Report, Slowest};

pub(crate) async fn run(storage: &Storage, args: BenchArgs) -> CliResult {
    check(&args)?;
    let counting = Arc::new(CountingStore::new(storage.objects.clone()));
    let root = storage
        .keys
        .root()
        .clone()
        .join("bench-runs")
        .join(storage.clock.new_ulid().to_string());
    let bench = storage.rooted(counting.clone(), root.clone());
    let bench = bench.with_tail_cache(args.tail_cache_mib.saturating_mul(1024 * 1024));
    // DynamoDB commits are counted from the metrics DynamoDB calls record (none elsewhere).
    let metrics = silt_agent::metrics::install().ok();
    let measured = measure(&args, &counting, &bench, metrics.as_ref()).await;
    cleanup(storage, &root).await;
    let report = measured?;
    out!("{}", report.table())?;
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_vec_pretty(&report)?)?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

/// Refuses settings the run cannot honour, before anything is written.
fn check(args: &BenchArgs) -> CliResult {
    let positive = |v: f64| v.is_finite() && v > 0.0;
    let partitions = 1..=silt_core::limits::PARTITIONS_MAX;
    let record_bytes = 8..=silt_core::limits::RECORD_BYTES_MAX;
    let rules = [
        (
            partitions.contains(&args.partitions),
            "--partitions must be 1 to 10000",
        ),
        (args.producers >= 1, "--producers must be at least 1"),
        (
            record_bytes.contains(&args.record_bytes),
            "--record-bytes must be 8 to 1048576",
        ),
        (positive(args.seconds), "--seconds must be positive"),
        (positive(args.raw_seconds), "--raw-seconds must be positive"),
        (
            args.rate_mib_s.is_finite() && args.rate_mib_s >= 0.0,
            "--rate-mib-s must be 0 or more",
        ),
        (
            args.records.is_none_or(|r| r >= args.producers as u64),
            "--records must be at least --producers",
        ),
        (
            args.agent_clients >= 1,
            "--agent-clients must be at least 1",
        ),
        (
            args.agent.is_none() || args.records.is_none_or(|r| r >= args.agent_clients as u64),
            "--records must be at least --agent-clients",
        ),
        (
            args.agent_batch >= 1
                && args.agent_batch * (args.record_bytes * 4 / 3 + 32)
                    <= silt_agent::REQUEST_BYTES_MAX,
            "--agent-batch must be at least 1, and its base64 JSON body at most 8 MiB",
        ),
        (
            args.agent_protocol != AgentProtocol::Kinesis
                || (args.agent_batch <= silt_agent::PUT_RECORDS_MAX
                    && args.agent_batch * (args.record_bytes + protocol::KINESIS_KEY_BYTES_MAX)
                        <= silt_agent::PUT_RECORDS_BYTES_MAX),
            "--agent-protocol kinesis: --agent-batch must be at most 500 records (Kinesis' PutRecords) and their data and partition keys at most 5 MiB",
        ),
    ];
    match rules.iter().find(|(ok, _)| !ok) {
        Some((_, rule)) => Err((*rule).into()),
        None => Ok(()),
    }
}

/// The five steps of a run, against `bench` (which counts its requests through `counting`).
async fn measure(
    args: &BenchArgs,
    counting: &Arc<CountingStore>,
    bench: &Storage,
    metrics: Option<&MetricsRenderer>,
) -> CliResult<Report> {
    let writer = WriterSettings {
        linger_ms: args.linger_ms,
        linger_budget_ms: args.linger_budget_ms,
        segment_bytes_max: args.segment_mib * 1024 * 1024,
        zstd_level: args.zstd_level,
        mixed: !args.per_partition_objects,
        ..WriterSettings::default()
    };
    writer.validate()?;
    let pool = payload_pool(args.payload, 16 * 1024 * 1024);
    let concurrency = (writer.uploads_in_flight_max * args.partitions as usize).min(16);
    eprintln!(
        "measuring raw store limits ({concurrency} concurrent {} MiB objects)...",
        args.segment_mib
    );
    let segment_sized = pool.slice(..(args.segment_mib * 1024 * 1024).min(pool.len()));
    let root = bench.keys.root();
    let raw = raw::measure(
        counting.clone(),
        root,
        segment_sized,
        concurrency,
        args.raw_seconds,
    )
    .await?;

    let topic = TopicName::new("bench")?;
    bench
        .create_topic(&topic, args.partitions, Default::default())
        .await?;
    let load = Load {
        topic: topic.clone(),
        partitions: args.partitions,
        producers: args.producers,
        record_bytes: args.record_bytes,
        rate_mib_per_s: args.rate_mib_s,
        seconds: args.seconds,
        records: args.records,
        writer,
    };
    eprintln!(
        "producing ({} producers, {} partitions)...",
        args.producers, args.partitions
    );
    let before = counting.counts();
    let transactions_before = dynamodb_transactions(metrics);
    counting.take_slowest_ms();
    let (produced, produce_cpu_s) = cpu::timed(load::produce(bench, &load, pool.clone())).await;
    let (produce, e2e) = produced?;
    let produce_requests = counting.counts().since(&before);
    let produce_transactions = dynamodb_transactions(metrics) - transactions_before;
    let (slowest_put_ms, slowest_get_ms) = counting.take_slowest_ms();
    eprintln!("reading back from offset 0...");
    let before = counting.counts();
    // A catch-up reader is another process: it reads the store, not the writer's tail cache.
    let cold = bench.clone().with_tail_cache(0);
    let (read, read_cpu_s) = cpu::timed(load::catch_up(&cold, &topic, args.partitions)).await;
    let read = read?;
    let read_requests = counting.counts().since(&before);

    let manifests = manifests(bench, &topic, args.partitions).await?;
    let agent = match &args.agent {
        Some(target) => Some(measure_agent(args, target, counting, bench, &load, pool).await?),
        None => None,
    };
    let measured = Measured {
        agent,
        raw,
        produce,
        e2e,
        read,
        produce_requests,
        produce_transactions,
        read_requests,
        produce_cpu_s,
        read_cpu_s,
        slowest: Slowest {
            put_ms: slowest_put_ms,
            get_ms: slowest_get_ms,
        },
    };
    let manifest = match (&bench.manifest_table, bench.manifest_group_size) {
        (Some(table), _) => format!("dynamodb://{}", table.table()),
        (None, Some(size)) => format!("store (object-store manifest groups of {size})"),
        (None, None) => "store (object-store manifest)".into(),
    };
    Ok(Report::new(
        args, &bench.url, &manifest, measured, &manifests,
    ))
}

/// `TransactWriteItems` calls so far (manifest commits in DynamoDB), from the metrics.
fn dynamodb_transactions(metrics: Option<&MetricsRenderer>) -> u64 {
    let Some(metrics) = metrics else { return 0 };
    let text = (metrics.0)();
    let counts = text.lines().filter(|line| {
        line.starts_with("silt_store_requests_total{") && line.contains("\"dynamodb_transact\"")
    });
    let values = counts.filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok());
    values.sum::<f64>() as u64
}

/// Step 6: the same load through the agent, with the store requests it caused (when the bench
/// started the agent over its own store).
async fn measure_agent(
    args: &BenchArgs,
    target: &str,
    counting: &Arc<CountingStore>,
    bench: &Storage,
    load: &Load,
    pool: Bytes,
) -> CliResult<AgentMeasured> {
    let agent = agent::AgentLoad {
        target: target.to_string(),
        clients: args.agent_clients,
        batch_records: args.agent_batch,
        protocol: args.agent_protocol,
    };
    eprintln!(
        "producing through the agent ({}, {}; {} clients, {} records per request)...",
        agent.target,
        agent.protocol.name(),
        agent.clients,
        agent.batch_records
    );
    let before = counting.counts();
    let produce = agent::produce(bench, &agent, load, pool).await?;
    let requests = counting.counts().since(&before);
    if target != agent::IN_PROCESS {
        return Ok(AgentMeasured {
            produce,
            requests: None,
            manifests: Vec::new(),
        });
    }
    let topic = TopicName::new(produce.topic.clone())?;
    Ok(AgentMeasured {
        manifests: manifests(bench, &topic, args.partitions).await?,
        produce,
        requests: Some(requests),
    })
}

/// The manifests of the topic's partitions, after a load.
async fn manifests(
    bench: &Storage,
    topic: &TopicName,
    partitions: u32,
) -> CliResult<Vec<Arc<Manifest>>> {
    let mut manifests = Vec::new();
    for p in 0..partitions {
        if let Some(s) = bench.manifests.read(topic, PartitionId(p)).await? {
            manifests.push(s.manifest);
        }
    }
    Ok(manifests)
}

/// `random`: incompressible bytes; `text`: log-like lines that zstd shrinks several times.
fn payload_pool(kind: Payload, len: usize) -> Bytes {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut out = Vec::with_capacity(len + 256);
    while out.len() < len {
        match kind {
            Payload::Random => out.extend_from_slice(&next().to_le_bytes()),
            Payload::Text => {
                let r = next();
                let level = ["INFO", "INFO", "INFO", "WARN", "DEBUG", "ERROR"][(r % 6) as usize];
                let line = format!(
                    "2026-11-22T04:{:02}:{:02}.{:03}Z {level} service=orders region=eu-west-1 user_id={} order_id={} action={} latency_ms={} status={}\n",
                    (r >> 8) % 60,
                    (r >> 16) % 60,
                    (r >> 24) % 1000,
                    (r >> 32) % 100_000,
                    r % 10_000_000,
                    ["click", "view", "purchase", "refund"][((r >> 40) % 4) as usize],
                    (r >> 44) % 500,
                    [200, 200, 200, 201, 404, 500][((r >> 52) % 6) as usize],
                );
                out.extend_from_slice(line.as_bytes());
            }
        }
    }
    out.truncate(len);
    Bytes::from(out)
}

/// Removes what the run wrote to the object store (best effort; uncounted). With manifests in
/// DynamoDB the run's items stay in the table (a head and its segment items per partition,
/// under the run's prefix): deleting items arrives with the jobs. DynamoDB requests are not
/// counted in the report either.
async fn cleanup(storage: &Storage, root: &object_store::path::Path) {
    let listed: Result<Vec<_>, _> = storage.objects.list(Some(root)).try_collect().await;
    for meta in listed.unwrap_or_default() {
        let _ = storage.objects.delete(&meta.location).await;
    }
}

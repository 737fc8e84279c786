//! The bench report: a table for people, JSON (`--json FILE`) for comparing runs. The JSON has
//! every figure, the settings, the machine and the git revision.

use std::fmt::Write;
use std::sync::Arc;

use serde::Serialize;
use silt_core::manifest::Manifest;
use silt_core::store::RequestCounts;

use super::agent::AgentProduce;
use super::load::{Produce, Read};
use super::raw::Raw;
use super::stats::{MIB, Percentiles, mib_per_s};
use crate::args::BenchArgs;

/// Everything one run measured, before it is summarised.
#[derive(Debug)]
pub(crate) struct Measured {
    pub(crate) raw: Raw,
    pub(crate) produce: Produce,
    pub(crate) e2e: Percentiles,
    pub(crate) read: Read,
    pub(crate) produce_requests: RequestCounts,
    /// DynamoDB transactions while producing (manifests in DynamoDB), else 0.
    pub(crate) produce_transactions: u64,
    pub(crate) read_requests: RequestCounts,
    /// CPU seconds of this process while producing (tailing readers included).
    pub(crate) produce_cpu_s: Option<f64>,
    /// CPU seconds of this process while catching up.
    pub(crate) read_cpu_s: Option<f64>,
    pub(crate) slowest: Slowest,
    pub(crate) agent: Option<AgentMeasured>,
}

/// What the agent path measured: its produce figures, and (agent started by the bench) the
/// store requests and manifests of its topic.
#[derive(Debug)]
pub(crate) struct AgentMeasured {
    pub(crate) produce: AgentProduce,
    pub(crate) requests: Option<RequestCounts>,
    pub(crate) manifests: Vec<Arc<Manifest>>,
}

/// The slowest single store requests while producing: a latency outlier of about the same
/// size points at the store, not at silt.
#[derive(Debug, Clone, Copy, Serialize)]
pub(crate) struct Slowest {
    pub(crate) put_ms: f64,
    pub(crate) get_ms: f64,
}

#[derive(Debug, Serialize)]
pub(crate) struct Report {
    settings: serde_json::Value,
    machine: serde_json::Value,
    git_revision: String,
    raw: Raw,
    produce: ProduceReport,
    e2e_ms: Percentiles,
    read: ReadReport,
    requests: Requests,
    ratios: Ratios,
    #[serde(skip_serializing_if = "Option::is_none")]
    agent: Option<AgentReport>,
}

/// The agent path next to the library path of the same run.
#[derive(Debug, Serialize)]
struct AgentReport {
    #[serde(flatten)]
    produce: AgentProduce,
    /// Store figures: only when the bench started the agent over its own store.
    segments: Option<u64>,
    manifest_commits: Option<u64>,
    put_per_gib: Option<f64>,
    requests: Option<RequestCounts>,
    vs_library: VsLibrary,
}

/// Agent path against library path: throughput ratio, ack latency differences.
#[derive(Debug, Serialize)]
struct VsLibrary {
    mib_per_s_ratio: f64,
    ack_p50_diff_ms: f64,
    ack_p99_diff_ms: f64,
}

impl AgentReport {
    fn new(m: AgentMeasured, library: &Produce) -> AgentReport {
        let a = &m.produce.load;
        let vs_library = VsLibrary {
            mib_per_s_ratio: ratio(a.mib_per_s, library.mib_per_s),
            ack_p50_diff_ms: a.ack_ms.p50 - library.ack_ms.p50,
            ack_p99_diff_ms: a.ack_ms.p99 - library.ack_ms.p99,
        };
        let gib = a.payload_bytes as f64 / (MIB * 1024.0);
        let segments = m
            .requests
            .map(|_| m.manifests.iter().map(|m| m.segment_count()).sum());
        AgentReport {
            segments,
            manifest_commits: m.requests.map(|r| r.put_update),
            put_per_gib: m.requests.map(|r| ratio(r.puts() as f64, gib)),
            requests: m.requests,
            vs_library,
            produce: m.produce,
        }
    }

    fn table(&self, t: &mut String) {
        let (a, p) = (&self.produce, &self.produce.load);
        let _ = writeln!(
            t,
            "agent       {:8.1} MiB/s payload  {:9.0} records/s  ({} records, {} failed, {:.1} s)",
            p.mib_per_s, p.records_per_s, p.records, p.failed, p.seconds
        );
        let _ = writeln!(
            t,
            "            {}, {} protocol; {} clients × {} records per request; {} requests",
            a.agent, a.protocol, a.clients, a.batch_records, a.http_requests
        );
        let _ = writeln!(
            t,
            "            ack ms  p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}   end-to-end p50 {:.1}  p99 {:.1}",
            p.ack_ms.p50, p.ack_ms.p90, p.ack_ms.p99, p.ack_ms.max, a.e2e_ms.p50, a.e2e_ms.p99
        );
        if let (Some(segments), Some(commits), Some(puts)) =
            (self.segments, self.manifest_commits, self.put_per_gib)
        {
            let _ = writeln!(
                t,
                "            {segments} segments, {commits} manifest commits, PUT/GiB {puts:.1}"
            );
        }
        if let Some(failure) = &a.first_failure {
            let _ = writeln!(
                t,
                "            failures {:?}; first: {failure}",
                a.http_failures
            );
        }
        let v = &self.vs_library;
        let _ = writeln!(
            t,
            "agent/lib   throughput {:.2}  ack p50 {:+.1} ms  ack p99 {:+.1} ms",
            v.mib_per_s_ratio, v.ack_p50_diff_ms, v.ack_p99_diff_ms
        );
    }
}

#[derive(Debug, Serialize)]
struct ProduceReport {
    #[serde(flatten)]
    load: Produce,
    segments: u64,
    segment_mean_bytes: f64,
    stored_bytes: u64,
    stored_mib_per_s: f64,
    manifest_commits: u64,
    slowest_request_ms: Slowest,
    /// CPU seconds of the bench process per GiB of payload (Linux only).
    cpu_s_per_gib: Option<f64>,
}

#[derive(Debug, Serialize)]
struct ReadReport {
    #[serde(flatten)]
    load: Read,
    stored_mib_per_s: f64,
    /// CPU seconds of the bench process per GiB of payload (Linux only).
    cpu_s_per_gib: Option<f64>,
}

#[derive(Debug, Serialize)]
struct Requests {
    put_per_gib: f64,
    /// DynamoDB transactions per GiB (manifest commits there), 0 with manifests in the store.
    dynamodb_transactions_per_gib: f64,
    /// Every write request per GiB: object PUTs and DynamoDB transactions.
    writes_per_gib: f64,
    get_per_gib: f64,
    list_per_gib: f64,
    commits_per_segment: f64,
    produce: RequestCounts,
    read: RequestCounts,
}

#[derive(Debug, Serialize)]
struct Ratios {
    produce_stored_vs_raw_put: f64,
    read_stored_vs_raw_get: f64,
    puts_per_gib_vs_unavoidable: f64,
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b } else { 0.0 }
}

impl Report {
    pub(crate) fn new(
        args: &BenchArgs,
        url: &str,
        manifest: &str,
        m: Measured,
        manifests: &[Arc<Manifest>],
    ) -> Report {
        let segments: u64 = manifests.iter().map(|m| m.segment_count()).sum();
        let stored_bytes: u64 = manifests.iter().map(|m| m.segment_bytes()).sum();
        let payload_gib = m.produce.payload_bytes as f64 / (MIB * 1024.0);
        let stored_gib = stored_bytes as f64 / (MIB * 1024.0);
        let per_gib = |n: u64, gib: f64| ratio(n as f64, gib);
        let produce = ProduceReport {
            segments,
            segment_mean_bytes: ratio(stored_bytes as f64, segments as f64),
            stored_bytes,
            stored_mib_per_s: mib_per_s(stored_bytes, m.produce.seconds),
            manifest_commits: m.produce_requests.put_update + m.produce_transactions,
            slowest_request_ms: m.slowest,
            cpu_s_per_gib: m.produce_cpu_s.map(|s| ratio(s, payload_gib)),
            load: m.produce,
        };
        let read = ReadReport {
            stored_mib_per_s: mib_per_s(stored_bytes, m.read.seconds),
            cpu_s_per_gib: m
                .read_cpu_s
                .map(|s| ratio(s, m.read.payload_bytes as f64 / (MIB * 1024.0))),
            load: m.read,
        };
        // With segments of S MiB, writing G GiB needs at least G*1024/S data PUTs.
        let unavoidable_per_gib = 1024.0 / args.segment_mib as f64;
        let requests = Requests {
            put_per_gib: per_gib(m.produce_requests.puts(), payload_gib),
            dynamodb_transactions_per_gib: per_gib(m.produce_transactions, payload_gib),
            writes_per_gib: per_gib(
                m.produce_requests.puts() + m.produce_transactions,
                payload_gib,
            ),
            get_per_gib: per_gib(m.read_requests.get, payload_gib),
            list_per_gib: per_gib(m.produce_requests.list + m.read_requests.list, payload_gib),
            commits_per_segment: ratio(
                (m.produce_requests.put_update + m.produce_transactions) as f64,
                segments as f64,
            ),
            produce: m.produce_requests,
            read: m.read_requests,
        };
        let agent = m.agent.map(|a| AgentReport::new(a, &produce.load));
        let ratios = Ratios {
            produce_stored_vs_raw_put: ratio(produce.stored_mib_per_s, m.raw.put_mib_per_s),
            read_stored_vs_raw_get: ratio(read.stored_mib_per_s, m.raw.get_mib_per_s),
            puts_per_gib_vs_unavoidable: ratio(
                per_gib(m.produce_requests.puts(), stored_gib),
                unavoidable_per_gib,
            ),
        };
        Report {
            settings: settings(args, url, manifest),
            machine: machine(),
            git_revision: git_revision(),
            raw: m.raw,
            produce,
            e2e_ms: m.e2e,
            read,
            requests,
            ratios,
            agent,
        }
    }

    /// The human summary.
    pub(crate) fn table(&self) -> String {
        let (r, p, rd) = (&self.raw, &self.produce, &self.read);
        let mut t = String::new();
        let _ = writeln!(
            t,
            "\nsilt bench  {}  rev {}  {}",
            self.settings["store"], self.git_revision, self.machine
        );
        let _ = writeln!(t, "settings    {}", self.settings);
        let _ = writeln!(
            t,
            "raw         PUT {:8.1} MiB/s {:7.1} obj/s  p50 {:6.1} ms  p99 {:6.1} ms   ({} × {} B)",
            r.put_mib_per_s,
            r.put_objects_per_s,
            r.put_ms.p50,
            r.put_ms.p99,
            r.concurrency,
            r.object_bytes
        );
        let _ = writeln!(
            t,
            "            GET {:8.1} MiB/s {:7.1} obj/s  p50 {:6.1} ms  p99 {:6.1} ms",
            r.get_mib_per_s, r.get_objects_per_s, r.get_ms.p50, r.get_ms.p99
        );
        let _ = writeln!(
            t,
            "            conditional writes on one key: {:.1}/s",
            r.conditional_writes_per_s
        );
        let _ = writeln!(
            t,
            "produce     {:8.1} MiB/s payload  {:9.0} records/s  ({} records, {} failed, {:.1} s)",
            p.load.mib_per_s, p.load.records_per_s, p.load.records, p.load.failed, p.load.seconds
        );
        let _ = writeln!(
            t,
            "            ack ms  p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}",
            p.load.ack_ms.p50, p.load.ack_ms.p90, p.load.ack_ms.p99, p.load.ack_ms.max
        );
        let _ = writeln!(
            t,
            "            {} segments, mean {:.0} B, stored {:.1} MiB/s, {} manifest commits",
            p.segments, p.segment_mean_bytes, p.stored_mib_per_s, p.manifest_commits
        );
        let s = p.slowest_request_ms;
        let _ = writeln!(
            t,
            "            slowest store request  PUT {:.1} ms  GET {:.1} ms",
            s.put_ms, s.get_ms
        );
        let _ = writeln!(
            t,
            "end-to-end  ms  p50 {:.1}  p99 {:.1}  ({} records seen by tailing readers)",
            self.e2e_ms.p50, self.e2e_ms.p99, self.e2e_ms.samples
        );
        let _ = writeln!(
            t,
            "catch-up    {:8.1} MiB/s payload  {:9.0} records/s  stored {:.1} MiB/s",
            rd.load.mib_per_s, rd.load.records_per_s, rd.stored_mib_per_s
        );
        if let (Some(produce), Some(read)) = (p.cpu_s_per_gib, rd.cpu_s_per_gib) {
            let _ = writeln!(
                t,
                "cpu         produce {produce:.2} s/GiB (tailing readers included)  catch-up {read:.2} s/GiB"
            );
        }
        let q = &self.requests;
        let _ = writeln!(
            t,
            "requests    PUT/GiB {:.1}  GET/GiB {:.1}  LIST/GiB {:.1}  commits/segment {:.2}",
            q.put_per_gib, q.get_per_gib, q.list_per_gib, q.commits_per_segment
        );
        if q.dynamodb_transactions_per_gib > 0.0 {
            let _ = writeln!(
                t,
                "            DynamoDB transactions/GiB {:.1}  writes (PUTs + transactions)/GiB {:.1}",
                q.dynamodb_transactions_per_gib, q.writes_per_gib
            );
        }
        let x = &self.ratios;
        let _ = writeln!(
            t,
            "ratios      produce/raw PUT {:.2}  read/raw GET {:.2}  PUTs/unavoidable {:.2}",
            x.produce_stored_vs_raw_put, x.read_stored_vs_raw_get, x.puts_per_gib_vs_unavoidable
        );
        if let Some(agent) = &self.agent {
            agent.table(&mut t);
        }
        t
    }
}

fn settings(a: &BenchArgs, url: &str, manifest: &str) -> serde_json::Value {
    serde_json::json!({
        "store": url,
        "manifest": manifest,
        "partitions": a.partitions,
        "producers": a.producers,
        "record_bytes": a.record_bytes,
        "payload": format!("{:?}", a.payload).to_lowercase(),
        "rate_mib_per_s": if a.rate_mib_s > 0.0 { serde_json::json!(a.rate_mib_s) } else { serde_json::json!("unlimited") },
        "seconds": a.seconds,
        "records": a.records,
        "linger_ms": a.linger_ms,
        "linger_budget_ms": a.linger_budget_ms,
        "segment_bytes": a.segment_mib * 1024 * 1024,
        "zstd_level": a.zstd_level,
        "mixed": !a.per_partition_objects && a.partitions > 1,
        "tail_cache_bytes": a.tail_cache_mib.saturating_mul(1024 * 1024),
        "agent": a.agent,
        "agent_clients": a.agent.as_ref().map(|_| a.agent_clients),
        "agent_batch_records": a.agent.as_ref().map(|_| a.agent_batch),
        "agent_protocol": a.agent.as_ref().map(|_| a.agent_protocol.name()),
    })
}

fn machine() -> serde_json::Value {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory_bytes = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
        let kib: u64 = m
            .lines()
            .find(|l| l.starts_with("MemTotal:"))?
            .split_whitespace()
            .nth(1)?
            .parse()
            .ok()?;
        Some(kib * 1024)
    });
    serde_json::json!({ "cores": cores, "memory_bytes": memory_bytes })
}

fn git_revision() -> String {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output();
    match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        _ => "unknown".to_string(),
    }
}

//! The agent path: the load of `load::produce`, sent through the agent's HTTP API instead of
//! the library. N client tasks each hold one keep-alive connection and post batches of M
//! records to one partition per request (`POST /v1/topics/{t}/partitions/{p}/records`, or
//! Kinesis' `PutRecords`: see `protocol`), one request in flight, paced to
//! their share of the target rate; a request's latency runs from its send to its answer,
//! which the agent gives after the commit. `in-process` starts an agent (`silt_agent::router`
//! and `serve`) on 127.0.0.1:0 over the bench's store with the library path's writer
//! settings, so its store requests are counted and tailing readers measure end-to-end
//! latency as on the library path; a URL measures a running agent (its store is not seen).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use silt_agent::{HttpSettings, LogService, router, serve};
use silt_core::ids::{PartitionId, TopicName};
use silt_core::store::Storage;
use silt_reader::{Reader, StartFrom};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::http::{Connection, Endpoint};
use super::load::{Load, Produce, record, tail};
use super::protocol::{AgentProtocol, Answer, Wire};
use super::stats::{MIB, Percentiles, mib_per_s, per_s};
use crate::CliResult;

/// `--agent in-process`: the bench starts the agent itself.
pub(crate) const IN_PROCESS: &str = "in-process";

/// How the agent path is driven.
#[derive(Debug, Clone)]
pub(crate) struct AgentLoad {
    pub(crate) target: String,
    pub(crate) clients: usize,
    pub(crate) batch_records: usize,
    pub(crate) protocol: AgentProtocol,
}

/// What the agent path measured (store requests and segments are added by the caller).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct AgentProduce {
    pub(crate) agent: String,
    /// `http` or `kinesis`.
    pub(crate) protocol: &'static str,
    pub(crate) topic: String,
    pub(crate) clients: usize,
    pub(crate) batch_records: usize,
    #[serde(flatten)]
    pub(crate) load: Produce,
    pub(crate) http_requests: u64,
    pub(crate) http_failures: BTreeMap<String, u64>,
    pub(crate) first_failure: Option<String>,
    pub(crate) e2e_ms: Percentiles,
}

/// A running agent: one the bench started (stopped at the end), or one at a URL.
struct Running {
    endpoint: Arc<Endpoint>,
    own: Option<(oneshot::Sender<()>, JoinHandle<()>, Arc<LogService>)>,
}

impl Running {
    async fn start(agent: &AgentLoad, bench: &Storage, load: &Load) -> CliResult<Running> {
        if agent.target != IN_PROCESS {
            let bearer = std::env::var("SILT_AGENT_TOKEN").ok();
            let endpoint = Endpoint::parse(&agent.target, bearer)?;
            return Ok(Running {
                endpoint: Arc::new(endpoint),
                own: None,
            });
        }
        let service = Arc::new(LogService::new(bench.clone(), load.writer.clone())?);
        let settings = HttpSettings {
            concurrent_requests_max: agent.clients.max(1024),
            ..HttpSettings::default()
        };
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        let (stop, stopped) = oneshot::channel::<()>();
        let app = router(service.clone(), settings);
        let task = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            serve(listener, app, shutdown, Duration::from_secs(30)).await;
        });
        Ok(Running {
            endpoint: Arc::new(Endpoint::parse(&url, None)?),
            own: Some((stop, task, service)),
        })
    }

    /// Stops an agent the bench started: in-flight requests are answered, writers flushed.
    async fn stop(self) {
        if let Some((stop, task, service)) = self.own {
            let _ = stop.send(());
            let _ = task.await;
            service.close().await;
        }
    }
}

/// Creates the topic, runs the clients (and tailing readers, in-process) and stops the agent.
pub(crate) async fn produce(
    bench: &Storage,
    agent: &AgentLoad,
    load: &Load,
    pool: Bytes,
) -> CliResult<AgentProduce> {
    let running = Running::start(agent, bench, load).await?;
    let measured = measure(bench, agent, load, pool, &running).await;
    running.stop().await;
    measured
}

async fn measure(
    bench: &Storage,
    agent: &AgentLoad,
    load: &Load,
    pool: Bytes,
    running: &Running,
) -> CliResult<AgentProduce> {
    let topic = match running.own {
        Some(_) => TopicName::new("bench-agent")?,
        None => TopicName::new(format!("bench-agent-{}", bench.clock.new_ulid()))?,
    };
    let wire = Arc::new(Wire::new(agent.protocol, topic.clone(), load.partitions));
    wire.create(&running.endpoint).await?;
    let mut tails = Vec::new();
    if running.own.is_some() {
        let reader = Reader::open(bench.clone(), &topic).await?;
        for p in 0..load.partitions {
            tails.push(reader.cursor(PartitionId(p), StartFrom::Latest).await?);
        }
    }
    let t0 = Instant::now();
    let done = Arc::new(AtomicBool::new(false));
    let tailers: Vec<_> = tails
        .into_iter()
        .map(|c| tokio::spawn(tail(c, t0, done.clone())))
        .collect();
    let clients: Vec<_> = (0..agent.clients)
        .map(|id| {
            let client = Client {
                id,
                endpoint: running.endpoint.clone(),
                wire: wire.clone(),
                load: load.clone(),
                clients: agent.clients,
                batch_records: agent.batch_records,
                pool: pool.clone(),
                t0,
            };
            tokio::spawn(client.run())
        })
        .collect();
    let mut total = ClientFigures::default();
    for c in clients {
        total.add(c.await??);
    }
    let seconds = t0.elapsed().as_secs_f64();
    done.store(true, Ordering::SeqCst);
    let mut e2e = Vec::new();
    for t in tailers {
        e2e.extend(t.await??);
    }
    Ok(AgentProduce {
        agent: running.own.as_ref().map_or(running.endpoint.url(), |_| {
            format!("{IN_PROCESS} ({})", running.endpoint.url())
        }),
        protocol: wire.name(),
        topic: topic.as_str().to_string(),
        clients: agent.clients,
        batch_records: agent.batch_records,
        load: Produce {
            records: total.records,
            payload_bytes: total.bytes,
            failed: total.failed,
            seconds,
            records_per_s: per_s(total.records as f64, seconds),
            mib_per_s: mib_per_s(total.bytes, seconds),
            ack_ms: Percentiles::of(total.latencies_ms),
        },
        http_requests: total.requests,
        http_failures: total.failures,
        first_failure: total.first_failure,
        e2e_ms: Percentiles::of(e2e),
    })
}

/// What one client did.
#[derive(Debug, Default)]
struct ClientFigures {
    records: u64,
    bytes: u64,
    failed: u64,
    requests: u64,
    latencies_ms: Vec<f64>,
    failures: BTreeMap<String, u64>,
    first_failure: Option<String>,
}

impl ClientFigures {
    fn add(&mut self, other: ClientFigures) {
        self.records += other.records;
        self.bytes += other.bytes;
        self.failed += other.failed;
        self.requests += other.requests;
        self.latencies_ms.extend(other.latencies_ms);
        for (status, n) in other.failures {
            *self.failures.entry(status).or_default() += n;
        }
        self.first_failure = self.first_failure.take().or(other.first_failure);
    }

    /// Counts an answered request of `count` records (`bytes` of payload, all the same size)
    /// sent at `sent`: its latency if any record was committed, and its failures.
    fn answered(&mut self, answer: Answer, count: u64, bytes: u64, sent: Instant) {
        let committed = count.saturating_sub(answer.failed);
        if committed > 0 {
            self.latencies_ms
                .push(sent.elapsed().as_secs_f64() * 1000.0);
            self.records += committed;
            self.bytes += bytes * committed / count;
        }
        match answer.failure {
            Some((kind, detail)) => self.failure(kind, detail, count - committed),
            None => self.failed += count - committed,
        }
    }

    fn failure(&mut self, status: String, detail: String, records: u64) {
        self.failed += records;
        *self.failures.entry(status).or_default() += 1;
        self.first_failure.get_or_insert(detail);
    }
}

/// One HTTP client: its connection, its share of the load.
struct Client {
    id: usize,
    endpoint: Arc<Endpoint>,
    wire: Arc<Wire>,
    load: Load,
    clients: usize,
    batch_records: usize,
    pool: Bytes,
    t0: Instant,
}

impl Client {
    /// Posts batches until time or its record budget runs out. A failed request counts its
    /// records as failed; a broken connection is opened again.
    async fn run(self) -> CliResult<ClientFigures> {
        let mut connection = Connection::open(self.endpoint.clone()).await?;
        let budget = self.load.records.map(|r| r / self.clients as u64);
        let rate_bytes_per_s = self.load.rate_mib_per_s * MIB / self.clients as f64;
        let stop_at = self.t0 + Duration::from_secs_f64(self.load.seconds);
        let mut figures = ClientFigures::default();
        let mut offered = 0u64;
        loop {
            let now = Instant::now();
            let count = match budget {
                Some(b) => b.saturating_sub(figures.records + figures.failed),
                None if now >= stop_at => 0,
                None => self.batch_records as u64,
            }
            .min(self.batch_records as u64);
            if count == 0 {
                return Ok(figures);
            }
            if rate_bytes_per_s > 0.0 {
                let due = self.t0 + self.due_after(offered, rate_bytes_per_s);
                if due > now + Duration::from_millis(1) {
                    tokio::time::sleep_until(due.min(stop_at)).await;
                    continue; // look at the clock and the budget again
                }
            }
            let n = figures.requests;
            let partition = ((self.id as u64 + n) % u64::from(self.load.partitions)) as u32;
            let sent_ns = self.t0.elapsed().as_nanos() as u64;
            let values = self.values(n, count as usize, sent_ns);
            let bytes: u64 = values.iter().map(|v| v.len() as u64).sum();
            offered += bytes;
            let request = self.wire.put(partition, &values);
            // The ack latency is the agent's: from the send of a built request to its answer.
            let sent = Instant::now();
            figures.requests += 1;
            match connection.call(request).await {
                Ok((status, body)) => {
                    let answer = self.wire.answer(partition, status, &body, count);
                    figures.answered(answer, count, bytes, sent);
                }
                Err(e) => {
                    figures.failure("connection".into(), e.to_string(), count);
                    connection = Connection::open(self.endpoint.clone()).await?;
                }
            }
        }
    }

    /// When, after the start, this client sends its next request at a fixed rate, having
    /// offered `offered` bytes. Clients start a fraction of a batch apart, so their requests
    /// are spread evenly rather than sent all at once.
    fn due_after(&self, offered: u64, rate_bytes_per_s: f64) -> Duration {
        let batch_bytes = (self.batch_records * self.load.record_bytes) as f64;
        let phase = batch_bytes * self.id as f64 / self.clients as f64;
        Duration::from_secs_f64((offered as f64 + phase) / rate_bytes_per_s)
    }

    /// The values of `count` records, each starting with the send time, as on the library
    /// path.
    fn values(&self, n: u64, count: usize, sent_ns: u64) -> Vec<Bytes> {
        (0..count)
            .map(|i| {
                let seq = (self.id as u64 * 1_000_003 + n) * self.batch_records as u64 + i as u64;
                record(&self.pool, self.load.record_bytes, seq, sent_ns)
                    .value
                    .unwrap_or_default()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn client(id: usize, clients: usize) -> Client {
        let load = Load {
            topic: TopicName::new("t").unwrap(),
            partitions: 1,
            producers: 1,
            record_bytes: 1024,
            rate_mib_per_s: 25.0,
            seconds: 1.0,
            records: None,
            writer: silt_writer::WriterSettings::default(),
        };
        Client {
            id,
            endpoint: Arc::new(Endpoint::parse("http://127.0.0.1:1", None).unwrap()),
            wire: Arc::new(Wire::new(AgentProtocol::Http, load.topic.clone(), 1)),
            load,
            clients,
            batch_records: 100,
            pool: Bytes::new(),
            t0: Instant::now(),
        }
    }

    /// Paced clients send their requests spread over one batch period, not all at once (in
    /// step, the ack latency measured the burst of 128 requests, not the agent).
    #[test]
    fn paced_clients_send_a_fraction_of_a_batch_apart() {
        let clients = 4;
        // 100 KiB per client-second: one batch per client per second.
        let rate = 100.0 * 1024.0;
        let firsts: Vec<Duration> = (0..clients)
            .map(|id| client(id, clients).due_after(0, rate))
            .collect();
        let ms: Vec<u128> = firsts.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, vec![0, 250, 500, 750]);
        let second = client(1, clients).due_after(100 * 1024, rate);
        assert_eq!(second.as_millis(), 1250, "then one batch period apart");
    }
}

//! The load: producers append records as fast as allowed (or at a target rate) while tailing
//! readers measure end-to-end latency; then a catch-up read from offset 0. Each record's
//! first 8 bytes carry its send time (ns since the run started), so latency is measured on the
//! record itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use serde::Serialize;
use silt_core::ids::{PartitionId, TopicName};
use silt_core::record::Record;
use silt_core::store::Storage;
use silt_reader::{Cursor, Reader, StartFrom};
use silt_writer::{AckFuture, Writer, WriterSettings};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::stats::{Percentiles, mib_per_s, per_s};
use crate::CliResult;

/// What one load run does.
#[derive(Debug, Clone)]
pub(crate) struct Load {
    pub(crate) topic: TopicName,
    pub(crate) partitions: u32,
    pub(crate) producers: usize,
    pub(crate) record_bytes: usize,
    pub(crate) rate_mib_per_s: f64,
    pub(crate) seconds: f64,
    pub(crate) records: Option<u64>,
    pub(crate) writer: WriterSettings,
}

/// Produce-side figures.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Produce {
    pub(crate) records: u64,
    pub(crate) payload_bytes: u64,
    pub(crate) failed: u64,
    pub(crate) seconds: f64,
    pub(crate) records_per_s: f64,
    pub(crate) mib_per_s: f64,
    pub(crate) ack_ms: Percentiles,
}

/// Catch-up read figures.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Read {
    pub(crate) records: u64,
    pub(crate) payload_bytes: u64,
    pub(crate) seconds: f64,
    pub(crate) mib_per_s: f64,
    pub(crate) records_per_s: f64,
}

/// Runs the producers and the tailing readers; returns produce figures and end-to-end latency.
pub(crate) async fn produce(
    storage: &Storage,
    load: &Load,
    pool: Bytes,
) -> CliResult<(Produce, Percentiles)> {
    let reader = Reader::open(storage.clone(), &load.topic).await?;
    let mut tails = Vec::new();
    for p in 0..load.partitions {
        tails.push(reader.cursor(PartitionId(p), StartFrom::Latest).await?);
    }
    let writer = Arc::new(Writer::open(storage.clone(), &load.topic, load.writer.clone()).await?);
    let t0 = Instant::now();
    let done = Arc::new(AtomicBool::new(false));
    let tailers: Vec<_> = tails
        .into_iter()
        .map(|c| tokio::spawn(tail(c, t0, done.clone())))
        .collect();
    let producers: Vec<_> = (0..load.producers)
        .map(|id| tokio::spawn(producer(writer.clone(), id, load.clone(), pool.clone(), t0)))
        .collect();
    let (mut records, mut bytes, mut failed, mut acks) = (0, 0, 0, Vec::new());
    for p in producers {
        let (r, b, f, a) = p.await??;
        (records, bytes, failed) = (records + r, bytes + b, failed + f);
        acks.extend(a);
    }
    let seconds = t0.elapsed().as_secs_f64();
    if let Ok(writer) = Arc::try_unwrap(writer) {
        writer.close().await;
    }
    done.store(true, Ordering::SeqCst);
    let mut e2e = Vec::new();
    for t in tailers {
        e2e.extend(t.await??);
    }
    let produce = Produce {
        records,
        payload_bytes: bytes,
        failed,
        seconds,
        records_per_s: per_s(records as f64, seconds),
        mib_per_s: mib_per_s(bytes, seconds),
        ack_ms: Percentiles::of(acks),
    };
    Ok((produce, Percentiles::of(e2e)))
}

pub(super) fn record(pool: &Bytes, size: usize, n: u64, sent_ns: u64) -> Record {
    let body = size.saturating_sub(8).min(pool.len() / 2);
    let start = (n.wrapping_mul(7919) as usize) % (pool.len() - body);
    let mut value = BytesMut::with_capacity(8 + body);
    value.put_u64_le(sent_ns);
    value.put_slice(&pool[start..start + body]);
    Record {
        value: Some(value.freeze()),
        ..Record::default()
    }
}

/// One producer: sends records round-robin over the partitions, paced to its share of the
/// target rate, until time or its record budget runs out; returns records, payload bytes,
/// failures and ack latencies.
async fn producer(
    writer: Arc<Writer>,
    id: usize,
    load: Load,
    pool: Bytes,
    t0: Instant,
) -> CliResult<(u64, u64, u64, Vec<f64>)> {
    let (acks_tx, mut acks_rx) = mpsc::channel::<(Instant, AckFuture)>(65_536);
    // Each ack is timed when it resolves, whatever the order (partitions ack independently).
    let collector = tokio::spawn(async move {
        let (mut latencies, mut failed) = (Vec::new(), 0u64);
        let mut pending = FuturesUnordered::new();
        let mut open = true;
        while open || !pending.is_empty() {
            tokio::select! {
                next = acks_rx.recv(), if open => match next {
                    Some((sent, ack)) => pending.push(async move { (ack.await, sent.elapsed()) }),
                    None => open = false,
                },
                Some((result, elapsed)) = pending.next(), if !pending.is_empty() => match result {
                    Ok(_) => latencies.push(elapsed.as_secs_f64() * 1000.0),
                    Err(_) => failed += 1,
                },
            }
        }
        (latencies, failed)
    });
    let budget = load.records.map(|r| r / load.producers as u64);
    let rate_bytes_per_s = load.rate_mib_per_s * super::stats::MIB / load.producers as f64;
    let stop_at = t0 + Duration::from_secs_f64(load.seconds);
    let (mut n, mut bytes) = (0u64, 0u64);
    loop {
        let now = Instant::now();
        if budget.map_or(now >= stop_at, |b| n >= b) {
            break;
        }
        if rate_bytes_per_s > 0.0 {
            let due = t0 + Duration::from_secs_f64(bytes as f64 / rate_bytes_per_s);
            if due > now + Duration::from_millis(1) {
                tokio::time::sleep_until(due.min(stop_at)).await;
                continue; // look at the clock and the budget again
            }
        }
        let partition = PartitionId(((id as u64 + n) % u64::from(load.partitions)) as u32);
        let sent = Instant::now();
        let r = record(
            &pool,
            load.record_bytes,
            n + id as u64 * 1_000_003,
            (sent - t0).as_nanos() as u64,
        );
        bytes += r.payload_bytes() as u64;
        let ack = writer.send_batch(partition, vec![r], None).await?;
        if acks_tx.send((sent, ack)).await.is_err() {
            break;
        }
        n += 1;
    }
    drop(acks_tx);
    let (latencies, failed) = collector.await?;
    Ok((n, bytes, failed, latencies))
}

/// Follows one partition, recording how long after its send each record became readable.
pub(super) async fn tail(
    mut cursor: Cursor,
    t0: Instant,
    done: Arc<AtomicBool>,
) -> CliResult<Vec<f64>> {
    let mut latencies = Vec::new();
    loop {
        let batch = cursor.next_batch(10_000).await?;
        let now_ns = t0.elapsed().as_nanos() as f64;
        for c in &batch {
            let sent_ns = c
                .record
                .value
                .as_ref()
                .and_then(|v| v.get(..8))
                .map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap_or_default()));
            latencies.push((now_ns - sent_ns as f64) / 1e6);
        }
        if batch.is_empty() {
            let more = cursor.wait_for_more(Duration::from_millis(200)).await?;
            if !more && done.load(Ordering::SeqCst) && cursor.position() >= cursor.end_offset() {
                return Ok(latencies);
            }
        }
    }
}

/// Reads every partition from offset 0 in parallel.
pub(crate) async fn catch_up(
    storage: &Storage,
    topic: &TopicName,
    partitions: u32,
) -> CliResult<Read> {
    let reader = Reader::open(storage.clone(), topic).await?;
    let started = Instant::now();
    let mut tasks = Vec::new();
    for p in 0..partitions {
        let mut cursor = reader.cursor(PartitionId(p), StartFrom::Earliest).await?;
        tasks.push(tokio::spawn(async move {
            let (mut records, mut bytes) = (0u64, 0u64);
            loop {
                let batch = cursor.next_batch(10_000).await?;
                if batch.is_empty() {
                    return Ok::<_, silt_reader::ReadError>((records, bytes));
                }
                records += batch.len() as u64;
                bytes += batch
                    .iter()
                    .map(|c| c.record.payload_bytes() as u64)
                    .sum::<u64>();
            }
        }));
    }
    let (mut records, mut bytes) = (0, 0);
    for t in tasks {
        let (r, b) = t.await??;
        (records, bytes) = (records + r, bytes + b);
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok(Read {
        records,
        payload_bytes: bytes,
        seconds,
        mib_per_s: mib_per_s(bytes, seconds),
        records_per_s: per_s(records as f64, seconds),
    })
}

//! `silt produce`: stdin → records → acknowledged offsets. Prints how many records went where;
//! with `--print-acks`, one `line<TAB>partition<TAB>offset` line per record as acks arrive
//! (only acknowledged records are printed, so a killed producer's output is exactly what is
//! guaranteed to be in the log).

use std::collections::BTreeMap;
use std::io::Write;

use bytes::Bytes;
use futures::FutureExt;
use futures::stream::{FuturesUnordered, StreamExt};
use silt_core::ids::{Offset, PartitionId, TopicName};
use silt_core::record::Record;
use silt_core::store::Storage;
use silt_writer::{AppendAck, AppendError, Writer, WriterSettings};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::CliResult;
use crate::args::{ProduceArgs, ProduceFormat};
use crate::json::parse_line;

type Pending =
    FuturesUnordered<futures::future::BoxFuture<'static, (u64, Result<AppendAck, AppendError>)>>;

/// Acknowledged ranges and failures, per partition.
#[derive(Debug, Default)]
struct Tally {
    acked: BTreeMap<PartitionId, (u64, Offset, Offset)>,
    failed: u64,
    first_error: Option<AppendError>,
    print_acks: bool,
}

impl Tally {
    fn record(&mut self, line: u64, result: Result<AppendAck, AppendError>) {
        match result {
            Ok(ack) => {
                let n = ack.last_offset.0 - ack.base_offset.0 + 1;
                let e = self.acked.entry(ack.partition).or_insert((
                    0,
                    ack.base_offset,
                    ack.last_offset,
                ));
                *e = (e.0 + n, e.1.min(ack.base_offset), e.2.max(ack.last_offset));
                if self.print_acks {
                    let mut out = std::io::stdout().lock();
                    for i in 0..n {
                        let _ = writeln!(
                            out,
                            "{}\t{}\t{}",
                            line + i,
                            ack.partition,
                            ack.base_offset.0 + i
                        );
                    }
                    let _ = out.flush();
                }
            }
            Err(e) => {
                self.failed += 1;
                self.first_error.get_or_insert(e);
            }
        }
    }
}

pub(crate) async fn run(storage: &Storage, args: ProduceArgs) -> CliResult {
    let topic = TopicName::new(args.topic.clone())?;
    let settings = WriterSettings {
        linger_ms: args.linger_ms,
        exclusive: args.exclusive,
        ..WriterSettings::default()
    };
    let writer = Writer::open(storage.clone(), &topic, settings).await?;
    let mut tally = Tally {
        print_acks: args.print_acks,
        ..Tally::default()
    };
    let read = read_and_send(storage, &writer, &args, &mut tally).await;
    writer.close().await;
    read?;
    summarize(&topic, &tally)
}

async fn read_and_send(
    storage: &Storage,
    writer: &Writer,
    args: &ProduceArgs,
    tally: &mut Tally,
) -> CliResult {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut pending = Pending::new();
    let mut batch = Vec::new();
    let mut line_no = 0u64;
    while let Some(line) = lines.next_line().await? {
        let (partition, record) =
            to_record(storage, &line, args).map_err(|e| format!("line {}: {e}", line_no + 1))?;
        if args.expect_offset.is_some() {
            batch.push(record);
        } else {
            let ack = match partition.or(args.partition) {
                Some(p) => writer.send_batch(PartitionId(p), vec![record], None).await,
                None => writer.send(record).await,
            };
            let ack = ack.map_err(|e| format!("line {}: {e}", line_no + 1))?;
            pending.push(ack.map(move |r| (line_no, r)).boxed());
            while let Some(Some((line, result))) = pending.next().now_or_never() {
                tally.record(line, result);
            }
        }
        line_no += 1;
    }
    if let (Some(expect), Some(p)) = (args.expect_offset, args.partition) {
        let ack = writer
            .send_batch(PartitionId(p), batch, Some(Offset(expect)))
            .await?;
        pending.push(ack.map(|r| (0, r)).boxed());
    }
    while let Some((line, result)) = pending.next().await {
        tally.record(line, result);
    }
    Ok(())
}

fn to_record(
    storage: &Storage,
    line: &str,
    args: &ProduceArgs,
) -> Result<(Option<u32>, Record), String> {
    let now_ms = storage.clock.now_ms();
    match args.format {
        ProduceFormat::Lines => {
            let key = args.key.as_ref().map(|k| Bytes::from(k.clone()));
            let record = Record {
                key,
                value: Some(Bytes::from(line.to_string())),
                timestamp_ms: now_ms,
                headers: Vec::new(),
            };
            Ok((None, record))
        }
        ProduceFormat::Jsonl => {
            let mut parsed = parse_line(line, now_ms)?;
            if parsed.record.key.is_none() {
                parsed.record.key = args.key.as_ref().map(|k| Bytes::from(k.clone()));
            }
            Ok((parsed.partition, parsed.record))
        }
    }
}

fn summarize(topic: &TopicName, tally: &Tally) -> CliResult {
    let total: u64 = tally.acked.values().map(|(n, _, _)| n).sum();
    eprintln!("produced {total} records to {topic}");
    for (p, (n, first, last)) in &tally.acked {
        eprintln!("  partition {p}: {n} records, offsets {first}..={last}");
    }
    match &tally.first_error {
        Some(e) => Err(format!("{} appends failed; first error: {e}", tally.failed).into()),
        None => Ok(()),
    }
}

//! `silt produce`: stdin → records → acknowledged offsets. Prints how many records went where;
//! with `--print-acks`, one `line<TAB>partition<TAB>offset` line per record as acks arrive
//! (only acknowledged records are printed, so a killed producer's output is exactly what is
//! guaranteed to be in the log).
//!
//! The loop waits for an input line, an acknowledgement or a signal, whichever comes first, so
//! acks print as they arrive. Reading stops at the end of input, at a refused line, at SIGINT or
//! SIGTERM, when fenced (learned from an append, or from a lease renewal while input is idle),
//! or when stdout fails; whatever stopped it, the producer then waits for
//! every record it sent, prints their acks and the summary, then the error. The exit code says
//! why ([`failure`] has the table). With `--expect-offset` the input is one batch: a refused
//! line or a signal sends none of it.

mod failure;
mod input;
mod tally;

use std::io::Write;

use bytes::Bytes;
use futures::FutureExt;
use futures::future::{self, BoxFuture};
use futures::stream::{FuturesUnordered, StreamExt};
use silt_core::ids::{Offset, PartitionId, TopicName};
use silt_core::record::Record;
use silt_core::store::Storage;
use silt_writer::{AppendError, Writer, WriterSettings};
use tokio::sync::mpsc;

use crate::CliResult;
use crate::args::{ProduceArgs, ProduceFormat};
use crate::json::parse_line;
use crate::signals::{self, Signals};
pub(crate) use failure::Failure;
#[cfg(test)]
pub(crate) use input::read_line;
use input::{BadLine, Line, LineError};
use tally::{Resolved, Tally};

type Pending = FuturesUnordered<BoxFuture<'static, Resolved>>;
type Lines = mpsc::Receiver<Result<Line, LineError>>;

/// One run of `silt produce`: what it reads and sends.
struct Producer<'a> {
    storage: &'a Storage,
    args: &'a ProduceArgs,
    writer: &'a Writer,
    signals: Signals,
    acks: Acks,
}

/// The appends sent and not yet resolved, and what the resolved ones said.
struct Acks {
    pending: Pending,
    tally: Tally,
}

/// Listens for SIGINT and SIGTERM ([`signals::listen`]) the way `produce` answers them.
pub(crate) fn listen() -> std::io::Result<Signals> {
    signals::listen(
        "stopped reading input; waiting for the acknowledgements of what was sent",
        "waiting for acknowledgements",
    )
}

/// Produces stdin to `args.topic`; `signals` is [`listen`]'s, called before the store opened.
pub(crate) async fn run(
    storage: &Storage,
    args: ProduceArgs,
    signals: Option<Signals>,
) -> CliResult {
    let signals = match signals {
        Some(signals) => signals,
        None => listen()?,
    };
    let topic = TopicName::new(args.topic.clone())?;
    let settings = WriterSettings {
        linger_ms: args.linger_ms,
        exclusive: args.exclusive,
        ..WriterSettings::default()
    };
    let writer = Writer::open(storage.clone(), &topic, settings).await?;
    if let Some(p) = args.partition {
        writer.topic().check_partition(PartitionId(p))?;
    }
    let mut producer = Producer {
        storage,
        args: &args,
        writer: &writer,
        signals,
        acks: Acks {
            pending: Pending::new(),
            tally: Tally::new(args.print_acks),
        },
    };
    let lines = input::spawn()?;
    let stopped = match (args.expect_offset, args.partition) {
        (Some(expect), Some(p)) => producer.all_or_nothing(lines, PartitionId(p), expect).await,
        _ => producer.stream(lines).await,
    };
    // Closing flushes at once (no linger) while the acks print as they arrive.
    let mut acks = producer.acks;
    tokio::join!(writer.close(), acks.drain());
    let tally = acks.tally;
    tally.summarize(&topic);
    let failures = tally.into_failures().into_iter().chain(stopped).collect();
    let Some((primary, others)) = failure::primary(failures) else {
        return Ok(());
    };
    for other in others {
        let _ = writeln!(std::io::stderr(), "error: {other}");
    }
    Err(primary.into())
}

impl Producer<'_> {
    /// Sends each line as it arrives, and prints acks as they arrive, until something stops it.
    async fn stream(&mut self, mut lines: Lines) -> Option<Failure> {
        let writer = self.writer;
        loop {
            if self.acks.tally.must_stop() {
                return None;
            }
            tokio::select! {
                biased;
                Ok(()) = self.signals.changed() => return self.signal(),
                Some(first) = self.acks.pending.next(), if !self.acks.pending.is_empty() => {
                    self.acks.record(first);
                }
                (_, why) = writer.first_fence() => {
                    self.acks.tally.fence(AppendError::Rejected(why));
                }
                line = lines.recv() => match line {
                    None => return None,
                    Some(Err(refused)) => return Some(refused.into()),
                    Some(Ok(line)) => {
                        if let Err(refused) = self.send(line).await {
                            return Some(refused.into());
                        }
                    }
                },
            }
        }
    }

    /// Reads the whole input, then sends it as one conditional batch; sends nothing if a line
    /// is refused or a signal comes first.
    async fn all_or_nothing(
        &mut self,
        mut lines: Lines,
        partition: PartitionId,
        expect: u64,
    ) -> Option<Failure> {
        let mut records = Vec::new();
        loop {
            tokio::select! {
                biased;
                Ok(()) = self.signals.changed() => return self.signal(),
                line = lines.recv() => match line {
                    None => break,
                    Some(Err(refused)) => return Some(refused.into()),
                    Some(Ok(line)) => match self.to_record(line.text) {
                        Ok((_, record)) => records.push(record),
                        Err(problem) => {
                            return Some(LineError { line: line.number, problem }.into());
                        }
                    },
                },
            }
        }
        let sent = self
            .writer
            .send_batch(partition, records, Some(Offset(expect)))
            .await;
        self.acks.pending.push(match sent {
            Ok(ack) => ack.map(|r| (0, r)).boxed(),
            Err(e) => future::ready((0, Err(e))).boxed(),
        });
        None
    }

    /// Sends one line's record; a record the writer refuses is a refused line.
    async fn send(&mut self, line: Line) -> Result<(), LineError> {
        let number = line.number;
        let refused = |problem| LineError {
            line: number,
            problem,
        };
        let (partition, record) = self.to_record(line.text).map_err(refused)?;
        let index = number - 1; // acks count lines from 0
        let sent = match partition {
            Some(p) => self.writer.send_batch(p, vec![record], None).await,
            None => self.writer.send(record).await,
        };
        match sent {
            Ok(ack) => self.acks.pending.push(ack.map(move |r| (index, r)).boxed()),
            Err(AppendError::Invalid(e)) => return Err(refused(e.into())),
            Err(e) => self
                .acks
                .pending
                .push(future::ready((index, Err(e))).boxed()),
        }
        Ok(())
    }

    /// The record of one line, and its partition if the line or `--partition` names one.
    fn to_record(&self, text: String) -> Result<(Option<PartitionId>, Record), BadLine> {
        let now_ms = self.storage.clock.now_ms();
        let key = self.args.key.as_ref().map(|k| Bytes::from(k.clone()));
        let (partition, record) = match self.args.format {
            ProduceFormat::Lines => {
                let record = Record {
                    key,
                    value: Some(Bytes::from(text)),
                    timestamp_ms: now_ms,
                    headers: Vec::new(),
                };
                (None, record)
            }
            ProduceFormat::Jsonl => {
                let mut parsed = parse_line(&text, now_ms)?;
                if parsed.record.key.is_none() {
                    parsed.record.key = key;
                }
                (parsed.partition, parsed.record)
            }
        };
        let partition = match (partition, self.args.partition) {
            (Some(line), Some(flag)) if line != flag => {
                return Err(BadLine::PartitionConflict { line, flag });
            }
            (line, flag) => line.or(flag),
        };
        Ok((partition.map(PartitionId), record))
    }

    fn signal(&self) -> Option<Failure> {
        let signal = *self.signals.borrow();
        signal.map(Failure::Signal)
    }
}

impl Acks {
    /// Counts `first` and every other append already resolved, printing their acks together.
    fn record(&mut self, first: Resolved) {
        let mut resolved = vec![first];
        while let Some(Some(more)) = self.pending.next().now_or_never() {
            resolved.push(more);
        }
        self.tally.record(resolved);
    }

    /// Waits for every append sent.
    async fn drain(&mut self) {
        while let Some(first) = self.pending.next().await {
            self.record(first);
        }
    }
}

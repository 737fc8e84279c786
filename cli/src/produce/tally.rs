//! What a producer tells its caller: with `--print-acks`, each acknowledgement on stdout as it
//! arrives (`line<TAB>partition<TAB>offset`, one flush per batch of acks), and at the end, on
//! stderr, the summary of what was committed where. Only acknowledged records are printed, so
//! the output of a producer killed at any moment is exactly what is guaranteed to be in the log.

use std::collections::BTreeMap;
use std::io::{self, Write};

use silt_core::ids::{Offset, PartitionId, TopicName};
use silt_writer::{AppendAck, AppendError};

use super::failure::Failure;

/// A resolved append: the index of its first input line (counted from 0) and its outcome.
pub(crate) type Resolved = (u64, Result<AppendAck, AppendError>);

/// What one partition committed.
#[derive(Debug, Clone, Copy)]
struct Committed {
    records: u64,
    first: Offset,
    last: Offset,
}

/// Acknowledged ranges and failures, per partition.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    acked: BTreeMap<PartitionId, Committed>,
    failed: u64,
    first_error: Option<AppendError>,
    refused_fenced: u64,
    fenced: Option<AppendError>,
    print_acks: bool,
    unprinted: Option<io::Error>,
}

impl Tally {
    pub(crate) fn new(print_acks: bool) -> Tally {
        Tally {
            print_acks,
            ..Tally::default()
        }
    }

    /// Counts resolved appends and prints the acknowledged ones, with one flush.
    pub(crate) fn record(&mut self, resolved: Vec<Resolved>) {
        let mut lines = String::new();
        for (line, result) in resolved {
            match result {
                Ok(ack) => {
                    let records = self.count(ack);
                    if self.print_acks {
                        for i in 0..records {
                            let offset = ack.base_offset.0 + i;
                            lines.push_str(&format!("{}\t{}\t{offset}\n", line + i, ack.partition));
                        }
                    }
                }
                Err(e) if e.is_fenced() => {
                    self.refused_fenced += 1;
                    self.fenced.get_or_insert(e);
                }
                Err(e) => {
                    self.failed += 1;
                    self.first_error.get_or_insert(e);
                }
            }
        }
        if lines.is_empty() || self.unprinted.is_some() {
            return;
        }
        let mut out = io::stdout().lock();
        if let Err(e) = out.write_all(lines.as_bytes()).and_then(|()| out.flush()) {
            self.unprinted = Some(e);
        }
    }

    /// Adds an acknowledged range; returns its number of records.
    fn count(&mut self, ack: AppendAck) -> u64 {
        let records = ack.last_offset.0 - ack.base_offset.0 + 1;
        let c = self.acked.entry(ack.partition).or_insert(Committed {
            records: 0,
            first: ack.base_offset,
            last: ack.last_offset,
        });
        c.records += records;
        c.first = c.first.min(ack.base_offset);
        c.last = c.last.max(ack.last_offset);
        records
    }

    /// Notes that the writer was fenced while no append was waiting (a lease renewal found it).
    pub(crate) fn fence(&mut self, error: AppendError) {
        self.fenced.get_or_insert(error);
    }

    /// True once sending more is pointless: fenced, or the acks can no longer be printed.
    pub(crate) fn must_stop(&self) -> bool {
        self.fenced.is_some() || self.unprinted.is_some()
    }

    /// Prints what was committed where, on stderr.
    pub(crate) fn summarize(&self, topic: &TopicName) {
        let total: u64 = self.acked.values().map(|c| c.records).sum();
        let mut err = io::stderr().lock();
        let _ = writeln!(err, "produced {total} records to {topic}");
        for (p, c) in &self.acked {
            let _ = writeln!(
                err,
                "  partition {p}: {} records, offsets {}..={}",
                c.records, c.first, c.last
            );
        }
    }

    /// What went wrong.
    pub(crate) fn into_failures(self) -> Vec<Failure> {
        let mut failures = Vec::new();
        if let Some(error) = self.fenced {
            let refused = self.refused_fenced;
            failures.push(Failure::Fenced { error, refused });
        }
        if let Some(first) = self.first_error {
            let failed = self.failed;
            failures.push(Failure::Appends { failed, first });
        }
        if let Some(e) = self.unprinted {
            failures.push(Failure::AcksUnprinted(e));
        }
        failures
    }
}

//! `silt consume`: records from one or all partitions to stdout. Without `--follow` it stops
//! at the end of the log (as it was when each partition was reached); with it, it keeps
//! waiting for new records. With `--group`, `consume_group` reads instead.

use std::io::Write;
use std::time::Duration;

use silt_core::ids::{Offset, PartitionId, TopicName};
use silt_core::limits::TIMESTAMP_MS_MAX;
use silt_core::store::Storage;
use silt_reader::{Consumed, Cursor, Reader, StartFrom};

use crate::CliResult;
use crate::args::{ConsumeArgs, ConsumeFormat};
use crate::json::consumed_to_json;
use crate::out::write_error;

/// Records fetched per call.
const BATCH: usize = 1000;

/// Parses `--from`: `earliest`, `latest`, an offset, or `@TIMESTAMP_MS`. A timestamp is refused
/// when negative: Kafka spells "latest" and "earliest" -1 and -2, and reading `@-1` as "the
/// first record at or after 1969-12-31T23:59:59.999Z" would silently mean earliest.
pub(crate) fn parse_from(from: &str) -> Result<StartFrom, String> {
    match from {
        "earliest" => Ok(StartFrom::Earliest),
        "latest" => Ok(StartFrom::Latest),
        s if s.starts_with('@') => s[1..]
            .parse()
            .ok()
            .filter(|ms| (0..=TIMESTAMP_MS_MAX).contains(ms))
            .map(StartFrom::Timestamp)
            .ok_or_else(|| {
                format!(
                    "expected @TIMESTAMP_MS, milliseconds since the Unix epoch from 0 to {TIMESTAMP_MS_MAX}, such as @1700000000000 (earliest and latest name the ends of the log)"
                )
            }),
        s => s
            .parse::<u64>()
            .map(|o| StartFrom::Offset(Offset(o)))
            .map_err(|_| "expected earliest, latest, an offset, or @TIMESTAMP_MS".to_string()),
    }
}

pub(crate) async fn run(storage: &Storage, args: ConsumeArgs) -> CliResult {
    let topic = TopicName::new(args.topic.clone())?;
    let from = args.from.unwrap_or(StartFrom::Earliest);
    let reader = Reader::open(storage.clone(), &topic).await?;
    let partitions: Vec<PartitionId> = match args.partition {
        Some(p) => vec![PartitionId(p)],
        None => reader.topic().partition_ids().collect(),
    };
    let mut cursors = Vec::new();
    for p in partitions {
        cursors.push(reader.cursor(p, from).await?);
    }
    let mut left = args.max.unwrap_or(u64::MAX);
    let mut out = std::io::stdout().lock();
    loop {
        let mut progressed = false;
        for cursor in &mut cursors {
            let batch = cursor.next_batch(BATCH.min(left as usize)).await?;
            progressed |= !batch.is_empty();
            left -= batch.len() as u64;
            print(&mut out, &batch, args.format).map_err(write_error)?;
            if left == 0 {
                return Ok(());
            }
        }
        if !progressed {
            if !args.follow {
                return Ok(());
            }
            out.flush().map_err(write_error)?;
            wait_any(&mut cursors).await?;
        }
    }
}

/// Long-polls the first cursor and revalidates the rest, until one has records.
async fn wait_any(cursors: &mut [Cursor]) -> CliResult {
    let (first, rest) = cursors.split_first_mut().ok_or("no partitions")?;
    loop {
        if first.wait_for_more(Duration::from_millis(500)).await? {
            return Ok(());
        }
        for c in rest.iter_mut() {
            if c.wait_for_more(Duration::ZERO).await? {
                return Ok(());
            }
        }
    }
}

/// Prints records in `format`, one line each (`consume_group` prints the same way).
pub(crate) fn print(
    out: &mut impl Write,
    batch: &[Consumed],
    format: ConsumeFormat,
) -> std::io::Result<()> {
    for c in batch {
        match format {
            ConsumeFormat::Jsonl => writeln!(out, "{}", consumed_to_json(c))?,
            ConsumeFormat::Value => {
                out.write_all(c.record.value.as_deref().unwrap_or_default())?;
                out.write_all(b"\n")?;
            }
        }
    }
    Ok(())
}

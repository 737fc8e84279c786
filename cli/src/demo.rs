//! `silt demo`: the whole flow on the current store, for a newcomer. Creates the topic `demo`
//! (3 partitions) if missing, appends 1 000 keyed records, reads every partition back, checks
//! each record came back at its acknowledged offset, and describes the topic.

use std::collections::BTreeMap;

use bytes::Bytes;
use silt_core::error::Error;
use silt_core::ids::{Offset, PartitionId, TopicName};
use silt_core::record::{Header, Record};
use silt_core::store::Storage;
use silt_reader::{Reader, StartFrom};
use silt_writer::{AppendAck, Writer, WriterSettings};

use crate::CliResult;
use crate::out::outln;

const RECORDS: u64 = 1000;

pub(crate) async fn run(storage: &Storage) -> CliResult {
    let topic = TopicName::new("demo")?;
    match storage.create_topic(&topic, 3, Default::default()).await {
        Ok(c) => outln!(
            "1. created topic {} with {} partitions in {}",
            c.name,
            c.partitions,
            storage.url
        )?,
        Err(Error::TopicExists(_)) => outln!(
            "1. topic {topic} already exists in {}; appending to it",
            storage.url
        )?,
        Err(e) => return Err(e.into()),
    }
    let writer = Writer::open(storage.clone(), &topic, WriterSettings::default()).await?;
    let mut acks = Vec::new();
    for i in 0..RECORDS {
        let record = Record {
            key: Some(Bytes::from(format!("user-{}", i % 10))),
            value: Some(Bytes::from(format!("{{\"event\":\"click\",\"n\":{i}}}"))),
            timestamp_ms: storage.clock.now_ms(),
            headers: vec![Header {
                key: "source".into(),
                value: Bytes::from_static(b"demo"),
            }],
        };
        acks.push((record.clone(), writer.send(record).await?));
    }
    let mut committed = Vec::new();
    for (record, ack) in acks {
        committed.push((ack.await?, record));
    }
    writer.close().await;
    outln!("2. appended {RECORDS} records; each was acknowledged with its partition and offset")?;

    verify(storage, &topic, &committed).await?;
    outln!("3. read every record back at its acknowledged offset")?;
    outln!("4. the topic now:")?;
    crate::topic::describe(storage, &topic, false).await?;
    outln!("\nnext: `silt consume demo --max 5 --format jsonl`, `silt topic list`, `silt --help`")?;
    Ok(())
}

/// Reads each partition once, from its first acknowledged offset, and checks that every
/// acknowledged record is at its offset, unchanged.
async fn verify(
    storage: &Storage,
    topic: &TopicName,
    committed: &[(AppendAck, Record)],
) -> CliResult {
    let mut expected: BTreeMap<PartitionId, BTreeMap<Offset, &Record>> = BTreeMap::new();
    for (ack, record) in committed {
        expected
            .entry(ack.partition)
            .or_default()
            .insert(ack.base_offset, record);
    }
    let reader = Reader::open(storage.clone(), topic).await?;
    for (partition, records) in &expected {
        let Some((first, _)) = records.first_key_value() else {
            continue;
        };
        let mut cursor = reader.cursor(*partition, StartFrom::Offset(*first)).await?;
        let mut left = records.len();
        while left > 0 {
            let batch = cursor.next_batch(10_000).await?;
            if batch.is_empty() {
                return Err(
                    format!("partition {partition} ended with {left} records unread").into(),
                );
            }
            for c in batch {
                match records.get(&c.offset) {
                    Some(sent) if **sent != c.record => {
                        return Err(format!(
                            "record at {partition}/{} differs from what was sent",
                            c.offset
                        )
                        .into());
                    }
                    Some(_) => left -= 1,
                    None => {}
                }
            }
        }
    }
    Ok(())
}

//! `silt demo`: the whole flow on the current store, for a newcomer. Creates the topic `demo`
//! (3 partitions) if missing, appends 1 000 keyed records, reads every partition back, checks
//! each record came back at its acknowledged offset, and describes the topic.

use bytes::Bytes;
use silt_core::error::Error;
use silt_core::ids::TopicName;
use silt_core::record::{Header, Record};
use silt_core::store::Storage;
use silt_reader::{Reader, StartFrom};
use silt_writer::{Writer, WriterSettings};

use crate::CliResult;

const RECORDS: u64 = 1000;

pub(crate) async fn run(storage: &Storage) -> CliResult {
    let topic = TopicName::new("demo")?;
    match storage.create_topic(&topic, 3, Default::default()).await {
        Ok(c) => println!(
            "1. created topic {} with {} partitions in {}",
            c.name, c.partitions, storage.url
        ),
        Err(Error::TopicExists(_)) => println!(
            "1. topic {topic} already exists in {}; appending to it",
            storage.url
        ),
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
    println!("2. appended {RECORDS} records; each was acknowledged with its partition and offset");

    let reader = Reader::open(storage.clone(), &topic).await?;
    for (ack, sent) in &committed {
        let mut cursor = reader
            .cursor(ack.partition, StartFrom::Offset(ack.base_offset))
            .await?;
        let got = cursor.next_batch(1).await?;
        if got.first().map(|c| &c.record) != Some(sent) {
            return Err(format!(
                "record at {}/{} differs from what was sent",
                ack.partition, ack.base_offset
            )
            .into());
        }
    }
    println!("3. read every record back at its acknowledged offset");
    println!("4. the topic now:");
    crate::topic::describe(storage, &topic, false).await?;
    println!(
        "\nnext: `silt consume demo --max 5 --format jsonl`, `silt topic list`, `silt --help`"
    );
    Ok(())
}

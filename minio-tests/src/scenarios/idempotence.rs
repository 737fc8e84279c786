//! Idempotent producers (docs/design.md §6.6): producer ids from the shared counter, batches
//! retried after lost answers landing exactly once, state kept across writers fencing each
//! other, and the refusals (older epoch, gap, unknown producer).

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use silt_core::error::ErrorKind;
use silt_core::ids::{Offset, PartitionId, ProducerEpoch, ProducerId, TopicName};
use silt_core::manifest::producers::{ProducerBatch, ProducerRefusal};
use silt_core::producer_ids::ProducerIds;
use silt_core::record::Record;
use silt_core::store::Storage;
use silt_core::testing::FlakyStore;
use silt_writer::{AppendAck, AppendError, Writer, WriterSettings};

use super::faults::{dynamo_write_path_faults, write_path_faults};
use super::{manifest, read_all, topic, with_dynamo_faults};

const P: PartitionId = PartitionId(0);
/// Records per batch.
const BATCH: u32 = 4;
/// Attempts per batch before the scenario gives up.
const ATTEMPTS_MAX: usize = 200;

fn quick_settings(exclusive: bool) -> WriterSettings {
    WriterSettings {
        linger_ms: 2,
        exclusive,
        ..WriterSettings::default()
    }
}

/// The records of batch `n` of `producer`: values `<producer>-<n>-<i>`.
fn records(producer: ProducerId, n: i32) -> Vec<Record> {
    (0..BATCH)
        .map(|i| Record::from_value(Bytes::from(format!("{producer}-{n}-{i}")), 0))
        .collect()
}

fn batch(producer: ProducerId, epoch: i16, n: i32) -> ProducerBatch {
    ProducerBatch {
        producer_id: producer,
        epoch: ProducerEpoch(epoch),
        first_seq: n * BATCH as i32,
    }
}

/// Sends batch `n` until it is acknowledged, retrying (the same batch, the same sequence) on
/// every error whose outcome is unknown or worth retrying, as a Kafka producer does. Returns
/// the ack and how many attempts it took.
async fn send_until_acked(writer: &Writer, producer: ProducerId, n: i32) -> (AppendAck, usize) {
    for attempt in 1..=ATTEMPTS_MAX {
        let b = batch(producer, 0, n);
        match writer.append_idempotent(P, records(producer, n), b).await {
            Ok(ack) => return (ack, attempt),
            Err(e) if matches!(e.kind(), ErrorKind::Indeterminate | ErrorKind::Retryable) => {}
            Err(e) => panic!("batch {n} of producer {producer}: {e}"),
        }
    }
    panic!("batch {n} of producer {producer} not acknowledged in {ATTEMPTS_MAX} attempts");
}

/// Every acknowledged batch is in the log exactly once, at the offsets it was told, and the
/// log holds nothing else.
async fn assert_exactly_once(
    storage: &Storage,
    name: &TopicName,
    acks: &BTreeMap<(ProducerId, i32), AppendAck>,
) {
    let log = read_all(storage, name, P).await;
    assert_eq!(log.len(), acks.len() * BATCH as usize, "records in the log");
    let at: BTreeMap<Offset, Option<Bytes>> = log.into_iter().map(|(o, r)| (o, r.value)).collect();
    for ((producer, n), ack) in acks {
        for (i, record) in records(*producer, *n).into_iter().enumerate() {
            let offset = ack.base_offset.plus(i as u64);
            assert_eq!(
                at.get(&offset),
                Some(&record.value),
                "batch {n} of {producer}"
            );
        }
        assert_eq!(ack.last_offset, ack.base_offset.plus(u64::from(BATCH) - 1));
    }
}

/// Three producers (ids from the shared counter) on one partition, through two writers over a
/// store that fails calls before and after they take effect: each retries a batch until it is
/// acknowledged. Every batch lands exactly once at the offsets it was told; an explicit retry
/// of an acknowledged batch is answered with its original offsets as a duplicate.
pub async fn idempotent_retries_land_exactly_once(storage: Storage) {
    let name = topic(&storage, "idempotent", 1).await;
    let ids = ProducerIds::of(&storage);
    let flaky = FlakyStore::new(storage.objects.clone(), 11);
    let (faulty, dynamo) = with_dynamo_faults(
        &storage.with_objects(flaky.clone()),
        dynamo_write_path_faults(),
        11,
    );
    flaky.set_rules(write_path_faults());
    let writers = [
        Arc::new(
            Writer::open(faulty.clone(), &name, quick_settings(false))
                .await
                .unwrap(),
        ),
        Arc::new(
            Writer::open(faulty.clone(), &name, quick_settings(false))
                .await
                .unwrap(),
        ),
    ];
    let mut tasks = Vec::new();
    for w in 0..3usize {
        let producer = ids.allocate().await.unwrap();
        let writers = writers.clone();
        tasks.push(tokio::spawn(async move {
            let mut acks = Vec::new();
            for n in 0..25 {
                // Alternate writers, as a Kafka client talking to any agent may.
                let writer = &writers[(w + n as usize) % 2];
                if n % 3 == 0 {
                    // The answer is lost (a client timeout): the batch is sent again.
                    let b = batch(producer, 0, n);
                    drop(writer.send_idempotent(P, records(producer, n), b).await);
                }
                acks.push((producer, n, send_until_acked(writer, producer, n).await));
            }
            acks
        }));
    }
    let (mut acks, mut retried, mut duplicates) = (BTreeMap::new(), 0, 0);
    for t in tasks {
        for (producer, n, (ack, attempts)) in t.await.unwrap() {
            retried += usize::from(attempts > 1);
            duplicates += usize::from(ack.duplicate);
            acks.insert((producer, n), ack);
        }
    }
    flaky.set_rules(Vec::new());
    let injected = flaky.injected() + dynamo.as_ref().map_or(0, |d| d.injected());
    assert!(injected > 10, "only {injected} faults injected");
    eprintln!(
        "idempotence: {injected} faults; {} batches, {retried} retried, {duplicates} answered as duplicates",
        acks.len()
    );
    assert_exactly_once(&storage, &name, &acks).await;

    assert!(
        duplicates >= 5,
        "only {duplicates} lost answers were told as duplicates"
    );
    // A retry of an acknowledged batch (one of its producer's last five): its original
    // offsets, nothing appended.
    let (&(producer, n), first) = acks.iter().next_back().unwrap();
    let again = writers[1]
        .append_idempotent(P, records(producer, n), batch(producer, 0, n))
        .await
        .unwrap();
    assert!(again.duplicate, "{again:?}");
    assert_eq!(
        (again.base_offset, again.last_offset),
        (first.base_offset, first.last_offset)
    );
    assert_exactly_once(&storage, &name, &acks).await;
}

/// Two exclusive writers take a partition from each other while one producer sends through
/// whichever holds it: the producer state moves with the manifest, so a batch retried through
/// the new leader is a duplicate with its original offsets, and the sequence continues. Then
/// the refusals: a gap, an unknown producer, and an older epoch once a newer one appended.
pub async fn idempotent_state_survives_fencing_and_refuses_old_epochs(storage: Storage) {
    let name = topic(&storage, "idempotent-fencing", 1).await;
    let producer = ProducerIds::of(&storage).allocate().await.unwrap();
    let mut acks = BTreeMap::new();
    let mut n = 0;
    let mut previous: Option<Writer> = None;
    for round in 0..3 {
        let leader = Writer::open(storage.clone(), &name, quick_settings(true))
            .await
            .unwrap();
        if round > 0 {
            // The last batch again, through the new leader: already committed.
            let last = n - 1;
            let again = leader
                .append_idempotent(P, records(producer, last), batch(producer, 0, last))
                .await
                .unwrap();
            let first: AppendAck = acks[&(producer, last)];
            assert!(again.duplicate, "round {round}: {again:?}");
            assert_eq!(again.base_offset, first.base_offset);
            // The old leader is fenced: the next batch through it is refused, not appended.
            let old = previous.take().unwrap();
            let late = old
                .append_idempotent(P, records(producer, n), batch(producer, 0, n))
                .await;
            assert!(late.as_ref().is_err_and(AppendError::is_fenced), "{late:?}");
        }
        for _ in 0..3 {
            let ack = leader
                .append_idempotent(P, records(producer, n), batch(producer, 0, n))
                .await
                .unwrap();
            assert!(!ack.duplicate);
            acks.insert((producer, n), ack);
            n += 1;
        }
        previous = Some(leader);
    }
    assert_exactly_once(&storage, &name, &acks).await;
    let state = manifest(&storage, &name, P).await.producers.clone();
    assert_eq!(state.len(), 1);
    assert_eq!(
        state[0].batches.last().map(|b| b.1),
        Some(n * BATCH as i32 - 1)
    );

    previous.unwrap().close().await; // releases the lease for a shared writer
    let writer = Writer::open(storage.clone(), &name, quick_settings(false))
        .await
        .unwrap();
    let refused = |r: Result<AppendAck, AppendError>| match r {
        Err(AppendError::Producer(why)) => why,
        other => panic!("expected a producer refusal, got {other:?}"),
    };
    let gap = writer
        .append_idempotent(P, records(producer, n + 1), batch(producer, 0, n + 1))
        .await;
    assert!(
        matches!(refused(gap), ProducerRefusal::OutOfOrder { expected, .. } if expected == n * BATCH as i32)
    );
    let stranger = ProducerId(producer.0 + 1_000_000);
    let unknown = writer
        .append_idempotent(P, records(stranger, 1), batch(stranger, 0, 1))
        .await;
    assert!(matches!(
        refused(unknown),
        ProducerRefusal::UnknownProducer { .. }
    ));
    // Epoch 1 starts at 0; epoch 0 is fenced from then on.
    let bumped = writer
        .append_idempotent(P, records(producer, 0), batch(producer, 1, 0))
        .await
        .unwrap();
    assert!(!bumped.duplicate);
    let old = writer
        .append_idempotent(P, records(producer, n), batch(producer, 0, n))
        .await;
    let fenced = refused(old);
    assert!(
        matches!(
            fenced,
            ProducerRefusal::Fenced {
                current: ProducerEpoch(1),
                ..
            }
        ),
        "{fenced}"
    );
    assert_eq!(AppendError::Producer(fenced).kind(), ErrorKind::Rejected);
    let log = read_all(&storage, &name, P).await;
    assert_eq!(
        log.len(),
        (acks.len() + 1) * BATCH as usize,
        "only the new epoch's batch was added"
    );
}

//! Injected store faults on every call the write path makes: errors before and after the call
//! took effect, 412 and 409 after our own success, delays. Nothing acknowledged may be lost,
//! duplicated, moved or reordered, and nothing reported as not written may appear. With
//! DynamoDB manifests, its calls fail too (inside the SDK: see `silt_core::testing`).

use std::sync::Arc;
use std::time::Duration;

use silt_core::error::ErrorKind;
use silt_core::ids::TopicName;
use silt_core::store::Storage;
use silt_core::testing::{Call, DynamoError, DynamoFault, DynamoRule, Fault, FlakyStore, Rule};
use silt_reader::ReadError;
use silt_writer::{Writer, WriterSettings};

use super::{produce_in_waves, quick, topic, with_dynamo_faults};
use crate::checker::{History, check};

/// The fault mix: every call type of the write path, every kind of fault.
pub(crate) fn write_path_faults() -> Vec<Rule> {
    let manifest = |fault, p| Rule::new(Call::PutUpdate, fault, p).on_keys("/manifest");
    vec![
        manifest(Fault::PreconditionAfter, 0.08),
        manifest(Fault::ConflictAfter, 0.04),
        manifest(Fault::ErrorAfter, 0.08),
        manifest(Fault::ErrorBefore, 0.08),
        manifest(Fault::Delay(Duration::from_millis(20)), 0.05),
        Rule::new(Call::Get, Fault::ErrorBefore, 0.08).on_keys("/manifest"),
        Rule::new(Call::PutOverwrite, Fault::ErrorBefore, 0.03).on_keys("/seg/"),
        Rule::new(Call::PutOverwrite, Fault::ErrorAfter, 0.03).on_keys("/seg/"),
        Rule::new(
            Call::PutOverwrite,
            Fault::Delay(Duration::from_millis(15)),
            0.05,
        )
        .on_keys("/seg/"),
    ]
}

/// The DynamoDB side of [`write_path_faults`]: commits failing before or after they took
/// effect, as throttling, server errors and cancelled transactions, and failing reads.
pub(crate) fn dynamo_write_path_faults() -> Vec<DynamoRule> {
    let rule = |operation, fault, probability| DynamoRule {
        operation,
        fault,
        probability,
    };
    let commit = "TransactWriteItems";
    vec![
        rule(commit, DynamoFault::Before(DynamoError::Throttling), 0.08),
        rule(commit, DynamoFault::Before(DynamoError::Cancelled), 0.04),
        rule(commit, DynamoFault::After(DynamoError::ServerError), 0.06),
        rule(commit, DynamoFault::After(DynamoError::Throttling), 0.04),
        rule(commit, DynamoFault::After(DynamoError::Cancelled), 0.06),
        rule(
            "GetItem",
            DynamoFault::Before(DynamoError::ServerError),
            0.05,
        ),
        rule(
            "GetItem",
            DynamoFault::Before(DynamoError::Throttling),
            0.05,
        ),
    ]
}

/// Three writers on two partitions through a faulty store (and faulty DynamoDB calls when the
/// manifests live there); the checker must find nothing.
pub async fn ambiguous_commits_lose_nothing(storage: Storage) {
    let name = topic(&storage, "faults", 2).await;
    let run = three_writers_under_faults(&storage, &name, quick(), write_path_faults(), 5).await;
    if let Some(dynamo) = run.dynamo_injected {
        assert!(dynamo > 20, "only {dynamo} DynamoDB faults");
    }
    let report = check(&storage, &name, &run.history).await;
    eprintln!("faults: {}; {} read back", run.summary(), report.read);
    report.assert_clean();
}

/// What [`three_writers_under_faults`] saw.
pub(crate) struct FaultyRun {
    /// What the producers were told.
    pub(crate) history: History,
    /// Store faults injected.
    pub(crate) injected: u64,
    /// DynamoDB faults injected, when the manifests live there.
    pub(crate) dynamo_injected: Option<u64>,
}

impl FaultyRun {
    /// Faults and answers, for the log.
    pub(crate) fn summary(&self) -> String {
        let dynamo = self.dynamo_injected.unwrap_or(0);
        let acked = self.history.acked();
        let answers = self.history.summary();
        let injected = self.injected;
        format!("{injected} + {dynamo} (DynamoDB) injected; {acked} of 900 acknowledged; {answers}")
    }
}

/// Three writers with `settings` send 300 keyed records each to `name`, in waves of `wave`,
/// through a store failing by `rules` (and DynamoDB calls failing by
/// [`dynamo_write_path_faults`] when the manifests live there); the faults stop before the
/// caller checks. Enough faults must be injected, and enough records acknowledged.
pub(crate) async fn three_writers_under_faults(
    storage: &Storage,
    name: &TopicName,
    settings: WriterSettings,
    rules: Vec<Rule>,
    wave: u64,
) -> FaultyRun {
    let flaky = FlakyStore::new(storage.objects.clone(), 7);
    let (faulty, dynamo) = with_dynamo_faults(
        &storage.with_objects(flaky.clone()),
        dynamo_write_path_faults(),
        7,
    );
    flaky.set_rules(rules);
    let mut tasks = Vec::new();
    for w in 0..3 {
        let writer = Writer::open(faulty.clone(), name, settings.clone()).await;
        let writer = Arc::new(writer.unwrap());
        tasks.push(tokio::spawn(async move {
            produce_in_waves(writer, &format!("w{w}"), 300, None, wave).await
        }));
    }
    let mut history = History::default();
    for t in tasks {
        history.extend(t.await.unwrap());
    }
    flaky.set_rules(Vec::new());
    let run = FaultyRun {
        history,
        injected: flaky.injected(),
        dynamo_injected: dynamo.as_ref().map(|d| d.injected()),
    };
    let all = run.injected + run.dynamo_injected.unwrap_or(0);
    assert!(all > 20, "only {all} faults injected");
    let acked = run.history.acked();
    assert!(acked > 300, "only {acked} of 900 acknowledged");
    run
}

/// Reads through a store whose GETs fail or stall: each call returns correct records or an
/// error, never wrong data, a gap or a false end of log; retrying reads everything.
pub async fn reads_survive_faults(storage: Storage) {
    let name = topic(&storage, "read-faults", 1).await;
    let writer = Arc::new(Writer::open(storage.clone(), &name, quick()).await.unwrap());
    let history =
        produce_in_waves(writer, "r", 400, Some(silt_core::ids::PartitionId(0)), 40).await;
    assert_eq!(history.acked(), 400);

    let flaky = FlakyStore::new(storage.objects.clone(), 11);
    let read_faults = ["GetItem", "Query"].map(|operation| DynamoRule {
        operation,
        fault: DynamoFault::Before(DynamoError::ServerError),
        probability: 0.2,
    });
    let (faulty, _) = with_dynamo_faults(
        &storage.with_objects(flaky.clone()),
        read_faults.to_vec(),
        11,
    );
    flaky.set_rules(vec![
        Rule::new(Call::Get, Fault::ErrorBefore, 0.3),
        Rule::new(Call::Get, Fault::ErrorAfter, 0.1),
        Rule::new(Call::Get, Fault::Delay(Duration::from_millis(5)), 0.1),
    ]);
    let reader = retry("opening a reader", async || {
        silt_reader::Reader::open(faulty.clone(), &name)
            .await
            .map_err(ReadError::from)
    })
    .await;
    let p = silt_core::ids::PartitionId(0);
    let mut cursor = retry("opening a cursor", async || {
        reader.cursor(p, silt_reader::StartFrom::Earliest).await
    })
    .await;
    let (mut next, mut errors) = (0u64, 0u32);
    while next < 400 {
        match cursor.next_batch(7).await {
            Ok(batch) => {
                assert!(
                    !batch.is_empty(),
                    "a fault must not look like the end of the log"
                );
                for c in batch {
                    assert_eq!(c.offset.0, next);
                    assert_eq!(
                        c.record.value.as_deref(),
                        Some(format!("r-{next}").as_bytes())
                    );
                    next += 1;
                }
            }
            Err(e) => {
                assert_retryable(&e);
                errors += 1;
            }
        }
        assert!(errors < 1_000, "reads never recover");
    }
    // Faults hit opening, refreshing and loading; which calls fail depends on seed and timing.
    assert!(flaky.injected() > 0, "no read fault was injected");
}

/// Panics unless `e` is what an injected fault may cause: a storage error worth retrying. A
/// corrupt object, a bad setup or a bug must fail the scenario, not count as a fault.
fn assert_retryable(e: &ReadError) {
    match e {
        ReadError::Store(cause) if cause.kind() == ErrorKind::Retryable => {}
        other => panic!("an injected fault must give a retryable error, got: {other}"),
    }
}

/// `attempt` until it succeeds, at most 1 000 times, accepting only retryable errors.
async fn retry<T>(what: &str, mut attempt: impl AsyncFnMut() -> Result<T, ReadError>) -> T {
    for _ in 0..1_000 {
        match attempt().await {
            Ok(done) => return done,
            Err(e) => assert_retryable(&e),
        }
    }
    panic!("{what} failed 1 000 times in a row");
}

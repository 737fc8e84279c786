//! The conformance gate, run before the suite on every backend: the conditional writes silt's
//! manifest relies on must behave as S3 documents them, and DynamoDB transactions as DynamoDB
//! documents them. A failure names the server and the check, and the test script stops there.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, UpdateVersion};
use silt_minio_tests::backends::{self, Backend};

fn opts(mode: PutMode) -> PutOptions {
    PutOptions {
        mode,
        ..PutOptions::default()
    }
}

async fn gate(name: &str, backend: Option<Backend>) {
    let Some(backend) = backend else { return };
    let store = backend.storage.objects.clone();
    let root = backend.storage.keys.root().clone();
    let fail = |check: &str, detail: String| {
        panic!("{name} fails the conformance gate: {check}: {detail}")
    };

    // Concurrent If-None-Match: * creates of one key: exactly one winner.
    let key = root.clone().join("gate").join("create");
    let creates = (0..8).map(|i| {
        let (store, key) = (store.clone(), key.clone());
        tokio::spawn(async move {
            store
                .put_opts(
                    &key,
                    Bytes::from(format!("{i}")).into(),
                    opts(PutMode::Create),
                )
                .await
        })
    });
    let results: Vec<_> = futures::future::join_all(creates)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let winners = results.iter().filter(|r| r.is_ok()).count();
    if winners != 1 {
        fail(
            "concurrent creates of one key",
            format!("{winners} winners: {results:?}"),
        );
    }
    // If-None-Match on an existing key fails with AlreadyExists.
    match store
        .put_opts(&key, Bytes::from("again").into(), opts(PutMode::Create))
        .await
    {
        Err(object_store::Error::AlreadyExists { .. }) => {}
        other => fail("create of an existing key", format!("{other:?}")),
    }
    // If-Match on a missing key fails.
    let missing = root.clone().join("gate").join("missing");
    let update = UpdateVersion {
        e_tag: Some("\"0123456789abcdef\"".into()),
        version: None,
    };
    if let Ok(put) = store
        .put_opts(
            &missing,
            Bytes::from("x").into(),
            opts(PutMode::Update(update)),
        )
        .await
    {
        fail("If-Match on a missing key", format!("succeeded: {put:?}"));
    }
    // Concurrent If-Match read-modify-write loops lose no update.
    let counter = root.join("gate").join("counter");
    store
        .put_opts(&counter, Bytes::from("0").into(), opts(PutMode::Create))
        .await
        .unwrap();
    let loops = (0..8).map(|_| tokio::spawn(increment(store.clone(), counter.clone(), 10)));
    for l in futures::future::join_all(loops).await {
        l.unwrap();
    }
    let total = store.get(&counter).await.unwrap().bytes().await.unwrap();
    if total != "80" {
        fail(
            "concurrent If-Match updates",
            format!("80 increments left {total:?}"),
        );
    }
}

async fn increment(store: Arc<dyn ObjectStore>, key: Path, times: usize) {
    for _ in 0..times {
        loop {
            let got = store.get(&key).await.unwrap();
            let version = UpdateVersion {
                e_tag: got.meta.e_tag.clone(),
                version: got.meta.version.clone(),
            };
            let n: u64 = std::str::from_utf8(&got.bytes().await.unwrap())
                .unwrap()
                .parse()
                .unwrap();
            let put = store.put_opts(
                &key,
                Bytes::from((n + 1).to_string()).into(),
                opts(PutMode::Update(version)),
            );
            match put.await {
                Ok(_) => break,
                Err(
                    object_store::Error::Precondition { .. }
                    | object_store::Error::AlreadyExists { .. },
                ) => continue,
                Err(e) => panic!("update failed: {e}"),
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory() {
    gate("memory://", Some(backends::memory())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local() {
    gate("file://", Some(backends::local().await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seaweedfs() {
    gate("SeaweedFS", backends::s3("SILT_TEST_SEAWEEDFS").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn moto() {
    gate("moto", backends::s3("SILT_TEST_MOTO").await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_url() {
    gate("SILT_TEST_S3_URL", backends::s3("SILT_TEST_S3_URL").await).await;
}

/// DynamoDB transactions as the DynamoDB manifest store needs them: of racing transactions
/// conditioned on one item exactly one applies, whole; and a cancelled transaction leaves
/// the writes of others alone (moto's threaded server fails this: see
/// scripts/moto_dynamodb.py).
async fn dynamodb_gate(backend: Option<Backend>) {
    let Some(backend) = backend else { return };
    let manifests = backend.storage.manifest_table.clone().unwrap();
    let gate = DynamoGate {
        client: manifests.client_ref().clone(),
        table: manifests.table().to_string(),
    };
    let fail = |check: &str, detail: String| {
        panic!("the DynamoDB API fails the conformance gate: {check}: {detail}")
    };

    // Racing transactions, each claiming the item `claim` and putting its own `won-i`.
    let race = (0..8).map(|i| {
        vec![
            gate.put("claim", true),
            gate.put(&format!("won-{i}"), false),
        ]
    });
    let outcomes = gate.send_all(race.collect()).await;
    let winners = outcomes.iter().filter(|ok| **ok).count();
    let written = gate.count("won-").await;
    if winners != 1 || written != 1 {
        fail(
            "racing transactions",
            format!("{winners} succeeded, {written} wrote"),
        );
    }

    // Rounds of transactions that succeed next to long ones that `claim` existing cancels at
    // their last item: the widest window for a rollback to undo the others.
    for round in 0..20 {
        let succeed = (0..6).map(|i| vec![gate.put(&format!("kept-{round}-{i}"), false)]);
        let cancel = (0..6).map(|i| {
            let undone = (0..40).map(|j| gate.put(&format!("undone-{round}-{i}-{j}"), false));
            undone.chain([gate.put("claim", true)]).collect()
        });
        let outcomes = gate.send_all(succeed.chain(cancel).collect()).await;
        if outcomes != [[true; 6], [false; 6]].concat() {
            fail("cancelled transactions", format!("outcomes {outcomes:?}"));
        }
    }
    let (kept, undone) = (gate.count("kept-").await, gate.count("undone-").await);
    if kept != 120 || undone != 0 {
        fail(
            "a cancelled transaction must not undo others",
            format!("{kept} of 120 successful writes kept, {undone} cancelled writes present"),
        );
    }
}

/// Items with partition key `gate` in a table of the DynamoDB API under test.
struct DynamoGate {
    client: aws_sdk_dynamodb::Client,
    table: String,
}

impl DynamoGate {
    /// A transaction item putting the item `sk`, only if it is new when `only_if_new`.
    fn put(&self, sk: &str, only_if_new: bool) -> TransactWriteItem {
        let item = HashMap::from([
            ("pk".to_string(), AttributeValue::S("gate".into())),
            ("sk".to_string(), AttributeValue::S(sk.into())),
        ]);
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(only_if_new.then(|| "attribute_not_exists(pk)".into()));
        TransactWriteItem::builder()
            .put(put.build().unwrap())
            .build()
    }

    /// Sends the transactions at once; which of them succeeded.
    async fn send_all(&self, transactions: Vec<Vec<TransactWriteItem>>) -> Vec<bool> {
        let sent = transactions.into_iter().map(|items| {
            let send = self
                .client
                .transact_write_items()
                .set_transact_items(Some(items));
            tokio::spawn(async move { send.send().await.is_ok() })
        });
        let outcomes = futures::future::join_all(sent).await;
        outcomes.into_iter().map(|r| r.unwrap()).collect()
    }

    /// How many gate items have a sort key starting with `prefix`.
    async fn count(&self, prefix: &str) -> usize {
        let page = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk")
            .expression_attribute_values(":pk", AttributeValue::S("gate".into()))
            .consistent_read(true)
            .send()
            .await
            .unwrap();
        assert!(
            page.last_evaluated_key.is_none(),
            "one page holds the gate's items"
        );
        let sk = |item: &HashMap<String, AttributeValue>| item["sk"].as_s().unwrap().clone();
        let items = page.items.unwrap_or_default();
        items
            .iter()
            .map(sk)
            .filter(|k| k.starts_with(prefix))
            .count()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamodb() {
    dynamodb_gate(backends::dynamodb("SILT_TEST_SEAWEEDFS").await).await;
}

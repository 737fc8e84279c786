//! The conformance gate, run before the suite on every backend: the conditional writes silt's
//! manifest relies on must behave as S3 documents them. A failure names the server and the
//! check, and the test script stops there.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::sync::Arc;

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

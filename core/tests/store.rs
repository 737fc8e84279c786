//! Manifest stores and the conditional-write probe on real local backends.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::sync::Arc;

use bytes::Bytes;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, UpdateVersion};
use proptest::prelude::*;
use silt_core::error::Error;
use silt_core::keys::Keys;
use silt_core::manifest::codec;
use silt_core::store::{LocalCasStore, Storage, probe_conditional_writes};

#[tokio::test]
async fn probe_accepts_stores_that_honour_conditions() {
    let keys = Keys::new(Path::from("root"));
    probe_conditional_writes(&InMemory::new(), &keys, "memory://")
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    probe_conditional_writes(&LocalCasStore::new(dir.path()).unwrap(), &keys, "file://")
        .await
        .unwrap();
}

#[tokio::test]
async fn probe_refuses_a_store_without_conditional_updates() {
    let dir = tempfile::tempdir().unwrap();
    let plain = LocalFileSystem::new_with_prefix(dir.path()).unwrap();
    match probe_conditional_writes(&plain, &Keys::new(Path::default()), "plain").await {
        Err(Error::ConditionalWritesUnsupported { check, .. }) => {
            assert!(check.contains("If-Match"), "{check}")
        }
        other => panic!("expected ConditionalWritesUnsupported, got {other:?}"),
    }
}

/// Read-modify-write loops from many threads on one object: every increment survives.
#[test]
fn local_compare_and_swap_loses_no_update() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(LocalCasStore::new(dir.path()).unwrap());
    let path = Path::from("counter");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let create = PutOptions {
            mode: PutMode::Create,
            ..PutOptions::default()
        };
        store
            .put_opts(&path, Bytes::from("0").into(), create)
            .await
            .unwrap();
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (store, path) = (store.clone(), path.clone());
            tasks.push(tokio::spawn(async move {
                for _ in 0..25 {
                    loop {
                        let got = store.get(&path).await.unwrap();
                        let e_tag = got.meta.e_tag.clone();
                        let n: u64 = std::str::from_utf8(&got.bytes().await.unwrap())
                            .unwrap()
                            .parse()
                            .unwrap();
                        let mode = PutMode::Update(UpdateVersion {
                            e_tag,
                            version: None,
                        });
                        let opts = PutOptions {
                            mode,
                            ..PutOptions::default()
                        };
                        match store
                            .put_opts(&path, Bytes::from((n + 1).to_string()).into(), opts)
                            .await
                        {
                            Ok(_) => break,
                            Err(object_store::Error::Precondition { .. }) => continue,
                            Err(e) => panic!("{e}"),
                        }
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let n = store.get(&path).await.unwrap().bytes().await.unwrap();
        assert_eq!(n, Bytes::from("200"));
    });
}

#[tokio::test]
async fn store_urls_are_checked() {
    for (url, expect) in [
        ("ftp://x", "use file://DIR"),
        ("file://", "give a directory"),
    ] {
        match Storage::open(url).await {
            Err(Error::Invalid(e)) => assert!(e.to_string().contains(expect), "{e}"),
            other => panic!("{url}: {other:?}"),
        }
    }
    assert!(Storage::open("memory://").await.is_ok());
}

proptest! {
    #[test]
    fn manifest_decoding_of_random_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = codec::decode(&bytes, "random");
        let _ = codec::decode_chunk(&bytes, "random");
    }
}

/// Every version of a local object gets an mtime strictly after the previous one, even when
/// the previous one is ahead of the clock (a coarse clock tick, or skew), so its ETag (inode,
/// mtime, size) never repeats and a stale compare-and-swap can never succeed (no ABA).
#[tokio::test]
async fn local_versions_get_strictly_later_mtimes() {
    use std::time::{Duration, UNIX_EPOCH};
    let dir = tempfile::tempdir().unwrap();
    let store = LocalCasStore::new(dir.path()).unwrap();
    let path = Path::from("m");
    let file = dir.path().join("m");
    let create = PutOptions {
        mode: PutMode::Create,
        ..PutOptions::default()
    };
    let mut e_tag = store
        .put_opts(&path, Bytes::from("v0").into(), create)
        .await
        .unwrap()
        .e_tag;
    let future = UNIX_EPOCH + Duration::from_secs(4_000_000_000);
    std::fs::File::options()
        .write(true)
        .open(&file)
        .unwrap()
        .set_modified(future)
        .unwrap();
    e_tag = store.head(&path).await.unwrap().e_tag.or(e_tag);
    let mut seen = std::collections::HashSet::new();
    let mut last = std::fs::metadata(&file).unwrap().modified().unwrap();
    for i in 1..100 {
        assert!(
            seen.insert(e_tag.clone()),
            "ETag {e_tag:?} repeated at version {i}"
        );
        let mode = PutMode::Update(UpdateVersion {
            e_tag: e_tag.clone(),
            version: None,
        });
        let opts = PutOptions {
            mode,
            ..PutOptions::default()
        };
        let body = Bytes::from(format!("v{}", i % 10)); // same size, to invite collisions
        e_tag = store
            .put_opts(&path, body.into(), opts)
            .await
            .unwrap()
            .e_tag;
        let now = std::fs::metadata(&file).unwrap().modified().unwrap();
        assert!(
            now > last,
            "version {i} has mtime {now:?}, not after {last:?}"
        );
        assert_eq!(store.head(&path).await.unwrap().e_tag, e_tag);
        last = now;
    }
}

/// A local directory lists from an offset in key order, as S3 does (GC's orphan sweep stops
/// at the first id past its floor); a directory lists in an order of its own.
#[tokio::test]
async fn local_listing_from_an_offset_is_in_key_order() {
    use futures::TryStreamExt;
    let dir = tempfile::tempdir().unwrap();
    let store = LocalCasStore::new(dir.path()).unwrap();
    let mut names: Vec<String> = (0..200u32)
        .map(|i| format!("seg/{:08x}.seg", i.wrapping_mul(2_654_435_761)))
        .collect();
    for name in &names {
        store
            .put(&Path::from(name.as_str()), Bytes::from("x").into())
            .await
            .unwrap();
    }
    names.sort();
    let offset = Path::from(names[49].as_str());
    let listed: Vec<String> = store
        .list_with_offset(Some(&Path::from("seg")), &offset)
        .map_ok(|m| m.location.to_string())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed, names[50..]);
}

/// Creating a topic of many partitions keeps at most `MANIFEST_CREATES_IN_FLIGHT` manifest
/// writes in flight (a topic may have 10 000), and creates every one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn topic_creation_bounds_its_writes_in_flight() {
    use silt_core::ids::{PartitionId, TopicName};
    use silt_core::store::CountingStore;
    use silt_core::topic::{MANIFEST_CREATES_IN_FLIGHT, TopicSettings};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", dir.path().display());
    let local = Storage::open(&url).await.unwrap();
    let counting = Arc::new(CountingStore::new(local.objects.clone()));
    let storage = local.with_objects(counting.clone());
    let name = TopicName::new("wide").unwrap();
    let partitions = 300;
    storage
        .create_topic(&name, partitions, TopicSettings::default())
        .await
        .unwrap();
    let most = counting.puts_in_flight_max();
    // Before the bound, every partition's create was in flight at once.
    assert!(
        most > 1 && most <= MANIFEST_CREATES_IN_FLIGHT as u64,
        "{most} manifest writes in flight"
    );
    for p in 0..partitions {
        let m = storage.manifests.read(&name, PartitionId(p)).await.unwrap();
        assert!(m.is_some(), "partition {p} has no manifest");
    }
}

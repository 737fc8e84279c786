//! The damaged-storage suite at the command line (issue 21): the real `silt` binary on a store
//! whose objects an operator's mistake or a broken tool changed: a manifest deleted, segment
//! ids swapped in a manifest or an index chunk, a segment, index chunk or Parquet file
//! deleted, a graveyard full, objects truncated or overwritten with garbage. Each case asserts
//! the exact outcome: the exit status, an error naming the object and what is wrong with it,
//! that no record is served at a wrong offset, and that nothing acknowledged is deleted or
//! lost (restored, every record reads back). Every case runs on `file://` and on SeaweedFS
//! (`SILT_TEST_SEAWEEDFS`), one `#[test]` each. This file is the harness; the cases are
//! grouped by what is damaged: `manifests`, `swaps`, `objects`, `garbage`, `graveyard`.

#![allow(clippy::unwrap_used)] // tests fail by panicking

#[path = "../common/mod.rs"]
#[macro_use]
mod common;

use std::sync::Arc;

use bytes::Bytes;
use common::Cli;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};

impl Cli {
    /// Runs a command that must exit with `code` and say `message` on stderr; returns stdout
    /// and stderr.
    fn fails(&self, args: &[&str], stdin: &str, code: i32, message: &str) -> (String, String) {
        self.exits(args, stdin, code, message)
    }

    /// Creates `topic` with `partitions` and appends `lines` to partition 0 in one run.
    fn topic_with(&self, topic: &str, partitions: u32, lines: &[&str]) {
        let n = partitions.to_string();
        self.ok(&["topic", "create", topic, "--partitions", &n], "");
        self.produce(topic, 0, lines);
    }

    /// Appends `lines` to a partition in one run (one segment, as it is small).
    fn produce(&self, topic: &str, partition: u32, lines: &[&str]) {
        let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let p = partition.to_string();
        self.ok(&["produce", topic, "--partition", &p], &input);
    }

    /// `key` (relative to the store's root) as silt names it.
    fn named(&self, key: &str) -> String {
        format!("{}{key}", self.prefix())
    }

    /// The store's objects, and the path of its root in them.
    fn objects(&self) -> (Arc<dyn ObjectStore>, Path) {
        let Some(rest) = self.backend.store.strip_prefix("s3://") else {
            let dir = self.silt.dir.path().join("silt-data");
            let local = object_store::local::LocalFileSystem::new_with_prefix(dir).unwrap();
            return (Arc::new(local), Path::default());
        };
        let (bucket, prefix) = rest.split_once('/').unwrap();
        let mut builder = object_store::aws::AmazonS3Builder::new().with_bucket_name(bucket);
        for (k, v) in &self.backend.env {
            if let Ok(key) = k.to_ascii_lowercase().parse() {
                builder = builder.with_config(key, v);
            }
        }
        (Arc::new(builder.build().unwrap()), Path::from(prefix))
    }

    fn path(&self, key: &str) -> (Arc<dyn ObjectStore>, Path) {
        let (store, root) = self.objects();
        let path = root.parts().chain(Path::from(key).parts()).collect();
        (store, path)
    }

    fn get(&self, key: &str) -> Bytes {
        let (store, path) = self.path(key);
        block_on(async { store.get(&path).await?.bytes().await }).unwrap()
    }

    fn put(&self, key: &str, bytes: impl Into<Bytes>) {
        let (store, path) = self.path(key);
        block_on(store.put(&path, bytes.into().into())).unwrap();
    }

    /// Deletes the object at `key`, as an operator's mistake would; returns its bytes.
    fn delete(&self, key: &str) -> Bytes {
        let bytes = self.get(key);
        let (store, path) = self.path(key);
        block_on(store.delete(&path)).unwrap();
        bytes
    }

    /// Keys (relative to the root) of every object under `folder`, sorted.
    fn list(&self, folder: &str) -> Vec<String> {
        let (store, root) = self.path(folder);
        let skip = self.objects().1.parts().count();
        let listed: Vec<_> = block_on(store.list(Some(&root)).try_collect()).unwrap();
        let mut keys: Vec<String> = listed
            .iter()
            .map(|m| {
                m.location
                    .parts()
                    .skip(skip)
                    .map(|p| p.as_ref().to_string())
            })
            .map(|parts| parts.collect::<Vec<_>>().join("/"))
            .collect();
        keys.sort();
        keys
    }

    /// Rewrites the JSON object at `key` with `edit` applied (still valid JSON), as a tool
    /// that knows the fields but not the document checksum would: without a `crc32c` field
    /// (documents from before checksums were added are read without one).
    fn edit_json(&self, key: &str, edit: impl FnOnce(&mut serde_json::Value)) {
        let mut doc: serde_json::Value = serde_json::from_slice(&self.get(key)).unwrap();
        doc.as_object_mut().unwrap().remove("crc32c");
        edit(&mut doc);
        self.put(key, serde_json::to_vec(&doc).unwrap());
    }

    /// The manifest of `topic`'s partition `p`, as stored.
    fn manifest(&self, topic: &str, p: u32) -> serde_json::Value {
        serde_json::from_slice(&self.get(&manifest_key(topic, p))).unwrap()
    }

    /// Keys of the hot segments in partition `p`'s manifest tail, oldest first.
    fn segment_keys(&self, topic: &str, p: u32) -> Vec<String> {
        let m = self.manifest(topic, p);
        let entries = m["segments"].as_array().unwrap();
        let ids = entries
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_string());
        ids.map(|id| format!("topics/{topic}/{p:05}/seg/{id}.seg"))
            .collect()
    }

    /// Appends `count` records to partition 0 of `topic`, one commit each (so index chunks
    /// form), through the writer library on the same store.
    fn commit_one_by_one(&self, topic: &str, count: u64) {
        let url = match self.backend.store.strip_prefix("file://./") {
            Some(dir) => format!("file://{}", self.silt.dir.path().join(dir).display()),
            None => self.backend.store.clone(),
        };
        let options: Vec<(String, String)> = (self.backend.env.iter())
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        block_on(async {
            let storage = silt_core::store::Storage::open_with(&url, options).await?;
            let name = silt_core::ids::TopicName::new(topic)?;
            let settings = silt_writer::WriterSettings {
                linger_ms: 0,
                ..silt_writer::WriterSettings::default()
            };
            let writer = silt_writer::Writer::open(storage, &name, settings).await?;
            let p = silt_core::ids::PartitionId(0);
            for i in 0..count {
                let record = silt_core::record::Record::from_value(format!("r{i:03}"), i as i64);
                writer.append(p, vec![record]).await?;
            }
            writer.close().await;
            Ok::<_, Box<dyn std::error::Error>>(())
        })
        .unwrap();
    }
}

fn manifest_key(topic: &str, p: u32) -> String {
    format!("topics/{topic}/{p:05}/manifest")
}

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// `n` lines `prefix-0` .. `prefix-{n-1}`.
fn numbered(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}-{i}")).collect()
}

mod garbage;
mod graveyard;
mod manifests;
mod objects;
mod swaps;

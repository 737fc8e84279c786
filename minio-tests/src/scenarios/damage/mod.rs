//! Damaged storage (issue 21): what an operator's mistake or a broken tool does to the objects
//! and manifests under silt, and what silt must answer: a typed error that names what is
//! wrong, never records at the wrong offsets, and nothing deleted. The helpers here damage a
//! store by hand, on whichever backend holds the manifests.

mod graveyard;
mod manifest;
mod objects;
mod swaps;

pub use graveyard::full_graveyard_says_gc_first;
pub use manifest::missing_manifest_is_never_an_empty_partition;
pub use objects::missing_objects_are_named;
pub use swaps::{swapped_ids_in_an_index_chunk_are_refused, swapped_segment_ids_are_refused};

use std::collections::{BTreeSet, HashMap};

use aws_sdk_dynamodb::types::AttributeValue;
use bytes::Bytes;
use futures::TryStreamExt;
use object_store::ObjectStoreExt;
use object_store::path::Path;
use silt_core::error::{Error, ErrorKind};
use silt_core::ids::{PartitionId, TopicName};
use silt_core::keys::HEAD_SK;
use silt_core::store::Storage;
use silt_reader::{ReadError, Reader, StartFrom};

use super::stored_manifest;

/// A manifest taken away, to be put back.
pub(super) enum Removed {
    /// The manifest object's bytes.
    Object(Bytes),
    /// The DynamoDB head item.
    Item(HashMap<String, AttributeValue>),
}

/// Deletes a partition's manifest (the object, or the DynamoDB head item) as a mistaken
/// `rm` or `DeleteItem` would, and returns it.
pub(super) async fn remove_manifest(
    storage: &Storage,
    name: &TopicName,
    p: PartitionId,
) -> Removed {
    if let Some(table) = &storage.manifest_table {
        let key =
            |call: aws_sdk_dynamodb::operation::delete_item::builders::DeleteItemFluentBuilder| {
                call.table_name(table.table())
                    .key("pk", AttributeValue::S(table.pk(name, p)))
                    .key("sk", AttributeValue::S(HEAD_SK.into()))
            };
        let old = key(table.client_ref().delete_item())
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .unwrap();
        return Removed::Item(old.attributes.expect("the head item existed"));
    }
    let bytes = stored_manifest::read(storage, name, p).await;
    stored_manifest::overwrite(storage, name, p, None).await;
    Removed::Object(bytes.expect("the manifest existed"))
}

/// Puts a removed manifest back, as a restore from a backup would.
pub(super) async fn restore_manifest(
    storage: &Storage,
    name: &TopicName,
    p: PartitionId,
    removed: Removed,
) {
    match removed {
        Removed::Item(item) => {
            let table = storage.manifest_table.as_ref().unwrap();
            let put = table.client_ref().put_item().table_name(table.table());
            put.set_item(Some(item)).send().await.unwrap();
        }
        Removed::Object(bytes) => stored_manifest::overwrite(storage, name, p, Some(bytes)).await,
    }
}

/// Overwrites the JSON object at `path` with `edit` applied to it (a manifest or an index
/// chunk, still valid JSON: what a broken tool might write), without a `crc32c` field (as
/// documents from before checksums were added are read).
pub(super) async fn edit_json(
    storage: &Storage,
    path: &Path,
    edit: impl FnOnce(&mut serde_json::Value),
) {
    let bytes = storage.objects.get(path).await.unwrap().bytes().await;
    let body = edited(&bytes.unwrap(), edit);
    storage.objects.put(path, body.into()).await.unwrap();
}

/// [`edit_json`] on the manifest of `p`, wherever the topic's layout keeps it.
pub(super) async fn edit_manifest_json(
    storage: &Storage,
    name: &TopicName,
    p: PartitionId,
    edit: impl FnOnce(&mut serde_json::Value),
) {
    let bytes = stored_manifest::read(storage, name, p).await.unwrap();
    let body = edited(&bytes, edit);
    stored_manifest::overwrite(storage, name, p, Some(body)).await;
}

fn edited(bytes: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Bytes {
    let mut doc: serde_json::Value = serde_json::from_slice(bytes).unwrap();
    doc.as_object_mut().unwrap().remove("crc32c");
    edit(&mut doc);
    Bytes::from(serde_json::to_vec(&doc).unwrap())
}

/// Swaps the `id` fields of entries `a` and `b` of the JSON array `entries`.
pub(super) fn swap_ids(entries: &mut serde_json::Value, a: usize, b: usize) {
    let id_a = entries[a]["id"].take();
    let id_b = std::mem::replace(&mut entries[b]["id"], id_a);
    entries[a]["id"] = id_b;
}

/// Every object under a partition's folders (`seg/`, `idx/`, its `tables/` folder).
pub(super) async fn partition_objects(
    storage: &Storage,
    name: &TopicName,
    p: PartitionId,
) -> BTreeSet<String> {
    let folder = storage.keys.partition(name, p);
    let folders = [
        folder.clone().join("seg"),
        folder.join("idx"),
        storage.keys.partition_table(name, p),
    ];
    let mut keys = BTreeSet::new();
    for folder in folders {
        let listed: Vec<_> = storage
            .objects
            .list(Some(&folder))
            .try_collect()
            .await
            .unwrap();
        keys.extend(listed.into_iter().map(|m| m.location.to_string()));
    }
    keys
}

/// Reads a partition from the earliest offset to the end, or the first error.
pub(super) async fn read_partition(
    storage: &Storage,
    name: &TopicName,
    p: PartitionId,
) -> Result<Vec<String>, ReadError> {
    let reader = Reader::open(storage.clone(), name).await.unwrap();
    let mut cursor = reader.cursor(p, StartFrom::Earliest).await?;
    let mut out = Vec::new();
    for _ in 0..10_000 {
        let batch = cursor.next_batch(1000).await?;
        if batch.is_empty() {
            return Ok(out);
        }
        let values = batch
            .into_iter()
            .map(|c| c.record.value.unwrap_or_default());
        out.extend(values.map(|v| String::from_utf8_lossy(&v).into_owned()));
    }
    panic!("{name}/{p} did not end after 10 000 batches");
}

/// The store error inside a read error, which must be damage (`Corrupt`).
pub(super) fn corrupt(read: Result<Vec<String>, ReadError>) -> Error {
    match read {
        Err(ReadError::Store(e)) if e.kind() == ErrorKind::Corrupt => e,
        other => panic!("expected a Corrupt error, got {other:?}"),
    }
}

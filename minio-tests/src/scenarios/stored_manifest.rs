//! A partition's manifest document as an object store holds it, whatever the topic's layout:
//! its own object, or its line in a manifest group (docs/design.md §19). Damage scenarios
//! read and overwrite it by hand, unconditionally, as a broken tool would.

use bytes::Bytes;
use object_store::ObjectStoreExt;
use object_store::path::Path;
use silt_core::ids::{PartitionId, TopicName};
use silt_core::store::Storage;

/// Where `p`'s manifest lives: its object, or its group's object (`true`).
async fn location(storage: &Storage, name: &TopicName, p: PartitionId) -> (Path, bool) {
    let config = storage.manifests.read_topic(name).await.unwrap();
    match config.and_then(|c| c.settings.manifest_group_size) {
        Some(size) => (storage.keys.manifest_group(name, p.0 / size), true),
        None => (storage.keys.manifest(name, p), false),
    }
}

/// The lines of a group document, and the index of `p`'s line (`None`: not there).
async fn group_lines(
    storage: &Storage,
    path: &Path,
    p: PartitionId,
) -> (Vec<Bytes>, Option<usize>) {
    let bytes = get(storage, path).await.unwrap_or_default();
    let lines: Vec<Bytes> = bytes
        .split(|b| *b == b'\n')
        .map(|l| bytes.slice_ref(l))
        .collect();
    let of_p = |line: &Bytes| {
        let doc: Option<serde_json::Value> = serde_json::from_slice(line).ok();
        doc.is_some_and(|d| d["partition"] == serde_json::json!(p.0))
    };
    let at = lines.iter().skip(1).position(of_p).map(|i| i + 1);
    (lines, at)
}

async fn get(storage: &Storage, path: &Path) -> Option<Bytes> {
    let got = storage.objects.get(path).await.ok()?;
    Some(got.bytes().await.unwrap())
}

/// `p`'s manifest document as stored; `None` if there is none.
pub(super) async fn read(storage: &Storage, name: &TopicName, p: PartitionId) -> Option<Bytes> {
    let (path, grouped) = location(storage, name, p).await;
    if !grouped {
        return get(storage, &path).await;
    }
    let (lines, at) = group_lines(storage, &path, p).await;
    at.map(|at| lines[at].clone())
}

/// Replaces `p`'s manifest document with `body` (`None`: takes it away), unconditionally.
/// In a group, a body is put where `p`'s line was (or added at the end).
pub(super) async fn overwrite(
    storage: &Storage,
    name: &TopicName,
    p: PartitionId,
    body: Option<Bytes>,
) {
    let (path, grouped) = location(storage, name, p).await;
    if !grouped {
        match body {
            Some(body) => drop(storage.objects.put(&path, body.into()).await.unwrap()),
            None => storage.objects.delete(&path).await.unwrap(),
        }
        return;
    }
    let (mut lines, at) = group_lines(storage, &path, p).await;
    match (body, at) {
        (Some(body), Some(at)) => lines[at] = body,
        (Some(body), None) => lines.push(body),
        (None, Some(at)) => drop(lines.remove(at)),
        (None, None) => {}
    }
    let doc = Bytes::from(lines.join(&b'\n'));
    storage.objects.put(&path, doc.into()).await.unwrap();
}

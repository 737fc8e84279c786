//! Storing one closed round: every part's segment encoded (concurrently, on the blocking
//! pool), laid out as one mixed object (`core::segment::mixed`) and PUT once; each part is
//! answered with its `NewSegment` (the object id, and its range through `mixed_at`), and each
//! part's segment goes into the storage's tail cache. A round of one part is a plain segment
//! object, exactly what that partition writes unmixed.
//!
//! Each partition is known to have a manifest before the object is uploaded, as for a plain
//! segment (docs/design.md §6 rule 8); a part whose check fails is answered with that error
//! and left out. A failed encode or PUT fails the parts it concerns; nothing is committed here.

use futures::future::join_all;
use object_store::{ObjectStoreExt, PutPayload};
use silt_core::error::Error;
use silt_core::metrics;
use silt_core::segment::encode_mixed;
use silt_core::store::SegmentLocation;

use super::Part;
use crate::AppendError;
use crate::partition::{encode, upload as upload_segment};

/// Uploads the parts of one round and answers each.
pub(super) async fn upload(parts: Vec<Part>, zstd_level: i32) {
    let checks = join_all(parts.iter().map(|p| p.committer.ensure_manifest())).await;
    let mut ready = Vec::with_capacity(parts.len());
    for (part, check) in parts.into_iter().zip(checks) {
        match check {
            Ok(()) => ready.push(part),
            Err(e) => {
                let _ = part.reply.send(Err(e.into()));
            }
        }
    }
    if ready.len() == 1 {
        if let Some(part) = ready.pop() {
            let segment = upload_segment(part.committer, part.records, part.epoch, zstd_level);
            let _ = part.reply.send(segment.await);
        }
        return;
    }
    if !ready.is_empty() {
        upload_mixed(ready, zstd_level).await;
    }
}

async fn upload_mixed(mut parts: Vec<Part>, zstd_level: i32) {
    let encoding = parts.iter_mut().map(|p| {
        let records = std::mem::take(&mut p.records);
        encode(&p.committer, records, p.epoch, zstd_level)
    });
    let encoded = join_all(encoding).await;
    let mut done = Vec::with_capacity(parts.len());
    for (part, encoded) in parts.into_iter().zip(encoded) {
        match encoded {
            Ok(encoded) => done.push((part, encoded)),
            Err(e) => {
                let _ = part.reply.send(Err(e));
            }
        }
    }
    let Some((first, _)) = done.first() else {
        return;
    };
    let storage = first.committer.storage.clone();
    let (topic, topic_id) = (first.committer.topic.clone(), first.committer.topic_id);
    let id = storage.new_object_id();
    let segments = done
        .iter()
        .map(|(p, e)| (p.committer.partition, e.bytes.clone()));
    let (chunks, toc) = encode_mixed(topic_id, segments.collect());
    let payload: PutPayload = chunks.into_iter().collect();
    let len = payload.content_length() as u64;
    let path = storage.keys.mixed(&topic, id);
    match storage.objects.put(&path, payload).await {
        Ok(_) => {
            metrics::segment_written(&topic, len);
            for ((part, encoded), place) in done.into_iter().zip(toc.parts) {
                let at = SegmentLocation {
                    path: path.clone(),
                    start: place.at,
                    len: encoded.bytes.len() as u64,
                    whole: false,
                };
                storage.tail_cache.insert(&at, encoded.bytes.clone());
                let _ = part.reply.send(Ok(encoded.segment(id, Some(place.at))));
            }
        }
        Err(e) => {
            let error = AppendError::from(Error::from(e));
            for (part, _) in done {
                let _ = part.reply.send(Err(error.clone()));
            }
        }
    }
}

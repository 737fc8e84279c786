//! The jobs' edits on DynamoDB (see `manifest::upkeep`): the segment and graveyard items a
//! `Bury`, `Replace` or `Forget` adds to its commit's transaction, and the graveyard query.
//!
//! - A graveyard item (`sk = G#<object id>`): `id`, `kind`, `removed_at_ms`. The graveyard
//!   lives outside the head, so the head stays small however much GC has to do.
//! - `Bury` deletes segment items and `Replace` overwrites or deletes them, each conditioned
//!   on the item still holding the segment the job read (`id = :read`). A failed condition
//!   means another job changed them: the commit is refused as `Stale`, never rebased.
//! - `Forget` deletes graveyard items, unconditionally (a second delete is a no-op).

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};

use super::DynamoManifestStore;
use super::items::{Fields, Item, n, s, segment_item};
use crate::error::{Corruption, Rejection, Result};
use crate::ids::{Day, ObjectId, Offset, PartitionId, TopicName};
use crate::keys::{GRAVEYARD_SK_PREFIX, Keys};
use crate::manifest::{Commit, Edit, Replace, SegmentEntry, Tombstone, TombstoneKind};

/// The segment and graveyard items `commit` writes besides the head.
pub(super) fn items(
    table: &str,
    pk: &str,
    commit: &Commit,
    partition: PartitionId,
) -> Result<Vec<TransactWriteItem>, Rejection> {
    let refuse = |e: aws_sdk_dynamodb::error::BuildError| Rejection::Invariant {
        partition,
        reason: e.to_string(),
    };
    let key = |sk: String| Item::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))]);
    let delete = |sk: String, read: Option<ObjectId>| {
        let d = Delete::builder().table_name(table).set_key(Some(key(sk)));
        let d = match read {
            Some(id) => d
                .condition_expression("#id = :read")
                .expression_attribute_names("#id", "id")
                .expression_attribute_values(":read", s(id.0)),
            None => d,
        };
        Ok(TransactWriteItem::builder()
            .delete(d.build().map_err(refuse)?)
            .build())
    };
    let mut out = Vec::new();
    let buried = match &commit.edit {
        Edit::Bury { entries } => {
            for e in entries {
                out.push(delete(Keys::segment_sk(e.base_offset), Some(e.id))?);
            }
            entries.clone()
        }
        Edit::Replace(r) => {
            out.extend(replacements(table, pk, r, refuse, delete)?);
            let merged = r.old.iter().filter(|o| !r.new.iter().any(|n| n.id == o.id));
            merged.copied().collect()
        }
        Edit::Forget { ids } => {
            for id in ids {
                out.push(delete(Keys::graveyard_sk(*id), None)?);
            }
            Vec::new()
        }
        _ => Vec::new(),
    };
    for e in buried {
        let item = tombstone_item(pk, &e.tombstone(commit.now_ms));
        let put = Put::builder().table_name(table).set_item(Some(item));
        out.push(
            TransactWriteItem::builder()
                .put(put.build().map_err(refuse)?)
                .build(),
        );
    }
    Ok(out)
}

/// A compaction's segment items: each new entry overwrites the old one at its base offset,
/// the other old ones are deleted, all conditioned on the old id; a new entry that starts
/// inside an old one (sealing split it at a day) is a new item.
fn replacements(
    table: &str,
    pk: &str,
    r: &Replace,
    refuse: impl Fn(aws_sdk_dynamodb::error::BuildError) -> Rejection,
    delete: impl Fn(String, Option<ObjectId>) -> Result<TransactWriteItem, Rejection>,
) -> Result<Vec<TransactWriteItem>, Rejection> {
    let mut out = Vec::new();
    for old in &r.old {
        let new: Option<&SegmentEntry> = r.new.iter().find(|e| e.base_offset == old.base_offset);
        let Some(new) = new else {
            out.push(delete(Keys::segment_sk(old.base_offset), Some(old.id))?);
            continue;
        };
        if new.id == old.id {
            continue; // between the merged runs: unchanged
        }
        let put = Put::builder()
            .table_name(table)
            .set_item(Some(segment_item(pk, new)))
            .condition_expression("#id = :read")
            .expression_attribute_names("#id", "id")
            .expression_attribute_values(":read", s(old.id.0))
            .build()
            .map_err(&refuse)?;
        out.push(TransactWriteItem::builder().put(put).build());
    }
    let inside = r
        .new
        .iter()
        .filter(|n| !r.old.iter().any(|o| o.base_offset == n.base_offset));
    for new in inside {
        let put = Put::builder()
            .table_name(table)
            .set_item(Some(segment_item(pk, new)))
            .condition_expression("attribute_not_exists(sk)")
            .build()
            .map_err(&refuse)?;
        out.push(TransactWriteItem::builder().put(put).build());
    }
    Ok(out)
}

/// A graveyard item; a cold segment's also holds `day`, `first` and `last` (its key).
pub(super) fn tombstone_item(pk: &str, t: &Tombstone) -> Item {
    let kind = match t.kind {
        TombstoneKind::Segment => "segment",
        TombstoneKind::Chunk => "chunk",
        TombstoneKind::ChunkWithSegments => "chunk_with_segments",
        TombstoneKind::Mixed => "mixed",
        TombstoneKind::Cold { .. } => "cold",
    };
    let mut item = Item::from([
        ("pk".to_string(), s(pk)),
        ("sk".to_string(), s(Keys::graveyard_sk(t.id))),
        ("id".to_string(), s(t.id.0)),
        ("kind".to_string(), s(kind)),
        ("removed_at_ms".to_string(), n(t.removed_at_ms)),
    ]);
    if let TombstoneKind::Cold { day, first, last } = t.kind {
        item.insert("day".to_string(), n(day.0));
        item.insert("first".to_string(), n(first.0));
        item.insert("last".to_string(), n(last.0));
    }
    item
}

pub(super) fn tombstone_of(item: &Item, location: &str) -> Result<Tombstone> {
    let f = Fields { item, location };
    let kind = match f.text("kind")? {
        "segment" => TombstoneKind::Segment,
        "chunk" => TombstoneKind::Chunk,
        "chunk_with_segments" => TombstoneKind::ChunkWithSegments,
        "mixed" => TombstoneKind::Mixed,
        "cold" => TombstoneKind::Cold {
            day: Day(f.num("day")?),
            first: Offset(f.num("first")?),
            last: Offset(f.num("last")?),
        },
        other => {
            return Err(Corruption {
                what: "DynamoDB graveyard item",
                location: location.to_string(),
                reason: format!("unknown kind {other:?}"),
            }
            .into());
        }
    };
    let id = f.text("id")?;
    let id = id.parse().map_err(|e| Corruption {
        what: "DynamoDB graveyard item",
        location: location.to_string(),
        reason: format!("id {id}: {e}"),
    })?;
    Ok(Tombstone {
        id: ObjectId(id),
        kind,
        removed_at_ms: f.num("removed_at_ms")?,
    })
}

impl DynamoManifestStore {
    /// Every graveyard item of a partition, oldest id first (consistent reads).
    pub(super) async fn query_graveyard(
        &self,
        topic: &TopicName,
        p: PartitionId,
    ) -> Result<Vec<Tombstone>> {
        let pk = self.pk(topic, p);
        let location = self.location(&pk);
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :g)")
            .expression_attribute_values(":pk", s(&pk))
            .expression_attribute_values(":g", AttributeValue::S(GRAVEYARD_SK_PREFIX.into()));
        let items = self.query_all(query).await?;
        items
            .iter()
            .map(|item| tombstone_of(item, &location))
            .collect()
    }
}

//! One commit as one `TransactWriteItems`: an update of the head item conditioned on what the
//! edit read (the epoch; for an append also the next offset and the orphan floor; for a trim
//! only the log start; for a job's edit only the floor, or nothing; for each aged-out writer
//! marker it removes, that marker's commit seq), plus a conditional put of each new segment
//! item and the segment and graveyard items of a job's edit (see `upkeep`). Only the head attributes the edit changed are set, so writes that touch
//! other attributes (jobs, later) do not conflict with it.
//!
//! So the manifest a successful commit returns is exact in what the edit read and wrote; other
//! attributes (another writer's marker, say) may be newer in the table. Writers only act on
//! the attributes their next edit is conditioned on, and a failed condition makes them read.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};

use super::items::{
    Item, head_item, item_bytes, marker_value, n, producers_value, s, segment_item,
};
use crate::error::{Rejection, Result};
use crate::limits::{DYNAMO_SEGMENTS_PER_COMMIT_MAX, TRANSACTION_ITEMS_MAX};
use crate::manifest::{Commit, Edit, Manifest, SegmentIndex};

/// Largest head item silt writes: DynamoDB's item limit is 400 KB. Only writer markers (one per
/// writer that committed in the last 15 minutes, about 70 bytes each) make a head grow.
const HEAD_ITEM_BYTES_MAX: usize = 350 * 1024;

/// The writes of one commit, ready for `TransactWriteItems`.
#[derive(Debug)]
pub(super) struct Transaction {
    pub(super) items: Vec<TransactWriteItem>,
    /// Same commit on the same head → same token, so DynamoDB answers a resend idempotently.
    pub(super) token: String,
}

/// Builds the transaction taking the head from `current` to `next` under `commit`.
pub(super) fn transaction(
    table: &str,
    pk: &str,
    current: &Manifest,
    next: &Manifest,
    commit: &Commit,
) -> Result<Transaction> {
    let refuse = |reason: String| Rejection::Invariant {
        partition: next.partition,
        reason,
    };
    if next.segments.len() > DYNAMO_SEGMENTS_PER_COMMIT_MAX {
        let n = next.segments.len();
        return Err(refuse(format!(
            "{n} segments in one commit; DynamoDB takes at most {DYNAMO_SEGMENTS_PER_COMMIT_MAX}"
        ))
        .into());
    }
    let head_bytes = item_bytes(&head_item(pk, next));
    if head_bytes > HEAD_ITEM_BYTES_MAX {
        return Err(Rejection::HeadFull {
            partition: next.partition,
            bytes: head_bytes,
            max: HEAD_ITEM_BYTES_MAX,
        }
        .into());
    }
    let mut items = vec![head_update(table, pk, current, next, commit)?];
    for e in &next.segments {
        let put = Put::builder()
            .table_name(table)
            .set_item(Some(segment_item(pk, e)))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(|e| refuse(e.to_string()))?;
        items.push(TransactWriteItem::builder().put(put).build());
    }
    items.extend(super::upkeep::items(table, pk, commit, next.partition)?);
    if items.len() > TRANSACTION_ITEMS_MAX {
        let n = items.len();
        return Err(refuse(format!(
            "{n} items in one transaction; DynamoDB takes at most {TRANSACTION_ITEMS_MAX}"
        ))
        .into());
    }
    Ok(Transaction {
        items,
        token: token(commit, current),
    })
}

/// Accumulates an update expression with its placeholders. Every attribute goes through a
/// `#name` placeholder: several of ours (`segments`, `bytes`) are DynamoDB reserved words.
#[derive(Default)]
struct Expression {
    set: Vec<String>,
    remove: Vec<String>,
    conditions: Vec<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expression {
    /// The placeholder of attribute `name`.
    fn name(&mut self, name: &str) -> String {
        let placeholder = format!("#{name}");
        self.names.insert(placeholder.clone(), name.to_string());
        placeholder
    }

    /// The placeholder of `value`, called `:label`.
    fn value(&mut self, label: &str, value: AttributeValue) -> String {
        let placeholder = format!(":{label}");
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    /// `SET attribute = value`.
    fn set(&mut self, attribute: &str, value: AttributeValue) {
        let (name, value) = (self.name(attribute), self.value(attribute, value));
        self.set.push(format!("{name} = {value}"));
    }

    /// `SET attribute = attribute + by` (`by` may be negative).
    fn add(&mut self, attribute: &str, by: i128) {
        let (name, by) = (
            self.name(attribute),
            self.value(&format!("add_{attribute}"), n(by)),
        );
        self.set.push(format!("{name} = {name} + {by}"));
    }

    /// Condition `attribute <op> value`, where `value` is what the edit read.
    fn require(&mut self, attribute: &str, op: &str, value: AttributeValue) {
        let (name, value) = (
            self.name(attribute),
            self.value(&format!("read_{attribute}"), value),
        );
        self.conditions.push(format!("{name} {op} {value}"));
    }
}

fn head_update(
    table: &str,
    pk: &str,
    current: &Manifest,
    next: &Manifest,
    commit: &Commit,
) -> Result<TransactWriteItem> {
    let mut x = Expression::default();
    x.add("version", 1);
    if next.orphan_floor_ms != current.orphan_floor_ms {
        x.set("orphan_floor_ms", n(next.orphan_floor_ms));
    }
    if next.epoch != current.epoch {
        x.set("epoch", n(next.epoch.0));
    }
    if let Some(l) = next.leader.filter(|l| Some(*l) != current.leader) {
        x.set("leader_id", s(l.writer_id.0));
        x.set("lease_until_ms", n(l.lease_until_ms));
    }
    if next.next_offset != current.next_offset {
        x.set("next_offset", n(next.next_offset.0));
    }
    if let (
        SegmentIndex::External { segments, bytes },
        SegmentIndex::External {
            segments: s0,
            bytes: b0,
        },
    ) = (next.index, current.index)
        && (segments, bytes) != (s0, b0)
    {
        x.add("segments", i128::from(segments) - i128::from(s0));
        x.add("bytes", i128::from(bytes) - i128::from(b0));
    }
    if next.log_start_offset != current.log_start_offset {
        x.set("log_start_offset", n(next.log_start_offset.0));
    }
    if let Some(ms) = next.deleted_ms.filter(|_| current.deleted_ms.is_none()) {
        x.set("deleted_ms", n(ms));
    }
    if next.format_version != current.format_version {
        x.set("format_version", n(next.format_version));
    }
    // Only appends change it, and they are conditioned on the next offset and the epoch, so
    // the state an append checked batches against is the one it replaces.
    if next.producers != current.producers {
        x.set("producers", producers_value(&next.producers));
    }
    markers(&mut x, current, next, commit);
    conditions(&mut x, current, commit);
    let mut expression = format!("SET {}", x.set.join(", "));
    if !x.remove.is_empty() {
        expression.push_str(&format!(" REMOVE {}", x.remove.join(", ")));
    }
    let key = Item::from([
        ("pk".to_string(), s(pk)),
        ("sk".to_string(), s(crate::keys::HEAD_SK)),
    ]);
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key))
        .update_expression(expression)
        .condition_expression(x.conditions.join(" AND "))
        .set_expression_attribute_names(Some(x.names))
        .set_expression_attribute_values(Some(x.values))
        .build()
        .map_err(|e| Rejection::Invariant {
            partition: next.partition,
            reason: e.to_string(),
        })?;
    Ok(TransactWriteItem::builder().update(update).build())
}

/// Conditions the head update on what the edit read, and every edit on the partition not
/// being deleted (a topic delete conflicts with everything).
fn conditions(x: &mut Expression, current: &Manifest, commit: &Commit) {
    let deleted = x.name("deleted_ms");
    x.conditions
        .push(format!("attribute_not_exists({deleted})"));
    match &commit.edit {
        // A trim reads only the log start (the next offset it stays below only grows), so
        // it conflicts with appends and claims only over a writer marker it ages out.
        Edit::Trim { .. } => x.require("log_start_offset", "=", n(current.log_start_offset.0)),
        Edit::Append(a) => {
            x.require("epoch", "=", n(current.epoch.0));
            x.require("next_offset", "=", n(current.next_offset.0));
            // Refused if a job declared uploads this old orphaned (docs/design.md §6 rule 8).
            let oldest = a.segments.iter().map(|s| s.id.timestamp_ms()).min();
            if let Some(oldest) = oldest {
                x.require("orphan_floor_ms", "<=", n(oldest));
            }
        }
        Edit::Claim { .. } | Edit::Release { .. } => x.require("epoch", "=", n(current.epoch.0)),
        Edit::RaiseOrphanFloor { .. } => {
            x.require("orphan_floor_ms", "=", n(current.orphan_floor_ms));
        }
        // The segment items carry these edits' conditions (see `upkeep`); a compaction's new
        // segments must also pass the orphan floor, as an append's do.
        // `version > 0` fails on a head item that is gone (a deleted topic GC removed).
        Edit::Bury { .. } | Edit::Forget { .. } | Edit::DeleteTopic => {
            x.require("version", ">", n(0))
        }
        Edit::Replace(r) => {
            let added = r.new.iter().filter(|n| !r.old.iter().any(|o| o.id == n.id));
            let oldest = added.map(|s| s.id.timestamp_ms()).min().unwrap_or(0);
            x.require("orphan_floor_ms", "<=", n(oldest));
        }
    }
}

/// Sets this commit's marker and removes the markers `apply` aged out.
fn markers(x: &mut Expression, current: &Manifest, next: &Manifest, commit: &Commit) {
    if let Some(mine) = next.marker(commit.writer) {
        let writers = x.name("writers");
        x.names.insert("#me".into(), commit.writer.0.to_string());
        let marker = x.value("marker", marker_value(mine));
        x.set.push(format!("{writers}.#me = {marker}"));
    }
    let gone = current
        .writers
        .iter()
        .filter(|w| w.writer_id != commit.writer && next.marker(w.writer_id).is_none());
    for (i, w) in gone.enumerate() {
        let (writers, seq) = (x.name("writers"), x.name("seq"));
        let name = format!("#gone{i}");
        x.names.insert(name.clone(), w.writer_id.0.to_string());
        // Only the marker as read: its writer may have committed again meanwhile, and a
        // claim or release is not conditioned on anything that commit changed.
        let read_seq = x.value(&format!("gone{i}_seq"), n(w.commit_seq.0));
        x.conditions
            .push(format!("{writers}.{name}.{seq} = {read_seq}"));
        x.remove.push(format!("{writers}.{name}"));
    }
}

/// A client request token (at most 36 characters) for this commit on this head.
fn token(commit: &Commit, current: &Manifest) -> String {
    let parts = [
        commit.writer.0.0 as u64,
        (commit.writer.0.0 >> 64) as u64,
        commit.seq.0,
        current.version.0,
        current.next_offset.0,
        current.epoch.0,
    ];
    let hash = |seed: u64| {
        parts.iter().fold(seed, |h, p| {
            p.to_le_bytes()
                .iter()
                .fold(h, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
        })
    };
    format!(
        "{:016x}{:016x}",
        hash(0xcbf2_9ce4_8422_2325),
        hash(0x6c62_272e_07bb_0142)
    )
}

/// Whether a write of `commit` attempted on `attempted` can still take effect on a head now
/// at `now`: the attributes it was conditioned on only move forward.
pub(super) fn could_still_land(commit: &Commit, attempted: &Manifest, now: &Manifest) -> bool {
    if now.deleted_ms.is_some() {
        return false;
    }
    let same_epoch = now.epoch == attempted.epoch;
    match commit.edit {
        Edit::Append(_) => same_epoch && now.next_offset == attempted.next_offset,
        Edit::Claim { .. } | Edit::Release { .. } => same_epoch,
        Edit::Trim { .. } => now.log_start_offset == attempted.log_start_offset,
        Edit::RaiseOrphanFloor { .. } => now.orphan_floor_ms == attempted.orphan_floor_ms,
        // Conditioned on segment items, not the head: a failed condition is refused as
        // `Stale` at once, so only a lost race on the head item itself gets here.
        Edit::Bury { .. } | Edit::Replace(_) | Edit::Forget { .. } | Edit::DeleteTopic => true,
    }
}

//! A graveyard full of tombstones (issue 21 item 15): compaction adds no more to an inline
//! manifest holding `GRAVEYARD_MAX`, and says so (`waiting_for_gc`) rather than merging
//! nothing in silence; once GC deleted some, it merges again. DynamoDB keeps tombstones as
//! items, outside the head's budget: compaction never waits for GC there.

use silt_control::{CompactOptions, GRAVEYARD_MAX, GcOptions, run_compaction, run_gc};
use silt_core::clock::{Clock, SystemClock};
use silt_core::ids::{ObjectId, PartitionId};
use silt_core::manifest::{Tombstone, TombstoneKind};
use silt_core::record::Record;
use silt_core::store::Storage;
use silt_writer::Writer;

use super::super::{manifest, quick, scope, topic};
use super::edit_manifest_json;

const P: PartitionId = PartitionId(0);

pub async fn full_graveyard_says_gc_first(storage: Storage) {
    let name = topic(&storage, "crowded", 1).await;
    let writer = Writer::open(storage.clone(), &name, quick()).await.unwrap();
    for i in 0..4 {
        writer
            .append(P, vec![Record::from_value(format!("r{i}"), i)])
            .await
            .unwrap();
    }
    writer.close().await;
    let compact = CompactOptions {
        scope: scope(&name),
        ..CompactOptions::default()
    };
    if storage.manifest_table.is_some() {
        let report = run_compaction(&storage, &compact).await.unwrap();
        assert_eq!(
            (report.segments_merged, report.waiting_for_gc),
            (4, 0),
            "{report:?}"
        );
        return;
    }
    // Tombstones of objects removed long ago (the objects need not exist: GC's deletes are
    // idempotent), as many compactions without GC would leave.
    let tombstones: Vec<Tombstone> = (0..GRAVEYARD_MAX)
        .map(|_| Tombstone {
            id: ObjectId(SystemClock.new_ulid()),
            kind: TombstoneKind::Segment,
            removed_at_ms: 0,
        })
        .collect();
    let graveyard = serde_json::to_value(&tombstones).unwrap();
    edit_manifest_json(&storage, &name, P, |doc| doc["graveyard"] = graveyard).await;

    let waiting = run_compaction(&storage, &compact).await.unwrap();
    assert_eq!(
        (waiting.segments_merged, waiting.waiting_for_gc),
        (0, 1),
        "{waiting:?}"
    );
    assert!(waiting.failed.is_empty(), "{waiting:?}");
    assert_eq!(manifest(&storage, &name, P).await.segments.len(), 4);
    // GC deletes a few (a budget of ten), and compaction goes on.
    let gc = GcOptions {
        scope: scope(&name),
        reader_grace_ms: 0,
        max_deletes: 10,
        ..GcOptions::default()
    };
    let swept = run_gc(&storage, &gc).await.unwrap();
    assert_eq!(swept.deleted, 10, "{swept:?}");
    let merged = run_compaction(&storage, &compact).await.unwrap();
    assert_eq!(
        (merged.segments_merged, merged.waiting_for_gc),
        (4, 0),
        "{merged:?}"
    );
    let m = manifest(&storage, &name, P).await;
    assert_eq!(
        (m.segments.len(), m.graveyard.len()),
        (1, GRAVEYARD_MAX - 10 + 4)
    );
}

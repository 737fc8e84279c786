//! Segment ids swapped in a manifest or an index chunk, still valid JSON (issue 21 item 3):
//! each entry then leads to a sound segment holding other records. The reader and the jobs
//! check every segment against its entry, so it is refused as `Corrupt` naming the object,
//! compaction and sealing fail the partition and write nothing, and nothing is served at the
//! wrong offsets.

use aws_sdk_dynamodb::types::AttributeValue;
use silt_control::{CompactOptions, run_compaction};
use silt_core::ids::{PartitionId, TopicName};
use silt_core::keys::Keys;
use silt_core::manifest::{SegmentEntry, TAIL_SEAL_AT};
use silt_core::record::Record;
use silt_core::store::Storage;
use silt_writer::Writer;

use super::super::{manifest, quick, scope, segments, topic};
use super::{corrupt, edit_json, edit_manifest_json, partition_objects, read_partition, swap_ids};

const P: PartitionId = PartitionId(0);

/// Three segments of five records, the first two alike but for their timestamps; the first
/// two entries' ids swapped. Reading, compacting and sealing all refuse; swapped back, all
/// is well.
pub async fn swapped_segment_ids_are_refused(storage: Storage) {
    let name = topic(&storage, "swapped", 1).await;
    let writer = Writer::open(storage.clone(), &name, quick()).await.unwrap();
    for (batch, base_ts) in [(0, 100), (1, 200), (2, 300)] {
        let records = (0..5)
            .map(|i| Record::from_value(format!("b{batch}-{i}"), base_ts + i))
            .collect();
        writer.append(P, records).await.unwrap();
    }
    writer.close().await;
    let entries = segments(&storage, &name, P).await;
    assert_eq!(entries.len(), 3);
    swap_entry_ids(&storage, &name, &entries).await;
    let swapped = segments(&storage, &name, P).await;
    assert_eq!(
        (swapped[0].id, swapped[1].id),
        (entries[1].id, entries[0].id)
    );

    let e = corrupt(read_partition(&storage, &name, P).await);
    let fetched = storage.keys.segment(&name, P, entries[1].id);
    let says = format!(
        "corrupt segment at {fetched}: its oldest timestamp is 200, but its manifest entry says 100"
    );
    assert!(e.to_string().starts_with(&says), "{e}");
    compaction_refuses(&storage, &name, &swapped).await;
    storage
        .alter_topic(&name, |s| silt_core::topic::TopicSettings {
            seal_after_ms: Some(0),
            ..s.clone()
        })
        .await
        .unwrap();
    compaction_refuses(&storage, &name, &swapped).await;
    let tables = partition_objects(&storage, &name, P).await;
    assert!(
        !tables.iter().any(|k| k.ends_with(".parquet")),
        "{tables:?}"
    );

    swap_entry_ids(&storage, &name, &swapped).await;
    let values = read_partition(&storage, &name, P).await.unwrap();
    assert_eq!(values.len(), 15);
    assert_eq!((values[0].as_str(), values[5].as_str()), ("b0-0", "b1-0"));
}

/// 300 one-record segments, so an index chunk holds the oldest; two of its entries' ids
/// swapped in the chunk object. Manifests in DynamoDB have no chunks: nothing to swap there.
pub async fn swapped_ids_in_an_index_chunk_are_refused(storage: Storage) {
    if storage.manifest_table.is_some() {
        return;
    }
    let name = topic(&storage, "swapped-chunk", 1).await;
    let writer = Writer::open(storage.clone(), &name, quick()).await.unwrap();
    for i in 0..TAIL_SEAL_AT as i64 + 44 {
        let record = Record::from_value(format!("r{i:03}"), i);
        writer.append(P, vec![record]).await.unwrap();
    }
    writer.close().await;
    let chunk = manifest(&storage, &name, P).await.chunks[0];
    let key = storage.keys.index_chunk(&name, P, chunk.id);
    edit_json(&storage, &key, |doc| swap_ids(&mut doc["entries"], 0, 1)).await;
    // A fresh manifest store: no index chunk cached from before the damage.
    let storage = storage.with_objects(storage.objects.clone());
    let swapped = segments(&storage, &name, P).await;

    let e = corrupt(read_partition(&storage, &name, P).await);
    let fetched = storage.keys.segment(&name, P, swapped[0].id);
    let says = format!(
        "corrupt segment at {fetched}: its oldest timestamp is 1, but its manifest entry says 0"
    );
    assert!(e.to_string().starts_with(&says), "{e}");
    compaction_refuses(&storage, &name, &swapped).await;
}

/// Compaction (merging, and sealing where the topic asks) reports the partition failed on a
/// corrupt segment, and commits nothing: the entries are still `entries`.
async fn compaction_refuses(storage: &Storage, name: &TopicName, entries: &[SegmentEntry]) {
    let options = CompactOptions {
        scope: scope(name),
        ..CompactOptions::default()
    };
    let report = run_compaction(storage, &options).await.unwrap();
    assert_eq!(report.failed.len(), 1, "{report:?}");
    let failed = &report.failed[0];
    assert!(
        failed.starts_with(&format!("{name}/0: corrupt segment at ")),
        "{failed}"
    );
    assert!(failed.contains("its manifest entry says"), "{failed}");
    assert_eq!(
        (report.segments_written, report.cold_written),
        (0, 0),
        "{report:?}"
    );
    assert_eq!(segments(storage, name, P).await, entries);
}

/// Swaps the ids of the first two segment entries: in the manifest object, or in the
/// DynamoDB segment items.
async fn swap_entry_ids(storage: &Storage, name: &TopicName, entries: &[SegmentEntry]) {
    let Some(table) = &storage.manifest_table else {
        edit_manifest_json(storage, name, P, |doc| swap_ids(&mut doc["segments"], 0, 1)).await;
        return;
    };
    for (entry, id) in [(entries[0], entries[1].id), (entries[1], entries[0].id)] {
        table
            .client_ref()
            .update_item()
            .table_name(table.table())
            .key("pk", AttributeValue::S(table.pk(name, P)))
            .key("sk", AttributeValue::S(Keys::segment_sk(entry.base_offset)))
            .update_expression("SET id = :id")
            .expression_attribute_values(":id", AttributeValue::S(id.to_string()))
            .send()
            .await
            .unwrap();
    }
}

//! The partitioner setting (docs/design.md §4): a `kinesis-md5` topic places keyed records on
//! the partitions Kinesis would (MD5 hash-key ranges), its `topic.json` is format 3 so an
//! older silt refuses it, and it cannot be altered; a default topic keeps format 1.

use bytes::Bytes;
use silt_core::error::{Error, InvalidInput};
use silt_core::ids::PartitionId;
use silt_core::record::Record;
use silt_core::store::Storage;
use silt_core::topic::{PartitionerKind, TOPIC_PARTITIONER_FORMAT_VERSION, TopicSettings};
use silt_writer::Writer;

use super::{quick, read_all, topic, topic_with};

/// `(key, partition of 7)`: Python's `hashlib.md5`, placed by moto's Kinesis on 7 shards.
const PLACED: [(&str, u32); 5] = [
    ("a", 0),
    ("key", 1),
    ("user-42", 3),
    ("alice", 2),
    ("shard-me", 6),
];

/// Keys land where Kinesis puts them; the setting is stored, versioned and fixed.
pub async fn kinesis_md5_topics_place_keys_as_kinesis_does(storage: Storage) {
    let settings = TopicSettings {
        partitioner: PartitionerKind::KinesisMd5,
        ..TopicSettings::default()
    };
    let name = topic_with(&storage, "kinesis", 7, settings).await;
    let writer = Writer::open(storage.clone(), &name, quick()).await.unwrap();
    for (key, p) in PLACED {
        let record = Record {
            key: Some(Bytes::from(key)),
            ..Record::from_value(key, 1_000)
        };
        let ack = writer.send(record).await.unwrap().await.unwrap();
        assert_eq!(ack.partition, PartitionId(p), "{key}");
    }
    writer.close().await;
    for (key, p) in PLACED {
        let records = read_all(&storage, &name, PartitionId(p)).await;
        let keys: Vec<_> = records.iter().map(|(_, r)| r.key.clone()).collect();
        assert!(keys.contains(&Some(Bytes::from(key))), "{key} not on {p}");
    }

    let stored = storage.manifests.read_topic(&name).await.unwrap().unwrap();
    assert_eq!(stored.format_version, stored.settings.format_version());
    assert!(stored.format_version >= TOPIC_PARTITIONER_FORMAT_VERSION);
    assert_eq!(stored.settings.partitioner, PartitionerKind::KinesisMd5);
    let moved = storage
        .alter_topic(&name, |s| TopicSettings {
            partitioner: PartitionerKind::Murmur2,
            ..s.clone()
        })
        .await;
    assert!(
        matches!(
            moved,
            Err(Error::Invalid(InvalidInput::Setting {
                field: "partitioner",
                ..
            }))
        ),
        "{moved:?}"
    );
    let kept = storage.topic(&name).await.unwrap();
    assert_eq!(kept.settings.partitioner, PartitionerKind::KinesisMd5);

    let plain = topic(&storage, "murmur", 3).await;
    let stored = storage.manifests.read_topic(&plain).await.unwrap().unwrap();
    let layout_only = TopicSettings {
        manifest_group_size: stored.settings.manifest_group_size,
        ..TopicSettings::default()
    };
    assert_eq!(stored.format_version, layout_only.format_version());
    assert!(stored.format_version != TOPIC_PARTITIONER_FORMAT_VERSION);
    let json = String::from_utf8(stored.encode()).unwrap();
    assert!(!json.contains("partitioner"), "{json}");
}

//! The object-key layout (docs/design.md §4). This is the only module that formats keys; nothing
//! else builds a path by hand.
//!
//! ```text
//! <root>/topics/<topic>/topic.json                      topic config (conditional create)
//! <root>/topics/<topic>/<partition:05>/manifest         partition manifest (object-store manifests)
//! <root>/topics/<topic>/manifests/<group:05>            manifests of a group of partitions (§19)
//! <root>/topics/<topic>/mixed/<id>.mix                 mixed objects: segments of several partitions
//! <root>/topics/<topic>/mixed-swept                     GC's hint: where the sweep of mixed/ resumes
//! <root>/topics/<topic>/<partition:05>/seg/<id>.seg     hot segments, immutable
//! <root>/topics/<topic>/<partition:05>/idx/<id>.idx     sealed manifest chunks, immutable
//! <root>/topics/<topic>/<partition:05>/orphans-swept    GC's hint: where the orphan sweep resumes
//! <root>/topics/<topic>/<partition:05>/cleaned-to       key compaction's checkpoint
//! <root>/_probe/<id>                                    conditional-write capability probe
//! <root>/_producers/next-id                            next unreserved Kafka producer id (CAS record)
//! <root>/_agent/secret                                  the agents' shared key (conditional create)
//! <root>/group-index/<group>                           a consumer group's entry in the list of groups
//! <root>/groups/<group>/group.json                      consumer group document (docs/consumer-groups.md)
//! <root>/groups/<group>/classic.json                    a Kafka classic group's state
//! <root>/groups/<group>/members/<member id>             a member's heartbeat
//! <root>/groups/<group>/offsets/<topic>/<partition:05>  a partition's lease and committed offset
//! <root>/tables/topic=<topic>/partition=<p>/dt=<yyyy-mm-dd>/<first:020>-<last:020>-<id>.parquet
//!                                                       cold segments (Parquet)
//! ```

use object_store::path::Path;

use crate::ids::{Day, GroupName, ObjectId, Offset, PartitionId, TopicName};
use crate::manifest::SegmentEntry;

/// Formats every key under one root prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    root: Path,
}

impl Keys {
    /// Keys under `root` (empty for the store's root).
    pub fn new(root: Path) -> Keys {
        Keys { root }
    }

    /// The root prefix.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Folder holding all topics (listed by `topic list`).
    pub fn topics(&self) -> Path {
        self.root.clone().join("topics")
    }

    /// Folder of one topic.
    pub fn topic(&self, topic: &TopicName) -> Path {
        self.topics().join(topic.as_str())
    }

    /// The topic's configuration document.
    pub fn topic_config(&self, topic: &TopicName) -> Path {
        self.topic(topic).join("topic.json")
    }

    /// Folder of one partition.
    pub fn partition(&self, topic: &TopicName, partition: PartitionId) -> Path {
        self.topic(topic).join(format!("{:05}", partition.0))
    }

    /// The partition manifest (object-store and local-directory manifest stores).
    pub fn manifest(&self, topic: &TopicName, partition: PartitionId) -> Path {
        self.partition(topic, partition).join("manifest")
    }

    /// A manifest group: the manifests of several partitions (`GroupedManifestStore`).
    pub fn manifest_group(&self, topic: &TopicName, group: u32) -> Path {
        self.manifest_groups(topic).join(format!("{group:05}"))
    }

    /// Folder of a topic's manifest groups.
    pub fn manifest_groups(&self, topic: &TopicName) -> Path {
        self.topic(topic).join("manifests")
    }

    /// Where the manifests of `topic`, with `partitions` partitions and manifest groups of
    /// `group_size` (`None`: one object per partition), live on an object store.
    pub fn manifest_objects(
        &self,
        topic: &TopicName,
        partitions: u32,
        group_size: Option<u32>,
    ) -> Vec<Path> {
        match group_size {
            Some(size) => (0..partitions.div_ceil(size.max(1)))
                .map(|g| self.manifest_group(topic, g))
                .collect(),
            None => (0..partitions)
                .map(|p| self.manifest(topic, PartitionId(p)))
                .collect(),
        }
    }

    /// A hot segment.
    pub fn segment(&self, topic: &TopicName, partition: PartitionId, id: ObjectId) -> Path {
        self.partition(topic, partition)
            .join("seg")
            .join(format!("{id}.seg"))
    }

    /// A sealed index chunk.
    pub fn index_chunk(&self, topic: &TopicName, partition: PartitionId, id: ObjectId) -> Path {
        self.partition(topic, partition)
            .join("idx")
            .join(format!("{id}.idx"))
    }

    /// GC's orphan-sweep hint: up to which object id time the last sweep went. Only an
    /// optimisation: without it the sweep lists everything.
    pub fn orphan_sweep_hint(&self, topic: &TopicName, partition: PartitionId) -> Path {
        self.partition(topic, partition).join("orphans-swept")
    }

    /// Key compaction's checkpoint: the offset its next run continues from.
    pub fn cleaned_to(&self, topic: &TopicName, partition: PartitionId) -> Path {
        self.partition(topic, partition).join("cleaned-to")
    }

    /// Folder of all cold segments: the root analysts query.
    pub fn tables(&self) -> Path {
        self.root.clone().join("tables")
    }

    /// Folder of one topic's cold segments (Hive-style).
    pub fn topic_table(&self, topic: &TopicName) -> Path {
        self.tables().join(format!("topic={topic}"))
    }

    /// Folder of one partition's cold segments.
    pub fn partition_table(&self, topic: &TopicName, partition: PartitionId) -> Path {
        self.topic_table(topic)
            .join(format!("partition={}", partition.0))
    }

    /// A cold segment: named by its offset range and a unique id, so no write ever replaces
    /// an existing file.
    pub fn cold_segment(
        &self,
        topic: &TopicName,
        partition: PartitionId,
        day: Day,
        first: Offset,
        last: Offset,
        id: ObjectId,
    ) -> Path {
        self.partition_table(topic, partition)
            .join(format!("dt={day}"))
            .join(format!("{:020}-{:020}-{id}.parquet", first.0, last.0))
    }

    /// A mixed object: one segment of each of several partitions of `topic`, one flush of
    /// one writer (docs/design.md §19).
    pub fn mixed(&self, topic: &TopicName, id: ObjectId) -> Path {
        self.topic(topic).join("mixed").join(format!("{id}.mix"))
    }

    /// The folder of a topic's mixed objects.
    pub fn mixed_folder(&self, topic: &TopicName) -> Path {
        self.topic(topic).join("mixed")
    }

    /// GC's hint for the sweep of a topic's mixed objects: up to which object id time the last
    /// sweep went. Only an optimisation: without it the sweep lists everything.
    pub fn mixed_sweep_hint(&self, topic: &TopicName) -> Path {
        self.topic(topic).join("mixed-swept")
    }

    /// The object of a committed segment: hot, a mixed object holding it, or cold.
    pub fn segment_object(
        &self,
        topic: &TopicName,
        partition: PartitionId,
        entry: &SegmentEntry,
    ) -> Path {
        match entry.cold_day {
            None if entry.is_mixed() => self.mixed(topic, entry.id),
            None => self.segment(topic, partition, entry.id),
            Some(day) => self.cold_segment(
                topic,
                partition,
                day,
                entry.base_offset,
                entry.last_offset(),
                entry.id,
            ),
        }
    }

    /// The object id in a file name silt wrote (`<id>.seg`, `<id>.idx`, `<id>.mix`,
    /// `<first>-<last>-<id>.parquet`); `None` for any other name.
    pub fn object_id_of(file_name: &str) -> Option<ObjectId> {
        let (stem, ext) = file_name.rsplit_once('.')?;
        let id = match ext {
            "seg" | "idx" | "mix" => stem,
            "parquet" => stem.rsplit_once('-')?.1,
            _ => return None,
        };
        id.parse().ok().map(ObjectId)
    }

    /// DynamoDB partition key of a partition's head and segment items: the store's namespace
    /// (such as `s3://bucket`) and the partition's folder, so stores may share a table.
    pub fn partition_pk(
        &self,
        namespace: &str,
        topic: &TopicName,
        partition: PartitionId,
    ) -> String {
        format!("{namespace}/{}", self.partition(topic, partition))
    }

    /// DynamoDB partition key of the topic configuration items (sort key: the topic name).
    pub fn topics_pk(&self, namespace: &str) -> String {
        format!("{namespace}/{}", self.topics())
    }

    /// DynamoDB sort key of the segment item whose first record is `base` (sorts by offset).
    pub fn segment_sk(base: Offset) -> String {
        format!("{SEGMENT_SK_PREFIX}{:020}", base.0)
    }

    /// DynamoDB sort key of the graveyard item of object `id`.
    pub fn graveyard_sk(id: ObjectId) -> String {
        format!("{GRAVEYARD_SK_PREFIX}{id}")
    }

    /// Folder of the producer id counter: the scope of its CAS record (`crate::producer_ids`).
    pub fn producers(&self) -> Path {
        self.root.clone().join("_producers")
    }

    /// Folder of all consumer groups.
    pub fn groups(&self) -> Path {
        self.root.clone().join("groups")
    }

    /// Folder of the list of consumer groups: one record per group, named by the group (a
    /// DynamoDB table cannot list the groups' own partition keys without a scan).
    pub fn group_index(&self) -> Path {
        self.root.clone().join("group-index")
    }

    /// Folder of one consumer group: the scope of its records (`crate::store::cas`).
    pub fn group(&self, group: &GroupName) -> Path {
        self.groups().join(group.as_str())
    }

    /// Name, within its group's folder, of the group document.
    pub fn group_document_name() -> String {
        "group.json".to_string()
    }

    /// Name, within its group's folder, of a Kafka classic group's state.
    pub fn group_classic_name() -> String {
        "classic.json".to_string()
    }

    /// Name, within its group's folder, of a member's heartbeat.
    pub fn group_member_name(member: &str) -> String {
        format!("members/{member}")
    }

    /// Name, within its group's folder, of a partition's lease and committed offset.
    pub fn group_offset_name(topic: &TopicName, partition: PartitionId) -> String {
        format!("offsets/{topic}/{:05}", partition.0)
    }

    /// DynamoDB partition key of the items of a scope (a group's folder): the store's
    /// namespace and the folder, as for partitions.
    pub fn scope_pk(namespace: &str, scope: &Path) -> String {
        format!("{namespace}/{scope}")
    }

    /// A scratch object of the conditional-write probe.
    pub fn probe(&self, id: ObjectId) -> Path {
        self.root.clone().join("_probe").join(id.to_string())
    }

    /// Where agents announce their Kafka listeners (`<root>/_agents/<hex of host:port>`, one
    /// small object each, rewritten as a heartbeat; the listing's timestamps say who is live).
    pub fn agents(&self) -> Path {
        self.root.clone().join("_agents")
    }

    /// The key every agent of the store shares, to seal what it hands to clients.
    pub fn agent_secret(&self) -> Path {
        self.root.clone().join("_agent").join("secret")
    }
}

/// DynamoDB sort key of a partition's head item.
pub const HEAD_SK: &str = "H";
/// DynamoDB sort-key prefix of segment items.
pub const SEGMENT_SK_PREFIX: &str = "S#";
/// DynamoDB sort-key prefix of graveyard items.
pub const GRAVEYARD_SK_PREFIX: &str = "G#";

#[cfg(test)]
mod tests {
    use super::*;
    use ulid::Ulid;

    #[test]
    fn layout_matches_the_design() {
        let keys = Keys::new(Path::from("prefix"));
        let t = TopicName::new("orders").unwrap();
        let id = ObjectId(Ulid::from_parts(0, 1));
        assert_eq!(
            keys.topic_config(&t).as_ref(),
            "prefix/topics/orders/topic.json"
        );
        assert_eq!(
            keys.manifest(&t, PartitionId(7)).as_ref(),
            "prefix/topics/orders/00007/manifest"
        );
        assert_eq!(
            keys.segment(&t, PartitionId(7), id).as_ref(),
            format!("prefix/topics/orders/00007/seg/{id}.seg")
        );
        assert_eq!(
            keys.mixed(&t, id).as_ref(),
            format!("prefix/topics/orders/mixed/{id}.mix")
        );
        assert_eq!(
            keys.mixed_sweep_hint(&t).as_ref(),
            "prefix/topics/orders/mixed-swept"
        );
        assert_eq!(Keys::new(Path::default()).topics().as_ref(), "topics");
        for key in [
            keys.mixed(&t, id),
            keys.segment(&t, PartitionId(7), id),
            keys.index_chunk(&t, PartitionId(7), id),
            keys.cold_segment(&t, PartitionId(7), Day(0), Offset(5), Offset(9), id),
        ] {
            assert_eq!(Keys::object_id_of(key.filename().unwrap()), Some(id));
        }
        assert_eq!(Keys::object_id_of("notes.txt"), None);
        let g = GroupName::new("billing").unwrap();
        assert_eq!(keys.group(&g).as_ref(), "prefix/groups/billing");
        assert_eq!(
            Keys::group_offset_name(&t, PartitionId(7)),
            "offsets/orders/00007"
        );
        assert_eq!(
            keys.cold_segment(&t, PartitionId(7), Day(0), Offset(5), Offset(9), id)
                .as_ref(),
            format!(
                "prefix/tables/topic=orders/partition=7/dt=1970-01-01/\
                 {:020}-{:020}-{id}.parquet",
                5, 9
            )
        );
    }
}

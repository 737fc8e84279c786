//! Topics: a name, an id that tells incarnations apart, a partition count and settings, kept by
//! the manifest store (`topics/<name>/topic.json` written once with a conditional create, or a
//! DynamoDB item). Creating a topic also creates each partition's manifest; writers create any
//! that a crash left missing. A topic whose configuration is gone while its manifests
//! remain is damaged: reading it and creating it again are both refused, naming the missing
//! object and the repair. Deleting a topic (`delete`) turns its configuration into a tombstone.

use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use crate::error::{Corruption, Error, InvalidInput, Result};
use crate::ids::{PartitionId, TopicId, TopicName, validate_partition_count};
use crate::store::Storage;

mod delete;
mod partitioning;

pub use delete::Deletion;
pub use partitioning::{PartitionerKind, hash_key_range, parse_hash_key, partition_for_hash_key};

/// Partition manifests `create_topic` creates at once: a topic may have 10 000 partitions,
/// and that many requests at once would exhaust sockets and memory and draw throttling.
pub const MANIFEST_CREATES_IN_FLIGHT: usize = 32;

/// Conditional writes `alter_topic` tries before giving up with `TopicContended`.
const ALTER_ATTEMPTS: u32 = 20;

/// Format version of `topic.json` for a live topic.
pub const TOPIC_FORMAT_VERSION: u32 = 1;
/// Format version of a deleted topic's tombstone: newer, so a silt from before topic deletion
/// refuses the name (`FutureFormat`) instead of taking the tombstone for a live topic.
pub const TOPIC_TOMBSTONE_FORMAT_VERSION: u32 = 2;
/// Format version of a live topic whose partitioner is not the default: newer than both, so
/// a silt from before partitioners refuses it (`FutureFormat`) instead of placing its keys
/// with murmur2. Topics with the default partitioner keep version 1.
pub const TOPIC_PARTITIONER_FORMAT_VERSION: u32 = 3;
/// Format version of a live topic whose manifests are kept in groups (`manifest_group_size`):
/// newer again, so a silt from before manifest groups refuses it (`FutureFormat`) instead of
/// looking for one manifest object per partition and finding none.
pub const TOPIC_MANIFEST_GROUPS_FORMAT_VERSION: u32 = 4;
/// The newest `topic.json` format this silt reads.
pub const NEWEST_TOPIC_FORMAT_VERSION: u32 = TOPIC_MANIFEST_GROUPS_FORMAT_VERSION;
/// Largest `manifest_group_size`: a group object holds up to this many manifests, and every
/// commit to any of them rewrites it.
pub const MANIFEST_GROUP_SIZE_MAX: u32 = 64;

/// Settings a topic is created with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicSettings {
    /// Records older than this may be removed by retention (`None`: keep forever).
    #[serde(default)]
    pub retention_ms: Option<i64>,
    /// A partition larger than this may lose its oldest segments (`None`: no limit).
    #[serde(default)]
    pub retention_bytes: Option<u64>,
    /// Whether compaction also keeps only the newest record per key (Kafka's
    /// `cleanup.policy`); retention applies either way.
    #[serde(default)]
    pub cleanup_policy: CleanupPolicy,
    /// Key compaction leaves segments holding a record younger than this alone
    /// (`min.compaction.lag.ms`; `None`: 0).
    #[serde(default)]
    pub min_compaction_lag_ms: Option<i64>,
    /// How long key compaction keeps a tombstone (a keyed record with no value) after its
    /// timestamp, so consumers see the delete (`delete.retention.ms`; `None`: one day).
    #[serde(default)]
    pub delete_retention_ms: Option<i64>,
    /// Compaction seals committed records older than this into cold segments (Parquet under
    /// `tables/`), for analysts and long retention; 0 seals everything at the next run
    /// (`None`: never).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal_after_ms: Option<i64>,
    /// How keyed records are placed on partitions; fixed at create (changing it would move
    /// keys). Left out of `topic.json` when it is the default, `murmur2`.
    #[serde(default, skip_serializing_if = "PartitionerKind::is_default")]
    pub partitioner: PartitionerKind,
    /// Partitions whose manifests share one object on an object store, so a writer commits
    /// to all of them with one conditional write (docs/design.md §19, Manifest groups); fixed
    /// at create. `None`: one manifest object per partition. Manifests in DynamoDB ignore it
    /// (their commits to many partitions already share a transaction).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_group_size: Option<u32>,
}

/// What compaction does to a topic's old records (Kafka's `cleanup.policy`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CleanupPolicy {
    /// Records go only by retention; compaction merges segments, keeping every record.
    #[default]
    Delete,
    /// Compaction also removes every keyed record a newer one with the same key supersedes,
    /// and tombstones after `delete_retention_ms`; offsets of the records kept never change.
    Compact,
}

/// Default `delete_retention_ms` (Kafka's default).
pub const DELETE_RETENTION_MS: i64 = 24 * 60 * 60 * 1000;

impl TopicSettings {
    /// Refuses settings the jobs cannot honour (a retention time or size of zero or less, a
    /// negative lag).
    pub fn validate(&self) -> Result<(), InvalidInput> {
        if let Some(ms) = self.retention_ms.filter(|ms| *ms < 1) {
            return Err(InvalidInput::Setting {
                field: "retention_ms",
                value: ms.to_string(),
                rule: "at least 1 (leave it unset to keep records forever)",
            });
        }
        if let Some(bytes) = self.retention_bytes.filter(|b| *b < 1) {
            return Err(InvalidInput::Setting {
                field: "retention_bytes",
                value: bytes.to_string(),
                rule: "at least 1 (leave it unset for no size limit)",
            });
        }
        let lags = [
            ("min_compaction_lag_ms", self.min_compaction_lag_ms),
            ("delete_retention_ms", self.delete_retention_ms),
            ("seal_after_ms", self.seal_after_ms),
        ];
        if let Some(size) = self
            .manifest_group_size
            .filter(|s| !(1..=MANIFEST_GROUP_SIZE_MAX).contains(s))
        {
            return Err(InvalidInput::Setting {
                field: "manifest_group_size",
                value: size.to_string(),
                rule: "from 1 to 64 (leave it unset for one manifest object per partition)",
            });
        }
        if let Some((field, Some(ms))) =
            lags.into_iter().find(|(_, ms)| ms.is_some_and(|ms| ms < 0))
        {
            return Err(InvalidInput::Setting {
                field,
                value: ms.to_string(),
                rule: "at least 0",
            });
        }
        Ok(())
    }

    /// The oldest `topic.json` format that holds these settings: a silt that only knows older
    /// formats must refuse the topic rather than misread it.
    pub fn format_version(&self) -> u32 {
        if self.manifest_group_size.is_some() {
            return TOPIC_MANIFEST_GROUPS_FORMAT_VERSION;
        }
        match self.partitioner {
            PartitionerKind::Murmur2 => TOPIC_FORMAT_VERSION,
            PartitionerKind::KinesisMd5 => TOPIC_PARTITIONER_FORMAT_VERSION,
        }
    }
}

/// The stored topic document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicConfig {
    /// Format of this document.
    pub format_version: u32,
    /// The topic's name.
    pub name: TopicName,
    /// This incarnation's id; every manifest carries it.
    pub topic_id: TopicId,
    /// Number of partitions.
    pub partitions: u32,
    /// When it was created.
    pub created_ms: i64,
    /// Settings.
    #[serde(default)]
    pub settings: TopicSettings,
    /// Set once the topic was deleted: this document is then its tombstone
    /// (docs/design.md §4.1), and the topic is unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<Deletion>,
}

impl TopicConfig {
    /// A live topic's configuration, in the oldest format that holds its settings.
    pub fn live(
        name: TopicName,
        topic_id: TopicId,
        partitions: u32,
        created_ms: i64,
        settings: TopicSettings,
    ) -> TopicConfig {
        TopicConfig {
            format_version: settings.format_version(),
            name,
            topic_id,
            partitions,
            created_ms,
            settings,
            deleted: None,
        }
    }

    /// Checks that `partition` exists in this topic.
    pub fn check_partition(&self, partition: PartitionId) -> Result<PartitionId, InvalidInput> {
        if partition.0 >= self.partitions {
            return Err(InvalidInput::PartitionOutOfRange {
                topic: self.name.clone(),
                partition,
                partitions: self.partitions,
            });
        }
        Ok(partition)
    }

    /// All partition ids.
    pub fn partition_ids(&self) -> impl Iterator<Item = PartitionId> + use<> {
        (0..self.partitions).map(PartitionId)
    }
}

impl TopicConfig {
    /// The stored bytes (JSON), as in `topic.json` or a DynamoDB topic item.
    pub fn encode(&self) -> Vec<u8> {
        // Plain strings and numbers always serialise; an empty config would be unreadable.
        serde_json::to_vec_pretty(self).expect("a topic config serialises to JSON")
    }

    /// Decodes and validates the configuration of `name` read from `location`.
    pub fn decode(bytes: &[u8], name: &TopicName, location: &str) -> Result<TopicConfig> {
        let corrupt = |reason: String| Corruption {
            what: "topic config",
            location: location.to_string(),
            reason,
        };
        let config: TopicConfig =
            serde_json::from_slice(bytes).map_err(|e| corrupt(e.to_string()))?;
        if config.format_version > NEWEST_TOPIC_FORMAT_VERSION {
            return Err(Error::FutureFormat {
                what: "topic config",
                location: location.to_string(),
                found: config.format_version,
                supported: NEWEST_TOPIC_FORMAT_VERSION,
            });
        }
        if &config.name != name {
            return Err(corrupt(format!("names topic {}", config.name)).into());
        }
        validate_partition_count(config.partitions).map_err(|e| corrupt(e.to_string()))?;
        Ok(config)
    }
}

impl Storage {
    /// Creates a topic and its partition manifests, [`MANIFEST_CREATES_IN_FLIGHT`] at a time;
    /// fails with `TopicExists` if the name is taken, and with `TopicBeingDeleted` while a
    /// deleted topic of that name still has data. The tombstone of one whose data GC removed
    /// is replaced (conditionally), with a new topic id.
    pub async fn create_topic(
        &self,
        name: &TopicName,
        partitions: u32,
        settings: TopicSettings,
    ) -> Result<TopicConfig> {
        let existing = self.manifests.read_topic(name).await?;
        match &existing {
            None => self.refuse_damaged(name).await?,
            Some(c) if c.deleted.is_some_and(|d| !d.purged) => {
                return Err(Error::TopicBeingDeleted(name.clone()));
            }
            Some(_) => {}
        }
        let settings = TopicSettings {
            manifest_group_size: (settings.manifest_group_size)
                .or(self.default_manifest_group_size()),
            ..settings
        };
        settings.validate()?;
        let config = TopicConfig::live(
            name.clone(),
            TopicId(self.clock.new_ulid()),
            validate_partition_count(partitions)?,
            self.clock.now_ms(),
            settings,
        );
        let stored = match existing.filter(|c| c.deleted.is_some()) {
            Some(purged) => self.replace_purged(&purged, &config).await?,
            None => self.manifests.create_topic(&config).await?,
        };
        if stored.topic_id != config.topic_id {
            return Err(match stored.deleted {
                Some(_) => Error::TopicBeingDeleted(name.clone()),
                None => Error::TopicExists(name.clone()),
            });
        }
        futures::stream::iter(config.partition_ids())
            .map(|p| self.manifests.create(name, p, config.topic_id))
            .buffer_unordered(MANIFEST_CREATES_IN_FLIGHT)
            .try_for_each(|_| async { Ok(()) })
            .await?;
        Ok(config)
    }

    /// Writes `config` over the tombstone `purged` if it is still there; returns what the
    /// name holds then (our config after a write whose answer was lost, too).
    async fn replace_purged(
        &self,
        purged: &TopicConfig,
        config: &TopicConfig,
    ) -> Result<TopicConfig> {
        if self.manifests.replace_topic(purged, config).await? {
            return Ok(config.clone());
        }
        let stored = self.manifests.read_topic(&config.name).await?;
        stored.ok_or_else(|| Error::TopicExists(config.name.clone()))
    }

    /// Reads a topic's configuration.
    pub async fn topic(&self, name: &TopicName) -> Result<TopicConfig> {
        match self.manifests.read_topic(name).await? {
            Some(config) if config.deleted.is_none() => Ok(config),
            Some(_) => Err(Error::UnknownTopic(name.clone())),
            None => {
                self.refuse_damaged(name).await?;
                Err(Error::UnknownTopic(name.clone()))
            }
        }
    }

    /// For a topic without a configuration: fails with `TopicConfigMissing` when partition
    /// 0's manifest (which every incarnation has) or a manifest group remains. Such a topic is
    /// damaged, neither usable nor free to create again (a new configuration would not match
    /// its manifests).
    async fn refuse_damaged(&self, name: &TopicName) -> Result<()> {
        let p = PartitionId(0);
        // A topic with manifest groups keeps them in a folder of their own; without its
        // configuration the store looks for one object per partition, so look there first.
        let groups = self.keys.manifest_groups(name);
        let manifest = match self.objects.list(Some(&groups)).next().await {
            Some(listed) => listed?.location.to_string(),
            None => match self.manifests.read(name, p).await? {
                Some(_) => self.manifests.manifest_location(name, p),
                None => return Ok(()),
            },
        };
        Err(Error::TopicConfigMissing {
            topic: name.clone(),
            location: self.keys.topic_config(name).to_string(),
            manifest,
            folder: format!("{}/", self.keys.topic(name)),
        })
    }

    /// Names of all topics, sorted; deleted ones are left out (a name whose configuration is
    /// missing stays, so its damage is reported where it is used).
    pub async fn list_topics(&self) -> Result<Vec<TopicName>> {
        let live = self.list_topic_configs().await?;
        Ok(live.into_iter().map(|(name, _)| name).collect())
    }

    /// [`Storage::list_topics`] with each topic's configuration as read by the listing: `None`
    /// for a name without one (an empty folder, or a damaged topic: [`Storage::topic`] tells
    /// which). Callers need not read each configuration again.
    pub async fn list_topic_configs(&self) -> Result<Vec<(TopicName, Option<TopicConfig>)>> {
        let listed = self.listed_topics().await?;
        Ok(listed
            .into_iter()
            .filter(|(_, c)| c.as_ref().is_none_or(|c| c.deleted.is_none()))
            .collect())
    }

    /// Every listed name with its configuration (tombstones too), sorted by name.
    async fn listed_topics(&self) -> Result<Vec<(TopicName, Option<TopicConfig>)>> {
        let names = self.manifests.list_topics().await?;
        futures::stream::iter(names)
            .map(|name| async move {
                let config = self.manifests.read_topic(&name).await?;
                Ok::<_, Error>((name, config))
            })
            .buffered(MANIFEST_CREATES_IN_FLIGHT)
            .try_collect()
            .await
    }

    /// Changes a topic's settings with `change` (retention takes the new ones on its next
    /// run). A conditional write: when another change lands first, `change` is applied again
    /// to what it wrote, and after an ambiguous write it may be applied to its own result, so
    /// `change` must be idempotent (set values; do not add to them). The partitioner cannot
    /// change (`InvalidInput::Setting`): keys would move to other partitions.
    pub async fn alter_topic(
        &self,
        name: &TopicName,
        change: impl Fn(&TopicSettings) -> TopicSettings,
    ) -> Result<TopicConfig> {
        for _ in 0..ALTER_ATTEMPTS {
            let current = self.topic(name).await?;
            let next = TopicConfig {
                settings: change(&current.settings),
                ..current.clone()
            };
            next.settings.validate()?;
            refuse_new_layout(&current.settings, &next.settings)?;
            if next == current || self.manifests.replace_topic(&current, &next).await? {
                return Ok(next);
            }
        }
        Err(Error::TopicContended {
            topic: name.clone(),
            attempts: ALTER_ATTEMPTS,
        })
    }
}

/// Refuses a change of partitioner (records already written would sit on partitions their
/// keys no longer map to) or of manifest groups (the manifests would not be where they are).
fn refuse_new_layout(current: &TopicSettings, next: &TopicSettings) -> Result<()> {
    if next.partitioner != current.partitioner {
        return Err(InvalidInput::Setting {
            field: "partitioner",
            value: next.partitioner.to_string(),
            rule: "fixed when the topic is created (changing it would move keys to other partitions): create a new topic with it and copy the records",
        }
        .into());
    }
    if next.manifest_group_size != current.manifest_group_size {
        return Err(InvalidInput::Setting {
            field: "manifest_group_size",
            value: format!("{:?}", next.manifest_group_size),
            rule: "fixed when the topic is created: create a new topic with it and copy the records",
        }
        .into());
    }
    Ok(())
}

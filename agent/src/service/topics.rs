//! Topic administration: create, list, describe, alter, delete.

use silt_core::error::Error;
use silt_core::ids::{Offset, PartitionId, TopicName};
use silt_core::manifest::Manifest;
use silt_core::topic::{TopicConfig, TopicSettings};

use crate::service::LogService;

/// One partition as `describe` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionSummary {
    /// The partition.
    pub partition: PartitionId,
    /// Its first readable offset.
    pub log_start_offset: Offset,
    /// The offset the next record gets (the high watermark).
    pub next_offset: Offset,
    /// Segments (hot and cold) holding it.
    pub segments: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// A topic with the state of each partition.
#[derive(Debug, Clone)]
pub struct TopicSummary {
    /// Its configuration.
    pub config: TopicConfig,
    /// Each partition, in order.
    pub partitions: Vec<PartitionSummary>,
}

impl LogService {
    /// Creates a topic; `TopicExists` if the name is taken.
    pub async fn create_topic(
        &self,
        name: &TopicName,
        partitions: u32,
        settings: TopicSettings,
    ) -> Result<TopicConfig, Error> {
        let config = self
            .storage
            .create_topic(name, partitions, settings)
            .await?;
        // A topic of this name cached before (since deleted) is another topic.
        self.forget(name);
        Ok(config)
    }

    /// The topic's configuration as this agent has it cached (read once, when the topic was
    /// first used): what a protocol needs to place records or name partitions without a
    /// request to the store each time.
    pub async fn cached_topic(&self, name: &TopicName) -> Result<TopicConfig, Error> {
        let reader = self.reader(name).await?;
        Ok(reader.topic().clone())
    }

    /// Names of the topics that can be used (damaged ones are left out), sorted.
    pub async fn list_topics(&self) -> Result<Vec<TopicName>, Error> {
        let listed = self.storage.list_topic_configs().await?;
        Ok(listed
            .into_iter()
            .filter_map(|(name, config)| config.map(|_| name))
            .collect())
    }

    /// The topic's configuration and each partition's offsets, segments and bytes.
    pub async fn describe(&self, name: &TopicName) -> Result<TopicSummary, Error> {
        let config = self.storage.topic(name).await?;
        let mut partitions = Vec::with_capacity(config.partitions as usize);
        for p in config.partition_ids() {
            let m = match self.storage.manifests.read(name, p).await? {
                Some(s) => (*s.manifest).clone(),
                None => Manifest::new(config.topic_id, p),
            };
            partitions.push(PartitionSummary {
                partition: p,
                log_start_offset: m.log_start_offset,
                next_offset: m.next_offset,
                segments: m.segment_count(),
                bytes: m.segment_bytes(),
            });
        }
        Ok(TopicSummary { config, partitions })
    }

    /// Deletes a topic (its data is removed by the next `gc run`); `UnknownTopic` if there is
    /// none. This agent forgets it at once; others at their next request to it.
    pub async fn delete_topic(&self, name: &TopicName) -> Result<TopicConfig, Error> {
        let deleted = self.storage.delete_topic(name).await;
        self.forget(name);
        deleted
    }

    /// Changes the topic's settings with `change` (see [`silt_core::store::Storage::alter_topic`]).
    pub async fn alter_topic(
        &self,
        name: &TopicName,
        change: impl Fn(&TopicSettings) -> TopicSettings,
    ) -> Result<TopicConfig, Error> {
        self.storage.alter_topic(name, change).await
    }
}

//! Deleting a topic (docs/design.md §4.1), in two conditional steps:
//!
//! 1. `topic.json` (or the DynamoDB topic item) is replaced, conditioned on the configuration
//!    read, by a tombstone naming the deleted incarnation: from then on `Storage::topic`,
//!    `list_topics`, readers and new writers see an unknown topic, and the name cannot be
//!    created again (`TopicBeingDeleted`);
//! 2. every partition's manifest is marked deleted with a `DeleteTopic` commit, so a writer
//!    or reader still open on the topic is refused at its next commit or manifest read.
//!
//! GC (`silt gc run`) later finishes step 2 if a delete was cut short, deletes the data and
//! the manifests, and marks the tombstone purged, which frees the name.

use futures::{StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};

use super::{
    ALTER_ATTEMPTS, MANIFEST_CREATES_IN_FLIGHT, TOPIC_MANIFEST_GROUPS_FORMAT_VERSION,
    TOPIC_TOMBSTONE_FORMAT_VERSION, TopicSettings,
};
use crate::error::{Error, Rejection, Result};
use crate::ids::{CommitSeq, PartitionId, TopicName, WriterId};
use crate::manifest::{Commit, Edit};
use crate::store::Storage;
use crate::topic::TopicConfig;

/// When a topic was deleted, and whether GC has removed its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deletion {
    /// When it was deleted (the storage's clock).
    pub deleted_ms: i64,
    /// True once GC removed every object, manifest and item of the deleted incarnation: the
    /// name is free, and creating it replaces this tombstone.
    #[serde(default)]
    pub purged: bool,
}

impl Storage {
    /// Deletes a topic: its configuration becomes a tombstone, then each partition is marked
    /// deleted. Returns the configuration deleted; `UnknownTopic` if there is none (or it was
    /// deleted already). Its data stays until `silt gc run` removes it.
    pub async fn delete_topic(&self, name: &TopicName) -> Result<TopicConfig> {
        for _ in 0..ALTER_ATTEMPTS {
            let current = self.topic(name).await?;
            let tombstone = TopicConfig {
                format_version: tombstone_format(&current.settings),
                deleted: Some(Deletion {
                    deleted_ms: self.clock.now_ms(),
                    purged: false,
                }),
                ..current.clone()
            };
            if self.manifests.replace_topic(&current, &tombstone).await? {
                self.mark_partitions_deleted(&tombstone).await?;
                return Ok(current);
            }
        }
        Err(Error::TopicContended {
            topic: name.clone(),
            attempts: ALTER_ATTEMPTS,
        })
    }

    /// Commits `DeleteTopic` to every partition of the deleted `topic` not marked yet
    /// ([`MANIFEST_CREATES_IN_FLIGHT`] at a time). Idempotent: GC calls it again before it
    /// deletes anything, in case a delete was cut short.
    pub async fn mark_partitions_deleted(&self, topic: &TopicConfig) -> Result<()> {
        let writer = WriterId(self.clock.new_ulid());
        futures::stream::iter(topic.partition_ids())
            .map(|p| self.mark_deleted(topic, p, writer))
            .buffer_unordered(MANIFEST_CREATES_IN_FLIGHT)
            .try_for_each(|_| async { Ok(()) })
            .await
    }

    async fn mark_deleted(
        &self,
        topic: &TopicConfig,
        p: PartitionId,
        writer: WriterId,
    ) -> Result<()> {
        let snapshot = match self.manifests.read(&topic.name, p).await {
            Ok(Some(s)) if s.manifest.topic_id == topic.topic_id => s,
            // Marked already (reads refuse a deleted partition), never created (creates are
            // refused from now on), removed by GC, or of another incarnation.
            Ok(_) | Err(Error::UnknownTopic(_)) => return Ok(()),
            Err(Error::ManifestMissing { .. }) if topic.deleted.is_some() => return Ok(()),
            Err(e) => return Err(e),
        };
        let commit = Commit {
            writer,
            seq: CommitSeq(1),
            now_ms: self.clock.now_ms(),
            edit: Edit::DeleteTopic,
        };
        match self
            .manifests
            .commit(&topic.name, p, &snapshot, &commit)
            .await
        {
            Ok(_) | Err(Error::Rejected(Rejection::TopicDeleted { .. })) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The tombstones of deleted topics whose data GC has not removed yet, sorted by name.
    pub async fn deleted_topics(&self) -> Result<Vec<TopicConfig>> {
        let listed = self.listed_topics().await?;
        let pending = listed.into_iter().filter_map(|(_, c)| c);
        Ok(pending
            .filter(|c| c.deleted.is_some_and(|d| !d.purged))
            .collect())
    }

    /// Marks the tombstone `deleted` purged (GC, once nothing of the topic is left), which
    /// frees the name. False if it changed meanwhile (another GC run marked it).
    pub async fn mark_purged(&self, deleted: &TopicConfig) -> Result<bool> {
        let Some(deletion) = deleted.deleted else {
            return Ok(false);
        };
        let purged = TopicConfig {
            deleted: Some(Deletion {
                purged: true,
                ..deletion
            }),
            ..deleted.clone()
        };
        self.manifests.replace_topic(deleted, &purged).await
    }
}

/// The tombstone's format: 2, or the topic's own when it is newer because of manifest groups
/// (a silt from before them must not purge a topic whose manifests it cannot find).
fn tombstone_format(settings: &TopicSettings) -> u32 {
    match settings.manifest_group_size {
        Some(_) => TOPIC_MANIFEST_GROUPS_FORMAT_VERSION,
        None => TOPIC_TOMBSTONE_FORMAT_VERSION,
    }
}

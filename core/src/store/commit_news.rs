//! News of commits inside one process. A writer that commits to a partition tells the cursors
//! of the same process waiting at that partition's tail, so they look at the manifest at once
//! instead of at their next poll (`silt_reader::POLL_INTERVAL`): an agent that serves both a
//! producer and a consumer of a partition hands records over in milliseconds, as a broker
//! wakes its waiting fetches. Only a hint: what a cursor reads still comes from the manifest
//! it revalidates, and commits of other processes are still found by polling.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

use crate::ids::{PartitionId, TopicName};

/// One channel per partition that someone waited on in this process (few and small: they
/// are kept for the life of the storage).
#[derive(Debug, Clone, Default)]
pub struct CommitNews {
    partitions: Arc<Mutex<Senders>>,
}

type Senders = HashMap<(TopicName, PartitionId), watch::Sender<()>>;

impl CommitNews {
    /// Tells the waiters of `partition` that a commit to it just succeeded.
    pub fn committed(&self, topic: &TopicName, partition: PartitionId) {
        let partitions = self.partitions.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(sender) = partitions.get(&(topic.clone(), partition)) {
            sender.send_replace(());
        }
    }

    /// A receiver whose `changed()` completes at the next commit to `partition` in this
    /// process (subscribe before looking at the manifest, so none is missed in between).
    pub fn subscribe(&self, topic: &TopicName, partition: PartitionId) -> watch::Receiver<()> {
        let mut partitions = self.partitions.lock().unwrap_or_else(|e| e.into_inner());
        partitions
            .entry((topic.clone(), partition))
            .or_insert_with(|| watch::channel(()).0)
            .subscribe()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_waiter_hears_of_the_next_commit_to_its_partition_only() {
        let news = CommitNews::default();
        let topic = TopicName::new("t").unwrap();
        news.committed(&topic, PartitionId(0)); // before anyone listens: nothing kept
        let mut p0 = news.subscribe(&topic, PartitionId(0));
        let mut p1 = news.subscribe(&topic, PartitionId(1));
        assert!(!p0.has_changed().unwrap());
        news.committed(&topic, PartitionId(0));
        tokio::time::timeout(Duration::from_secs(5), p0.changed())
            .await
            .unwrap()
            .unwrap();
        assert!(!p1.has_changed().unwrap());
        let quiet = tokio::time::timeout(Duration::from_millis(20), p1.changed()).await;
        assert!(quiet.is_err(), "no commit to partition 1");
    }
}

//! Which partitions a job run visits: the chosen topics (all by default), at most a budget of
//! partitions per run, starting at a place picked by the clock so that repeated bounded runs
//! reach every partition, and none started after a deadline (a Lambda invocation's). Shared
//! by retention, compaction and GC.

use serde::Serialize;
use silt_core::error::{Error, Result};
use silt_core::ids::{PartitionId, TopicName};
use silt_core::store::Storage;
use silt_core::topic::TopicConfig;
use tokio::time::Instant;

/// The partitions a run may visit.
#[derive(Debug, Clone)]
pub struct Scope {
    /// Topics to visit; empty: every topic.
    pub topics: Vec<TopicName>,
    /// Most partitions visited in one run.
    pub max_partitions: usize,
    /// No partition (or compaction unit) is started after this; the rest is left for the
    /// next run.
    pub deadline: Option<Instant>,
}

impl Default for Scope {
    fn default() -> Self {
        Scope {
            topics: Vec::new(),
            max_partitions: 10_000,
            deadline: None,
        }
    }
}

/// How much of the scope a run covered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// Partitions this run looked at.
    pub partitions_visited: usize,
    /// Partitions left for the next run by `max_partitions`.
    pub partitions_left: usize,
}

impl Coverage {
    /// Records that the run stopped before the last `unvisited` partitions it planned.
    pub(crate) fn stopped_early(&mut self, unvisited: usize) {
        self.partitions_visited -= unvisited;
        self.partitions_left += unvisited;
    }
}

impl Scope {
    /// True once the deadline has passed.
    pub(crate) fn out_of_time(&self) -> bool {
        self.deadline.is_some_and(|d| Instant::now() >= d)
    }

    /// The configurations of the topics in scope.
    pub(crate) async fn configs(&self, storage: &Storage) -> Result<Vec<TopicConfig>> {
        Ok(self.topics_in_scope(storage).await?.0)
    }

    /// The live topics in scope, and the tombstones of deleted ones GC has not purged yet,
    /// one configuration read per topic.
    pub(crate) async fn topics_in_scope(
        &self,
        storage: &Storage,
    ) -> Result<(Vec<TopicConfig>, Vec<TopicConfig>)> {
        let all = self.topics.is_empty();
        let names = match all {
            true => storage.manifests.list_topics().await?,
            false => self.topics.clone(),
        };
        let (mut live, mut deleted) = (Vec::new(), Vec::new());
        for name in names {
            match storage.manifests.read_topic(&name).await? {
                Some(c) if c.deleted.is_none() => live.push(c),
                Some(c) if c.deleted.is_some_and(|d| !d.purged) => deleted.push(c),
                Some(_) if all => {}
                // Damaged (its configuration missing), or never there: the usual error,
                // except a listed folder that holds no topic.
                _ => match storage.topic(&name).await {
                    Ok(c) => live.push(c),
                    Err(Error::UnknownTopic(_)) if all => {}
                    Err(e) => return Err(e),
                },
            }
        }
        Ok((live, deleted))
    }

    /// Every partition of `configs`.
    pub(crate) fn partitions_of(configs: &[TopicConfig]) -> Vec<(TopicName, PartitionId)> {
        let all = configs
            .iter()
            .flat_map(|c| c.partition_ids().map(|p| (c.name.clone(), p)));
        all.collect()
    }

    /// This run's share of `due`: at most `max_partitions`, from a place picked by `now_ms`.
    pub(crate) fn this_run<T>(&self, mut due: Vec<T>, now_ms: i64) -> (Vec<T>, Coverage) {
        if !due.is_empty() {
            let start = now_ms.rem_euclid(due.len() as i64) as usize;
            due.rotate_left(start);
        }
        let visit = self.max_partitions.min(due.len());
        let coverage = Coverage {
            partitions_visited: visit,
            partitions_left: due.len() - visit,
        };
        due.truncate(visit);
        (due, coverage)
    }
}

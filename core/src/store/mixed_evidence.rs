//! Whether a partition without a manifest holds data in a mixed object of its topic
//! (docs/design.md §6.5, §19): the missing-manifest guard (`missing`) asks it when the
//! partition's own folders are empty, as they are for a partition written only through a
//! mixing writer. A mixed object never changes and its key is never reused, so one found
//! not to hold a partition never will: each is read once per partition, however often a
//! cursor polls a partition that has no manifest.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use futures::StreamExt;
use object_store::ObjectStore;
use object_store::path::Path;

use super::read_mixed_toc;
use crate::error::Result;
use crate::ids::{PartitionId, TopicId, TopicName};

/// Mixed objects' tocs read at once when looking for a partition's data among them.
const TOCS_IN_FLIGHT: usize = 16;

/// A partition asked about, under the topic incarnation that counted (`None`: every one).
type Asked = (TopicName, PartitionId, Option<TopicId>);

/// The mixed objects already found not to hold each partition asked about.
#[derive(Debug, Default)]
pub(super) struct MixedEvidence {
    not_holding: Mutex<HashMap<Asked, HashSet<Path>>>,
}

impl MixedEvidence {
    /// The key of one of `listed` (the topic's mixed objects, in key order) whose toc names
    /// `p`, if any. Objects of another incarnation than `live` (the topic's id, if it has a
    /// configuration) do not count. Newest first, so the partition of a manifest lost while
    /// it was written to is found in the first few; compaction and GC keep mixed objects to
    /// a topic's last minutes.
    pub(super) async fn holding(
        &self,
        objects: &dyn ObjectStore,
        listed: Vec<Path>,
        topic: &TopicName,
        p: PartitionId,
        live: Option<TopicId>,
    ) -> Result<Option<String>> {
        let key = (topic.clone(), p, live);
        let unread: Vec<Path> = {
            let known = self.lock();
            let known = known.get(&key);
            let new = |path: &&Path| known.is_none_or(|seen| !seen.contains(*path));
            listed.iter().filter(new).rev().cloned().collect() // keys are in time order
        };
        let read = |path: Path| async move {
            let toc = read_mixed_toc(objects, &path).await;
            (path, toc)
        };
        let mut tocs = futures::stream::iter(unread)
            .map(read)
            .buffered(TOCS_IN_FLIGHT);
        while let Some((path, toc)) = tocs.next().await {
            let holds = toc?.is_some_and(|toc| {
                live.is_none_or(|id| id == toc.topic_id) && toc.partitions().any(|q| q == p)
            });
            if holds {
                return Ok(Some(path.to_string()));
            }
        }
        // Every object listed now was read and holds nothing of `p`; those gone since drop out.
        self.lock().insert(key, listed.into_iter().collect());
        Ok(None)
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<Asked, HashSet<Path>>> {
        self.not_holding.lock().unwrap_or_else(|e| e.into_inner())
    }
}

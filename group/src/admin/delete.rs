//! `delete` and `delete_idle`: removing a group with no members, as `kafka-consumer-groups
//! --delete` does, and sweeping the groups nobody used for [`GROUP_IDLE_MS`] (Kafka's
//! `offsets.retention.minutes`), which `gc run` does. Records go in an order that a crash
//! halfway leaves a group that is still listed, so the next run finishes it: leases and
//! heartbeats, then the document, and the group's entry in the list last.
//!
//! Object stores have no conditional delete: the document is read again just before it is
//! deleted, and a change since the group was found empty stops the delete. A member joining in
//! the instant between finds the document gone at its next heartbeat and joins afresh.

use std::time::Duration;

use silt_core::ids::GroupName;
use silt_core::store::cas::CasKey;

use super::{GroupAdmin, Loaded};
use crate::error::GroupError;
use crate::records::{ClassicGroupRecord, GroupDocument, GroupKeys};

/// How long a group with no members and no commits is kept: 7 days, as Kafka keeps offsets.
pub const GROUP_IDLE_MS: i64 = 7 * 24 * 60 * 60 * 1000;

impl GroupAdmin {
    /// Deletes `group` and its committed offsets, only while it has no members.
    pub async fn delete(&self, group: &GroupName) -> Result<(), GroupError> {
        let loaded = self.load(group).await?;
        loaded.require_empty("delete it")?;
        self.remove(&loaded).await
    }

    /// Deletes every group with no members whose last membership change and last commit are
    /// older than `idle`; with `dry_run` only names them.
    pub async fn delete_idle(
        &self,
        idle: Duration,
        dry_run: bool,
    ) -> Result<Vec<GroupName>, GroupError> {
        let now_ms = self.records.clock.now_ms();
        let idle_ms = i64::try_from(idle.as_millis()).unwrap_or(i64::MAX);
        let mut deleted = Vec::new();
        for group in self.list().await? {
            let loaded = match self.load(&group).await {
                Ok(loaded) => loaded,
                Err(GroupError::UnknownGroup { .. }) => continue,
                Err(e) => return Err(e),
            };
            if loaded.members() > 0 || now_ms.saturating_sub(last_used_ms(&loaded)) < idle_ms {
                continue;
            }
            if !dry_run {
                self.remove(&loaded).await?;
            }
            deleted.push(group);
        }
        Ok(deleted)
    }

    /// Deletes every record of a group found empty.
    async fn remove(&self, loaded: &Loaded) -> Result<(), GroupError> {
        let cas = &self.records.cas;
        let (document, classic) = (loaded.keys.document(), loaded.keys.classic());
        for name in cas.list(&loaded.keys.scope, "").await? {
            if name != document.name && name != classic.name {
                let scope = loaded.keys.scope.clone();
                cas.delete(&CasKey { scope, name }).await?;
            }
        }
        let doc_now = self.records.read::<GroupDocument>(&document).await?;
        let classic_now = self.records.read::<ClassicGroupRecord>(&classic).await?;
        let unchanged = doc_now.as_ref().map(|d| &d.version)
            == loaded.doc.as_ref().map(|d| &d.version)
            && classic_now.as_ref().map(|c| &c.version)
                == loaded.classic.as_ref().map(|c| &c.version);
        if !unchanged {
            let native = doc_now.map_or(0, |d| d.value.members.len());
            return Err(GroupError::GroupActive {
                group: loaded.group.clone(),
                members: native + classic_now.map_or(0, |c| c.value.members.len()),
                action: "delete it (it changed during the delete)",
            });
        }
        cas.delete(&classic).await?;
        cas.delete(&document).await?;
        let index = GroupKeys::index(&self.storage.keys, &loaded.group);
        cas.delete(&index).await?;
        Ok(())
    }
}

/// When the group was last joined, left or committed to (each by its writer's clock).
fn last_used_ms(loaded: &Loaded) -> i64 {
    let created = loaded.index.as_ref().map(|i| i.value.created_at_ms);
    let changed = loaded.doc.as_ref().and_then(|d| d.value.changed_at_ms);
    let classic = loaded.classic.as_ref().map(|c| c.value.changed_at_ms);
    let committed = loaded
        .leases
        .iter()
        .filter_map(|(_, l)| l.value.committed_at_ms);
    [created, changed, classic]
        .into_iter()
        .flatten()
        .chain(committed)
        .max()
        .unwrap_or(i64::MIN)
}

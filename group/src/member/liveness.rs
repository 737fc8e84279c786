//! Liveness (docs/consumer-groups.md §5): each tick writes this member's heartbeat, reads the
//! group document if it changed, and reads its ring successor's heartbeat if it changed. A
//! successor whose `seq` a fresh read shows unchanged for the session timeout, timed on this
//! member's own monotonic clock since it first saw that `seq`, is removed. Reads that fail in
//! between do not matter: an unchanged `seq` means no heartbeat was written between the reads.

use silt_core::store::cas::CasVersion;

use super::document::Change;
use super::{GroupMember, Mono};
use crate::error::GroupError;
use crate::ids::MemberId;
use crate::records::{Fresh, Heartbeat, Outcome, Stamp};

/// What this member knows of the member it watches.
#[derive(Debug, Clone)]
pub(super) struct Watch {
    member: MemberId,
    version: Option<CasVersion>,
    seq: Option<u64>,
    /// When it first saw `seq` (or started watching).
    since: Mono,
}

impl GroupMember {
    /// One heartbeat interval's work: heartbeat, group document, successor, partitions.
    pub async fn tick(&mut self, now: Mono) -> Result<(), GroupError> {
        let beat = self.beat().await;
        let doc = self.refresh_document().await;
        if let (Ok(true), Ok(())) = (&beat, &doc) {
            self.last_ok = now;
        }
        let in_group = self
            .doc
            .as_ref()
            .is_some_and(|d| d.value.member(&self.me.member_id).is_some());
        if matches!(beat, Ok(false)) || (doc.is_ok() && !in_group) {
            return self.rejoin(now).await;
        }
        let silent_for = now.saturating_sub(self.last_ok);
        if silent_for
            > self
                .settings
                .session()
                .saturating_sub(self.settings.heartbeat())
        {
            // Peers may have removed us and taken our partitions: stop processing them, and
            // take nothing until the store answers again.
            self.drop_all();
            return beat.and(doc).map(|_| ());
        }
        let watched = self.watch_successor(now).await;
        let reconciled = self.reconcile(now).await;
        beat?;
        doc?;
        watched?;
        reconciled
    }

    /// Writes the next heartbeat; false when it was deleted or overwritten (removed).
    pub(super) async fn beat(&mut self) -> Result<bool, GroupError> {
        let next = Heartbeat {
            stamp: Stamp::default(),
            member_id: self.me.member_id.clone(),
            seq: self.heartbeat.as_ref().map_or(0, |h| h.value.seq + 1),
            owned: self.held.keys().cloned().collect(),
            at_ms: self.records.clock.now_ms(),
        };
        let key = self.keys.heartbeat(&self.me.member_id);
        match self
            .records
            .write(&key, self.heartbeat.as_ref(), next)
            .await?
        {
            Outcome::Written(stored) => {
                self.heartbeat = Some(stored);
                Ok(true)
            }
            Outcome::Lost(_) => Ok(false),
        }
    }

    async fn refresh_document(&mut self) -> Result<(), GroupError> {
        let key = self.keys.document();
        let fresh = match &self.doc {
            None => match self.records.read(&key).await? {
                Some(found) => Fresh::Changed(found),
                None => Fresh::Gone,
            },
            Some(known) => self.records.read_if_changed(&key, &known.version).await?,
        };
        match fresh {
            Fresh::Unchanged => {}
            Fresh::Changed(found) => self.doc = Some(found),
            Fresh::Gone => self.doc = None,
        }
        Ok(())
    }

    /// Removed from the group (expired while paused, or the document lost it): drop every
    /// partition and join again, unless a newer incarnation took this static member's place.
    async fn rejoin(&mut self, now: Mono) -> Result<(), GroupError> {
        self.drop_all();
        if let (Some(instance_id), Some(doc)) = (&self.me.instance_id, &self.doc)
            && doc.value.members.iter().any(|m| {
                m.instance_id.as_ref() == Some(instance_id) && m.member_id != self.me.member_id
            })
        {
            return Err(GroupError::Replaced {
                instance_id: instance_id.clone(),
            });
        }
        self.enter(now).await
    }

    async fn watch_successor(&mut self, now: Mono) -> Result<(), GroupError> {
        let successor = self
            .doc
            .as_ref()
            .and_then(|d| d.value.successor(&self.me.member_id))
            .map(|m| m.member_id.clone());
        let Some(successor) = successor else {
            self.watch = None;
            return Ok(());
        };
        let mut watch = match self.watch.take() {
            Some(w) if w.member == successor => w,
            _ => Watch {
                member: successor.clone(),
                version: None,
                seq: None,
                since: now,
            },
        };
        let key = self.keys.heartbeat(&successor);
        let read = match &watch.version {
            None => self
                .records
                .read::<Heartbeat>(&key)
                .await
                .map(|found| match found {
                    Some(found) => Fresh::Changed(found),
                    None => Fresh::Gone,
                }),
            Some(known) => self.records.read_if_changed(&key, known).await,
        };
        let fresh = match read {
            Ok(fresh) => fresh,
            Err(e) => {
                self.watch = Some(watch);
                return Err(e.into());
            }
        };
        if let Fresh::Changed(found) = fresh {
            if watch.seq != Some(found.value.seq) {
                watch.seq = Some(found.value.seq);
                watch.since = now;
            }
            watch.version = Some(found.version);
        }
        if now.saturating_sub(watch.since) < self.settings.session() {
            self.watch = Some(watch);
            return Ok(());
        }
        tracing::info!(member = %successor, "removing a member silent for the session timeout");
        self.change_document(Change::Remove(successor.clone()))
            .await?;
        self.records.cas.delete(&key).await?;
        Ok(())
    }
}

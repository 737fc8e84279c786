//! The coordinator's reads and writes of `classic.json`: load a group, take it over (one
//! write, `coordinator_epoch` + 1), store each change conditioned on the version last seen,
//! check now and then that nobody else wrote it. A write lost to another agent, or a record
//! found changed, means that agent coordinates now: the group is dropped from memory and the
//! member told NOT_COORDINATOR.

use silt_core::error::Error;
use silt_core::ids::GroupName;

use super::coordinator::{ClassicCoordinator, Slot};
use super::error::ClassicError;
use super::state::Group;
use crate::member::Mono;
use crate::records::{ClassicGroupRecord, Fresh, GroupDocument, GroupKeys, Outcome};

impl ClassicCoordinator {
    /// The group, loaded, taken over (when it has a record or `create`) and checked; on an
    /// error it is dropped from memory and its waiting requests get the error too.
    pub(super) async fn ready<'a>(
        &self,
        held: &'a mut Slot,
        name: &GroupName,
        now: Mono,
        create: bool,
    ) -> Result<&'a mut Group, ClassicError> {
        if let Err(e) = self.prepare(held, name, now, create).await {
            held.drop_group(&e);
            return Err(e);
        }
        let group = held.group.as_mut().ok_or_else(|| not_coordinator(name))?;
        group.used_at = now;
        Ok(group)
    }

    async fn prepare(
        &self,
        held: &mut Slot,
        name: &GroupName,
        now: Mono,
        create: bool,
    ) -> Result<(), ClassicError> {
        let group = match &mut held.group {
            Some(group) => group,
            empty => {
                let key = GroupKeys::new(&self.keys, name).classic();
                let stored = self.records.read(&key).await.map_err(|e| store(name, &e))?;
                empty.insert(Group::load(name, stored, now))
            }
        };
        if !group.claimed && (create || group.stored.is_some()) {
            return self.write(group, name, true).await;
        }
        let recheck = Mono::from_millis(self.settings.recheck_ms);
        if group.claimed && now.saturating_sub(group.verified_at) >= recheck {
            self.verify(group, name, now).await?;
        }
        Ok(())
    }

    /// Writes the group's record over the version last seen; `claim` takes the group over.
    pub(super) async fn write(
        &self,
        group: &mut Group,
        name: &GroupName,
        claim: bool,
    ) -> Result<(), ClassicError> {
        let keys = GroupKeys::new(&self.keys, name);
        if group.stored.is_none() {
            // Listed before the record is first written, as native groups are.
            let index = GroupKeys::index(&self.keys, name);
            self.records
                .register(&index)
                .await
                .map_err(|e| store(name, &e))?;
        }
        let mut next = group.to_record();
        if claim {
            next.coordinator_epoch += 1;
        }
        next.coordinator = self.settings.coordinator.clone();
        next.changed_at_ms = self.records.clock.now_ms();
        let written = self
            .records
            .write(&keys.classic(), group.stored.as_ref(), next)
            .await;
        match written.map_err(|e| store(name, &e))? {
            Outcome::Written(stored) => {
                group.stored = Some(stored);
                group.claimed = true;
                Ok(())
            }
            Outcome::Lost(_) => Err(not_coordinator(name)),
        }
    }

    /// Checks the record is still the one last seen (a conditional read).
    pub(super) async fn verify(
        &self,
        group: &mut Group,
        name: &GroupName,
        now: Mono,
    ) -> Result<(), ClassicError> {
        let Some(stored) = &group.stored else {
            return Ok(());
        };
        let key = GroupKeys::new(&self.keys, name).classic();
        let fresh = self
            .records
            .read_if_changed::<ClassicGroupRecord>(&key, &stored.version);
        match fresh.await.map_err(|e| store(name, &e))? {
            Fresh::Unchanged => {
                group.verified_at = now;
                Ok(())
            }
            Fresh::Changed(_) | Fresh::Gone => Err(not_coordinator(name)),
        }
    }

    /// Stores what the last operation changed, then sends its answers; if the write fails,
    /// everyone waiting gets the error and the group is dropped from memory.
    pub(super) async fn settle(&self, held: &mut Slot) {
        let Some(group) = held.group.as_mut() else {
            return;
        };
        let effects = std::mem::take(&mut group.effects);
        if effects.persist {
            let name = group.name.clone();
            if let Err(e) = self.write(group, &name, false).await {
                tracing::info!(group = %group.name, error = %e, "classic group dropped");
                for reply in effects.replies {
                    reply.fail(e.clone());
                }
                held.drop_group(&e);
                return;
            }
        }
        for reply in effects.replies {
            reply.send();
        }
    }

    /// Refuses a Kafka join of a group that silt consumers (`group.json`) are members of.
    pub(super) async fn refuse_native(&self, name: &GroupName) -> Result<(), ClassicError> {
        let key = GroupKeys::new(&self.keys, name).document();
        let doc = self.records.read::<GroupDocument>(&key).await;
        let members = doc
            .map_err(|e| store(name, &e))?
            .map_or(0, |d| d.value.members.len());
        if members == 0 {
            return Ok(());
        }
        let reason = format!(
            "group {name} is a silt consumer group with {members} member(s) (silt consume --group): Kafka clients cannot join it; use another group id"
        );
        Err(ClassicError::InconsistentProtocol { reason })
    }
}

pub(super) fn not_coordinator(name: &GroupName) -> ClassicError {
    ClassicError::NotCoordinator {
        group: name.to_string(),
    }
}

pub(super) fn store(name: &GroupName, e: &Error) -> ClassicError {
    ClassicError::store(name.as_str(), e)
}

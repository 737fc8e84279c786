//! Consumer-group members held for clients that cannot run `silt-group` themselves (the HTTP
//! routes `/v1/groups/{g}/members/...`, docs/http-api.md "Consumer groups").
//!
//! ```text
//! join ─► GroupConsumer::join (its task heartbeats and rebalances) ─► kept here by member id
//! poll ─► the member's consumer: records + assignment events, waiting up to `wait`
//! commit ─► GroupConsumer::commit, conditioned on the member's leases
//! leave ─► GroupConsumer::close (commits what was polled with auto-commit, releases all)
//! ```
//!
//! A member lives in this agent's memory, so its client must come back to this agent. The
//! number held is bounded ([`GROUP_MEMBERS_MAX`] by default); a member whose client stopped
//! polling for `max_poll_interval_ms` leaves the group by itself (the library does it), and is
//! dropped from here when its client, or a join needing room, next finds it ended. A member
//! serves one poll at a time; commits may come while a poll waits.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use silt_core::ids::{GroupName, TopicName};
use silt_core::metrics::error_kind_label;
use silt_group::{
    Assignment, GroupConsumer, GroupError, GroupSettings, MemberId, Polled, TopicPartition,
};
use tokio::time::Instant;

use crate::metrics::{GROUP_COMMITS, GROUP_MEMBERS, GROUP_POLLS};
use crate::service::{LogService, MemberError};

/// Members an agent holds by default (`silt agent --max-group-members`).
pub const GROUP_MEMBERS_MAX: usize = 256;

/// One poll of a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollRequest {
    /// Most records to return.
    pub max_records: usize,
    /// Most payload bytes to return (plus one record; at least one record when there is one).
    pub max_bytes: usize,
    /// How long to wait for records or assignment changes when there are none yet.
    pub wait: Duration,
}

/// One offset to commit: the next offset to read, with the application's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetCommit {
    pub partition: TopicPartition,
    pub offset: u64,
    pub metadata: String,
}

type MemberKey = (GroupName, MemberId);

/// The members this agent holds.
#[derive(Debug)]
pub(crate) struct GroupMembers {
    max: usize,
    state: Mutex<Registry>,
}

#[derive(Debug, Default)]
struct Registry {
    members: HashMap<MemberKey, Arc<Member>>,
    /// Joins under way: they count against the limit before they are in `members`.
    joining: usize,
}

/// One member and its client's state.
#[derive(Debug)]
struct Member {
    /// `None` once it left.
    consumer: tokio::sync::Mutex<Option<GroupConsumer>>,
    polling: AtomicBool,
    max_poll_interval_ms: u64,
}

impl GroupMembers {
    pub(crate) fn new(max: usize) -> GroupMembers {
        GroupMembers {
            max,
            state: Mutex::default(),
        }
    }

    /// Takes a place for a join: refused when the agent holds its limit of members, after
    /// dropping those that ended. The place is freed when the reservation is dropped.
    fn reserve(&self) -> Result<Reservation<'_>, MemberError> {
        if self.max == 0 {
            return Err(MemberError::NotServed);
        }
        let mut state = self.state()?;
        state.members.retain(|_, m| !m.has_ended());
        gauge(state.members.len());
        if state.members.len() + state.joining >= self.max {
            return Err(MemberError::Full { max: self.max });
        }
        state.joining += 1;
        Ok(Reservation(self))
    }

    fn state(&self) -> Result<std::sync::MutexGuard<'_, Registry>, MemberError> {
        self.state
            .lock()
            .map_err(|_| MemberError::Group(GroupError::Store(super::poisoned())))
    }

    fn get(&self, group: &GroupName, id: &MemberId) -> Result<Arc<Member>, MemberError> {
        let state = self.state()?;
        match state.members.get(&(group.clone(), id.clone())) {
            Some(m) => Ok(m.clone()),
            None => Err(unknown(group, id, None)),
        }
    }

    fn remove(&self, group: &GroupName, id: &MemberId) -> Option<Arc<Member>> {
        let mut state = self.state.lock().ok()?;
        let removed = state.members.remove(&(group.clone(), id.clone()));
        gauge(state.members.len());
        removed
    }

    fn take_all(&self) -> Vec<Arc<Member>> {
        let Ok(mut state) = self.state.lock() else {
            return Vec::new();
        };
        let all = state.members.drain().map(|(_, m)| m).collect();
        gauge(0);
        all
    }
}

/// A place taken for a join under way (a join cut short frees it too).
struct Reservation<'a>(&'a GroupMembers);

impl Reservation<'_> {
    /// Holds the member that joined.
    fn keep(self, key: MemberKey, member: Member) {
        if let Ok(mut state) = self.0.state.lock() {
            state.members.insert(key, Arc::new(member));
            gauge(state.members.len());
        }
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if let Ok(mut state) = self.0.state.lock() {
            state.joining = state.joining.saturating_sub(1);
        }
    }
}

impl Member {
    /// Whether its consumer ended (left by itself, or was replaced); a member busy with a
    /// request has not.
    fn has_ended(&self) -> bool {
        match self.consumer.try_lock() {
            Ok(consumer) => consumer.as_ref().is_none_or(|c| c.ended().is_some()),
            Err(_) => false,
        }
    }

    /// Why an ended consumer ended, for its client.
    fn reason(&self, e: &GroupError) -> String {
        match e {
            GroupError::Replaced { .. } => e.to_string(),
            GroupError::Closed => format!(
                "it was not polled within max_poll_interval_ms ({} ms) and left the group",
                self.max_poll_interval_ms
            ),
            other => format!(
                "it was not polled within max_poll_interval_ms ({} ms); leaving the group failed: {other}",
                self.max_poll_interval_ms
            ),
        }
    }
}

/// Held-member gauge.
fn gauge(held: usize) {
    metrics::gauge!(GROUP_MEMBERS).set(held as f64);
}

fn unknown(group: &GroupName, id: &MemberId, reason: Option<String>) -> MemberError {
    MemberError::UnknownMember {
        group: group.clone(),
        member: id.clone(),
        reason: reason
            .unwrap_or_else(|| "it left, or was removed (not polled within max_poll_interval_ms, replaced by a newer incarnation, or held by another agent)".into()),
    }
}

/// Counts a poll or a commit by its outcome: `ok`, or the kind of its error.
fn count(name: &'static str, failure: Option<&GroupError>) {
    let result = failure.map_or("ok", |e| error_kind_label(e.kind()));
    metrics::counter!(name, silt_core::metrics::RESULT => result).increment(1);
}

/// Clears a member's polling flag when its poll ends, however it ends.
struct Polling<'a>(&'a AtomicBool);

impl Drop for Polling<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

impl LogService {
    /// Joins `group` to read `topics` with `settings`; the member is held by this agent.
    pub async fn join_group(
        &self,
        group: &GroupName,
        topics: &[TopicName],
        settings: GroupSettings,
    ) -> Result<MemberId, MemberError> {
        let place = self.groups.reserve()?;
        let max_poll_interval_ms = settings.max_poll_interval_ms;
        let consumer = GroupConsumer::join(self.storage.clone(), group, topics, settings).await?;
        let id = consumer.member_id().await;
        let member = Member {
            consumer: tokio::sync::Mutex::new(Some(consumer)),
            polling: AtomicBool::new(false),
            max_poll_interval_ms,
        };
        place.keep((group.clone(), id.clone()), member);
        Ok(id)
    }

    /// The partitions the member holds now.
    pub async fn group_assignment(
        &self,
        group: &GroupName,
        id: &MemberId,
    ) -> Result<Vec<Assignment>, MemberError> {
        let member = self.groups.get(group, id)?;
        let slot = member.consumer.lock().await;
        let consumer = self.live(group, id, &member, slot.as_ref())?;
        Ok(consumer.assignment().await)
    }

    /// Records of the member's partitions and its assignment changes, waiting up to
    /// `request.wait` for either; returns early when the agent is stopping.
    pub async fn poll_group(
        &self,
        group: &GroupName,
        id: &MemberId,
        request: PollRequest,
    ) -> Result<Polled, MemberError> {
        let member = self.groups.get(group, id)?;
        if member.polling.swap(true, Ordering::AcqRel) {
            return Err(MemberError::PollInProgress { member: id.clone() });
        }
        let _polling = Polling(&member.polling);
        let deadline = Instant::now() + request.wait;
        let mut events = Vec::new();
        loop {
            let (polled, commit_news) = self.poll_once(group, id, &member, request).await?;
            events.extend(polled.events);
            let now = Instant::now();
            if !polled.batches.is_empty() || !events.is_empty() || now >= deadline {
                return Ok(Polled {
                    events,
                    batches: polled.batches,
                });
            }
            // The member's lock is free meanwhile: commits go through while a poll waits. A
            // commit to a held partition by this agent's writers ends the wait at once.
            tokio::select! {
                () = silt_core::clock::sleep(silt_reader::POLL_INTERVAL.min(deadline - now)) => {}
                () = commit_news => {}
                () = self.stopped() => return Ok(Polled { events, batches: Vec::new() }),
            }
        }
    }

    async fn poll_once(
        &self,
        group: &GroupName,
        id: &MemberId,
        member: &Member,
        request: PollRequest,
    ) -> Result<(Polled, BoxFuture<'static, ()>), MemberError> {
        let mut slot = member.consumer.lock().await;
        self.live(group, id, member, slot.as_ref())?;
        let Some(consumer) = slot.as_mut() else {
            return Err(unknown(group, id, None));
        };
        let polled = consumer
            .poll_within(request.max_records, request.max_bytes, Duration::ZERO)
            .await;
        count(GROUP_POLLS, polled.as_ref().err());
        match polled {
            Ok(polled) => Ok((polled, consumer.commit_news())),
            Err(e) => {
                self.live(group, id, member, slot.as_ref())?;
                Err(e.into())
            }
        }
    }

    /// Commits each offset for the member, in order; each has its own outcome, as partitions
    /// succeed or fail on their own.
    pub async fn commit_group(
        &self,
        group: &GroupName,
        id: &MemberId,
        offsets: &[OffsetCommit],
    ) -> Result<Vec<Result<(), GroupError>>, MemberError> {
        let member = self.groups.get(group, id)?;
        let mut slot = member.consumer.lock().await;
        self.live(group, id, &member, slot.as_ref())?;
        let Some(consumer) = slot.as_mut() else {
            return Err(unknown(group, id, None));
        };
        let mut results = Vec::with_capacity(offsets.len());
        for o in offsets {
            let result = consumer.commit(&o.partition, o.offset, &o.metadata).await;
            count(GROUP_COMMITS, result.as_ref().err());
            results.push(result);
        }
        Ok(results)
    }

    /// The member leaves its group: with auto-commit it commits what was polled; it releases
    /// its partitions, so other members take them at once.
    pub async fn leave_group(&self, group: &GroupName, id: &MemberId) -> Result<(), MemberError> {
        let Some(member) = self.groups.remove(group, id) else {
            return Err(unknown(group, id, None));
        };
        let consumer = member.consumer.lock().await.take();
        let Some(consumer) = consumer else {
            return Err(unknown(group, id, None));
        };
        if let Some(e) = consumer.ended() {
            return Err(unknown(group, id, Some(member.reason(&e))));
        }
        consumer.close().await.map_err(MemberError::from)
    }

    /// Every member leaves its group (the agent is stopping).
    pub(crate) async fn leave_all_groups(&self) {
        let leaving = self.groups.take_all().into_iter().map(|member| async move {
            let consumer = member.consumer.lock().await.take();
            if let Some(consumer) = consumer
                && let Err(e) = consumer.close().await
            {
                tracing::warn!(error = %e, "a group member could not leave its group at shutdown: its partitions move after its session timeout");
            }
        });
        futures::future::join_all(leaving).await;
    }

    /// The consumer of a member that has not ended; an ended one is dropped and its client
    /// told why.
    fn live<'a>(
        &self,
        group: &GroupName,
        id: &MemberId,
        member: &Member,
        consumer: Option<&'a GroupConsumer>,
    ) -> Result<&'a GroupConsumer, MemberError> {
        let reason = match consumer {
            None => None,
            Some(c) => match c.ended() {
                None => return Ok(c),
                Some(e) => Some(member.reason(&e)),
            },
        };
        self.groups.remove(group, id);
        Err(unknown(group, id, reason))
    }
}

//! The classic coordinator against `memory://` storage under tokio's paused clock: every wait
//! (barriers, sessions) passes instantly, in order.

mod admin;
mod faults;
mod offsets;
mod takeover;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use object_store::memory::InMemory;
use object_store::path::Path;
use silt_core::ids::{GroupName, PartitionId, TopicName};
use silt_core::store::Storage;
use tokio::task::JoinHandle;

use super::*;
use crate::ids::TopicPartition;
use crate::records::{ClassicGroupRecord, ClassicProtocol, ClassicState, GroupKeys, Records};

pub(super) const SESSION_MS: i32 = 10_000;
pub(super) const REBALANCE_MS: i32 = 20_000;

pub(super) fn storage() -> Storage {
    Storage::over(Arc::new(InMemory::new()), Path::default(), "memory://")
}

pub(super) fn coordinator(storage: &Storage, name: &str) -> Arc<ClassicCoordinator> {
    let settings = ClassicSettings {
        coordinator: name.into(),
        ..ClassicSettings::default()
    };
    Arc::new(ClassicCoordinator::new(storage, settings))
}

pub(super) fn group() -> GroupName {
    GroupName::new("billing").unwrap()
}

pub(super) fn tp(partition: u32) -> TopicPartition {
    TopicPartition {
        topic: TopicName::new("orders").unwrap(),
        partition: PartitionId(partition),
    }
}

pub(super) fn join_request(member_id: &str, client: &str, protocols: &[&str]) -> JoinRequest {
    JoinRequest {
        group: group(),
        member_id: member_id.into(),
        instance_id: None,
        client_id: client.into(),
        client_host: "/127.0.0.1".into(),
        session_timeout_ms: SESSION_MS,
        rebalance_timeout_ms: REBALANCE_MS,
        protocol_type: "consumer".into(),
        protocols: protocols
            .iter()
            .map(|name| ClassicProtocol {
                name: (*name).into(),
                metadata: Bytes::from(format!("{client}:{name}")),
            })
            .collect(),
        require_known_member_id: true,
    }
}

pub(super) fn spawn_join(
    c: &Arc<ClassicCoordinator>,
    req: JoinRequest,
) -> JoinHandle<Result<JoinResponse, ClassicError>> {
    let c = c.clone();
    tokio::spawn(async move { c.join(req).await })
}

pub(super) fn spawn_sync(
    c: &Arc<ClassicCoordinator>,
    joined: &JoinResponse,
    assignments: Vec<(String, Bytes)>,
) -> JoinHandle<Result<SyncResponse, ClassicError>> {
    let c = c.clone();
    let req = SyncRequest {
        group: group(),
        generation: joined.generation,
        member: member(&joined.member_id),
        protocol_type: Some("consumer".into()),
        protocol_name: joined.protocol_name.clone(),
        assignments,
    };
    tokio::spawn(async move { c.sync(req).await })
}

pub(super) fn member(id: &str) -> MemberRef {
    MemberRef {
        member_id: id.into(),
        instance_id: None,
    }
}

/// A dynamic member's first join: the id handed out (MEMBER_ID_REQUIRED).
pub(super) async fn member_id_for(c: &ClassicCoordinator, client: &str) -> String {
    match c.join(join_request("", client, &["range"])).await {
        Err(ClassicError::MemberIdRequired { member_id }) => member_id,
        other => panic!("expected MEMBER_ID_REQUIRED, got {other:?}"),
    }
}

/// Two members `a` and `b` join and sync: the leader gives each its name as assignment.
/// Returns (leader's answer, follower's answer).
pub(super) async fn stable_pair(c: &Arc<ClassicCoordinator>) -> (JoinResponse, JoinResponse) {
    let a = member_id_for(c, "a").await;
    let b = member_id_for(c, "b").await;
    let ja = spawn_join(c, join_request(&a, "a", &["range"]));
    let jb = spawn_join(c, join_request(&b, "b", &["range"]));
    let (ja, jb) = (ja.await.unwrap().unwrap(), jb.await.unwrap().unwrap());
    let (leader, follower) = match ja.leader == ja.member_id {
        true => (ja, jb),
        false => (jb, ja),
    };
    let assignments = [&leader, &follower]
        .iter()
        .map(|j| {
            (
                j.member_id.clone(),
                Bytes::from(format!("for {}", j.member_id)),
            )
        })
        .collect();
    let sf = spawn_sync(c, &follower, Vec::new());
    let sl = spawn_sync(c, &leader, assignments);
    sl.await.unwrap().unwrap();
    sf.await.unwrap().unwrap();
    (leader, follower)
}

pub(super) async fn stored(storage: &Storage) -> ClassicGroupRecord {
    let records = Records {
        cas: storage.cas(),
        clock: storage.clock.clone(),
    };
    let key = GroupKeys::new(&storage.keys, &group()).classic();
    records.read(&key).await.unwrap().unwrap().value
}

#[tokio::test(start_paused = true)]
async fn two_members_form_a_generation_and_get_the_leaders_assignment() {
    let storage = storage();
    let c = coordinator(&storage, "agent-1");
    let (leader, follower) = stable_pair(&c).await;
    assert_eq!(leader.generation, 1);
    assert_eq!(follower.generation, 1);
    assert_eq!(leader.protocol_name.as_deref(), Some("range"));
    assert_eq!(leader.members.len(), 2, "the leader sees every member");
    assert!(follower.members.is_empty(), "followers see none");
    assert_eq!(follower.leader, leader.member_id);
    let record = stored(&storage).await;
    assert_eq!(record.state, ClassicState::Stable);
    assert_eq!(record.generation, 1);
    assert_eq!(record.coordinator, "agent-1");
    let f = record
        .members
        .iter()
        .find(|m| m.member_id == follower.member_id)
        .unwrap();
    assert_eq!(
        f.assignment,
        Bytes::from(format!("for {}", follower.member_id))
    );
    // A follower that syncs again in the stable group gets the same assignment.
    let again = spawn_sync(&c, &follower, Vec::new())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.assignment, f.assignment);
    let beat = c.heartbeat(&group(), 1, &member(&follower.member_id)).await;
    assert!(beat.is_ok(), "{beat:?}");
}

#[tokio::test(start_paused = true)]
async fn a_leave_rebalances_the_rest() {
    let storage = storage();
    let c = coordinator(&storage, "agent-1");
    let (leader, follower) = stable_pair(&c).await;
    let left = c
        .leave(&group(), &[member(&leader.member_id)])
        .await
        .unwrap();
    assert!(left[0].is_ok(), "{left:?}");
    let beat = c.heartbeat(&group(), 1, &member(&follower.member_id)).await;
    assert!(
        matches!(beat, Err(ClassicError::RebalanceInProgress)),
        "{beat:?}"
    );
    let rejoined = spawn_join(&c, join_request(&follower.member_id, "b", &["range"]));
    let rejoined = rejoined.await.unwrap().unwrap();
    assert_eq!(rejoined.generation, 2);
    assert_eq!(rejoined.leader, follower.member_id, "the one left leads");
    assert_eq!(rejoined.members.len(), 1);
    let stale = c.heartbeat(&group(), 1, &member(&follower.member_id)).await;
    assert!(
        matches!(stale, Err(ClassicError::IllegalGeneration { .. })),
        "{stale:?}"
    );
    let gone = c.heartbeat(&group(), 2, &member(&leader.member_id)).await;
    assert!(
        matches!(gone, Err(ClassicError::UnknownMember { .. })),
        "{gone:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_silent_member_is_removed_after_its_session_and_the_last_leave_empties_the_group() {
    let storage = storage();
    let c = coordinator(&storage, "agent-1");
    let (leader, follower) = stable_pair(&c).await;
    // Only the follower heartbeats, every 3 s, past the leader's session timeout.
    let mut answers = Vec::new();
    for _ in 0..5 {
        silt_core::clock::sleep(Duration::from_secs(3)).await;
        c.tick().await;
        answers.push(c.heartbeat(&group(), 1, &member(&follower.member_id)).await);
    }
    assert!(answers[0].is_ok(), "{answers:?}");
    assert!(
        matches!(answers[4], Err(ClassicError::RebalanceInProgress)),
        "the leader's session ended: {answers:?}"
    );
    let rejoined = spawn_join(&c, join_request(&follower.member_id, "b", &["range"]));
    let rejoined = rejoined.await.unwrap().unwrap();
    assert_eq!(rejoined.generation, 2);
    assert_eq!(rejoined.members.len(), 1);
    assert_ne!(rejoined.members[0].member_id, leader.member_id);
    let left = c
        .leave(&group(), &[member(&follower.member_id)])
        .await
        .unwrap();
    assert!(left[0].is_ok());
    let record = stored(&storage).await;
    assert_eq!(record.state, ClassicState::Empty);
    assert!(record.members.is_empty());
    assert_eq!(
        record.generation, 3,
        "emptying the group is a generation too"
    );
}

#[tokio::test(start_paused = true)]
async fn joins_that_do_not_fit_the_group_are_refused() {
    let storage = storage();
    let c = coordinator(&storage, "agent-1");
    let (leader, _) = stable_pair(&c).await;
    let id = member_id_for(&c, "c").await;
    let other = c.join(join_request(&id, "c", &["roundrobin"])).await;
    assert!(
        matches!(other, Err(ClassicError::InconsistentProtocol { .. })),
        "{other:?}"
    );
    let mut short = join_request("", "d", &["range"]);
    short.session_timeout_ms = 10;
    let short = c.join(short).await;
    assert!(
        matches!(short, Err(ClassicError::InvalidSessionTimeout { .. })),
        "{short:?}"
    );
    let mut huge = join_request("", "h", &["range"]);
    huge.protocols[0].metadata = Bytes::from(vec![7u8; RECORD_BYTES_MAX / 2]);
    let huge = c.join(huge).await;
    assert!(
        matches!(huge, Err(ClassicError::GroupFull { .. })),
        "{huge:?}"
    );
    let unknown = c.join(join_request("nobody", "e", &["range"])).await;
    assert!(
        matches!(unknown, Err(ClassicError::UnknownMember { .. })),
        "{unknown:?}"
    );
    // The leader rejoining starts a rebalance that the follower learns of by heartbeat.
    let rejoin = spawn_join(&c, join_request(&leader.member_id, "a", &["range"]));
    tokio::task::yield_now().await;
    let sync = spawn_sync(&c, &leader, Vec::new()).await.unwrap();
    assert!(
        matches!(sync, Err(ClassicError::RebalanceInProgress)),
        "{sync:?}"
    );
    let rejoined = rejoin.await.unwrap().unwrap();
    assert_eq!(
        rejoined.generation, 2,
        "the follower did not rejoin in time"
    );
}

#[tokio::test(start_paused = true)]
async fn a_static_member_that_restarts_keeps_its_assignment_without_a_rebalance() {
    let storage = storage();
    let c = coordinator(&storage, "agent-1");
    let mut first = join_request("", "s", &["range"]);
    first.instance_id = Some("host-1".into());
    let joined = spawn_join(&c, first.clone()).await.unwrap().unwrap();
    assert_eq!(joined.generation, 1, "a static member needs no second join");
    let assignment = Bytes::from_static(b"orders:0,1");
    let mine = vec![(joined.member_id.clone(), assignment.clone())];
    spawn_sync(&c, &joined, mine).await.unwrap().unwrap();
    // The process restarts: same instance id, no member id.
    let again = spawn_join(&c, first).await.unwrap().unwrap();
    assert_ne!(again.member_id, joined.member_id);
    assert_eq!(again.generation, 1, "no rebalance");
    assert!(again.skip_assignment, "the leader keeps the assignment");
    let synced = spawn_sync(&c, &again, Vec::new()).await.unwrap().unwrap();
    assert_eq!(synced.assignment, assignment);
    let mut old = member(&joined.member_id);
    old.instance_id = Some("host-1".into());
    let fenced = c.heartbeat(&group(), 1, &old).await;
    assert!(
        matches!(fenced, Err(ClassicError::FencedInstance { .. })),
        "{fenced:?}"
    );
}

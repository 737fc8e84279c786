//! Two coordinators over one store: the second takes a group over with its state and offsets,
//! finishes a rebalance the first began, and the first learns it lost the group at its next
//! write or check (NOT_COORDINATOR).

use std::time::Duration;

use bytes::Bytes;
use silt_core::ids::TopicId;

use super::*;

fn offset(partition: u32, offset: i64) -> OffsetToCommit {
    OffsetToCommit {
        partition: tp(partition),
        topic_id: TopicId(ulid::Ulid::from_parts(7, 0)),
        offset,
        metadata: format!("m{offset}"),
    }
}

pub(super) fn commit(
    generation: i32,
    who: MemberRef,
    offsets: Vec<OffsetToCommit>,
) -> CommitRequest {
    CommitRequest {
        group: group(),
        generation,
        member: who,
        offsets,
    }
}

#[tokio::test(start_paused = true)]
async fn a_second_coordinator_takes_over_with_members_and_offsets() {
    let storage = storage();
    let first = coordinator(&storage, "agent-1");
    let (leader, follower) = stable_pair(&first).await;
    let req = commit(
        1,
        member(&leader.member_id),
        vec![offset(0, 42), offset(1, 7)],
    );
    let answers = first.commit(req).await.unwrap();
    assert!(answers.iter().all(|(_, a)| a.is_ok()), "{answers:?}");

    // The first agent "dies"; the members find the second.
    let second = coordinator(&storage, "agent-2");
    let beat = second
        .heartbeat(&group(), 1, &member(&follower.member_id))
        .await;
    assert!(beat.is_ok(), "the generation survived: {beat:?}");
    let synced = spawn_sync(&second, &follower, Vec::new())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        synced.assignment,
        Bytes::from(format!("for {}", follower.member_id))
    );
    let fetched = second
        .fetch(&group(), Some(&[tp(0), tp(1), tp(2)]))
        .await
        .unwrap();
    let offsets: Vec<Option<u64>> = fetched.iter().map(|f| f.offset).collect();
    assert_eq!(offsets, vec![Some(42), Some(7), None]);
    assert_eq!(fetched[0].metadata, "m42");
    assert_eq!(
        fetched[0].topic_id,
        Some(TopicId(ulid::Ulid::from_parts(7, 0)))
    );
    let record = stored(&storage).await;
    assert_eq!(record.coordinator, "agent-2");
    assert_eq!(record.coordinator_epoch, 2, "each agent took it over once");

    // The first agent comes back: its commits are refused, as it checks the record first.
    let req = commit(1, member(&leader.member_id), vec![offset(0, 50)]);
    let late = first.commit(req).await;
    assert!(
        matches!(late, Err(ClassicError::NotCoordinator { .. })),
        "{late:?}"
    );
    let fetched = second.fetch(&group(), Some(&[tp(0)])).await.unwrap();
    assert_eq!(
        fetched[0].offset,
        Some(42),
        "the stale coordinator wrote nothing"
    );
}

#[tokio::test(start_paused = true)]
async fn a_write_lost_to_another_coordinator_answers_not_coordinator() {
    let storage = storage();
    let first = coordinator(&storage, "agent-1");
    let (leader, follower) = stable_pair(&first).await;
    let second = coordinator(&storage, "agent-2");
    assert!(
        second
            .heartbeat(&group(), 1, &member(&leader.member_id))
            .await
            .is_ok()
    );
    // The first agent still holds the group in memory: a leave changes only that...
    let left = first
        .leave(&group(), &[member(&leader.member_id)])
        .await
        .unwrap();
    assert!(left[0].is_ok());
    // ...and the generation it then forms is not stored: the CAS is lost.
    let rejoin = first
        .join(join_request(&follower.member_id, "b", &["range"]))
        .await;
    assert!(
        matches!(rejoin, Err(ClassicError::NotCoordinator { .. })),
        "{rejoin:?}"
    );
    let record = stored(&storage).await;
    assert_eq!(
        (record.generation, record.members.len()),
        (1, 2),
        "nothing of it landed"
    );
    assert_eq!(record.coordinator, "agent-2");
}

#[tokio::test(start_paused = true)]
async fn a_coordinator_that_kept_the_group_in_memory_finds_out_at_its_next_check() {
    let storage = storage();
    let first = coordinator(&storage, "agent-1");
    let (leader, follower) = stable_pair(&first).await;
    let second = coordinator(&storage, "agent-2");
    assert!(
        second
            .heartbeat(&group(), 1, &member(&leader.member_id))
            .await
            .is_ok()
    );
    // Heartbeats to the first agent check the record at most every `recheck_ms`.
    silt_core::clock::sleep(Duration::from_millis(1_100)).await;
    let beat = first
        .heartbeat(&group(), 1, &member(&follower.member_id))
        .await;
    assert!(
        matches!(beat, Err(ClassicError::NotCoordinator { .. })),
        "{beat:?}"
    );
    // Told NOT_COORDINATOR, the member asks again: the first agent reloads (and takes the
    // group back, as it would if FindCoordinator named it again).
    let beat = first
        .heartbeat(&group(), 1, &member(&follower.member_id))
        .await;
    assert!(beat.is_ok(), "{beat:?}");
    assert_eq!(stored(&storage).await.coordinator_epoch, 3);
}

#[tokio::test(start_paused = true)]
async fn the_next_coordinator_finishes_a_rebalance_waiting_for_its_assignment() {
    let storage = storage();
    let first = coordinator(&storage, "agent-1");
    let a = member_id_for(&first, "a").await;
    let b = member_id_for(&first, "b").await;
    let ja = spawn_join(&first, join_request(&a, "a", &["range"]));
    let jb = spawn_join(&first, join_request(&b, "b", &["range"]));
    let (ja, jb) = (ja.await.unwrap().unwrap(), jb.await.unwrap().unwrap());
    assert_eq!(stored(&storage).await.state, ClassicState::AwaitingSync);
    // The first agent dies before the leader's SyncGroup.
    let second = coordinator(&storage, "agent-2");
    let (leader, follower) = match ja.leader == ja.member_id {
        true => (ja, jb),
        false => (jb, ja),
    };
    let follower_sync = spawn_sync(&second, &follower, Vec::new());
    let assignments = vec![(follower.member_id.clone(), Bytes::from_static(b"p0"))];
    let leader_sync = spawn_sync(&second, &leader, assignments);
    assert_eq!(leader_sync.await.unwrap().unwrap().assignment, Bytes::new());
    assert_eq!(
        follower_sync.await.unwrap().unwrap().assignment,
        Bytes::from_static(b"p0")
    );
    assert_eq!(stored(&storage).await.state, ClassicState::Stable);
}

//! The group's record written through a store that fails: a write that did not land fails
//! the requests waiting on it (nothing is answered that is not stored), and the next requests
//! load the group afresh; a write that landed but whose answer was lost is found by reading
//! back, and answered.

use object_store::memory::InMemory;
use silt_core::testing::{Call, Fault, FlakyStore, Rule};

use super::*;

#[tokio::test(start_paused = true)]
async fn a_generation_that_was_not_stored_is_not_answered() {
    let flaky = FlakyStore::new(Arc::new(InMemory::new()), 3);
    let storage = Storage::over(flaky.clone(), Path::default(), "memory://");
    let c = coordinator(&storage, "agent-1");
    let (leader, _) = stable_pair(&c).await;
    let fail = Rule::new(Call::PutUpdate, Fault::ErrorBefore, 1.0).on_keys("classic.json");
    flaky.set_rules(vec![fail]);
    let left = c
        .leave(&group(), &[member(&leader.member_id)])
        .await
        .unwrap();
    assert!(left[0].is_ok(), "a leave changes memory only");
    let record = stored(&storage).await;
    assert_eq!((record.generation, record.members.len()), (1, 2));
    // The follower rejoins: generation 2 cannot be stored, so it is not handed out.
    let follower = match record
        .members
        .iter()
        .find(|m| m.member_id != leader.member_id)
    {
        Some(m) => m.member_id.clone(),
        None => panic!("two members stored"),
    };
    let rejoin = c.join(join_request(&follower, "b", &["range"])).await;
    assert!(
        matches!(rejoin, Err(ClassicError::CoordinatorNotAvailable { .. })),
        "{rejoin:?}"
    );
    assert_eq!(stored(&storage).await.generation, 1);
    // The store answers again: the group is loaded afresh as stored (both members, stable
    // generation 1), so the follower gets generation 1 back, and the leader, whose leave was
    // never stored, is removed when its session ends (as a leave Kafka lost would be).
    flaky.set_rules(Vec::new());
    let again = c
        .join(join_request(&follower, "b", &["range"]))
        .await
        .unwrap();
    assert_eq!(again.generation, 1);
    let mut beats = Vec::new();
    for _ in 0..5 {
        silt_core::clock::sleep(Duration::from_secs(3)).await;
        c.tick().await;
        beats.push(c.heartbeat(&group(), 1, &member(&follower)).await);
    }
    assert!(
        matches!(beats[4], Err(ClassicError::RebalanceInProgress)),
        "{beats:?}"
    );
    let rejoined = spawn_join(&c, join_request(&follower, "b", &["range"]));
    let rejoined = rejoined.await.unwrap().unwrap();
    assert_eq!((rejoined.generation, rejoined.members.len()), (2, 1));
    assert_eq!(stored(&storage).await.generation, 2);
}

#[tokio::test(start_paused = true)]
async fn a_write_whose_answer_was_lost_is_read_back_and_answered() {
    let flaky = FlakyStore::new(Arc::new(InMemory::new()), 4);
    let storage = Storage::over(flaky.clone(), Path::default(), "memory://");
    let c = coordinator(&storage, "agent-1");
    let lost = |fault| Rule::new(Call::PutUpdate, fault, 1.0).on_keys("classic.json");
    flaky.set_rules(vec![
        lost(Fault::ErrorAfter),
        lost(Fault::PreconditionAfter),
    ]);
    let (leader, follower) = stable_pair(&c).await;
    assert_eq!((leader.generation, follower.generation), (1, 1));
    let record = stored(&storage).await;
    assert_eq!((record.generation, record.state), (1, ClassicState::Stable));
}

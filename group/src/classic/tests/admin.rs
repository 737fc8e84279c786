//! `silt group describe / reset-offsets / delete` on a Kafka group: its members and their
//! assignment (read from the consumer protocol's bytes), no reset or delete while it has
//! members, and everything gone after a delete.

use silt_core::topic::TopicSettings;

use super::takeover::commit;
use super::*;
use crate::GroupError;
use crate::admin::{GroupAdmin, GroupState, ResetTo};

fn string(s: &str) -> Vec<u8> {
    let mut out = (s.len() as i16).to_be_bytes().to_vec();
    out.extend_from_slice(s.as_bytes());
    out
}

/// A consumer protocol assignment of `partitions` of `orders`.
fn assignment(partitions: &[i32]) -> Bytes {
    let mut out = 0i16.to_be_bytes().to_vec();
    out.extend(1i32.to_be_bytes());
    out.extend(string("orders"));
    out.extend((partitions.len() as i32).to_be_bytes());
    for p in partitions {
        out.extend(p.to_be_bytes());
    }
    out.extend((-1i32).to_be_bytes());
    Bytes::from(out)
}

#[tokio::test(start_paused = true)]
async fn admin_describes_resets_and_deletes_a_kafka_group() {
    let storage = storage();
    let topic = TopicName::new("orders").unwrap();
    let config = storage
        .create_topic(&topic, 2, TopicSettings::default())
        .await
        .unwrap();
    let c = coordinator(&storage, "agent-1");
    let a = member_id_for(&c, "a").await;
    let joined = spawn_join(&c, join_request(&a, "a", &["range"]))
        .await
        .unwrap()
        .unwrap();
    let mine = vec![(a.clone(), assignment(&[0, 1]))];
    spawn_sync(&c, &joined, mine).await.unwrap().unwrap();
    let to = |p: u32, offset: i64| OffsetToCommit {
        partition: tp(p),
        topic_id: config.topic_id,
        offset,
        metadata: String::new(),
    };
    let answers = c
        .commit(commit(1, member(&a), vec![to(0, 0)]))
        .await
        .unwrap();
    assert!(answers[0].1.is_ok());

    let admin = GroupAdmin::new(&storage);
    let described = admin.describe(&group()).await.unwrap();
    assert_eq!(described.state, GroupState::Stable);
    assert_eq!(described.group_epoch, 1);
    assert_eq!(described.members.len(), 1);
    assert_eq!(described.members[0].assigned, vec![tp(0), tp(1)]);
    assert_eq!(described.partitions.len(), 2);
    let holder = described.partitions[1]
        .consumer_id
        .as_ref()
        .map(|m| m.0.clone());
    assert_eq!(
        holder,
        Some(a.clone()),
        "the assignment names who reads partition 1"
    );
    assert_eq!(described.partitions[0].current_offset, Some(0));

    let reset = admin
        .reset_offsets(&group(), &topic, &[], ResetTo::Latest, true)
        .await;
    assert!(
        matches!(reset, Err(GroupError::GroupActive { members: 1, .. })),
        "{reset:?}"
    );
    let deleted = admin.delete(&group()).await;
    assert!(
        matches!(deleted, Err(GroupError::GroupActive { .. })),
        "{deleted:?}"
    );

    assert!(c.leave(&group(), &[member(&a)]).await.unwrap()[0].is_ok());
    assert_eq!(
        admin.describe(&group()).await.unwrap().state,
        GroupState::Empty
    );
    admin
        .reset_offsets(&group(), &topic, &[], ResetTo::Earliest, true)
        .await
        .unwrap();
    admin.delete(&group()).await.unwrap();
    let gone = admin.describe(&group()).await;
    assert!(
        matches!(gone, Err(GroupError::UnknownGroup { .. })),
        "{gone:?}"
    );
}

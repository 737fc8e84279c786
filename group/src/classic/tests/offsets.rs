//! OffsetCommit's checks (member, generation, the simple consumer) and OffsetFetch; a Kafka
//! group and a silt consumer group of one name refuse each other.

use std::time::Duration;

use silt_core::ids::TopicId;
use silt_core::topic::TopicSettings;

use super::takeover::commit;
use super::*;
use crate::admin::GroupAdmin;
use crate::{GroupError, GroupMember, GroupSettings};

fn at(partition: u32, offset: i64, metadata: &str) -> OffsetToCommit {
    OffsetToCommit {
        partition: tp(partition),
        topic_id: TopicId(ulid::Ulid::from_parts(1, 0)),
        offset,
        metadata: metadata.into(),
    }
}

fn simple() -> MemberRef {
    MemberRef::default()
}

#[tokio::test(start_paused = true)]
async fn member_commits_are_checked_against_member_and_generation() {
    let storage = storage();
    let c = coordinator(&storage, "agent-1");
    let (leader, _) = stable_pair(&c).await;
    let ok = c
        .commit(commit(1, member(&leader.member_id), vec![at(0, 5, "")]))
        .await;
    assert!(ok.unwrap()[0].1.is_ok());
    let stale = c
        .commit(commit(0, member(&leader.member_id), vec![at(0, 9, "")]))
        .await;
    assert!(
        matches!(
            stale,
            Err(ClassicError::IllegalGeneration {
                generation: 0,
                current: 1
            })
        ),
        "{stale:?}"
    );
    let unknown = c
        .commit(commit(1, member("nobody"), vec![at(0, 9, "")]))
        .await;
    assert!(
        matches!(unknown, Err(ClassicError::UnknownMember { .. })),
        "{unknown:?}"
    );
    let simple_now = c.commit(commit(-1, simple(), vec![at(0, 9, "")])).await;
    assert!(
        matches!(simple_now, Err(ClassicError::UnknownMember { .. })),
        "the group has members: {simple_now:?}"
    );
    // Backwards is allowed, as in Kafka; bad offsets and metadata are refused per partition.
    let long = "x".repeat(OFFSET_METADATA_BYTES_MAX + 1);
    let offsets = vec![at(0, 3, "back"), at(1, -1, ""), at(2, 1, &long)];
    let answers = c
        .commit(commit(1, member(&leader.member_id), offsets))
        .await
        .unwrap();
    assert!(answers[0].1.is_ok(), "{answers:?}");
    assert!(matches!(
        answers[1].1,
        Err(ClassicError::NegativeOffset { .. })
    ));
    assert!(matches!(
        answers[2].1,
        Err(ClassicError::MetadataTooLarge { .. })
    ));
    let fetched = c.fetch(&group(), None).await.unwrap();
    assert_eq!(
        fetched.len(),
        1,
        "only partition 0 has an offset: {fetched:?}"
    );
    assert_eq!(
        (fetched[0].offset, fetched[0].metadata.as_str()),
        (Some(3), "back")
    );
}

#[tokio::test(start_paused = true)]
async fn the_simple_consumer_commits_while_the_group_has_no_members() {
    let storage = storage();
    let c = coordinator(&storage, "agent-1");
    let none = c.fetch(&group(), Some(&[tp(0)])).await.unwrap();
    assert_eq!(none[0].offset, None);
    let answers = c
        .commit(commit(-1, simple(), vec![at(0, 10, "s")]))
        .await
        .unwrap();
    assert!(answers[0].1.is_ok(), "{answers:?}");
    assert_eq!(
        c.fetch(&group(), Some(&[tp(0)])).await.unwrap()[0].offset,
        Some(10)
    );
    // It is a group like any other: listed, described, its offsets reset while empty.
    let admin = GroupAdmin::new(&storage);
    assert_eq!(admin.list().await.unwrap(), vec![group()]);
    let described = admin.describe(&group()).await.unwrap();
    assert_eq!(described.partitions.len(), 1);
    // Once a member joined, the simple consumer's commits are refused.
    let (_leader, _) = stable_pair(&c).await;
    let refused = c.commit(commit(-1, simple(), vec![at(0, 11, "")])).await;
    assert!(
        matches!(refused, Err(ClassicError::UnknownMember { .. })),
        "{refused:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn commits_wait_for_the_generations_assignment() {
    let storage = storage();
    let c = coordinator(&storage, "agent-1");
    let a = member_id_for(&c, "a").await;
    let joined = spawn_join(&c, join_request(&a, "a", &["range"]))
        .await
        .unwrap()
        .unwrap();
    let early = c
        .commit(commit(joined.generation, member(&a), vec![at(0, 1, "")]))
        .await;
    assert!(
        matches!(early, Err(ClassicError::RebalanceInProgress)),
        "{early:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_kafka_group_and_a_silt_group_of_one_name_refuse_each_other() {
    let storage = storage();
    let topic = TopicName::new("orders").unwrap();
    storage
        .create_topic(&topic, 2, TopicSettings::default())
        .await
        .unwrap();
    let now = Duration::ZERO;
    let settings = GroupSettings::default();
    let mut native = GroupMember::join(
        &storage,
        &group(),
        std::slice::from_ref(&topic),
        settings.clone(),
        now,
    )
    .await
    .unwrap();
    let c = coordinator(&storage, "agent-1");
    let mut req = join_request("", "k", &["range"]);
    req.require_known_member_id = false;
    let refused = c.join(req.clone()).await;
    assert!(
        matches!(refused, Err(ClassicError::InconsistentProtocol { .. })),
        "{refused:?}"
    );
    native.leave().await.unwrap();
    let joined = spawn_join(&c, req).await.unwrap().unwrap();
    assert_eq!(joined.generation, 1);
    let other = GroupMember::join(&storage, &group(), &[topic], settings, now).await;
    assert!(
        matches!(other, Err(GroupError::KafkaGroup { .. })),
        "{other:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_members_commit_of_what_is_already_committed_writes_nothing() {
    let storage = storage();
    let c = coordinator(&storage, "agent-1");
    let (leader, _) = stable_pair(&c).await;
    let records = Records {
        cas: storage.cas(),
        clock: storage.clock.clone(),
    };
    let key = GroupKeys::new(&storage.keys, &group()).lease(&tp(0));
    let version = || async {
        let lease = records.read::<crate::records::Lease>(&key).await.unwrap();
        lease.unwrap().value.stamp.v
    };
    for (metadata, expected) in [("a", 1), ("a", 1), ("b", 2)] {
        let answers = c
            .commit(commit(
                1,
                member(&leader.member_id),
                vec![at(0, 4, metadata)],
            ))
            .await;
        assert!(answers.unwrap()[0].1.is_ok());
        assert_eq!(
            version().await,
            expected,
            "after committing 4 with {metadata:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_commit_over_an_offset_changed_by_another_writer_is_written_again() {
    let storage = storage();
    let topic = TopicName::new("orders").unwrap();
    let config = storage
        .create_topic(&topic, 1, TopicSettings::default())
        .await
        .unwrap();
    let c = coordinator(&storage, "agent-1");
    let to = |offset| OffsetToCommit {
        partition: tp(0),
        topic_id: config.topic_id,
        offset,
        metadata: String::new(),
    };
    let first = c.commit(commit(-1, simple(), vec![to(5)])).await.unwrap();
    assert!(first[0].1.is_ok());
    // An operator moves the offset while the group is empty: the coordinator's cached
    // version of the record is now stale.
    let admin = GroupAdmin::new(&storage);
    let earliest = crate::admin::ResetTo::Earliest;
    let name = group();
    admin
        .reset_offsets(&name, &topic, &[], earliest, true)
        .await
        .unwrap();
    assert_eq!(
        c.fetch(&name, Some(&[tp(0)])).await.unwrap()[0].offset,
        Some(0)
    );
    // The same commit again is written over the reset, not skipped as already committed.
    let again = c.commit(commit(-1, simple(), vec![to(5)])).await.unwrap();
    assert!(again[0].1.is_ok(), "{again:?}");
    let fetched = c.fetch(&name, Some(&[tp(0)])).await.unwrap();
    assert_eq!(
        fetched[0].offset,
        Some(5),
        "the commit landed over the reset"
    );
}

//! The group APIs in process, over an in-memory store: a member's whole life through the
//! requests librdkafka sends (v4+ join with MEMBER_ID_REQUIRED, sync, heartbeat, commit, fetch,
//! leave), every response encodable at every version served, and NOT_COORDINATOR from an
//! agent the registry does not name.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::*;
use kafka_protocol::protocol::Encodable;
use silt_core::ids::TopicName as SiltTopic;
use silt_core::store::Storage;
use silt_core::topic::TopicSettings;
use silt_writer::WriterSettings;
use tokio::sync::watch;

use super::*;
use crate::kafka::brokers::{Broker, Brokers};
use crate::kafka::{KafkaContext, KafkaSettings};
use crate::service::LogService;

async fn agent(storage: &Storage, port: u16) -> KafkaContext {
    let service = Arc::new(LogService::new(storage.clone(), WriterSettings::default()).unwrap());
    let brokers = Arc::new(Brokers::new(Broker::at("127.0.0.1", port)));
    let (_tx, stopping) = watch::channel(false);
    KafkaContext::new(service, brokers, KafkaSettings::default(), stopping)
}

fn client() -> Client {
    Client {
        id: "rdkafka".into(),
        host: "/127.0.0.1".into(),
    }
}

fn join_request(member_id: &str) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(GroupId(text("billing")))
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(20_000)
        .with_member_id(text(member_id))
        .with_protocol_type(text("consumer"))
        .with_protocols(vec![
            JoinGroupRequestProtocol::default()
                .with_name(text("range"))
                .with_metadata(Bytes::from_static(b"\x00\x00")),
        ])
}

/// Encodes `body` at every version of `range`: none may fail.
fn encodes<T: Encodable>(body: &T, range: std::ops::RangeInclusive<i16>, what: &str) {
    for version in range {
        let mut out = bytes::BytesMut::new();
        body.encode(&mut out, version)
            .unwrap_or_else(|e| panic!("{what} v{version}: {e}"));
    }
}

fn commit_request(generation: i32, member_id: &str, offsets: &[(i32, i64)]) -> OffsetCommitRequest {
    let partitions = offsets
        .iter()
        .map(|(p, o)| {
            OffsetCommitRequestPartition::default()
                .with_partition_index(*p)
                .with_committed_offset(*o)
                .with_committed_metadata(Some(text("meta")))
        })
        .collect();
    OffsetCommitRequest::default()
        .with_group_id(GroupId(text("billing")))
        .with_generation_id_or_member_epoch(generation)
        .with_member_id(text(member_id))
        .with_topics(vec![
            OffsetCommitRequestTopic::default()
                .with_name(TopicName(text("orders")))
                .with_partitions(partitions),
        ])
}

#[tokio::test]
async fn a_member_joins_syncs_commits_fetches_and_leaves() {
    let storage = Storage::open("memory://").await.unwrap();
    let orders = SiltTopic::new("orders").unwrap();
    storage
        .create_topic(&orders, 2, TopicSettings::default())
        .await
        .unwrap();
    let ctx = agent(&storage, 9092).await;

    let found = find_coordinator(
        &ctx,
        2,
        FindCoordinatorRequest::default().with_key(text("billing")),
    )
    .await;
    assert_eq!((found.error_code, found.port), (0, 9092));
    encodes(&found, 0..=3, "FindCoordinator");
    let batch = FindCoordinatorRequest::default()
        .with_coordinator_keys(vec![text("billing"), text("bad group!")]);
    let found = find_coordinator(&ctx, 4, batch).await;
    assert_eq!(found.coordinators[0].error_code, 0);
    assert_eq!(
        found.coordinators[1].error_code,
        ResponseError::InvalidGroupId.code()
    );
    encodes(&found, 4..=4, "FindCoordinator");

    let first = join(&ctx, 5, join_request(""), &client()).await;
    assert_eq!(first.error_code, ResponseError::MemberIdRequired.code());
    assert!(
        first.member_id.starts_with("rdkafka-"),
        "{:?}",
        first.member_id
    );
    encodes(&first, 0..=9, "JoinGroup (refused)");
    let joined = join(&ctx, 5, join_request(&first.member_id), &client()).await;
    assert_eq!(joined.error_code, 0);
    assert_eq!(
        (joined.generation_id, joined.leader.clone()),
        (1, first.member_id.clone())
    );
    assert_eq!(joined.members.len(), 1);
    encodes(&joined, 0..=9, "JoinGroup");

    let member_id = first.member_id.clone();
    let sync_request = SyncGroupRequest::default()
        .with_group_id(GroupId(text("billing")))
        .with_generation_id(1)
        .with_member_id(member_id.clone())
        .with_assignments(vec![
            SyncGroupRequestAssignment::default()
                .with_member_id(member_id.clone())
                .with_assignment(Bytes::from_static(b"all of it")),
        ]);
    let synced = sync(&ctx, 3, sync_request).await;
    assert_eq!(
        (synced.error_code, &synced.assignment[..]),
        (0, &b"all of it"[..])
    );
    encodes(&synced, 0..=5, "SyncGroup");

    let asked = DescribeGroupsRequest::default()
        .with_groups(vec![GroupId(text("billing")), GroupId(text("nobody"))]);
    let described = describe(&ctx, 5, asked).await;
    let billing = &described.groups[0];
    assert_eq!(
        (billing.error_code, billing.group_state.to_string()),
        (0, "Stable".into())
    );
    assert_eq!(billing.protocol_data.to_string(), "range");
    assert_eq!(&billing.members[0].member_assignment[..], &b"all of it"[..]);
    assert_eq!(described.groups[1].group_state.to_string(), "Dead");
    encodes(&described, 0..=5, "DescribeGroups");
    let listed = list(&ctx, 4, ListGroupsRequest::default()).await;
    let names: Vec<String> = listed
        .groups
        .iter()
        .map(|g| g.group_id.0.to_string())
        .collect();
    assert_eq!(names, vec!["billing"]);
    assert_eq!(listed.groups[0].protocol_type.to_string(), "consumer");
    encodes(&listed, 0..=5, "ListGroups");

    let beat = HeartbeatRequest::default()
        .with_group_id(GroupId(text("billing")))
        .with_generation_id(1)
        .with_member_id(member_id.clone());
    assert_eq!(heartbeat(&ctx, 3, beat.clone()).await.error_code, 0);

    let committed = commit(&ctx, 9, commit_request(1, &member_id, &[(0, 5), (7, 1)])).await;
    let codes: Vec<i16> = committed.topics[0]
        .partitions
        .iter()
        .map(|p| p.error_code)
        .collect();
    assert_eq!(
        codes,
        vec![0, ResponseError::UnknownTopicOrPartition.code()]
    );
    encodes(&committed, 2..=9, "OffsetCommit");
    let stale = commit(&ctx, 9, commit_request(0, &member_id, &[(1, 5)])).await;
    assert_eq!(
        stale.topics[0].partitions[0].error_code,
        ResponseError::IllegalGeneration.code()
    );

    let asked = OffsetFetchRequestGroup::default()
        .with_group_id(GroupId(text("billing")))
        .with_topics(Some(vec![
            OffsetFetchRequestTopics::default()
                .with_name(TopicName(text("orders")))
                .with_partition_indexes(vec![0, 1]),
        ]));
    let fetched = fetch(
        &ctx,
        9,
        OffsetFetchRequest::default().with_groups(vec![asked]),
    )
    .await;
    let partitions = &fetched.groups[0].topics[0].partitions;
    let offsets: Vec<i64> = partitions.iter().map(|p| p.committed_offset).collect();
    assert_eq!(offsets, vec![5, -1]);
    assert_eq!(
        partitions[0].metadata.as_ref().map(|m| m.to_string()),
        Some("meta".into())
    );
    encodes(&fetched, 8..=9, "OffsetFetch");
    let all = fetch(
        &ctx,
        5,
        OffsetFetchRequest::default()
            .with_group_id(GroupId(text("billing")))
            .with_topics(None),
    )
    .await;
    assert_eq!(all.topics.len(), 1);
    assert_eq!(
        all.topics[0].partitions.len(),
        1,
        "only partitions with an offset"
    );
    encodes(&all, 2..=7, "OffsetFetch");

    let leave_request = LeaveGroupRequest::default()
        .with_group_id(GroupId(text("billing")))
        .with_members(vec![
            MemberIdentity::default().with_member_id(member_id.clone()),
        ]);
    let left = leave(&ctx, 3, leave_request).await;
    assert_eq!((left.error_code, left.members[0].error_code), (0, 0));
    encodes(&left, 3..=5, "LeaveGroup");
    assert_eq!(
        heartbeat(&ctx, 3, beat).await.error_code,
        ResponseError::UnknownMemberId.code()
    );
}

#[tokio::test]
async fn only_the_agent_the_registry_names_coordinates() {
    let storage = Storage::open("memory://").await.unwrap();
    let (a, b) = (agent(&storage, 9001).await, agent(&storage, 9002).await);
    a.brokers.heartbeat(&storage).await.unwrap();
    b.brokers.heartbeat(&storage).await.unwrap();
    a.brokers.heartbeat(&storage).await.unwrap();
    assert_eq!(a.brokers.live().len(), 2);
    let chosen = a.brokers.coordinator_for("billing");
    assert_eq!(chosen, b.brokers.coordinator_for("billing"), "both agree");
    let (coordinator, other) = match chosen == *a.brokers.this() {
        true => (&a, &b),
        false => (&b, &a),
    };
    let refused = join(other, 5, join_request(""), &client()).await;
    assert_eq!(refused.error_code, ResponseError::NotCoordinator.code());
    let served = join(coordinator, 5, join_request(""), &client()).await;
    assert_eq!(served.error_code, ResponseError::MemberIdRequired.code());
}

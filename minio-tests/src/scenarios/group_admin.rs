//! Groups seen from outside (`silt_group::admin`) on every backend: a group is listed once
//! joined; describe gives Kafka's columns (committed offset, log end, lag, holder); offsets
//! are reset and a group deleted only while it has no members; a reset creates a group that
//! its first member starts from; unknown groups and out-of-range offsets get typed errors; a
//! group idle for 7 days is swept by `gc run`, one used since is kept.

use std::sync::Arc;
use std::time::Duration;

use silt_control::{GcOptions, run_gc};
use silt_core::ids::{GroupName, PartitionId, TopicName};
use silt_core::store::Storage;
use silt_core::testing::ManualClock;
use silt_group::admin::{GROUP_IDLE_MS, GroupAdmin, GroupDescription, GroupState, ResetTo};
use silt_group::{GroupError, GroupMember, GroupSettings};
use silt_reader::ReadError;
use silt_writer::Writer;

use super::{produce, quick, topic};

const WEEK_MS: i64 = 7 * 24 * 60 * 60 * 1000;

pub async fn group_admin_lists_describes_resets_and_deletes(storage: Storage) {
    let clock = ManualClock::new(1_700_000_000_000);
    let storage = storage.with_clock(clock.clone());
    let name = topic(&storage, "admin", 4).await;
    let writer = Arc::new(Writer::open(storage.clone(), &name, quick()).await.unwrap());
    produce(writer.clone(), "p", 100, Some(PartitionId(0))).await;
    let admin = GroupAdmin::new(&storage);
    let group = GroupName::new("reports").unwrap();
    assert!(admin.list().await.unwrap().is_empty());
    assert!(matches!(
        admin.describe(&group).await,
        Err(GroupError::UnknownGroup { .. })
    ));

    // A member joins, takes all four partitions and commits 40 on partition 0.
    let topics = [name.clone()];
    let settings = GroupSettings::default();
    let mut now = Duration::ZERO;
    let mut member = GroupMember::join(&storage, &group, &topics, settings, now)
        .await
        .unwrap();
    now += Duration::from_secs(3);
    member.tick(now).await.unwrap();
    let p0 = member
        .assignment()
        .into_iter()
        .find(|a| a.partition.partition == PartitionId(0))
        .unwrap()
        .partition;
    member.commit(&p0, 40, "checkpoint").await.unwrap();
    assert_eq!(admin.list().await.unwrap(), std::slice::from_ref(&group));
    let described = admin.describe(&group).await.unwrap();
    assert_eq!(described.state, GroupState::Stable);
    assert_eq!(described.members.len(), 1);
    assert_eq!(described.members[0].assigned.len(), 4);
    let row = &described.partitions[0];
    assert_eq!(
        (row.current_offset, row.log_end_offset, row.lag),
        (Some(40), Some(100), Some(60))
    );
    assert_eq!(row.consumer_id.as_ref(), Some(member.member_id()));
    assert_eq!(row.metadata, "checkpoint");
    assert_eq!(described.partitions[1].current_offset, None);
    assert_eq!(described.partitions[1].log_end_offset, Some(0));

    // Resets and deletes are refused while it has a member.
    let refused = admin.reset_offsets(&group, &name, &[], ResetTo::Earliest, true);
    assert!(matches!(
        refused.await,
        Err(GroupError::GroupActive { members: 1, .. })
    ));
    assert!(matches!(
        admin.delete(&group).await,
        Err(GroupError::GroupActive { .. })
    ));
    member.leave().await.unwrap();
    assert_eq!(
        admin.describe(&group).await.unwrap().state,
        GroupState::Empty
    );

    resets(&storage, &admin, &group, &name).await;
    idle_sweep(&storage, &admin, &clock, &group).await;
    assert!(admin.list().await.unwrap().is_empty());
    assert!(matches!(
        admin.delete(&group).await,
        Err(GroupError::UnknownGroup { .. })
    ));
}

/// Dry run, each target, an out-of-range offset, and a reset that creates a new group.
async fn resets(storage: &Storage, admin: &GroupAdmin, group: &GroupName, name: &TopicName) {
    let p0 = [PartitionId(0)];
    let plan = admin
        .reset_offsets(group, name, &p0, ResetTo::Earliest, false)
        .await
        .unwrap();
    assert_eq!((plan[0].previous, plan[0].new_offset), (Some(40), 0));
    let offset_of = |d: &GroupDescription| d.partitions[0].current_offset;
    assert_eq!(offset_of(&admin.describe(group).await.unwrap()), Some(40));
    for (to, expected) in [
        (ResetTo::Earliest, 0),
        (ResetTo::Latest, 100),
        (ResetTo::Offset(7), 7),
        (ResetTo::Timestamp(0), 0),
    ] {
        let done = admin
            .reset_offsets(group, name, &p0, to, true)
            .await
            .unwrap();
        assert_eq!(done[0].new_offset, expected, "{to:?}");
        assert_eq!(
            offset_of(&admin.describe(group).await.unwrap()),
            Some(expected)
        );
    }
    let beyond = admin.reset_offsets(group, name, &p0, ResetTo::Offset(101), true);
    assert!(matches!(
        beyond.await,
        Err(GroupError::Read(ReadError::OffsetOutOfRange { .. }))
    ));
    let all = admin
        .reset_offsets(group, name, &[], ResetTo::Latest, true)
        .await
        .unwrap();
    assert_eq!(all.len(), 4);

    // A reset of a group nobody joined yet creates it; its first member starts there.
    let fresh = GroupName::new("fresh").unwrap();
    admin
        .reset_offsets(&fresh, name, &p0, ResetTo::Offset(25), true)
        .await
        .unwrap();
    assert!(admin.list().await.unwrap().contains(&fresh));
    let topics = [name.clone()];
    let settings = GroupSettings::default();
    let mut m = GroupMember::join(storage, &fresh, &topics, settings, Duration::ZERO)
        .await
        .unwrap();
    m.tick(Duration::from_secs(3)).await.unwrap();
    let committed = m
        .assignment()
        .iter()
        .find_map(|a| (a.partition.partition == PartitionId(0)).then_some(a.committed));
    assert_eq!(committed, Some(Some(25)));
    m.leave().await.unwrap();
    admin.delete(&fresh).await.unwrap();
}

/// Kept until 7 days after its last use, then named by a dry run and swept.
async fn idle_sweep(storage: &Storage, admin: &GroupAdmin, clock: &ManualClock, group: &GroupName) {
    assert_eq!(GROUP_IDLE_MS, WEEK_MS);
    let week = Duration::from_millis(WEEK_MS as u64);
    clock.advance(WEEK_MS - 60_000);
    assert!(admin.delete_idle(week, false).await.unwrap().is_empty());
    clock.advance(120_000);
    assert_eq!(
        admin.delete_idle(week, true).await.unwrap(),
        std::slice::from_ref(group)
    );
    assert!(admin.describe(group).await.is_ok());
    // `gc run` over every topic sweeps it.
    let gc = run_gc(storage, &GcOptions::default()).await.unwrap();
    assert_eq!(gc.groups_deleted, 1, "{gc:?}");
    assert!(matches!(
        admin.describe(group).await,
        Err(GroupError::UnknownGroup { .. })
    ));
}

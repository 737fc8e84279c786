//! Members as their clients meet them: splitting, polling, committing, fencing, leaving.

use std::collections::{BTreeMap, BTreeSet};

use axum::http::StatusCode;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use serde_json::json;
use silt_core::ids::{GroupName, TopicName};
use silt_group::{GroupMember, GroupSettings};

use super::{Api, HEARTBEAT, events, values};
use crate::metrics::{GROUP_COMMITS, GROUP_MEMBERS, GROUP_POLLS};

/// What was recorded since the last snapshot (a snapshot resets counters and gauges), by
/// name and label (`result=ok`, or `""` for none).
fn recorded(snapshotter: &Snapshotter) -> BTreeMap<(String, String), f64> {
    let mut found = BTreeMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let key = key.key();
        let labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        let value = match value {
            DebugValue::Counter(n) => n as f64,
            DebugValue::Gauge(g) => g.into_inner(),
            DebugValue::Histogram(_) => continue,
        };
        found.insert((key.name().to_string(), labels.join(",")), value);
    }
    found
}

/// One metric of `found`, 0 when not recorded.
fn metric(found: &BTreeMap<(String, String), f64>, name: &str, label: &str) -> f64 {
    found
        .get(&(name.to_string(), label.to_string()))
        .copied()
        .unwrap_or_default()
}

/// Two members split four partitions two each; their polls say which partitions they were
/// assigned and return those partitions' records, every record once. When one leaves, the
/// other takes its partitions, and the leaver's routes are 404.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn two_members_split_four_partitions_and_a_leavers_go_to_the_other() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let api = Api::new(8).await;
    api.topic("orders", 4, 5).await;
    let body = json!({"topics": ["orders"], "auto_offset_reset": "earliest"});
    let a = api.join("billing", body.clone()).await;
    let b = api.join("billing", body).await;
    assert_eq!(metric(&recorded(&snapshotter), GROUP_MEMBERS, ""), 2.0);
    let polls = api.settle("billing", &[&a, &b], &[2, 2]).await;
    let mut seen = Vec::new();
    for (member, polls) in [&a, &b].into_iter().zip(&polls) {
        let held = api.held("billing", member).await;
        let assigned: BTreeSet<u32> = events(polls, "assigned").into_iter().collect();
        assert_eq!(assigned, held, "assigned events name what {member} holds");
        for record in polls.iter().flat_map(|p| p["records"].as_array().unwrap()) {
            let p = record["partition"].as_u64().unwrap() as u32;
            assert!(
                held.contains(&p),
                "{record} from a partition {member} holds"
            );
            assert_eq!(record["topic"], "orders");
        }
        seen.extend(values(polls));
    }
    // A member may have read before the other's first tick took its share: read on.
    let extra = api.settle("billing", &[&a, &b], &[2, 2]).await;
    seen.extend(extra.iter().flat_map(|p| values(p)));
    seen.sort();
    let mut expected: Vec<String> = (0..4)
        .flat_map(|p| (0..5).map(move |i| format!("p{p}-{i}")))
        .collect();
    expected.sort();
    assert_eq!(seen, expected, "every record once, none twice");

    let left = api
        .send("DELETE", &format!("/v1/groups/billing/members/{b}"), None)
        .await;
    assert_eq!(left.status, StatusCode::NO_CONTENT, "{}", left.body);
    assert_eq!(metric(&recorded(&snapshotter), GROUP_MEMBERS, ""), 1.0);
    let after = api.settle("billing", &[&a], &[4]).await;
    let found = recorded(&snapshotter);
    assert_eq!(
        metric(&found, GROUP_POLLS, "result=ok"),
        after[0].len() as f64,
        "{found:?}"
    );
    assert_eq!(events(&after[0], "assigned").len(), 2, "{after:?}");
    let gone = api.poll("billing", &b).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "{}", gone.body);
    assert_eq!(gone.body["code"], "unknown_member");
    assert!(
        gone.body["message"]
            .as_str()
            .unwrap()
            .contains("join again")
    );
}

/// A committed offset (with its metadata) is where the next member of the group starts.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_committed_offset_is_where_the_next_member_starts() {
    let api = Api::new(8).await;
    api.topic("ledger", 4, 10).await;
    let body = json!({"topics": ["ledger"], "auto_offset_reset": "earliest", "auto_commit": false});
    let first = api.join("audit", body.clone()).await;
    api.settle("audit", &[&first], &[4]).await;
    let offsets = json!({"offsets": [{"topic": "ledger", "partition": 2, "offset": 7, "metadata": "batch 9"}]});
    let path = format!("/v1/groups/audit/members/{first}/offsets");
    let committed = api.send("POST", &path, Some(offsets)).await;
    assert_eq!(
        committed.status,
        StatusCode::NO_CONTENT,
        "{}",
        committed.body
    );
    let described = api
        .send("GET", &format!("/v1/groups/audit/members/{first}"), None)
        .await;
    let p2 = &described.body["assignment"][2];
    assert_eq!(
        (p2["partition"].as_u64(), p2["committed_offset"].as_u64()),
        (Some(2), Some(7))
    );
    let left = api
        .send("DELETE", &format!("/v1/groups/audit/members/{first}"), None)
        .await;
    assert_eq!(left.status, StatusCode::NO_CONTENT, "{}", left.body);

    let next = api.join("audit", body).await;
    let polls = api.settle("audit", &[&next], &[4]).await;
    let more = api.settle("audit", &[&next], &[4]).await;
    let from_p2: Vec<String> = values(&polls[0])
        .into_iter()
        .chain(values(&more[0]))
        .filter(|v| v.starts_with("p2-"))
        .collect();
    assert_eq!(
        from_p2,
        ["p2-7", "p2-8", "p2-9"],
        "partition 2 resumes at 7"
    );
}

/// A static member replaced by a newer incarnation (two consumers with one instance id) has
/// its partitions taken: its commit is 409 `fenced`, naming the partition; once its task
/// notices, its routes are 404 saying it was replaced.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_commit_of_a_partition_taken_away_is_409_fenced() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let _local = metrics::set_default_local_recorder(&recorder);
    let api = Api::new(8).await;
    api.topic("stock", 2, 3).await;
    let body =
        json!({"topics": ["stock"], "auto_offset_reset": "earliest", "instance_id": "shelf-1"});
    let old = api.join("pickers", body).await;
    api.settle("pickers", &[&old], &[2]).await;

    // The newer incarnation, driven by hand: its join replaces the member, its tick takes
    // the partitions at once (their owner is no longer in the group).
    let settings = GroupSettings {
        instance_id: Some("shelf-1".into()),
        heartbeat_ms: HEARTBEAT.as_millis() as u64,
        session_timeout_ms: 1_000,
        ..GroupSettings::default()
    };
    let group = GroupName::new("pickers").unwrap();
    let topics = [TopicName::new("stock").unwrap()];
    let storage = api.service.storage();
    let mut newer = GroupMember::join(storage, &group, &topics, settings, HEARTBEAT)
        .await
        .unwrap();
    newer.tick(HEARTBEAT).await.unwrap();
    assert_eq!(newer.assignment().len(), 2);

    let offsets = json!({"offsets": [{"topic": "stock", "partition": 1, "offset": 3}]});
    let path = format!("/v1/groups/pickers/members/{old}/offsets");
    let fenced = api.send("POST", &path, Some(offsets)).await;
    assert_eq!(fenced.status, StatusCode::CONFLICT, "{}", fenced.body);
    assert_eq!(fenced.body["code"], "fenced");
    assert_eq!(fenced.body["topic"], "stock");
    assert_eq!(fenced.body["partition"], 1);
    assert!(
        fenced.body["message"].as_str().unwrap().contains("taken"),
        "{}",
        fenced.body
    );
    assert_eq!(fenced.body["offsets"][0]["error"]["code"], "fenced");
    let found = recorded(&snapshotter);
    assert_eq!(
        metric(&found, GROUP_COMMITS, "result=rejected"),
        1.0,
        "{found:?}"
    );
    assert_eq!(metric(&found, GROUP_COMMITS, "result=ok"), 0.0, "{found:?}");

    silt_core::clock::sleep(HEARTBEAT * 2).await;
    let replaced = api.poll("pickers", &old).await;
    assert_eq!(replaced.status, StatusCode::NOT_FOUND, "{}", replaced.body);
    assert_eq!(replaced.body["code"], "unknown_member");
    let message = replaced.body["message"].as_str().unwrap();
    assert!(
        message.contains("replaced by a newer incarnation"),
        "{message}"
    );
    let found = recorded(&snapshotter);
    assert_eq!(
        found.get(&(GROUP_MEMBERS.into(), String::new())),
        Some(&0.0),
        "dropped"
    );
}

/// A member not polled for `max_poll_interval_ms` leaves its group by itself; the agent
/// drops it and says why, and its place is free for a new member.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_member_not_polled_leaves_and_frees_its_place() {
    let api = Api::new(1).await;
    api.topic("idle", 1, 0).await;
    let body = json!({"topics": ["idle"], "max_poll_interval_ms": 500, "heartbeat_ms": 100, "session_timeout_ms": 1000});
    let member = api.join("sleepy", body.clone()).await;
    let full = api
        .send("POST", "/v1/groups/sleepy/members", Some(body.clone()))
        .await;
    assert_eq!(
        full.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        full.body
    );
    assert_eq!(
        (full.body["code"].as_str(), full.body["limit"].as_u64()),
        (Some("too_many_members"), Some(1))
    );

    // It leaves by itself; the next join finds its place free.
    silt_core::clock::sleep(HEARTBEAT * 10).await;
    let next = api.join("sleepy", body).await;
    let gone = api.poll("sleepy", &member).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "{}", gone.body);
    assert!(
        gone.body["message"]
            .as_str()
            .unwrap()
            .contains("join again")
    );

    // A member that ended and was not dropped yet says why.
    silt_core::clock::sleep(HEARTBEAT * 10).await;
    let gone = api.poll("sleepy", &next).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "{}", gone.body);
    let message = gone.body["message"].as_str().unwrap();
    assert!(
        message.contains("not polled within max_poll_interval_ms (500 ms) and left the group"),
        "{message}"
    );
}

/// A stopping agent's members leave their groups (their partitions move at once, not after
/// the session timeout), and a poll waiting on one ends with what it has.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn members_leave_their_groups_when_the_agent_stops() {
    let api = Api::new(8).await;
    api.topic("shutdown", 2, 0).await;
    let member = api.join("closing", json!({"topics": ["shutdown"]})).await;
    api.settle("closing", &[&member], &[2]).await;
    let waiting = {
        let app = api.app.clone();
        let uri = format!("/v1/groups/closing/members/{member}/records?wait=60");
        tokio::spawn(async move {
            let request = axum::http::Request::get(uri)
                .body(axum::body::Body::empty())
                .unwrap();
            tower::ServiceExt::oneshot(app, request).await.unwrap()
        })
    };
    tokio::task::yield_now().await;
    let started = tokio::time::Instant::now();
    api.service.close().await;
    let answer = waiting.await.unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "the poll ended early"
    );

    let group = GroupName::new("closing").unwrap();
    let topics = [TopicName::new("shutdown").unwrap()];
    let storage = api.service.storage();
    let settings = GroupSettings::default();
    let next = GroupMember::join(storage, &group, &topics, settings, HEARTBEAT)
        .await
        .unwrap();
    let members = &next.document().unwrap().members;
    assert_eq!(members.len(), 1, "only the new member: {members:?}");
    let gone = api.poll("closing", &member).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND, "{}", gone.body);
}

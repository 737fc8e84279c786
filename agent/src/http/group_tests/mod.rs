//! The consumer-group routes in process, over an in-memory store on tokio's paused clock (a
//! member's heartbeats and rebalances take no real time): members split partitions, poll
//! records with their assignment events, commit where the next member starts, are fenced when
//! a partition is taken, and leave; bad requests and limits get typed errors (`bad_input`).

#![allow(clippy::unwrap_used)] // tests fail by panicking

mod bad_input;
mod members;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use silt_core::ids::{PartitionId, TopicName};
use silt_core::record::Record;
use silt_core::store::Storage;
use silt_core::topic::TopicSettings;
use silt_writer::WriterSettings;
use tower::Service;

use crate::http::{HttpSettings, router};
use crate::service::LogService;

/// The members' heartbeat interval.
const HEARTBEAT: Duration = Duration::from_millis(100);
/// Most heartbeats a rebalance may take in these tests.
const ROUNDS_MAX: usize = 50;

/// An agent over an in-memory store.
struct Api {
    app: axum::Router,
    service: Arc<LogService>,
}

/// An answer: status and JSON body (`null` when empty).
struct Answer {
    status: StatusCode,
    body: Value,
}

impl Api {
    async fn new(members_max: usize) -> Api {
        let storage = Storage::open("memory://").await.unwrap();
        let service = LogService::new(storage, WriterSettings::default())
            .unwrap()
            .with_group_members_max(members_max);
        let service = Arc::new(service);
        Api {
            app: router(service.clone(), HttpSettings::default()),
            service,
        }
    }

    /// Creates `topic` with `partitions` partitions, each holding `records` records
    /// `p<partition>-<offset>`.
    async fn topic(&self, topic: &str, partitions: u32, records: u64) {
        let name = TopicName::new(topic).unwrap();
        let storage = self.service.storage();
        storage
            .create_topic(&name, partitions, TopicSettings::default())
            .await
            .unwrap();
        for p in (0..partitions).filter(|_| records > 0) {
            let batch = (0..records)
                .map(|i| Record::from_value(format!("p{p}-{i}").into_bytes(), 0))
                .collect();
            self.service
                .append_to(&name, PartitionId(p), batch, None)
                .await
                .unwrap();
        }
    }

    async fn send(&self, method: &str, uri: &str, body: Option<Value>) -> Answer {
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(body)
            .unwrap();
        let response = self.app.clone().call(request).await.unwrap();
        let status = response.status();
        let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let body = match bytes.is_empty() {
            true => Value::Null,
            false => serde_json::from_slice(&bytes).unwrap(),
        };
        Answer { status, body }
    }

    /// Joins `group` with `body` (quick heartbeats unless it says otherwise); the member id.
    async fn join(&self, group: &str, body: Value) -> String {
        let mut body = body;
        let o = body.as_object_mut().unwrap();
        o.entry("heartbeat_ms")
            .or_insert(json!(HEARTBEAT.as_millis() as u64));
        o.entry("session_timeout_ms").or_insert(json!(1_000));
        let joined = self
            .send("POST", &format!("/v1/groups/{group}/members"), Some(body))
            .await;
        assert_eq!(joined.status, StatusCode::CREATED, "{}", joined.body);
        joined.body["member_id"].as_str().unwrap().to_string()
    }

    /// One poll that does not wait, bytes as text.
    async fn poll(&self, group: &str, member: &str) -> Answer {
        let uri = format!("/v1/groups/{group}/members/{member}/records?encoding=utf8");
        self.send("GET", &uri, None).await
    }

    /// The partitions the member holds, by `GET .../members/{m}`.
    async fn held(&self, group: &str, member: &str) -> BTreeSet<u32> {
        let described = self
            .send("GET", &format!("/v1/groups/{group}/members/{member}"), None)
            .await;
        assert_eq!(described.status, StatusCode::OK, "{}", described.body);
        described.body["assignment"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["partition"].as_u64().unwrap() as u32)
            .collect()
    }

    /// Polls every member once a heartbeat until each holds as many partitions as `counts`
    /// says; returns every poll's answer, per member.
    async fn settle(&self, group: &str, members: &[&str], counts: &[usize]) -> Vec<Vec<Value>> {
        let mut polls = vec![Vec::new(); members.len()];
        for _ in 0..ROUNDS_MAX {
            for (i, m) in members.iter().enumerate() {
                let polled = self.poll(group, m).await;
                assert_eq!(polled.status, StatusCode::OK, "{}", polled.body);
                polls[i].push(polled.body);
            }
            let mut held = Vec::new();
            for m in members {
                held.push(self.held(group, m).await.len());
            }
            if held == counts {
                return polls;
            }
            silt_core::clock::sleep(HEARTBEAT).await;
        }
        panic!("members {members:?} did not come to hold {counts:?} partitions");
    }
}

/// The partitions of one kind of event (`assigned`, `revoked`, `lost`) in `polls`, in order.
fn events(polls: &[Value], kind: &str) -> Vec<u32> {
    polls
        .iter()
        .flat_map(|p| p["events"].as_array().unwrap().clone())
        .filter_map(|e| e[kind]["partition"].as_u64())
        .map(|p| p as u32)
        .collect()
}

/// The values of the records in `polls`, in order.
fn values(polls: &[Value]) -> Vec<String> {
    polls
        .iter()
        .flat_map(|p| p["records"].as_array().unwrap().clone())
        .map(|r| r["value"].as_str().unwrap().to_string())
        .collect()
}

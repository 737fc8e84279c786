//! The agent's HTTP API end to end (issue 15): a real `silt agent` process on loopback, driven
//! over HTTP, on `file://`, on SeaweedFS, and with manifests in DynamoDB (cases skip on a
//! backend whose server is not set, saying so once).
//!
//! One agent per backend serves every case of this binary ([`shared`]); each case uses its
//! own topics. Cases that need an agent of their own (auth, the concurrency limit) start one.
//! This file is the harness; the cases are grouped by what they cover:
//! - `routes`: every route and its answer;
//! - `statuses`: every error status, provoked by a request of its kind;
//! - `streaming`: event streams resumed with `Last-Event-ID`, long-polls woken by an append;
//! - `curl`: the documentation's curl lines, run with curl;
//! - `groups`: consumer-group members driven by a Python client (urllib);
//! - `bad_input`: a table of malformed requests, each refused with its 4xx and the log unchanged.

#![allow(clippy::unwrap_used)] // tests fail by panicking

mod common;

use std::sync::OnceLock;

use common::Backend;
use common::agent::{Agent, Answer};
use serde_json::{Value, json};

/// One `#[test]` per case and backend (`file::case`, `seaweedfs::case`, `dynamodb::case`),
/// each calling `case(&Agent)` with that backend's shared agent.
macro_rules! on_every_agent {
    ($($case:ident),* $(,)?) => {
        mod file {
            $( #[test] fn $case() { super::$case($crate::shared(Store::File).unwrap()); } )*
            use $crate::Store;
        }
        mod seaweedfs {
            $( #[test] fn $case() {
                if let Some(agent) = $crate::shared(Store::Seaweedfs) { super::$case(agent); }
            } )*
            use $crate::Store;
        }
        mod dynamodb {
            $( #[test] fn $case() {
                if let Some(agent) = $crate::shared(Store::Dynamodb) { super::$case(agent); }
            } )*
            use $crate::Store;
        }
    };
}

#[path = "agent/bad_input.rs"]
mod bad_input;
#[path = "agent/curl.rs"]
mod curl;
#[path = "agent/groups.rs"]
mod groups;
#[path = "agent/routes.rs"]
mod routes;
#[path = "agent/statuses.rs"]
mod statuses;
#[path = "agent/streaming.rs"]
mod streaming;

/// The backends a shared agent runs on.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Store {
    File,
    Seaweedfs,
    Dynamodb,
}

/// The agent shared by this binary's cases on `store`, started by the first case that asks;
/// `None` (said once on stderr) when the backend's server is not set.
pub(crate) fn shared(store: Store) -> Option<&'static Agent> {
    static AGENTS: [OnceLock<Option<Agent>>; 3] =
        [OnceLock::new(), OnceLock::new(), OnceLock::new()];
    AGENTS[store as usize]
        .get_or_init(|| {
            let backend = match store {
                Store::File => Some(Backend::file()),
                Store::Seaweedfs => Backend::seaweedfs(),
                Store::Dynamodb => Backend::dynamodb(),
            };
            backend.map(|b| Agent::start_shared(&b, &[]))
        })
        .as_ref()
}

impl Agent {
    /// Creates `topic` with `partitions` partitions; it must not exist.
    pub(crate) fn create(&self, topic: &str, partitions: u32) -> Value {
        let created = self.post(
            "/v1/topics",
            &json!({"name": topic, "partitions": partitions}),
        );
        assert_eq!(created.status, 201, "create {topic}: {}", created.body);
        created.json()
    }

    /// Appends UTF-8 `values` to one partition in one batch; returns the answer's body.
    pub(crate) fn append_text(&self, topic: &str, partition: u32, values: &[&str]) -> Value {
        let records: Vec<Value> = values.iter().map(|v| json!({ "value": v })).collect();
        let path = format!("/v1/topics/{topic}/partitions/{partition}/records?encoding=utf8");
        let appended = self.post(&path, &json!({ "records": records }));
        assert_eq!(appended.status, 200, "append to {topic}: {}", appended.body);
        appended.json()
    }

    /// Every partition's next offset, from `GET /v1/topics/{t}`.
    pub(crate) fn next_offsets(&self, topic: &str) -> Vec<u64> {
        let described = self.get(&format!("/v1/topics/{topic}"));
        assert_eq!(
            described.status, 200,
            "describe {topic}: {}",
            described.body
        );
        described.json()["partitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["next_offset"].as_u64().unwrap())
            .collect()
    }

    /// The values read from `offset` of one partition, as UTF-8 text.
    pub(crate) fn values(&self, topic: &str, partition: u32, offset: u64) -> Vec<String> {
        let path = format!(
            "/v1/topics/{topic}/partitions/{partition}/records?offset={offset}&encoding=utf8"
        );
        let read = self.get(&path);
        assert_eq!(read.status, 200, "read {topic}: {}", read.body);
        values_of(&read.json())
    }
}

/// The values of a read's records, as text.
pub(crate) fn values_of(batch: &Value) -> Vec<String> {
    batch["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["value"].as_str().unwrap().to_string())
        .collect()
}

/// Asserts an error answer: its status, its JSON `code`, and a message that says `says`.
pub(crate) fn assert_error(answer: &Answer, status: u16, code: &str, says: &str) {
    assert_eq!(answer.status, status, "{}", answer.body);
    let body = answer.json();
    assert_eq!(body["code"], code, "{}", answer.body);
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(says),
        "expected {says:?} in the message: {}",
        answer.body
    );
}

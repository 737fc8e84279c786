//! The agent's HTTP API end to end: a real `silt agent` process, driven over HTTP.

mod common;

use common::Backend;
use common::agent::Agent;
use serde_json::json;

#[test]
fn a_record_appended_over_http_is_read_back() {
    let agent = Agent::start(&Backend::file(), &[]);
    let created = agent.post("/v1/topics", &json!({"name": "smoke", "partitions": 2}));
    assert_eq!(created.status, 201, "{}", created.body);
    let appended = agent.post(
        "/v1/topics/smoke/partitions/1/records",
        &json!({"records": [{"key": "aw==", "value": "aGVsbG8="}]}),
    );
    assert_eq!(appended.status, 200, "{}", appended.body);
    assert_eq!(appended.json()["base_offset"], 0);
    let read = agent.get("/v1/topics/smoke/partitions/1/records?offset=0&encoding=utf8");
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.json()["records"][0]["value"], "hello");
    assert_eq!(read.json()["next_offset"], 1);
}

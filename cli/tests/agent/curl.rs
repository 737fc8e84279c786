//! The curl lines of docs/http-api.md and the README, run with curl itself against the shared
//! agent on `file://`: the client the documentation promises, not a hand-made request.

use std::process::Command;

use serde_json::Value;

use crate::Store;

/// Runs `curl -s <args>` and returns the HTTP status and the body.
fn curl(args: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .arg("-s")
        .args(args)
        .args(["-w", "\n%{http_code}"])
        .output()
        .expect("curl must be installed (scripts/test installs it with apt when missing)");
    let text = String::from_utf8(out.stdout).unwrap();
    let (body, status) = text.rsplit_once('\n').unwrap();
    (status.parse().unwrap(), body.to_string())
}

fn json(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

#[test]
fn the_documented_curl_examples_work() {
    let agent = crate::shared(Store::File).unwrap();
    let url = |path: &str| agent.at(path);
    let topics = url("/v1/topics");
    let create = r#"{"name":"curl-orders","partitions":3,"retention_ms":604800000}"#;
    let (status, body) = curl(&[&topics, "-d", create]);
    assert_eq!(status, 201, "{body}");
    assert_eq!(json(&body)["partition_count"], 3);

    let records =
        r#"{"records":[{"key":"user-7","value":"hello"},{"value":"world","partition":2}]}"#;
    let to_topic = url("/v1/topics/curl-orders/records");
    let (status, body) = curl(&[&to_topic, "-H", "Silt-Encoding: utf8", "-d", records]);
    assert_eq!(status, 200, "{body}");
    let placed = json(&body)["records"].as_array().unwrap().clone();
    let before_in_2 = (placed[0]["partition"] == 2) as u64;
    assert_eq!(
        placed[1],
        serde_json::json!({"partition": 2, "offset": before_in_2})
    );
    // user-7's record went where its key hashes: partition 0 holds 0 or 1 records now.
    let next = placed.iter().filter(|r| r["partition"] == 0).count() as u64;

    let to_partition = url("/v1/topics/curl-orders/partitions/0/records");
    let conditional = format!(r#"{{"records":[{{"value":"aGVsbG8="}}],"match_offset":{next}}}"#);
    let (status, body) = curl(&[&to_partition, "-d", &conditional]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["base_offset"], next);
    let (status, body) = curl(&[&to_partition, "-d", &conditional]);
    assert_eq!(status, 412, "{body}");
    assert_eq!(json(&body)["code"], "offset_mismatch");
    assert_eq!(json(&body)["next_offset"], next + 1);

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("records.jsonl");
    std::fs::write(&file, "{\"value\":\"n1\"}\n{\"value\":\"n2\"}\n").unwrap();
    let ndjson = url("/v1/topics/curl-orders/partitions/1/records?encoding=utf8");
    let data = format!("@{}", file.display());
    let (status, body) = curl(&[
        &ndjson,
        "-H",
        "Content-Type: application/x-ndjson",
        "--data-binary",
        &data,
    ]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["last_offset"], 1);

    let read =
        url("/v1/topics/curl-orders/partitions/1/records?offset=0&max_records=100&encoding=utf8");
    let (status, body) = curl(&[&read]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(crate::values_of(&json(&body)), ["n1", "n2"]);

    // An event stream: curl -N prints events as they come; --max-time ends it.
    let stream = url("/v1/topics/curl-orders/partitions/1/records?offset=0&encoding=utf8");
    let (_, events) = curl(&[
        "-N",
        "-H",
        "Accept: text/event-stream",
        "--max-time",
        "1",
        &stream,
    ]);
    assert!(events.contains("event: batch\nid: 2\n"), "{events}");

    let (status, body) = curl(&[&url("/v1/topics/curl-orders/partitions/0/tail")]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["next_offset"], next + 1);
    let (status, body) = curl(&[&url("/metrics")]);
    assert_eq!(status, 200);
    assert!(body.contains("silt_http_requests_total"), "{body}");
    let (status, body) = curl(&["-X", "DELETE", &url("/v1/topics/curl-orders")]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["deleted"], true);
}

/// The consumer-group lines of docs/http-api.md: join, poll until records come (the first
/// poll may answer only `assigned`: the member takes its partition at its first heartbeat,
/// 3 s by default), commit, describe, leave.
#[test]
fn the_documented_group_curl_examples_work() {
    let agent = crate::shared(Store::File).unwrap();
    agent.create("curl-ledger", 1);
    agent.append_text("curl-ledger", 0, &["a", "b", "c"]);
    let join = r#"{"topics":["curl-ledger"],"auto_offset_reset":"earliest"}"#;
    let (status, body) = curl(&[&agent.at("/v1/groups/curl-billing/members"), "-d", join]);
    assert_eq!(status, 201, "{body}");
    let m = agent.at(json(&body)["path"].as_str().unwrap());

    let poll = format!("{m}/records?wait=5&encoding=utf8");
    let mut events = Vec::new();
    let mut records = Vec::new();
    for _ in 0..5 {
        let (status, body) = curl(&[&poll]);
        assert_eq!(status, 200, "{body}");
        let polled = json(&body);
        events.extend(polled["events"].as_array().unwrap().clone());
        records.extend(polled["records"].as_array().unwrap().clone());
        if !records.is_empty() {
            break;
        }
    }
    let assigned = serde_json::json!({"assigned": {"topic": "curl-ledger", "partition": 0}});
    assert_eq!(events, [assigned]);
    let values: Vec<&str> = records
        .iter()
        .map(|r| r["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["a", "b", "c"]);

    let commit =
        r#"{"offsets":[{"topic":"curl-ledger","partition":0,"offset":3,"metadata":"batch 7"}]}"#;
    let (status, body) = curl(&[&format!("{m}/offsets"), "-d", commit]);
    assert_eq!(status, 204, "{body}");
    let (status, body) = curl(&[&m]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["assignment"][0]["committed_offset"], 3);
    let (status, body) = curl(&["-X", "DELETE", &m]);
    assert_eq!(status, 204, "{body}");
}

//! Every route of the HTTP API and what it answers, on each backend's shared agent.

use serde_json::{Value, json};

use crate::common::agent::{Agent, call};
use crate::values_of;

on_every_agent!(
    topics_are_created_listed_described_and_altered,
    records_sent_to_a_topic_go_to_their_partitions,
    a_batch_appends_to_one_partition_at_its_match_offset,
    ndjson_bodies_append_one_record_a_line,
    reads_start_at_an_offset_a_timestamp_or_back_from_the_tail,
    bytes_are_base64_unless_text_is_asked_for,
    the_tail_route_gives_the_log_start_and_next_offset,
    health_readiness_and_metrics_answer,
    a_deleted_topic_is_unknown_at_once_and_its_name_waits_for_gc,
    a_kinesis_md5_topic_places_keys_by_md5_ranges,
);

fn topics_are_created_listed_described_and_altered(agent: &Agent) {
    let created = agent.post(
        "/v1/topics",
        &json!({"name": "routes-topics", "partitions": 3, "retention_ms": 60000,
                "cleanup_policy": "compact", "seal_after_ms": 5000}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let body = created.json();
    assert_eq!(body["name"], "routes-topics");
    assert_eq!(body["partition_count"], 3);
    assert_eq!(body["retention_ms"], 60000);
    assert_eq!(body["cleanup_policy"], "compact");
    assert_eq!(body["seal_after_ms"], 5000);
    assert_eq!(body["retention_bytes"], -1, "unset by default");
    let partitions = body["partitions"].as_array().unwrap();
    assert_eq!(partitions.len(), 3);
    assert_eq!(partitions[2]["partition"], 2);
    assert_eq!(partitions[2]["next_offset"], 0);

    let listed = agent.get("/v1/topics");
    assert_eq!(listed.status, 200, "{}", listed.body);
    let names = listed.json()["topics"].as_array().unwrap().clone();
    assert!(names.contains(&json!("routes-topics")), "{names:?}");

    let described = agent.get("/v1/topics/routes-topics");
    assert_eq!(described.status, 200, "{}", described.body);
    assert_eq!(described.json()["topic_id"], body["topic_id"]);

    let altered = agent.patch(
        "/v1/topics/routes-topics",
        &json!({"retention_ms": -1, "retention_bytes": 1048576}),
    );
    assert_eq!(altered.status, 200, "{}", altered.body);
    let altered = altered.json();
    assert_eq!(altered["retention_ms"], -1, "-1 unsets");
    assert_eq!(altered["retention_bytes"], 1048576);
    assert_eq!(altered["seal_after_ms"], 5000, "an absent field is kept");
    let described = agent.get("/v1/topics/routes-topics").json();
    assert_eq!(described["retention_bytes"], 1048576);
}

fn records_sent_to_a_topic_go_to_their_partitions(agent: &Agent) {
    agent.create("routes-placed", 4);
    let records = json!({"records": [
        {"key": "a2V5", "value": "b25l", "partition": 3, "timestamp": 1700000000000_i64,
         "headers": [{"key": "h", "value": "dg=="}, {"key": "h", "value": null}]},
        {"key": "a2V5", "value": "dHdv"},
        {"key": "a2V5", "value": "dGhyZWU="},
        {"value": null, "partition": 3},
    ]});
    let appended = agent.post("/v1/topics/routes-placed/records", &records);
    assert_eq!(appended.status, 200, "{}", appended.body);
    let placed = appended.json()["records"].as_array().unwrap().clone();
    assert_eq!(placed.len(), 4);
    assert_eq!(placed[0], json!({"partition": 3, "offset": 0}));
    assert_eq!(placed[3], json!({"partition": 3, "offset": 1}));
    // The same key goes to the same partition, in order.
    assert_eq!(placed[1]["partition"], placed[2]["partition"]);
    let keyed = placed[1]["partition"].as_u64().unwrap();
    assert_eq!(
        placed[2]["offset"],
        placed[1]["offset"].as_u64().unwrap() + 1
    );

    let read = agent.get("/v1/topics/routes-placed/partitions/3/records?offset=0");
    assert_eq!(read.status, 200, "{}", read.body);
    let batch = read.json();
    let first = &batch["records"][0];
    assert_eq!(first["partition"], 3);
    assert_eq!(first["offset"], 0);
    assert_eq!(first["key"], "a2V5");
    assert_eq!(first["value"], "b25l");
    assert_eq!(first["timestamp"], 1700000000000_i64);
    assert_eq!(
        first["headers"],
        json!([{"key": "h", "value": "dg=="}, {"key": "h", "value": ""}])
    );
    assert_eq!(batch["records"][1]["value"], Value::Null, "a tombstone");
    assert_eq!(batch["next_offset"], 2);
    let read = agent.get(&format!(
        "/v1/topics/routes-placed/partitions/{keyed}/records?encoding=utf8"
    ));
    let values = values_of(&read.json());
    let at = placed[1]["offset"].as_u64().unwrap() as usize;
    assert_eq!(values[at..], ["two", "three"]);
}

fn a_batch_appends_to_one_partition_at_its_match_offset(agent: &Agent) {
    agent.create("routes-batch", 2);
    let path = "/v1/topics/routes-batch/partitions/1/records";
    let batch = |values: &[&str], match_offset: Option<u64>| {
        let records: Vec<Value> = values.iter().map(|v| json!({"value": v})).collect();
        let mut body = json!({ "records": records });
        if let Some(m) = match_offset {
            body["match_offset"] = json!(m);
        }
        agent.post(path, &body)
    };
    let first = batch(&["YQ==", "Yg==", "Yw=="], Some(0));
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(
        first.json(),
        json!({"partition": 1, "base_offset": 0, "last_offset": 2, "next_offset": 3})
    );
    let second = batch(&["ZA=="], None);
    assert_eq!(second.json()["base_offset"], 3);
    let third = batch(&["ZQ==", "Zg=="], Some(4));
    assert_eq!(third.status, 200, "{}", third.body);
    assert_eq!(third.json()["last_offset"], 5);
    assert_eq!(agent.next_offsets("routes-batch"), [0, 6]);
    assert_eq!(
        agent.values("routes-batch", 1, 0),
        ["a", "b", "c", "d", "e", "f"]
    );
}

fn ndjson_bodies_append_one_record_a_line(agent: &Agent) {
    agent.create("routes-ndjson", 1);
    let ndjson = [("content-type", "application/x-ndjson")];
    let lines = b"{\"value\": \"b25l\"}\n\n{\"value\": \"dHdv\", \"key\": \"aw==\"}\n";
    let url = agent.at("/v1/topics/routes-ndjson/partitions/0/records?match_offset=0");
    let appended = call("POST", &url, &ndjson, lines);
    assert_eq!(appended.status, 200, "{}", appended.body);
    assert_eq!(appended.json()["next_offset"], 2);
    let url = agent.at("/v1/topics/routes-ndjson/records?encoding=utf8");
    let appended = call("POST", &url, &ndjson, b"{\"value\": \"three\"}");
    assert_eq!(appended.status, 200, "{}", appended.body);
    assert_eq!(
        appended.json()["records"],
        json!([{"partition": 0, "offset": 2}])
    );
    assert_eq!(agent.values("routes-ndjson", 0, 0), ["one", "two", "three"]);
}

fn reads_start_at_an_offset_a_timestamp_or_back_from_the_tail(agent: &Agent) {
    agent.create("routes-reads", 1);
    let records: Vec<Value> = (0..10)
        .map(|i| json!({"value": format!("v{i}"), "timestamp": 1000 * (i + 1)}))
        .collect();
    let path = "/v1/topics/routes-reads/partitions/0/records";
    let appended = agent.post(
        &format!("{path}?encoding=utf8"),
        &json!({ "records": records }),
    );
    assert_eq!(appended.status, 200, "{}", appended.body);
    let read = |query: &str| {
        let read = agent.get(&format!("{path}?encoding=utf8&{query}"));
        assert_eq!(read.status, 200, "{query}: {}", read.body);
        read.json()
    };
    let earliest = read("max_records=3");
    assert_eq!(values_of(&earliest), ["v0", "v1", "v2"]);
    assert_eq!(earliest["next_offset"], 3);
    assert_eq!(earliest["tail"], 10);
    assert_eq!(values_of(&read("offset=8")), ["v8", "v9"]);
    assert_eq!(
        values_of(&read("timestamp=6500&max_records=2")),
        ["v6", "v7"]
    );
    assert_eq!(values_of(&read("tail_offset=2")), ["v8", "v9"]);
    assert_eq!(values_of(&read("tail_offset=50&max_records=1")), ["v0"]);
    // Each value is 2 bytes: 5 bytes hold 2 records (at least one is always returned).
    let bounded = read("offset=4&max_bytes=5");
    assert_eq!(values_of(&bounded), ["v4", "v5"]);
    assert_eq!(bounded["next_offset"], 6);
    assert_eq!(values_of(&read("offset=4&max_bytes=1")), ["v4"]);
    let at_tail = read("offset=10&wait=0");
    assert_eq!(values_of(&at_tail), Vec::<String>::new());
    assert_eq!(at_tail["next_offset"], 10);
}

fn bytes_are_base64_unless_text_is_asked_for(agent: &Agent) {
    agent.create("routes-bytes", 1);
    let path = "/v1/topics/routes-bytes/partitions/0/records";
    // Text in, by the header; bytes that are not UTF-8 by {"base64": ...} in either encoding.
    let text = [
        ("content-type", "application/json"),
        ("silt-encoding", "utf8"),
    ];
    let body = json!({"records": [
        {"key": "k", "value": "héllo", "headers": [{"key": "h", "value": "x"}]},
        {"value": {"base64": "/wA="}},
    ]});
    let appended = call("POST", &agent.at(path), &text, body.to_string().as_bytes());
    assert_eq!(appended.status, 200, "{}", appended.body);

    let base64 = agent.get(&format!("{path}?offset=0")).json();
    assert_eq!(base64["records"][0]["key"], "aw==");
    assert_eq!(base64["records"][0]["value"], "aMOpbGxv");
    assert_eq!(base64["records"][1]["value"], "/wA=");
    let by_query = agent.get(&format!("{path}?offset=0&encoding=utf8")).json();
    assert_eq!(by_query["records"][0]["value"], "héllo");
    assert_eq!(by_query["records"][0]["headers"][0]["value"], "x");
    assert_eq!(by_query["records"][1]["value"], json!({"base64": "/wA="}));
    let by_header = call(
        "GET",
        &agent.at(&format!("{path}?offset=0")),
        &text[1..],
        b"",
    );
    assert_eq!(by_header.json()["records"][0]["value"], "héllo");
}

fn the_tail_route_gives_the_log_start_and_next_offset(agent: &Agent) {
    agent.create("routes-tail", 2);
    agent.append_text("routes-tail", 1, &["a", "b"]);
    let tail = agent.get("/v1/topics/routes-tail/partitions/1/tail");
    assert_eq!(tail.status, 200, "{}", tail.body);
    assert_eq!(
        tail.json(),
        json!({"partition": 1, "log_start_offset": 0, "next_offset": 2})
    );
    let empty = agent.get("/v1/topics/routes-tail/partitions/0/tail").json();
    assert_eq!(empty["next_offset"], 0);
}

fn health_readiness_and_metrics_answer(agent: &Agent) {
    let health = agent.get("/healthz");
    assert_eq!((health.status, health.body.as_str()), (200, "ok"));
    let ready = agent.get("/readyz");
    assert_eq!((ready.status, ready.body.as_str()), (200, "ready"));
    let metrics = agent.get("/metrics");
    assert_eq!(metrics.status, 200, "{}", metrics.body);
    assert!(
        metrics
            .header("content-type")
            .unwrap()
            .starts_with("text/plain"),
        "{:?}",
        metrics.headers
    );
    assert!(
        metrics.body.contains("silt_http_requests_total{"),
        "{}",
        metrics.body
    );
}

fn a_deleted_topic_is_unknown_at_once_and_its_name_waits_for_gc(agent: &Agent) {
    agent.create("routes-deleted", 2);
    // Appended and read first, through this agent and another on the same store, so both hold
    // a writer, a reader and a cursor for it.
    let other = agent.another(&[]);
    agent.append_text("routes-deleted", 1, &["before"]);
    other.append_text("routes-deleted", 0, &["other"]);
    assert_eq!(agent.values("routes-deleted", 1, 0), ["before"]);
    assert_eq!(other.values("routes-deleted", 0, 0), ["other"]);
    let deleted = call("DELETE", &agent.at("/v1/topics/routes-deleted"), &[], b"");
    assert_eq!(deleted.status, 200, "{}", deleted.body);
    assert_eq!(deleted.json()["deleted"], true);
    assert_eq!(deleted.json()["partition_count"], 2);
    let records = json!({"records": [{"value": "YWZ0ZXI="}]});
    for answer in [
        agent.get("/v1/topics/routes-deleted"),
        agent.post("/v1/topics/routes-deleted/partitions/1/records", &records),
        agent.post("/v1/topics/routes-deleted/records", &records),
        agent.get("/v1/topics/routes-deleted/partitions/1/records?offset=1"),
        agent.get("/v1/topics/routes-deleted/partitions/1/tail"),
        call("DELETE", &agent.at("/v1/topics/routes-deleted"), &[], b""),
        // The other agent learns it from the store: its next commit or manifest read.
        other.post("/v1/topics/routes-deleted/partitions/0/records", &records),
        other.get("/v1/topics/routes-deleted/partitions/0/records?offset=1"),
        other.get("/v1/topics/routes-deleted"),
    ] {
        // The message names the topic, or the deleted incarnation a cached writer committed to.
        let says = match answer.body.contains("incarnation") {
            true => "was deleted",
            false => "routes-deleted",
        };
        crate::assert_error(&answer, 404, "unknown_topic", says);
    }
    let listed = agent.get("/v1/topics").json();
    assert!(
        !listed["topics"]
            .as_array()
            .unwrap()
            .contains(&json!("routes-deleted"))
    );
    let again = agent.post("/v1/topics", &json!({"name": "routes-deleted"}));
    crate::assert_error(&again, 409, "topic_being_deleted", "silt gc run");
}

fn a_kinesis_md5_topic_places_keys_by_md5_ranges(agent: &Agent) {
    let created = agent.post(
        "/v1/topics",
        &json!({"name": "routes-kinesis", "partitions": 7, "partitioner": "kinesis-md5"}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.json()["partitioner"], "kinesis-md5");
    // (base64 key, shard of 7): Python's hashlib.md5 ranges, as moto's Kinesis places them.
    let keys = [
        ("YQ==", 0),
        ("a2V5", 1),
        ("dXNlci00Mg==", 3),
        ("YWxpY2U=", 2),
        ("c2hhcmQtbWU=", 6),
    ];
    let records: Vec<Value> = keys
        .iter()
        .map(|(k, _)| json!({"key": k, "value": k}))
        .collect();
    let appended = agent.post(
        "/v1/topics/routes-kinesis/records",
        &json!({ "records": records }),
    );
    assert_eq!(appended.status, 200, "{}", appended.body);
    let placed = appended.json()["records"].as_array().unwrap().clone();
    for ((key, partition), placed) in keys.iter().zip(&placed) {
        assert_eq!(placed["partition"], *partition, "{key}");
    }
    let described = agent.get("/v1/topics/routes-kinesis").json();
    assert_eq!(described["partitioner"], "kinesis-md5");
    let moved = agent.patch(
        "/v1/topics/routes-kinesis",
        &json!({"partitioner": "murmur2"}),
    );
    crate::assert_error(
        &moved,
        400,
        "bad_request",
        "fixed when the topic is created",
    );
    let default = agent.post("/v1/topics", &json!({"name": "routes-murmur2"}));
    assert_eq!(default.json()["partitioner"], "murmur2");
    let bad = agent.post(
        "/v1/topics",
        &json!({"name": "routes-md5", "partitioner": "md5"}),
    );
    crate::assert_error(&bad, 400, "bad_request", "kinesis-md5");
}

//! Every error status of the API, each provoked by a request of its kind, with the JSON body
//! `{"code", "message", ...}` a client acts on. 503 (store unavailable) is not provoked here:
//! it needs a store that fails on demand, and object_store retries a dead endpoint for about
//! a minute first; the unit test in `agent/src/http/error.rs` covers its mapping.

use std::time::Duration;

use serde_json::json;

use crate::common::Backend;
use crate::common::agent::{Agent, call, raw};
use crate::{assert_error, values_of};

on_every_agent!(
    a_malformed_request_is_400_naming_the_field,
    unknown_topics_partitions_and_routes_are_404,
    creating_a_topic_twice_is_409,
    a_match_offset_that_is_not_the_next_offset_is_412,
    a_record_over_1_mib_is_413_and_other_partitions_still_commit,
    a_body_over_8_mib_is_413_before_it_is_read,
    offsets_past_the_tail_or_before_the_log_start_are_416,
);

fn a_malformed_request_is_400_naming_the_field(agent: &Agent) {
    agent.create("status-400", 1);
    let bad = agent.post(
        "/v1/topics/status-400/partitions/0/records",
        &json!({"records": [{"value": "not base64!"}]}),
    );
    assert_error(
        &bad,
        400,
        "bad_request",
        "records[0]: field \"value\": invalid base64",
    );
    assert_eq!(agent.next_offsets("status-400"), [0]);
}

fn unknown_topics_partitions_and_routes_are_404(agent: &Agent) {
    agent.create("status-404", 2);
    let record = json!({"records": [{"value": "YQ=="}]});
    for answer in [
        agent.get("/v1/topics/no-such-topic"),
        agent.patch("/v1/topics/no-such-topic", &json!({"retention_ms": 5})),
        agent.post("/v1/topics/no-such-topic/records", &record),
        agent.post("/v1/topics/no-such-topic/partitions/0/records", &record),
        agent.get("/v1/topics/no-such-topic/partitions/0/records"),
        agent.get("/v1/topics/no-such-topic/partitions/0/tail"),
    ] {
        assert_error(&answer, 404, "unknown_topic", "no-such-topic");
    }
    let placed = json!({"records": [{"value": "YQ==", "partition": 2}]});
    for answer in [
        agent.post("/v1/topics/status-404/records", &placed),
        agent.post("/v1/topics/status-404/partitions/2/records", &record),
        agent.get("/v1/topics/status-404/partitions/2/records"),
        agent.get("/v1/topics/status-404/partitions/7/tail"),
    ] {
        assert_error(&answer, 404, "unknown_partition", "partition");
        assert_eq!(answer.json()["partitions"], 2, "{}", answer.body);
    }
    assert_error(&agent.get("/v2/topics"), 404, "not_found", "no such route");
    assert_eq!(agent.next_offsets("status-404"), [0, 0]);
}

fn creating_a_topic_twice_is_409(agent: &Agent) {
    agent.create("status-409", 1);
    let again = agent.post(
        "/v1/topics",
        &json!({"name": "status-409", "partitions": 4}),
    );
    assert_error(&again, 409, "topic_exists", "status-409");
    assert_eq!(agent.next_offsets("status-409"), [0], "still one partition");
}

fn a_match_offset_that_is_not_the_next_offset_is_412(agent: &Agent) {
    agent.create("status-412", 1);
    agent.append_text("status-412", 0, &["a", "b"]);
    let path = "/v1/topics/status-412/partitions/0/records";
    for stale in [0_u64, 1, 3, 1 << 40] {
        let body = json!({"records": [{"value": "Yw=="}], "match_offset": stale});
        let refused = agent.post(path, &body);
        assert_error(&refused, 412, "offset_mismatch", "");
        assert_eq!(refused.json()["next_offset"], 2, "{}", refused.body);
    }
    let ndjson = [("content-type", "application/x-ndjson")];
    let url = agent.at(&format!("{path}?match_offset=5"));
    let refused = call("POST", &url, &ndjson, b"{\"value\": \"Yw==\"}\n");
    assert_error(&refused, 412, "offset_mismatch", "");
    assert_eq!(agent.values("status-412", 0, 0), ["a", "b"]);
}

fn a_record_over_1_mib_is_413_and_other_partitions_still_commit(agent: &Agent) {
    agent.create("status-413", 2);
    let big = "a".repeat(1024 * 1024 + 1);
    let text = [
        ("content-type", "application/json"),
        ("silt-encoding", "utf8"),
    ];
    let one = json!({"records": [{"value": big}]}).to_string();
    let url = agent.at("/v1/topics/status-413/partitions/1/records");
    let refused = call("POST", &url, &text, one.as_bytes());
    assert_error(&refused, 413, "record_too_large", "1048576");
    // A topic append: each partition succeeds or fails on its own, and says which.
    let mixed = json!({"records": [
        {"value": "small", "partition": 0},
        {"value": big, "partition": 1},
    ]});
    let url = agent.at("/v1/topics/status-413/records");
    let answer = call("POST", &url, &text, mixed.to_string().as_bytes());
    assert_error(&answer, 413, "record_too_large", "");
    let results = &answer.json()["records"];
    assert_eq!(results[0], json!({"partition": 0, "offset": 0}));
    assert_eq!(results[1]["partition"], 1);
    assert_eq!(results[1]["error"]["code"], "record_too_large");
    assert_eq!(agent.next_offsets("status-413"), [1, 0]);
}

fn a_body_over_8_mib_is_413_before_it_is_read(agent: &Agent) {
    agent.create("status-413-body", 1);
    // The headers declare 9 MiB; the body never comes. The answer must not wait for it.
    let request = format!(
        "POST /v1/topics/status-413-body/partitions/0/records HTTP/1.1\r\nHost: silt\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{{\"records\": [",
        9 * 1024 * 1024
    );
    let answer = raw(&agent.url, request.as_bytes(), Duration::from_secs(10));
    assert_error(&answer, 413, "request_too_large", "8388608");
    assert_eq!(answer.json()["limit"], 8388608);
    // A body that does not say its length is cut at the limit as it arrives.
    let mut request = b"POST /v1/topics/status-413-body/records HTTP/1.1\r\nHost: silt\r\n\
        Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        .to_vec();
    let chunk = vec![b' '; 1 << 20];
    for _ in 0..9 {
        request.extend(format!("{:x}\r\n", chunk.len()).as_bytes());
        request.extend(&chunk);
        request.extend(b"\r\n");
    }
    let answer = raw(&agent.url, &request, Duration::from_secs(10));
    assert_error(&answer, 413, "request_too_large", "8388608");
    assert_eq!(agent.next_offsets("status-413-body"), [0]);
}

fn offsets_past_the_tail_or_before_the_log_start_are_416(agent: &Agent) {
    let created = agent.post(
        "/v1/topics",
        &json!({"name": "status-416", "partitions": 1, "retention_bytes": 1}),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    for value in ["a", "b", "c"] {
        agent.append_text("status-416", 0, &[value]);
    }
    let path = "/v1/topics/status-416/partitions/0/records";
    let past = agent.get(&format!("{path}?offset=4"));
    assert_error(&past, 416, "offset_out_of_range", "4");
    assert_eq!(past.json()["next_offset"], 3, "{}", past.body);
    assert_eq!(past.json()["log_start_offset"], 0, "{}", past.body);
    // Retention (run by the CLI, as an operator's job would) moves the log start.
    let out = agent
        .backend
        .command(&agent.silt, &["retention", "run", "--topic", "status-416"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let tail = agent.get("/v1/topics/status-416/partitions/0/tail").json();
    let start = tail["log_start_offset"].as_u64().unwrap();
    assert!(start > 0, "retention moved nothing: {tail}");
    let before = agent.get(&format!("{path}?offset=0"));
    assert_error(&before, 416, "offset_out_of_range", "");
    assert_eq!(before.json()["log_start_offset"], start, "{}", before.body);
    assert_eq!(before.json()["next_offset"], 3, "{}", before.body);
    // Reading from the earliest starts at the new log start.
    let earliest = agent.get(&format!("{path}?encoding=utf8")).json();
    assert_eq!(earliest["records"][0]["offset"], start);
    assert_eq!(values_of(&earliest).last().map(String::as_str), Some("c"));
}

/// 401 for a request without a valid `Authorization: Bearer` token; health checks need none.
#[test]
fn without_a_valid_bearer_token_the_agent_answers_401() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, "# the agents' tokens\nsecret-token-0123456789\n").unwrap();
    let agent = Agent::start(
        &Backend::file(),
        &["--auth-tokens", tokens.to_str().unwrap()],
    );
    let url = agent.at("/v1/topics");
    for authorization in [
        None,
        Some("Bearer wrong-token-0123456789"),
        Some("Bearer secret-token-012345678"),
        Some("Bearer secret-token-0123456789x"),
        Some("Basic c2VjcmV0LXRva2VuLTAxMjM0NTY3ODk="),
        Some("secret-token-0123456789"),
        Some("Bearer "),
    ] {
        let headers: Vec<(&str, &str)> = authorization
            .map(|a| ("authorization", a))
            .into_iter()
            .collect();
        let refused = call("GET", &url, &headers, b"");
        assert_error(&refused, 401, "unauthorized", "Authorization: Bearer");
        assert_eq!(refused.header("www-authenticate"), Some("Bearer"));
    }
    // The scheme is case-insensitive (RFC 9110 11.1), the token is not.
    for good in [
        "Bearer secret-token-0123456789",
        "bearer secret-token-0123456789",
    ] {
        let answer = call("GET", &url, &[("authorization", good)], b"");
        assert_eq!(answer.status, 200, "{good}: {}", answer.body);
    }
    assert_eq!(agent.get("/healthz").status, 200);
    assert_eq!(agent.get("/readyz").status, 200);
}

/// 408 for a body that does not arrive within `--body-timeout-ms`; nothing is written.
#[test]
fn a_body_that_does_not_arrive_in_time_is_408() {
    let agent = Agent::start(&Backend::file(), &["--body-timeout-ms", "200"]);
    agent.create("status-408", 1);
    // The headers promise 100 bytes; one comes, then the client stalls.
    let request = "POST /v1/topics/status-408/partitions/0/records HTTP/1.1\r\nHost: silt\r\n\
                   Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{";
    let answer = raw(&agent.url, request.as_bytes(), Duration::from_secs(10));
    assert_error(&answer, 408, "request_timeout", "did not arrive within");
    assert_eq!(agent.next_offsets("status-408"), [0]);
}

/// Past `--max-requests`, 429 with `Retry-After`; a long-poll holds its slot while it waits,
/// and SIGTERM answers it at once.
#[test]
fn past_max_requests_the_agent_answers_429() {
    let mut agent = Agent::start(&Backend::file(), &["--max-requests", "1"]);
    agent.create("status-429", 1);
    let url = agent.at("/v1/topics/status-429/partitions/0/records?wait=30");
    // The poll and the probes below race for the one slot: each retries until it has its answer.
    let poll = std::thread::spawn(move || {
        (0..10_000)
            .map(|_| call("GET", &url, &[], b""))
            .find(|a| a.status != 429)
            .unwrap()
    });
    let refused = (0..10_000)
        .map(|_| agent.get("/v1/topics"))
        .find(|a| a.status == 429)
        .expect("no request was refused while the long-poll held the only slot");
    assert_error(&refused, 429, "too_many_requests", "at most 1 requests");
    assert_eq!(refused.header("retry-after"), Some("1"));
    agent.signal("-TERM");
    let polled = poll.join().unwrap();
    assert_eq!(polled.status, 200, "{}", polled.body);
    assert_eq!(polled.json()["records"], json!([]));
    assert!(agent.wait_exit(Duration::from_secs(20)).success());
}

//! The bad-input suite of the HTTP API: a table of malformed requests, each answered with its
//! 4xx and a JSON `{"code", "message"}` whose message names what was wrong, and the log
//! unchanged afterwards (every partition's next offset, and no topic created). The count is
//! printed, for `scripts/test`'s summary.

use std::io::Write;
use std::time::Duration;

use serde_json::json;

use crate::common::Backend;
use crate::common::agent::{Agent, Answer, call, raw};

on_every_agent!(malformed_requests_are_refused_and_change_nothing);

/// The topic the cases aim at: two partitions holding one record each.
const TOPIC: &str = "bad-input";

/// A path on [`TOPIC`]: `one!` = partition 0's records, `all!` = the topic's records.
macro_rules! one {
    ($query:literal) => {
        concat!("/v1/topics/bad-input/partitions/0/records", $query)
    };
}
macro_rules! all {
    ($query:literal) => {
        concat!("/v1/topics/bad-input/records", $query)
    };
}

/// A request body.
enum Body {
    Text(&'static str),
    Bytes(&'static [u8]),
    Made(fn() -> Vec<u8>),
    /// Headers that declare this many bytes, and a body that never comes.
    Declared(usize),
}

/// One malformed request and how it must be refused.
struct Case {
    method: &'static str,
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: Body,
    status: u16,
    code: &'static str,
    /// What the message must say (it names the field or parameter that is wrong).
    says: &'static str,
}

const JSON: &[(&str, &str)] = &[("content-type", "application/json")];
const TEXT: &[(&str, &str)] = &[
    ("content-type", "application/json"),
    ("silt-encoding", "utf8"),
];
const NDJSON: &[(&str, &str)] = &[("content-type", "application/x-ndjson")];
const SSE: &[(&str, &str)] = &[("accept", "text/event-stream")];

/// `POST path` with a JSON body, refused with 400.
const fn post(path: &'static str, body: &'static str, says: &'static str) -> Case {
    Case {
        method: "POST",
        path,
        headers: JSON,
        body: Body::Text(body),
        status: 400,
        code: "bad_request",
        says,
    }
}

/// `GET path`, refused with 400.
const fn get(path: &'static str, says: &'static str) -> Case {
    Case {
        method: "GET",
        path,
        headers: &[],
        body: Body::Text(""),
        status: 400,
        code: "bad_request",
        says,
    }
}

/// `method path` with `headers` and `body`, refused with 400.
const fn with(
    method: &'static str,
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: Body,
    says: &'static str,
) -> Case {
    Case {
        method,
        path,
        headers,
        body,
        status: 400,
        code: "bad_request",
        says,
    }
}

fn record_over_1_mib() -> Vec<u8> {
    json!({"records": [{"value": "a".repeat(1024 * 1024 + 1)}]})
        .to_string()
        .into_bytes()
}

/// The malformed requests, by what they attack.
const CASES: &[Case] = &[
    // The body as a whole.
    post(one!(""), "{\"records\": [", "not JSON"),
    post(one!(""), "", "not JSON"),
    post(one!(""), "{\"records\": []} {}", "trailing characters"),
    post(one!(""), "[]", "must be a JSON object, not an array"),
    post(
        one!(""),
        "\"records\"",
        "must be a JSON object, not a string",
    ),
    post(one!(""), "null", "must be a JSON object, not null"),
    with(
        "POST",
        one!(""),
        JSON,
        Body::Bytes(b"{\"records\": [\xff]}"),
        "not UTF-8",
    ),
    post(one!(""), "{}", "field \"records\" must be a list"),
    post(
        one!(""),
        "{\"records\": {\"value\": \"YQ==\"}}",
        "field \"records\" must be a list",
    ),
    post(one!(""), "{\"records\": []}", "at least one record"),
    post(
        one!(""),
        "{\"records\": [], \"recrods\": []}",
        "unknown field \"recrods\"",
    ),
    post(
        all!(""),
        "{\"records\": [{\"value\": \"YQ==\"}], \"match_offset\": 1}",
        "unknown field \"match_offset\"",
    ),
    post(
        one!(""),
        "{\"records\": [{\"value\": \"YQ==\"}], \"records\": []}",
        "key \"records\" appears twice",
    ),
    // One record.
    post(
        one!(""),
        "{\"records\": [1]}",
        "records[0]: a record must be a JSON object, not a number",
    ),
    post(
        one!(""),
        "{\"records\": [{\"vaule\": \"YQ==\"}]}",
        "records[0]: unknown field \"vaule\"",
    ),
    post(
        one!(""),
        "{\"records\": [{\"value\": \"YQ==\", \"value\": \"Yg==\"}]}",
        "key \"value\" appears twice",
    ),
    post(
        one!(""),
        "{\"records\": [{\"value\": \"YQ==\"}, {\"value\": \"not base64!\"}]}",
        "records[1]: field \"value\": invalid base64",
    ),
    post(
        all!(""),
        "{\"records\": [{\"key\": \"a=b\", \"value\": \"YQ==\"}]}",
        "field \"key\": invalid base64",
    ),
    post(
        one!(""),
        "{\"records\": [{\"value\": {\"base64\": \"%%\"}}]}",
        "field \"value.base64\": invalid base64",
    ),
    post(
        one!(""),
        "{\"records\": [{\"headers\": [{\"key\": \"h\", \"value\": \"?\"}]}]}",
        "field \"headers[0].value\": invalid base64",
    ),
    post(
        one!(""),
        "{\"records\": [{\"value\": 12}]}",
        "field \"value\" must be a string, null or {\"base64\": \"...\"}, not a number",
    ),
    post(
        one!(""),
        "{\"records\": [{\"value\": true}]}",
        "not a boolean",
    ),
    post(
        one!(""),
        "{\"records\": [{\"value\": [\"YQ==\"]}]}",
        "not an array",
    ),
    post(
        one!(""),
        "{\"records\": [{\"value\": {\"text\": \"a\"}}]}",
        "not an object other than {\"base64\": \"...\"}",
    ),
    post(
        one!(""),
        "{\"records\": [{\"key\": 1.5, \"value\": \"YQ==\"}]}",
        "field \"key\" must be a string",
    ),
    post(
        one!(""),
        "{\"records\": [{\"value\": \"YQ==\", \"timestamp\": \"now\"}]}",
        "field \"timestamp\" must be an integer",
    ),
    post(
        one!(""),
        "{\"records\": [{\"value\": \"YQ==\", \"timestamp\": 1.5}]}",
        "field \"timestamp\" must be an integer (ms since the Unix epoch), not 1.5",
    ),
    post(
        one!(""),
        "{\"records\": [{\"value\": \"YQ==\", \"timestamp\": 18446744073709551615}]}",
        "not 18446744073709551615",
    ),
    post(
        one!(""),
        "{\"records\": [{\"value\": \"YQ==\", \"timestamp\": 253402300800000}]}",
        "timestamp 253402300800000 ms is out of range",
    ),
    post(
        one!(""),
        "{\"records\": [{\"value\": \"YQ==\", \"partition\": 1}]}",
        "field \"partition\" is 1, but the request appends to partition 0",
    ),
    post(
        all!(""),
        "{\"records\": [{\"value\": \"YQ==\", \"partition\": -1}]}",
        "field \"partition\" must be an integer from 0 to 4294967295, not -1",
    ),
    post(
        all!(""),
        "{\"records\": [{\"value\": \"YQ==\", \"partition\": \"0\"}]}",
        "field \"partition\" must be an integer",
    ),
    post(
        one!(""),
        "{\"records\": [{\"value\": \"YQ==\", \"headers\": \"h=v\"}]}",
        "field \"headers\" must be a list",
    ),
    post(
        one!(""),
        "{\"records\": [{\"headers\": [{\"value\": \"YQ==\"}]}]}",
        "headers[0]\" must be {\"key\": \"...\", \"value\": ...}: its key must be a string",
    ),
    post(
        one!(""),
        "{\"records\": [{\"headers\": [{\"key\": \"h\", \"size\": 1}]}]}",
        "it has other fields",
    ),
    post(
        one!(""),
        "{\"records\": [{\"headers\": {\"h\": \"YQ==\", \"h\": \"Yg==\"}}]}",
        "key \"h\" appears twice",
    ),
    // match_offset.
    post(
        one!(""),
        "{\"records\": [{\"value\": \"YQ==\"}], \"match_offset\": -1}",
        "field \"match_offset\" must be an integer from 0",
    ),
    post(
        one!(""),
        "{\"records\": [{\"value\": \"YQ==\"}], \"match_offset\": \"1\"}",
        "field \"match_offset\" must be an integer from 0 to 18446744073709551615, not a string",
    ),
    post(
        one!("?match_offset=2"),
        "{\"records\": [{\"value\": \"YQ==\"}], \"match_offset\": 1}",
        "match_offset is 1 in the body but 2 in the query",
    ),
    with(
        "POST",
        one!("?match_offset=one"),
        NDJSON,
        Body::Text("{\"value\": \"YQ==\"}"),
        "query parameter \"match_offset\" must be an integer",
    ),
    // NDJSON.
    with(
        "POST",
        one!(""),
        NDJSON,
        Body::Text("{\"value\": \"YQ==\"}\n{\"value\": \"Yg==\"\n"),
        "line 2: not JSON",
    ),
    with(
        "POST",
        all!(""),
        NDJSON,
        Body::Text("{\"value\": \"YQ==\", \"offset\": 3}\n"),
        "line 1: unknown field \"offset\"",
    ),
    with(
        "POST",
        one!(""),
        NDJSON,
        Body::Text("\n\n[\"YQ==\"]\n"),
        "line 3: a record must be a JSON object, not an array",
    ),
    with(
        "POST",
        one!(""),
        NDJSON,
        Body::Text("{\"value\": \"YQ==\"}\n{\"value\": \"*\"}\n"),
        "line 2: field \"value\": invalid base64",
    ),
    with(
        "POST",
        one!(""),
        NDJSON,
        Body::Text("\n  \n"),
        "at least one record",
    ),
    // Encodings and query strings.
    post(
        one!("?encoding=latin1"),
        "{\"records\": [{\"value\": \"a\"}]}",
        "encoding \"latin1\" is not known",
    ),
    with(
        "POST",
        one!(""),
        &[("silt-encoding", "hex")],
        Body::Text("{\"records\": [{\"value\": \"a\"}]}"),
        "encoding \"hex\" is not known",
    ),
    post(
        one!("?encoding=utf8&encoding=utf8"),
        "{\"records\": [{\"value\": \"a\"}]}",
        "query parameter \"encoding\" is given twice",
    ),
    post(
        all!("?partition=1"),
        "{\"records\": [{\"value\": \"YQ==\"}]}",
        "unknown query parameter \"partition\"",
    ),
    // Sizes.
    Case {
        status: 413,
        code: "record_too_large",
        says: "the limit is 1048576 bytes",
        ..with("POST", one!(""), TEXT, Body::Made(record_over_1_mib), "")
    },
    Case {
        status: 413,
        code: "request_too_large",
        says: "over the limit of 8388608 bytes",
        ..with(
            "POST",
            all!(""),
            JSON,
            Body::Declared(8 * 1024 * 1024 + 1),
            "",
        )
    },
    // Paths.
    post(
        "/v1/topics/bad*input/partitions/0/records",
        "{\"records\": [{\"value\": \"YQ==\"}]}",
        "invalid topic name \"bad*input\"",
    ),
    post(
        "/v1/topics/bad%20input/records",
        "{\"records\": [{\"value\": \"YQ==\"}]}",
        "invalid topic name \"bad input\"",
    ),
    get(
        "/v1/topics/bad-input/partitions/-1/records",
        "partition \"-1\" in the path must be an integer from 0 to 4294967295",
    ),
    get(
        "/v1/topics/bad-input/partitions/4294967296/tail",
        "partition \"4294967296\" in the path",
    ),
    post(
        "/v1/topics/bad-input/partitions/zero/records",
        "{\"records\": [{\"value\": \"YQ==\"}]}",
        "partition \"zero\" in the path",
    ),
    // Reads.
    get(
        one!("?offset=-1"),
        "query parameter \"offset\" must be an integer from 0 to 18446744073709551615, not \"-1\"",
    ),
    get(
        one!("?offset=18446744073709551616"),
        "query parameter \"offset\" must be an integer",
    ),
    get(one!("?offset=first"), "not \"first\""),
    get(
        one!("?offset=1&timestamp=5"),
        "at most one of offset, timestamp and tail_offset",
    ),
    get(
        one!("?tail_offset=1&offset=0"),
        "at most one of offset, timestamp and tail_offset",
    ),
    get(
        one!("?tail_offset=-3"),
        "query parameter \"tail_offset\" must be an integer from 0",
    ),
    get(
        one!("?timestamp=99999999999999999"),
        "query parameter \"timestamp\" must be between",
    ),
    get(
        one!("?timestamp=yesterday"),
        "query parameter \"timestamp\" must be an integer",
    ),
    get(
        one!("?max_records=0"),
        "query parameter \"max_records\" must be from 1 to 1000, not 0",
    ),
    get(
        one!("?max_records=1001"),
        "query parameter \"max_records\" must be from 1 to 1000, not 1001",
    ),
    get(
        one!("?max_bytes=1048577"),
        "query parameter \"max_bytes\" must be from 1 to 1048576",
    ),
    get(
        one!("?wait=61"),
        "query parameter \"wait\" must be from 0 to 60, not 61",
    ),
    get(
        one!("?wait=1.5"),
        "query parameter \"wait\" must be an integer",
    ),
    get(one!("?encoding=base32"), "encoding \"base32\" is not known"),
    get(one!("?ofset=0"), "unknown query parameter \"ofset\""),
    with(
        "GET",
        one!(""),
        &[("accept", "text/event-stream"), ("last-event-id", "abc")],
        Body::Text(""),
        "Last-Event-ID must be an offset",
    ),
    with(
        "GET",
        one!(""),
        &[("accept", "text/event-stream"), ("last-event-id", "-1")],
        Body::Text(""),
        "Last-Event-ID must be an offset",
    ),
    with(
        "GET",
        one!("?max_records=5000"),
        SSE,
        Body::Text(""),
        "query parameter \"max_records\" must be from 1 to 1000",
    ),
    // Topics: create and alter.
    post(
        "/v1/topics",
        "[{\"name\": \"bad-input-new\"}]",
        "must be a JSON object, not an array",
    ),
    post(
        "/v1/topics",
        "{\"partitions\": 1}",
        "field \"name\" must be a string",
    ),
    post(
        "/v1/topics",
        "{\"name\": 7}",
        "field \"name\" must be a string",
    ),
    post(
        "/v1/topics",
        "{\"name\": \"bad/input\"}",
        "invalid topic name \"bad/input\"",
    ),
    post(
        "/v1/topics",
        "{\"name\": \"..\"}",
        "invalid topic name \"..\"",
    ),
    post(
        "/v1/topics",
        "{\"name\": \"bad-input-new\", \"partitions\": -1}",
        "field \"partitions\" must be an integer from 0",
    ),
    post(
        "/v1/topics",
        "{\"name\": \"bad-input-new\", \"partitions\": \"2\"}",
        "field \"partitions\" must be an integer",
    ),
    post(
        "/v1/topics",
        "{\"name\": \"bad-input-new\", \"partitions\": 0}",
        "invalid partition count 0",
    ),
    post(
        "/v1/topics",
        "{\"name\": \"bad-input-new\", \"partitions\": 4294967296}",
        "invalid partition count",
    ),
    post(
        "/v1/topics",
        "{\"name\": \"bad-input-new\", \"partitons\": 2}",
        "unknown field \"partitons\"",
    ),
    post(
        "/v1/topics",
        "{\"name\": \"bad-input-new\", \"cleanup_policy\": \"forever\"}",
        "field \"cleanup_policy\" must be \"delete\" or \"compact\"",
    ),
    post(
        "/v1/topics",
        "{\"name\": \"bad-input-new\", \"retention_ms\": -5}",
        "invalid setting retention_ms = -5",
    ),
    post(
        "/v1/topics",
        "{\"name\": \"bad-input-new\", \"retention_bytes\": 0}",
        "invalid setting retention_bytes = 0",
    ),
    post(
        "/v1/topics",
        "{\"name\": \"bad-input-new\", \"name\": \"bad-input-other\"}",
        "key \"name\" appears twice",
    ),
    with(
        "PATCH",
        "/v1/topics/bad-input",
        JSON,
        Body::Text("{\"retention_ms\": \"1d\"}"),
        "field \"retention_ms\" must be an integer, not a string",
    ),
    with(
        "PATCH",
        "/v1/topics/bad-input",
        JSON,
        Body::Text("{\"name\": \"renamed\"}"),
        "unknown field \"name\"",
    ),
    with(
        "PATCH",
        "/v1/topics/bad-input",
        JSON,
        Body::Text("{\"seal_after_ms\": -2}"),
        "invalid setting seal_after_ms = -2",
    ),
    with(
        "PATCH",
        "/v1/topics/bad-input",
        JSON,
        Body::Text("5"),
        "must be a JSON object, not a number",
    ),
];

fn malformed_requests_are_refused_and_change_nothing(agent: &Agent) {
    agent.create(TOPIC, 2);
    agent.append_text(TOPIC, 0, &["kept"]);
    agent.append_text(TOPIC, 1, &["kept"]);
    let topics = || agent.get("/v1/topics").json();
    let (offsets, listed) = (agent.next_offsets(TOPIC), topics());
    let settings = agent.get("/v1/topics/bad-input").json();
    for (i, case) in CASES.iter().enumerate() {
        refuse(agent, i, case);
    }
    assert_eq!(
        agent.next_offsets(TOPIC),
        offsets,
        "a refused request appended"
    );
    assert_eq!(topics(), listed, "a refused request created a topic");
    assert_eq!(agent.get("/v1/topics/bad-input").json(), settings);
    assert_eq!(agent.values(TOPIC, 0, 0), ["kept"]);
    let _ = writeln!(
        std::io::stderr(),
        "agent bad-input suite on {}: {} malformed requests refused, the log unchanged",
        backend_name(&agent.backend),
        CASES.len()
    );
}

/// Sends `case` and checks its answer.
fn refuse(agent: &Agent, i: usize, case: &Case) {
    let url = agent.at(case.path);
    let body = match &case.body {
        Body::Text(text) => text.as_bytes().to_vec(),
        Body::Bytes(bytes) => bytes.to_vec(),
        Body::Made(make) => make(),
        Body::Declared(length) => {
            let mut request = format!("{} {} HTTP/1.1\r\nHost: silt\r\n", case.method, case.path);
            for (name, value) in case.headers {
                request.push_str(&format!("{name}: {value}\r\n"));
            }
            request.push_str(&format!("Content-Length: {length}\r\n\r\n{{\"records\": ["));
            return check(
                i,
                case,
                &raw(&agent.url, request.as_bytes(), Duration::from_secs(10)),
            );
        }
    };
    check(i, case, &call(case.method, &url, case.headers, &body));
}

/// Checks the answer to `case`.
fn check(i: usize, case: &Case, answer: &Answer) {
    let what = format!("case {i}: {} {}", case.method, case.path);
    assert_eq!(answer.status, case.status, "{what}: {}", answer.body);
    let error: serde_json::Value = serde_json::from_str(&answer.body)
        .unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {}", answer.body));
    assert_eq!(error["code"], case.code, "{what}: {}", answer.body);
    let message = error["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(case.says),
        "{what}: expected {:?} in the message: {}",
        case.says,
        answer.body
    );
}

fn backend_name(backend: &Backend) -> &'static str {
    match (
        backend.store.starts_with("file:"),
        backend.env.iter().any(|(k, _)| *k == "SILT_MANIFEST"),
    ) {
        (true, _) => "file",
        (false, false) => "seaweedfs",
        (false, true) => "dynamodb",
    }
}

/// Requests without a valid bearer token, on an agent that requires one: 401, nothing done.
#[test]
fn requests_without_a_valid_token_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens");
    std::fs::write(&tokens, "token-of-the-test-agent\n").unwrap();
    let agent = Agent::start(
        &Backend::file(),
        &["--auth-tokens", tokens.to_str().unwrap()],
    );
    let good = ("authorization", "Bearer token-of-the-test-agent");
    let create = json!({"name": "guarded", "partitions": 1}).to_string();
    let created = call(
        "POST",
        &agent.at("/v1/topics"),
        &[good, JSON[0]],
        create.as_bytes(),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let record = b"{\"records\": [{\"value\": \"YQ==\"}]}";
    let append = "/v1/topics/guarded/partitions/0/records";
    let cases: [(&str, &str, &[u8], Option<&str>); 6] = [
        ("POST", append, record, None),
        (
            "POST",
            append,
            record,
            Some("Bearer token-of-another-agent"),
        ),
        (
            "POST",
            "/v1/topics",
            b"{\"name\": \"sneaky\"}",
            Some("Basic dG9rZW4="),
        ),
        (
            "PATCH",
            "/v1/topics/guarded",
            b"{\"retention_ms\": 1}",
            Some("Bearer"),
        ),
        (
            "GET",
            "/v1/topics/guarded",
            b"",
            Some("token-of-the-test-agent"),
        ),
        (
            "POST",
            "/v1/topics/guarded/records",
            record,
            Some("Bearer TOKEN-OF-THE-TEST-AGENT"),
        ),
    ];
    for (method, path, body, authorization) in cases {
        let mut headers = vec![JSON[0]];
        headers.extend(authorization.map(|a| ("authorization", a)));
        let answer = call(method, &agent.at(path), &headers, body);
        assert_eq!(
            answer.status, 401,
            "{method} {path} {authorization:?}: {}",
            answer.body
        );
        assert_eq!(answer.json()["code"], "unauthorized");
    }
    let described = call("GET", &agent.at("/v1/topics/guarded"), &[good], b"").json();
    assert_eq!(described["partitions"][0]["next_offset"], 0);
    assert_eq!(described["retention_ms"], -1);
    let listed = call("GET", &agent.at("/v1/topics"), &[good], b"").json();
    assert_eq!(listed["topics"], json!(["guarded"]));
    let _ = writeln!(
        std::io::stderr(),
        "agent bad-input suite (auth): {} requests without a valid token refused, the log unchanged",
        cases.len()
    );
}

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

#[path = "bad_input_cases.rs"]
mod cases;

use cases::CASES;

/// The topic the cases aim at: two partitions holding one record each.
const TOPIC: &str = "bad-input";

/// A request body.
pub(super) enum Body {
    Text(&'static str),
    Bytes(&'static [u8]),
    Made(fn() -> Vec<u8>),
    /// Headers that declare this many bytes, and a body that never comes.
    Declared(usize),
}

/// One malformed request and how it must be refused.
pub(super) struct Case {
    method: &'static str,
    path: &'static str,
    headers: &'static [(&'static str, &'static str)],
    body: Body,
    status: u16,
    code: &'static str,
    /// What the message must say (it names the field or parameter that is wrong).
    says: &'static str,
}

pub(super) const JSON: &[(&str, &str)] = &[("content-type", "application/json")];
pub(super) const TEXT: &[(&str, &str)] = &[
    ("content-type", "application/json"),
    ("silt-encoding", "utf8"),
];
pub(super) const NDJSON: &[(&str, &str)] = &[("content-type", "application/x-ndjson")];
pub(super) const SSE: &[(&str, &str)] = &[("accept", "text/event-stream")];

/// `POST path` with a JSON body, refused with 400.
pub(super) const fn post(path: &'static str, body: &'static str, says: &'static str) -> Case {
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
pub(super) const fn get(path: &'static str, says: &'static str) -> Case {
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
pub(super) const fn with(
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

fn malformed_requests_are_refused_and_change_nothing(agent: &Agent) {
    agent.create(TOPIC, 2);
    agent.append_text(TOPIC, 0, &["kept"]);
    agent.append_text(TOPIC, 1, &["kept"]);
    let offsets = agent.next_offsets(TOPIC);
    let settings = agent.get("/v1/topics/bad-input").json();
    for (i, case) in CASES.iter().enumerate() {
        refuse(agent, i, case);
    }
    assert_eq!(
        agent.next_offsets(TOPIC),
        offsets,
        "a refused request appended"
    );
    // Other cases create topics on this agent meanwhile: look for the names these tried.
    let listed = agent.get("/v1/topics").json()["topics"].clone();
    for name in [
        "bad-input-new",
        "bad-input-other",
        "renamed",
        "bad input",
        "bad/input",
    ] {
        assert!(
            !listed.as_array().unwrap().contains(&json!(name)),
            "{name} was created"
        );
    }
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

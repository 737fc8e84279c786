//! The agent's Lambda function answers function-URL requests: the real binary (or, when the
//! test script built one, the `cargo lambda` artefact in `SILT_TEST_AGENT_LAMBDA_BOOTSTRAP`)
//! is started against a fake Lambda Runtime API on loopback (`common::runtime`), which hands
//! it API Gateway v2 events, as a function URL with `AuthType: AWS_IAM` sends them, one at a
//! time, and decodes its streamed answers. On file:// and, when it runs, SeaweedFS.

#![allow(clippy::unwrap_used)] // tests fail by panicking

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use common::runtime::{HttpAnswer, Invocation, RuntimeApi};
use serde_json::{Value, json};
use silt_core::clock::{Clock, SystemClock};

/// The function, started against its own fake runtime API.
struct Function {
    api: RuntimeApi,
    process: Child,
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.process.kill(); // the process this test started
        let _ = self.process.wait();
    }
}

impl Function {
    async fn start(store: &str, env: &[(&str, String)]) -> Function {
        let api = RuntimeApi::start().await;
        let binary = std::env::var("SILT_TEST_AGENT_LAMBDA_BOOTSTRAP")
            .unwrap_or_else(|_| env!("CARGO_BIN_EXE_silt-agent").to_string());
        let process = Command::new(binary)
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", &api.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", "silt-agent")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("SILT_STORE", store)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        Function { api, process }
    }

    /// One request through the function URL, with a minute of invocation time left.
    async fn call(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> HttpAnswer {
        self.call_until(method, target, headers, body, 60_000).await
    }

    /// One request, invoked with `left_ms` until its deadline; its streamed answer.
    async fn call_until(
        &mut self,
        method: &str,
        target: &str,
        headers: &[(&str, &str)],
        body: &str,
        left_ms: i64,
    ) -> HttpAnswer {
        let event = url_event(method, target, headers, body);
        let deadline_ms = SystemClock.now_ms() + left_ms;
        let invocation = Invocation { event, deadline_ms };
        self.api.events.send(invocation).await.unwrap();
        let waiting = async {
            loop {
                tokio::select! {
                    reply = self.api.replies.recv() => return reply.unwrap(),
                    _ = silt_core::clock::sleep(Duration::from_millis(100)) => {
                        if let Some(status) = self.process.try_wait().unwrap() {
                            panic!("the function exited ({status}) before answering");
                        }
                    }
                }
            }
        };
        let reply = tokio::time::timeout(Duration::from_secs(60), waiting).await;
        reply.expect("an answer within 60 s").http()
    }
}

/// What a function URL sends for one HTTP request (payload format 2.0), signed with SigV4 by
/// an IAM user. A body whose content type is not text is base64-encoded, as Lambda does.
fn url_event(method: &str, target: &str, headers: &[(&str, &str)], body: &str) -> String {
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let mut all = json!({
        "host": "silturl.lambda-url.us-east-1.on.aws",
        "x-amz-date": "20261205T120000Z",
        "x-forwarded-proto": "https",
        "user-agent": "curl/8.5.0",
    });
    for (name, value) in headers {
        all[*name] = json!(value);
    }
    let binary = headers.contains(&("content-type", "application/x-ndjson"));
    let body = if binary {
        BASE64.encode(body)
    } else {
        body.to_string()
    };
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": all,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "silturl",
            "authorizer": {"iam": {
                "accessKey": "AKIAIOSFODNN7EXAMPLE",
                "accountId": "123456789012",
                "callerId": "AIDACKCEVSQ6C2EXAMPLE",
                "cognitoIdentity": null,
                "principalOrgId": null,
                "userArn": "arn:aws:iam::123456789012:user/producer",
                "userId": "AIDACKCEVSQ6C2EXAMPLE"
            }},
            "domainName": "silturl.lambda-url.us-east-1.on.aws",
            "domainPrefix": "silturl",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
                "userAgent": "curl/8.5.0"
            },
            "requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",
            "routeKey": "$default",
            "stage": "$default",
            "time": "05/Dec/2026:12:00:00 +0000",
            "timeEpoch": 1_796_472_000_000_i64
        },
        "body": body,
        "isBase64Encoded": binary
    })
    .to_string()
}

/// Creates a topic, appends (NDJSON, base64-encoded by the URL; then a conditional append
/// that fails), reads back as JSON and as an event stream, asks for an unknown topic, and
/// is refused a group member (501).
async fn serves_the_api_through_function_url_events(store: &str, env: &[(&str, String)]) {
    let mut function = Function::start(store, env).await;
    let json_body = [("content-type", "application/json")];

    let created = function
        .call(
            "POST",
            "/v1/topics",
            &json_body,
            r#"{"name":"clicks","partitions":2}"#,
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);

    let ndjson = [
        ("content-type", "application/x-ndjson"),
        ("silt-encoding", "utf8"),
    ];
    let lines = "{\"key\":\"k\",\"value\":\"hello\"}\n{\"value\":\"world\"}\n";
    let appended = function
        .call(
            "POST",
            "/v1/topics/clicks/partitions/1/records",
            &ndjson,
            lines,
        )
        .await;
    assert_eq!(appended.status, 200, "{}", appended.body);
    let expected = json!({"partition": 1, "base_offset": 0, "last_offset": 1, "next_offset": 2});
    assert_eq!(appended.json(), expected);

    let stale = r#"{"records":[{"value":"bGF0ZQ=="}],"match_offset":0}"#;
    let refused = function
        .call(
            "POST",
            "/v1/topics/clicks/partitions/1/records",
            &json_body,
            stale,
        )
        .await;
    assert_eq!(refused.status, 412, "{}", refused.body);
    assert_eq!(
        (&refused.json()["code"], &refused.json()["next_offset"]),
        (&json!("offset_mismatch"), &json!(2))
    );

    let read = function
        .call(
            "GET",
            "/v1/topics/clicks/partitions/1/records?offset=0&encoding=utf8",
            &[],
            "",
        )
        .await;
    assert_eq!(read.status, 200, "{}", read.body);
    let records = read.json()["records"].clone();
    let values: Vec<&Value> = records
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["value"])
        .collect();
    assert_eq!(values, [&json!("hello"), &json!("world")], "{}", read.body);
    assert_eq!(read.json()["next_offset"], 2);

    let unknown = function.call("GET", "/v1/topics/nope", &[], "").await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
    assert_eq!(unknown.json()["code"], "unknown_topic");

    // A group member must live in one process between its client's requests: the function
    // holds none, and says where to join instead.
    let join = r#"{"topics":["clicks"]}"#;
    let member = function
        .call("POST", "/v1/groups/g/members", &json_body, join)
        .await;
    assert_eq!(member.status, 501, "{}", member.body);
    assert_eq!(member.json()["code"], "groups_not_served");
    let says = member.json()["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(says.contains("long-running `silt agent`"), "{says}");

    // The function ends an event stream 5 s (its STREAM_MARGIN) before the invocation's
    // deadline: with 6 s left, the stream sends what there is, then ends about a second later
    // (without the cut, it would wait at the tail until the 60 s bound fails the test).
    let events = [("accept", "text/event-stream")];
    let target = "/v1/topics/clicks/partitions/1/records?offset=1&encoding=utf8";
    let stream = function.call_until("GET", target, &events, "", 6_000).await;
    assert_eq!(stream.status, 200, "{}", stream.body);
    assert_eq!(
        stream.headers["content-type"], "text/event-stream",
        "{stream:?}"
    );
    assert!(stream.body.starts_with("event: batch\n"), "{}", stream.body);
    assert!(stream.body.contains("\nid: 2\n"), "{}", stream.body);
    assert!(stream.body.contains("\"world\""), "{}", stream.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_function_url_events_on_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("file://{}", dir.path().display());
    serves_the_api_through_function_url_events(&store, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_function_url_events_on_seaweedfs() {
    let Ok(endpoint) = std::env::var("SILT_TEST_SEAWEEDFS") else {
        eprintln!(
            "skipped on seaweedfs: SILT_TEST_SEAWEEDFS is not set (./scripts/test starts it)"
        );
        return;
    };
    let store = format!("s3://silt-test/agent-lambda-{}", SystemClock.new_ulid());
    let env = [
        ("AWS_ENDPOINT_URL", endpoint),
        ("AWS_ALLOW_HTTP", "true".to_string()),
        ("AWS_ACCESS_KEY_ID", "silt-test".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "silt-test".to_string()),
        ("AWS_REGION", "us-east-1".to_string()),
    ];
    serves_the_api_through_function_url_events(&store, &env).await;
}

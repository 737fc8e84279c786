//! Requests the group routes refuse, each with its status, its code, and a message naming
//! the field or limit; and members that are unknown, busy or not served.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::Api;

/// `(method, path, body, status, code, what the message says)`.
type Case = (
    &'static str,
    String,
    Option<Value>,
    u16,
    &'static str,
    &'static str,
);

async fn refused(api: &Api, cases: Vec<Case>) {
    for (method, path, body, status, code, says) in cases {
        let answer = api.send(method, &path, body.clone()).await;
        let what = format!("{method} {path} {body:?}: {}", answer.body);
        assert_eq!(answer.status.as_u16(), status, "{what}");
        assert_eq!(answer.body["code"], code, "{what}");
        let message = answer.body["message"].as_str().unwrap();
        assert!(message.contains(says), "expected {says:?} in {what}");
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn bad_joins_are_refused_naming_the_field() {
    let api = Api::new(8).await;
    api.topic("t", 2, 0).await;
    let join = "/v1/groups/g/members".to_string();
    let with = |extra: Value| {
        let mut body = json!({"topics": ["t"]});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        Some(body)
    };
    let many: Vec<String> = (0..101).map(|i| format!("t{i}")).collect();
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("POST", join.clone(), Some(json!({})), 400, "bad_request", "field \"topics\" must be a list"),
        ("POST", join.clone(), Some(json!({"topics": []})), 400, "bad_request", "1 to 100 topics"),
        ("POST", join.clone(), Some(json!({"topics": many})), 400, "bad_request", "1 to 100 topics, not 101"),
        ("POST", join.clone(), Some(json!({"topics": ["t", "t"]})), 400, "bad_request", "named twice"),
        ("POST", join.clone(), Some(json!({"topics": [7]})), 400, "bad_request", "topics[0] must be a topic name"),
        ("POST", join.clone(), Some(json!({"topics": ["nope"]})), 404, "unknown_topic", "nope"),
        ("POST", join.clone(), with(json!({"group": "x"})), 400, "bad_request", "unknown field \"group\""),
        ("POST", join.clone(), with(json!({"auto_offset_reset": "smallest"})), 400, "bad_request", "\"earliest\", \"latest\" or \"none\""),
        ("POST", join.clone(), with(json!({"auto_commit": "yes"})), 400, "bad_request", "\"auto_commit\" must be true or false"),
        ("POST", join.clone(), with(json!({"heartbeat_ms": 50})), 400, "bad_request", "\"heartbeat_ms\" must be from 100 to 1800000 ms"),
        ("POST", join.clone(), with(json!({"session_timeout_ms": 1_800_001})), 400, "bad_request", "\"session_timeout_ms\" must be from 1 to 1800000"),
        ("POST", join.clone(), with(json!({"heartbeat_ms": 1000, "session_timeout_ms": 2000})), 400, "bad_request", "session_timeout_ms"),
        ("POST", join.clone(), with(json!({"max_poll_interval_ms": -1})), 400, "bad_request", "\"max_poll_interval_ms\" must be an integer"),
        ("POST", join.clone(), with(json!({"instance_id": "a b"})), 400, "bad_request", "instance_id"),
        ("POST", join.clone(), with(json!({"client_id": "c".repeat(256)})), 400, "bad_request", "over the limit of 255"),
        ("POST", "/v1/groups/a%20b/members".into(), with(json!({})), 400, "bad_request", "a b"),
    ];
    refused(&api, cases).await;
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn bad_polls_and_commits_are_refused_naming_the_limit() {
    let api = Api::new(8).await;
    api.topic("t", 2, 3).await;
    api.topic("other", 1, 0).await;
    let body = json!({"topics": ["t"], "auto_offset_reset": "earliest", "auto_commit": false});
    let m = api.join("g", body).await;
    api.settle("g", &[&m], &[2]).await;
    let records = |q: &str| format!("/v1/groups/g/members/{m}/records{q}");
    let offsets = format!("/v1/groups/g/members/{m}/offsets");
    let commit = |o: Value| Some(json!({ "offsets": [o] }));
    let many: Vec<Value> = (0..1001)
        .map(|p| json!({"topic": "t", "partition": p, "offset": 0}))
        .collect();
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("GET", records("?max_records=0"), None, 400, "bad_request", "\"max_records\" must be from 1 to 1000"),
        ("GET", records("?max_records=1001"), None, 400, "bad_request", "not 1001"),
        ("GET", records("?max_bytes=1048577"), None, 400, "bad_request", "\"max_bytes\" must be from 1 to 1048576"),
        ("GET", records("?wait=61"), None, 400, "bad_request", "\"wait\" must be from 0 to 60"),
        ("GET", records("?offset=3"), None, 400, "bad_request", "unknown query parameter \"offset\""),
        ("POST", offsets.clone(), Some(json!({})), 400, "bad_request", "field \"offsets\" must be a list"),
        ("POST", offsets.clone(), Some(json!({"offsets": []})), 400, "bad_request", "1 to 1000 offsets, not 0"),
        ("POST", offsets.clone(), Some(json!({"offsets": many})), 400, "bad_request", "1 to 1000 offsets, not 1001"),
        ("POST", offsets.clone(), commit(json!({"topic": "t", "partition": 0})), 400, "bad_request", "offsets[0]: field \"offset\" is required"),
        ("POST", offsets.clone(), commit(json!({"topic": "t", "partition": 0, "offset": 1, "at": 2})), 400, "bad_request", "offsets[0]: unknown field \"at\""),
        ("POST", offsets.clone(), commit(json!({"topic": "t", "partition": 0, "offset": 1, "metadata": "m".repeat(4097)})), 400, "bad_request", "over the limit of 4096"),
        ("POST", offsets.clone(), Some(json!({"offsets": [{"topic": "t", "partition": 0, "offset": 1}, {"topic": "t", "partition": 0, "offset": 2}]})), 400, "bad_request", "offsets[1]: partition t/0 is given twice"),
        ("POST", offsets.clone(), commit(json!({"topic": "t", "partition": 0, "offset": 4})), 400, "offset_beyond_end", "beyond the log end 3"),
        ("POST", offsets.clone(), commit(json!({"topic": "other", "partition": 0, "offset": 0})), 400, "not_owner", "does not hold other/0"),
    ];
    refused(&api, cases).await;
    let ok = api
        .send(
            "POST",
            &offsets,
            commit(json!({"topic": "t", "partition": 1, "offset": 2})),
        )
        .await;
    assert_eq!(ok.status, StatusCode::NO_CONTENT, "{}", ok.body);
    let back = api
        .send(
            "POST",
            &offsets,
            commit(json!({"topic": "t", "partition": 1, "offset": 1})),
        )
        .await;
    assert_eq!(
        (back.status.as_u16(), &back.body["code"]),
        (400, &json!("commit_backwards"))
    );
    assert_eq!(back.body["committed_offset"], 2, "{}", back.body);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn unknown_busy_and_unserved_members_are_typed() {
    let api = Api::new(8).await;
    api.topic("t", 1, 0).await;
    let ghost = "/v1/groups/g/members/01JGHOST";
    let commit = json!({"offsets": [{"topic": "t", "partition": 0, "offset": 0}]});
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        ("GET", ghost.into(), None, 404, "unknown_member", "join again"),
        ("DELETE", ghost.into(), None, 404, "unknown_member", "join again"),
        ("GET", format!("{ghost}/records"), None, 404, "unknown_member", "unknown member 01JGHOST of group g"),
        ("POST", format!("{ghost}/offsets"), Some(commit), 404, "unknown_member", "join again"),
    ];
    refused(&api, cases).await;

    // A member serves one poll at a time: a second poll while one waits is 409.
    let m = api.join("g", json!({"topics": ["t"]})).await;
    let waiting = {
        let api_app = api.app.clone();
        let uri = format!("/v1/groups/g/members/{m}/records?wait=5");
        tokio::spawn(async move {
            let request = axum::http::Request::get(uri)
                .body(axum::body::Body::empty())
                .unwrap();
            tower::ServiceExt::oneshot(api_app, request)
                .await
                .unwrap()
                .status()
        })
    };
    tokio::task::yield_now().await;
    let busy = api.poll("g", &m).await;
    assert_eq!(busy.status, StatusCode::CONFLICT, "{}", busy.body);
    assert_eq!(busy.body["code"], "poll_in_progress");
    // A commit goes through meanwhile (refused here only because nothing is held yet).
    let path = format!("/v1/groups/g/members/{m}/offsets");
    let offsets = json!({"offsets": [{"topic": "t", "partition": 0, "offset": 0}]});
    let meanwhile = api.send("POST", &path, Some(offsets)).await;
    assert_ne!(meanwhile.status, StatusCode::CONFLICT, "{}", meanwhile.body);
    assert_eq!(waiting.await.unwrap(), StatusCode::OK);

    let lambda = Api::new(0).await;
    lambda.topic("t", 1, 0).await;
    let unserved = lambda
        .send(
            "POST",
            "/v1/groups/g/members",
            Some(json!({"topics": ["t"]})),
        )
        .await;
    assert_eq!(
        unserved.status,
        StatusCode::NOT_IMPLEMENTED,
        "{}",
        unserved.body
    );
    assert_eq!(unserved.body["code"], "groups_not_served");
    assert!(
        unserved.body["message"]
            .as_str()
            .unwrap()
            .contains("long-running")
    );
}

/// The group routes sit behind the same bearer-token check as every other route.
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn group_routes_need_a_token_when_the_agent_has_tokens() {
    let storage = silt_core::store::Storage::open("memory://").await.unwrap();
    let service = crate::service::LogService::new(storage, Default::default()).unwrap();
    let settings = crate::http::HttpSettings {
        auth: Some(crate::serve::AuthTokens::parse("a-token-of-16-chars-or-more").unwrap()),
        ..Default::default()
    };
    let app = crate::http::router(std::sync::Arc::new(service), settings);
    for (method, uri) in [
        ("POST", "/v1/groups/g/members"),
        ("GET", "/v1/groups/g/members/m/records"),
        ("POST", "/v1/groups/g/members/m/offsets"),
        ("GET", "/v1/groups/g/members/m"),
        ("DELETE", "/v1/groups/g/members/m"),
    ] {
        let request = axum::http::Request::builder()
            .method(method)
            .uri(uri)
            .body(axum::body::Body::from(r#"{"topics":["t"]}"#))
            .unwrap();
        let answer = tower::ServiceExt::oneshot(app.clone(), request)
            .await
            .unwrap();
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED, "{method} {uri}");
    }
}

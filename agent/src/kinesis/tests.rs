//! The Kinesis API in process, over an in-memory store with a hand-moved clock: what the
//! boto3 suite (cli/tests/kinesis.rs) cannot do from outside, such as letting an iterator
//! expire or sharing an iterator between two agents of one store.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use silt_core::store::Storage;
use silt_core::testing::ManualClock;
use silt_writer::WriterSettings;
use tower::Service;

use crate::http::{HttpSettings, router};
use crate::kinesis::{AccessKeys, ITERATOR_LIFETIME_MS};
use crate::serve::AuthTokens;
use crate::service::LogService;

async fn agent(storage: &Storage, settings: HttpSettings) -> axum::Router {
    let service = LogService::new(storage.clone(), WriterSettings::default()).unwrap();
    router(Arc::new(service), settings)
}

/// Calls `action`; the status, the `__type` (for errors) and the body.
async fn call(app: &axum::Router, action: &str, body: Value) -> (StatusCode, Value) {
    let request = Request::post("/")
        .header("x-amz-target", format!("Kinesis_20131202.{action}"))
        .header("content-type", "application/x-amz-json-1.1")
        .body(Body::from(body.to_string()))
        .unwrap();
    let response = app.clone().call(request).await.unwrap();
    let status = response.status();
    let bytes = to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

async fn ok(app: &axum::Router, action: &str, body: Value) -> Value {
    let (status, answer) = call(app, action, body).await;
    assert_eq!(status, StatusCode::OK, "{action}: {answer}");
    answer
}

async fn error_type(app: &axum::Router, action: &str, body: Value) -> String {
    let (status, answer) = call(app, action, body).await;
    assert_ne!(status, StatusCode::OK, "{action}: {answer}");
    answer["__type"].as_str().unwrap().to_string()
}

/// Puts three records on shard 0 and returns the iterator at its start.
async fn stream_with_records(app: &axum::Router) -> String {
    ok(
        app,
        "CreateStream",
        json!({"StreamName": "s", "ShardCount": 2}),
    )
    .await;
    let records: Vec<Value> = ["YQ==", "Yg==", "Yw=="]
        .iter()
        .map(|data| json!({"Data": data, "PartitionKey": "k", "ExplicitHashKey": "0"}))
        .collect();
    let put = ok(
        app,
        "PutRecords",
        json!({"StreamName": "s", "Records": records}),
    )
    .await;
    assert_eq!(put["FailedRecordCount"], 0);
    let request = json!({"StreamName": "s", "ShardId": "shardId-000000000000", "ShardIteratorType": "TRIM_HORIZON"});
    let got = ok(app, "GetShardIterator", request).await;
    got["ShardIterator"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn an_iterator_works_on_any_agent_of_the_store_until_it_expires() {
    let clock = ManualClock::new(1_800_000_000_000);
    let storage = Storage::open("memory://")
        .await
        .unwrap()
        .with_clock(clock.clone());
    let first = agent(&storage, HttpSettings::default()).await;
    let iterator = stream_with_records(&first).await;

    // Another agent of the same store continues the iterator.
    let second = agent(&storage, HttpSettings::default()).await;
    let got = ok(
        &second,
        "GetRecords",
        json!({"ShardIterator": iterator, "Limit": 2}),
    )
    .await;
    let data: Vec<&str> = got["Records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Data"].as_str().unwrap())
        .collect();
    assert_eq!(data, ["YQ==", "Yg=="]);
    assert_eq!(
        got["Records"][0]["ApproximateArrivalTimestamp"],
        json!(1_800_000_000.0)
    );
    let next = got["NextShardIterator"].as_str().unwrap().to_string();

    clock.advance(ITERATOR_LIFETIME_MS + 1);
    let expired = error_type(&first, "GetRecords", json!({"ShardIterator": iterator})).await;
    assert_eq!(expired, "ExpiredIteratorException");
    let expired = error_type(&second, "GetRecords", json!({"ShardIterator": next})).await;
    assert_eq!(expired, "ExpiredIteratorException");
}

#[tokio::test]
async fn forged_iterators_and_unknown_actions_are_refused_by_type() {
    let storage = Storage::open("memory://").await.unwrap();
    let app = agent(&storage, HttpSettings::default()).await;
    let iterator = stream_with_records(&app).await;
    let mut forged = iterator.into_bytes();
    forged[5] = if forged[5] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    let refused = error_type(&app, "GetRecords", json!({"ShardIterator": forged})).await;
    assert_eq!(refused, "InvalidArgumentException");
    assert_eq!(
        error_type(&app, "SplitShard", json!({})).await,
        "InvalidArgumentException"
    );
    assert_eq!(
        error_type(&app, "NoSuchAction", json!({})).await,
        "UnknownOperationException"
    );
    let cbor = Request::post("/")
        .header("x-amz-target", "Kinesis_20131202.ListStreams")
        .header("content-type", "application/x-amz-cbor-1.1")
        .body(Body::from(vec![0xa0]))
        .unwrap();
    let response = app.clone().call(cbor).await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let kind = response.headers()["x-amzn-errortype"].to_str().unwrap();
    assert_eq!(kind, "SerializationException");
}

#[tokio::test]
async fn an_agent_with_credentials_never_serves_kinesis_unauthenticated() {
    let storage = Storage::open("memory://").await.unwrap();
    let tokens_only = HttpSettings {
        auth: Some(AuthTokens::parse("a-token-of-sixteen-bytes").unwrap()),
        ..HttpSettings::default()
    };
    let app = agent(&storage, tokens_only).await;
    let refused = error_type(&app, "ListStreams", json!({})).await;
    assert_eq!(refused, "UnrecognizedClientException");

    let keys_only = HttpSettings {
        access_keys: Some(AccessKeys::parse("AKID secret").unwrap()),
        ..HttpSettings::default()
    };
    let app = agent(&storage, keys_only).await;
    let (status, answer) = call(&app, "ListStreams", json!({})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(answer["__type"], "MissingAuthenticationTokenException");
    // The HTTP API has no tokens to check: it refuses rather than serve openly.
    let request = Request::get("/v1/topics").body(Body::empty()).unwrap();
    let response = app.clone().call(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

/// Past `--max-requests`, a Kinesis client gets the throttling error its SDK retries with
/// backoff, not the HTTP API's 429 body (docs/kinesis.md).
#[tokio::test]
async fn a_full_agent_throttles_kinesis_clients_as_kinesis_does() {
    let storage = Storage::open("memory://").await.unwrap();
    let settings = HttpSettings {
        concurrent_requests_max: 1,
        ..HttpSettings::default()
    };
    let app = agent(&storage, settings).await;
    ok(
        &app,
        "CreateStream",
        json!({"StreamName": "s", "ShardCount": 1}),
    )
    .await;
    // An open event stream holds the only slot.
    let stream = Request::get("/v1/topics/s/partitions/0/records")
        .header("accept", "text/event-stream")
        .body(Body::empty())
        .unwrap();
    let stream = app.clone().call(stream).await.unwrap();
    assert_eq!(stream.status(), StatusCode::OK);
    let (status, answer) = call(&app, "ListStreams", json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    assert_eq!(answer["__type"], "ProvisionedThroughputExceededException");
    drop(stream);
    ok(&app, "ListStreams", json!({})).await;
}

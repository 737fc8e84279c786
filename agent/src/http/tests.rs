//! The router in process, over an in-memory store: what the end-to-end suite cannot observe
//! from outside the agent, such as when a request gives its concurrency slot back.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use silt_core::ids::TopicName;
use silt_core::store::Storage;
use silt_core::topic::TopicSettings;
use silt_writer::WriterSettings;
use tower::Service;

use crate::http::{HttpSettings, router};
use crate::service::LogService;

async fn call(app: &axum::Router, method: &str, uri: &str, accept: &str) -> Response {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::ACCEPT, accept)
        .body(Body::empty())
        .unwrap();
    app.clone().call(request).await.unwrap()
}

/// An event stream holds its slot while it is open, not only until its headers are sent:
/// with one slot, a second request is 429 until the stream's client goes away.
#[tokio::test]
async fn an_open_event_stream_holds_its_concurrency_slot() {
    let storage = Storage::open("memory://").await.unwrap();
    let topic = TopicName::new("slots").unwrap();
    storage
        .create_topic(&topic, 1, TopicSettings::default())
        .await
        .unwrap();
    let service = Arc::new(LogService::new(storage, WriterSettings::default()).unwrap());
    let settings = HttpSettings {
        concurrent_requests_max: 1,
        ..HttpSettings::default()
    };
    let app = router(service, settings);
    let uri = "/v1/topics/slots/partitions/0/records";
    let stream = call(&app, "GET", uri, "text/event-stream").await;
    assert_eq!(stream.status(), StatusCode::OK);
    let refused = call(&app, "GET", "/v1/topics", "application/json").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    drop(stream);
    let listed = call(&app, "GET", "/v1/topics", "application/json").await;
    assert_eq!(listed.status(), StatusCode::OK);
}

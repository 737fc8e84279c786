//! # silt-agent: the network front door
//!
//! ```text
//! client ─► HTTP (axum): auth, body limits, concurrency limit, per-request log
//!    http::{topics, append, read, sse, groups}    one module per group of routes
//!          └─► LogService                 append, read, tail, describe, create, alter, delete
//!                ├─ one Writer per topic   (shared mode: many agents append to one partition;
//!                │                          concurrent requests are group-committed)
//!                ├─ Readers + a cursor pool (sequential reads reuse the fetched segment)
//!                └─ group members of HTTP clients (silt-group consumers, bounded)
//! ```
//!
//! An agent is stateless (but for the group members its HTTP clients join, which live in its
//! memory): any number of them (hosts, or Lambda functions) serve one store, and a record is
//! acknowledged only after its commit (docs/design.md §6). Protocols are modules on top of
//! [`LogService`]; the HTTP API is documented in docs/http-api.md.

pub mod json;
pub mod metrics;
pub mod settings;

mod http;
pub mod kafka;
mod kinesis;
mod serve;
mod service;

pub use http::{
    CLIENT_ID_BYTES_MAX, COMMIT_OFFSETS_MAX, GROUP_TIMEOUT_MS_MAX, GROUP_TOPICS_MAX,
    HEARTBEAT_MS_MIN, HttpSettings, METADATA_BYTES_MAX, MetricsRenderer, PING_INTERVAL,
    READ_BYTES_MAX, READ_RECORDS_MAX, REQUEST_BYTES_MAX, WAIT_SECONDS_MAX, router,
};
pub use kinesis::{
    AccessKeys, CLOCK_SKEW_MAX_MS, GET_RECORDS_BYTES_MAX, GET_RECORDS_MAX, ITERATOR_LIFETIME_MS,
    PUT_RECORDS_BYTES_MAX, PUT_RECORDS_MAX,
};
pub use serve::{
    AuthTokens, HEADER_TIMEOUT, ListenError, check_kafka_listen, check_listen, kafka_advertised,
    serve,
};
pub use service::{
    GROUP_MEMBERS_MAX, LogService, MemberError, OffsetCommit, POOLED_CURSORS_MAX, PartitionSummary,
    Placed, Placement, PollRequest, ReadBatch, ReadFrom, ReadRequest, Sent, ServiceError, Tail,
    TopicSummary,
};

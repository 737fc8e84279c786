//! Consumer-group membership: `POST /v1/groups/{g}/members` (join), `GET` and `DELETE
//! /v1/groups/{g}/members/{m}` (assignment, leave). The member lives in this agent (see
//! `service::groups`); its records and offsets are in `group_records`. A join's settings are
//! Kafka's consumer settings, checked with errors naming the field and its bounds.

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value, json};
use silt_core::ids::{GroupName, TopicName};
use silt_group::{GroupSettings, MemberId, OffsetReset};

use crate::http::body::{check_fields, optional_u64, parse_object, read_body};
use crate::http::error::ApiError;
use crate::http::path::{GroupPath, MemberPath};
use crate::http::topics::topic_name;
use crate::http::{AppState, group_records, json_ok};

/// Most topics one member subscribes to.
pub const GROUP_TOPICS_MAX: usize = 100;
/// Longest `client_id`, in bytes.
pub const CLIENT_ID_BYTES_MAX: usize = 255;
/// Shortest heartbeat interval a member joined over HTTP may ask for: each costs the store a
/// conditional PUT and two conditional GETs.
pub const HEARTBEAT_MS_MIN: u64 = 100;
/// Longest session timeout and poll interval (Kafka's `group.max.session.timeout.ms`): an
/// abandoned member holds its place in the agent until its poll interval passes.
pub const GROUP_TIMEOUT_MS_MAX: u64 = 30 * 60 * 1000;

const JOIN_FIELDS: [&str; 8] = [
    "topics",
    "instance_id",
    "client_id",
    "auto_offset_reset",
    "auto_commit",
    "session_timeout_ms",
    "heartbeat_ms",
    "max_poll_interval_ms",
];

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/groups/{group}/members", post(join))
        .route(
            "/v1/groups/{group}/members/{member}",
            get(describe).delete(leave),
        )
        .merge(group_records::routes())
}

async fn join(
    State(state): State<AppState>,
    GroupPath(group): GroupPath,
    body: Body,
) -> Result<Response, ApiError> {
    let body = read_body(&state, body).await?;
    let o = parse_object(&body)?;
    check_fields(&o, &JOIN_FIELDS)?;
    let topics = topics(&o)?;
    let settings = join_settings(&o)?;
    let member = state
        .service
        .join_group(&group, &topics, settings.clone())
        .await?;
    let location = member_path(&group, &member);
    let body = joined_json(&group, &member, &topics, &settings);
    let mut response = (StatusCode::CREATED, axum::Json(body)).into_response();
    if let Ok(value) = header::HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

async fn describe(
    State(state): State<AppState>,
    MemberPath(group, member): MemberPath,
) -> Result<Response, ApiError> {
    let assignment = state.service.group_assignment(&group, &member).await?;
    let held: Vec<Value> = assignment
        .iter()
        .map(|a| {
            json!({
                "topic": a.partition.topic.as_str(),
                "partition": a.partition.partition.0,
                "committed_offset": a.committed,
                "lease_epoch": a.lease_epoch,
            })
        })
        .collect();
    Ok(json_ok(json!({
        "group": group.as_str(),
        "member_id": member.0,
        "assignment": held,
    })))
}

async fn leave(
    State(state): State<AppState>,
    MemberPath(group, member): MemberPath,
) -> Result<Response, ApiError> {
    state.service.leave_group(&group, &member).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `/v1/groups/{g}/members/{m}`.
fn member_path(group: &GroupName, member: &MemberId) -> String {
    format!("/v1/groups/{group}/members/{member}")
}

/// `topics`: a list of 1 to [`GROUP_TOPICS_MAX`] topic names, none twice.
fn topics(o: &Map<String, Value>) -> Result<Vec<TopicName>, ApiError> {
    let Some(Value::Array(items)) = o.get("topics") else {
        return Err(ApiError::bad_request(
            "field \"topics\" must be a list of topic names (at least one)",
        ));
    };
    if items.is_empty() || items.len() > GROUP_TOPICS_MAX {
        return Err(ApiError::bad_request(format!(
            "field \"topics\" must name 1 to {GROUP_TOPICS_MAX} topics, not {}",
            items.len()
        ))
        .with("limit", GROUP_TOPICS_MAX));
    }
    let mut topics = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Value::String(name) = item else {
            return Err(ApiError::bad_request(format!(
                "topics[{i}] must be a topic name, not {}",
                crate::json::kind(item)
            )));
        };
        let name = topic_name(name.clone())?;
        if topics.contains(&name) {
            return Err(ApiError::bad_request(format!(
                "topics[{i}]: topic {name} is named twice"
            )));
        }
        topics.push(name);
    }
    Ok(topics)
}

/// The member's settings: the library's defaults (Kafka's), with what the body gives.
fn join_settings(o: &Map<String, Value>) -> Result<GroupSettings, ApiError> {
    let defaults = GroupSettings {
        client_id: "silt-http".into(),
        ..GroupSettings::default()
    };
    let client_id = optional_string(o, "client_id")?.unwrap_or(defaults.client_id);
    if client_id.len() > CLIENT_ID_BYTES_MAX {
        return Err(ApiError::bad_request(format!(
            "field \"client_id\" is {} bytes, over the limit of {CLIENT_ID_BYTES_MAX}",
            client_id.len()
        ))
        .with("limit", CLIENT_ID_BYTES_MAX));
    }
    let auto_offset_reset = match optional_string(o, "auto_offset_reset")?.as_deref() {
        None => defaults.auto_offset_reset,
        Some("earliest") => OffsetReset::Earliest,
        Some("latest") => OffsetReset::Latest,
        Some("none") => OffsetReset::None,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "field \"auto_offset_reset\" must be \"earliest\", \"latest\" or \"none\", not {other:?}"
            )));
        }
    };
    let auto_commit = match o.get("auto_commit") {
        None | Some(Value::Null) | Some(Value::Bool(true)) => defaults.auto_commit_ms,
        Some(Value::Bool(false)) => None,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "field \"auto_commit\" must be true or false, not {}",
                crate::json::kind(other)
            )));
        }
    };
    let heartbeat_ms = bounded(o, "heartbeat_ms", HEARTBEAT_MS_MIN, defaults.heartbeat_ms)?;
    let settings = GroupSettings {
        heartbeat_ms,
        session_timeout_ms: bounded(o, "session_timeout_ms", 1, defaults.session_timeout_ms)?,
        max_poll_interval_ms: bounded(o, "max_poll_interval_ms", 1, defaults.max_poll_interval_ms)?,
        // A handoff waits at least one heartbeat.
        handoff_timeout_ms: defaults.handoff_timeout_ms.max(heartbeat_ms),
        auto_commit_ms: auto_commit,
        auto_offset_reset,
        instance_id: optional_string(o, "instance_id")?,
        client_id,
        ..defaults
    };
    settings.validate()?;
    Ok(settings)
}

/// A duration field from `min` to [`GROUP_TIMEOUT_MS_MAX`] ms, `default` when absent.
fn bounded(o: &Map<String, Value>, field: &str, min: u64, default: u64) -> Result<u64, ApiError> {
    match optional_u64(o, field)? {
        None => Ok(default),
        Some(v) if (min..=GROUP_TIMEOUT_MS_MAX).contains(&v) => Ok(v),
        Some(v) => Err(ApiError::bad_request(format!(
            "field {field:?} must be from {min} to {GROUP_TIMEOUT_MS_MAX} ms, not {v}"
        ))
        .with("limit", GROUP_TIMEOUT_MS_MAX)),
    }
}

/// A field that must be absent, null or a string.
fn optional_string(o: &Map<String, Value>, field: &str) -> Result<Option<String>, ApiError> {
    match o.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(ApiError::bad_request(format!(
            "field {field:?} must be a string, not {}",
            crate::json::kind(other)
        ))),
    }
}

/// A join's answer: the member, and the settings it runs with.
fn joined_json(
    group: &GroupName,
    member: &MemberId,
    topics: &[TopicName],
    s: &GroupSettings,
) -> Value {
    let reset = match s.auto_offset_reset {
        OffsetReset::Earliest => "earliest",
        OffsetReset::Latest => "latest",
        OffsetReset::None => "none",
    };
    let topics: Vec<&str> = topics.iter().map(TopicName::as_str).collect();
    json!({
        "group": group.as_str(),
        "member_id": member.0,
        "path": member_path(group, member),
        "topics": topics,
        "instance_id": s.instance_id,
        "client_id": s.client_id,
        "auto_offset_reset": reset,
        "auto_commit": s.auto_commit_ms.is_some(),
        "session_timeout_ms": s.session_timeout_ms,
        "heartbeat_ms": s.heartbeat_ms,
        "max_poll_interval_ms": s.max_poll_interval_ms,
    })
}

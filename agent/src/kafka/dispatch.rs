//! From a request frame to its answer: the version checked against what this agent serves
//! ([`SUPPORTED`]), the body decoded, the API's module called, the answer encoded; and per API
//! key, the count, errors and latency on the agent's `/metrics`.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::ApiKey;
use tokio::time::Instant;

use super::frame::{FrameError, RequestFrame, decode_body, encode_response};
use super::groups::{self, Client};
use super::turn::Turn;
use super::{
    KafkaContext, api_versions, fetch, init_producer_id, list_offsets, metadata, produce, topics,
};

/// Kafka requests answered, by API (`silt_kafka_requests_total`).
pub const KAFKA_REQUESTS: &str = "silt_kafka_requests_total";
/// Error codes in answers, by API and error (`silt_kafka_errors_total`); a connection closed
/// over a request counts as error `closed`.
pub const KAFKA_ERRORS: &str = "silt_kafka_errors_total";
/// Time from a request's frame read to its answer ready, by API (`silt_kafka_request_seconds`).
pub const KAFKA_REQUEST_SECONDS: &str = "silt_kafka_request_seconds";

/// The APIs served, by name, and their versions: what ApiVersions advertises and what is
/// accepted.
pub(crate) const SUPPORTED: &[(ApiKey, &str, i16, i16)] = &[
    (ApiKey::Produce, "Produce", 3, 10),
    (ApiKey::Fetch, "Fetch", 4, 12),
    (ApiKey::ListOffsets, "ListOffsets", 1, 7),
    (ApiKey::Metadata, "Metadata", 0, 12),
    (ApiKey::ApiVersions, "ApiVersions", 0, 3),
    (ApiKey::CreateTopics, "CreateTopics", 2, 7),
    (ApiKey::DeleteTopics, "DeleteTopics", 1, 5),
    (ApiKey::InitProducerId, "InitProducerId", 0, 4),
    (ApiKey::DescribeConfigs, "DescribeConfigs", 1, 4),
    (ApiKey::FindCoordinator, "FindCoordinator", 0, 4),
    (ApiKey::JoinGroup, "JoinGroup", 0, 9),
    (ApiKey::SyncGroup, "SyncGroup", 0, 5),
    (ApiKey::Heartbeat, "Heartbeat", 0, 4),
    (ApiKey::LeaveGroup, "LeaveGroup", 0, 5),
    (ApiKey::OffsetCommit, "OffsetCommit", 2, 9),
    (ApiKey::OffsetFetch, "OffsetFetch", 1, 9),
    (ApiKey::ListGroups, "ListGroups", 0, 5),
    (ApiKey::DescribeGroups, "DescribeGroups", 0, 5),
];

/// The range of `api` served, if any.
pub(crate) fn supported(api: ApiKey) -> Option<(i16, i16)> {
    SUPPORTED
        .iter()
        .find(|(key, ..)| *key == api)
        .map(|(_, _, min, max)| (*min, *max))
}

/// Counts an error code answered for `api` (0 is not an error).
pub(crate) fn count_error(api: ApiKey, code: i16) {
    if let Some(e) = ResponseError::try_from_code(code) {
        metrics::counter!(KAFKA_ERRORS, "api" => api_name(api), "error" => format!("{e}"))
            .increment(1);
    }
}

/// The metrics label of `api`.
fn api_name(api: ApiKey) -> &'static str {
    SUPPORTED
        .iter()
        .find(|(key, ..)| *key == api)
        .map_or("Other", |(_, name, ..)| name)
}

/// Handles one request; `Ok(None)` sends nothing back (`acks=0`), `Err` closes the connection.
pub(super) async fn dispatch(
    context: Arc<KafkaContext>,
    request: RequestFrame,
    turn: Option<Turn>,
    peer: SocketAddr,
) -> Result<Option<Bytes>, FrameError> {
    let started = Instant::now();
    let api = request.api;
    let answer = route(&context, request, turn, peer).await;
    let name = api_name(api);
    metrics::counter!(KAFKA_REQUESTS, "api" => name).increment(1);
    metrics::histogram!(KAFKA_REQUEST_SECONDS, "api" => name)
        .record(started.elapsed().as_secs_f64());
    if let Err(e) = &answer {
        metrics::counter!(KAFKA_ERRORS, "api" => name, "error" => "closed").increment(1);
        tracing::info!(api = name, error = %e, "kafka request refused; closing its connection");
    }
    answer
}

async fn route(
    context: &KafkaContext,
    request: RequestFrame,
    turn: Option<Turn>,
    peer: SocketAddr,
) -> Result<Option<Bytes>, FrameError> {
    let RequestFrame { api, header, body } = request;
    let version = header.request_api_version;
    let correlation_id = header.correlation_id;
    if api == ApiKey::ApiVersions {
        return api_versions::answer(version, correlation_id, body).map(Some);
    }
    let (min, max) = supported(api).ok_or(FrameError::UnknownApiKey(api as i16))?;
    if !(min..=max).contains(&version) {
        return Err(FrameError::UnsupportedVersion {
            api,
            version,
            min,
            max,
        });
    }
    // Decodes the body as `$request`, calls `$handler`, encodes what it answers.
    macro_rules! serve {
        ($handler:path, $request:literal) => {{
            let request = decode_body(body, version, $request)?;
            let response = $handler(context, version, request).await;
            encode_response(api, version, correlation_id, &response).map(Some)
        }};
    }
    match api {
        ApiKey::Metadata => serve!(metadata::handle, "Metadata request"),
        ApiKey::Produce => {
            let request = decode_body(body, version, "Produce request")?;
            match produce::handle(context, request, turn).await {
                Some(response) => {
                    encode_response(api, version, correlation_id, &response).map(Some)
                }
                None => Ok(None), // acks=0: no answer at all
            }
        }
        ApiKey::Fetch => serve!(fetch::handle, "Fetch request"),
        ApiKey::ListOffsets => serve!(list_offsets::handle, "ListOffsets request"),
        ApiKey::InitProducerId => serve!(init_producer_id::handle, "InitProducerId request"),
        ApiKey::CreateTopics => serve!(topics::create, "CreateTopics request"),
        ApiKey::DeleteTopics => serve!(topics::delete, "DeleteTopics request"),
        ApiKey::DescribeConfigs => serve!(topics::describe_configs, "DescribeConfigs request"),
        ApiKey::FindCoordinator => serve!(groups::find_coordinator, "FindCoordinator request"),
        ApiKey::JoinGroup => {
            let client = Client::new(header.client_id.as_ref(), peer);
            let request = decode_body(body, version, "JoinGroup request")?;
            let response = groups::join(context, version, request, &client).await;
            encode_response(api, version, correlation_id, &response).map(Some)
        }
        ApiKey::SyncGroup => serve!(groups::sync, "SyncGroup request"),
        ApiKey::Heartbeat => serve!(groups::heartbeat, "Heartbeat request"),
        ApiKey::LeaveGroup => serve!(groups::leave, "LeaveGroup request"),
        ApiKey::OffsetCommit => serve!(groups::commit, "OffsetCommit request"),
        ApiKey::OffsetFetch => serve!(groups::fetch, "OffsetFetch request"),
        ApiKey::ListGroups => serve!(groups::list, "ListGroups request"),
        ApiKey::DescribeGroups => serve!(groups::describe, "DescribeGroups request"),
        _ => Err(FrameError::UnknownApiKey(api as i16)),
    }
}

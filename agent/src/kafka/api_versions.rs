//! ApiVersions: the APIs and version ranges this agent serves ([`SUPPORTED`]). A client asking
//! with a version newer than ours gets UNSUPPORTED_VERSION in the v0 format, with our ranges,
//! and retries with one we serve (KIP-511), as from a Kafka broker.

use bytes::Bytes;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse};

use super::dispatch::{SUPPORTED, supported};
use super::frame::{FrameError, decode_body, encode_response};

/// The answer to an ApiVersions request of `version`.
pub(super) fn answer(version: i16, correlation_id: i32, body: Bytes) -> Result<Bytes, FrameError> {
    let (min, max) = supported(ApiKey::ApiVersions).unwrap_or((0, 0));
    let mut response = ApiVersionsResponse::default();
    response.api_keys = SUPPORTED
        .iter()
        .map(|(key, _, min, max)| {
            ApiVersion::default()
                .with_api_key(*key as i16)
                .with_min_version(*min)
                .with_max_version(*max)
        })
        .collect();
    if !(min..=max).contains(&version) {
        response.error_code = ResponseError::UnsupportedVersion.code();
        return encode_response(ApiKey::ApiVersions, 0, correlation_id, &response);
    }
    let _request: ApiVersionsRequest = decode_body(body, version, "ApiVersions request")?;
    encode_response(ApiKey::ApiVersions, version, correlation_id, &response)
}

//! The Kinesis-compatible API (docs/kinesis.md): Amazon Kinesis Data Streams' JSON 1.1
//! protocol on the agent's listener, so that boto3, the AWS CLI and the AWS SDKs work against
//! silt unchanged. A request is `POST /` with `X-Amz-Target: Kinesis_20131202.<Action>` and a
//! JSON body; it passes, in order: the body limit, SigV4 (`sigv4`), the action's input
//! (`input`), then the action (`streams`, `records`) on the [`LogService`], whose errors
//! become Kinesis' (`error`). Streams are topics, shards partitions (`sequence`), and shard
//! iterators are sealed positions any agent of the store can continue (`iterator`).

mod error;
mod input;
mod iterator;
mod records;
mod sequence;
mod sigv4;
mod streams;
#[cfg(test)]
mod tests;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::Value;
use silt_core::error::Error;
use silt_core::ids::TopicName;
use silt_core::topic::TopicConfig;
use tokio::sync::OnceCell;

pub(crate) use error::KinesisError;
pub use iterator::ITERATOR_LIFETIME_MS;
use iterator::IteratorSeal;
pub use records::{GET_RECORDS_BYTES_MAX, GET_RECORDS_MAX, PUT_RECORDS_BYTES_MAX, PUT_RECORDS_MAX};
pub use sigv4::{AccessKeys, CLOCK_SKEW_MAX_MS};

use crate::http::{AppState, read_body};
use crate::service::LogService;

/// The content type of Kinesis' requests and answers.
pub(crate) const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// The header naming the action.
pub(crate) const TARGET_HEADER: &str = "x-amz-target";
const TARGET_PREFIX: &str = "Kinesis_20131202.";
/// The region reported in ARNs when a request is not signed.
const DEFAULT_REGION: &str = "us-east-1";

/// What the Kinesis API keeps between requests: the seal of shard iterators, made from the
/// store's shared secret on first use.
#[derive(Debug, Default)]
pub(crate) struct KinesisState {
    seal: OnceCell<IteratorSeal>,
}

/// One request's context.
pub(crate) struct Call<'a> {
    service: &'a LogService,
    state: &'a KinesisState,
    /// The region the request was signed for, for ARNs.
    region: String,
    /// The agent's clock when the request arrived.
    now_ms: i64,
}

impl Call<'_> {
    /// The stream's configuration, read now; `ResourceNotFoundException` if there is none.
    async fn topic(&self, topic: &TopicName) -> Result<TopicConfig, KinesisError> {
        self.service
            .storage()
            .topic(topic)
            .await
            .map_err(|e| not_found(e, topic))
    }

    /// The stream's configuration as cached by this agent.
    async fn cached_topic(&self, topic: &TopicName) -> Result<TopicConfig, KinesisError> {
        self.service
            .cached_topic(topic)
            .await
            .map_err(|e| not_found(e, topic))
    }

    async fn seal(&self) -> Result<&IteratorSeal, KinesisError> {
        let storage = self.service.storage();
        self.state
            .seal
            .get_or_try_init(|| async {
                let secret = storage.agent_secret(rand::random()).await?;
                Ok::<_, Error>(IteratorSeal::new(secret))
            })
            .await
            .map_err(KinesisError::from)
    }
}

/// `e`, with an unknown topic in Kinesis' words.
fn not_found(e: Error, topic: &TopicName) -> KinesisError {
    match e {
        Error::UnknownTopic(_) => streams::stream_not_found(topic),
        e => e.into(),
    }
}

/// The Kinesis route: `POST /`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/", post(handle))
}

async fn handle(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let action = headers
        .get(TARGET_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    match serve(&state, &method, &uri, &headers, body, &action).await {
        Ok(answer) => {
            let mut response = (StatusCode::OK, answer.to_string()).into_response();
            let content_type = HeaderValue::from_static(CONTENT_TYPE);
            response
                .headers_mut()
                .insert(header::CONTENT_TYPE, content_type);
            response
        }
        Err(e) => {
            tracing::debug!(action, kind = e.kind, message = e.message, "kinesis error");
            e.into_response()
        }
    }
}

async fn serve(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Body,
    target: &str,
) -> Result<Value, KinesisError> {
    let body = read_body(state, body)
        .await
        .map_err(|e| KinesisError::validation(e.message))?;
    let now_ms = state.service.storage().clock.now_ms();
    authenticate(state, method, uri, headers, &body, now_ms)?;
    let action = target.strip_prefix(TARGET_PREFIX).ok_or_else(|| {
        KinesisError::unknown_operation(format!(
            "X-Amz-Target must be {TARGET_PREFIX}<Action> (Kinesis' JSON 1.1 protocol); silt's own HTTP API is under /v1 (docs/http-api.md)"
        ))
    })?;
    if headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("cbor"))
    {
        return Err(KinesisError::serialization(
            "silt's Kinesis API speaks JSON 1.1, not CBOR: turn CBOR off in the SDK (AWS_CBOR_DISABLE=true for the Java SDK v1, -Daws.cborEnabled=false for v2)",
        ));
    }
    let input = parse(&body)?;
    let call = Call {
        service: &state.service,
        state: &state.kinesis,
        region: sigv4::signed_region(headers).unwrap_or_else(|| DEFAULT_REGION.into()),
        now_ms,
    };
    dispatch(&call, action, input).await
}

async fn dispatch(call: &Call<'_>, action: &str, input: Value) -> Result<Value, KinesisError> {
    match action {
        "CreateStream" => streams::create_stream(call, input).await,
        "DeleteStream" => streams::delete_stream(call, input).await,
        "DescribeStream" => streams::describe_stream(call, input).await,
        "DescribeStreamSummary" => streams::describe_stream_summary(call, input).await,
        "ListStreams" => streams::list_streams(call, input).await,
        "ListShards" => streams::list_shards(call, input).await,
        "IncreaseStreamRetentionPeriod" => streams::change_retention(call, input, true).await,
        "DecreaseStreamRetentionPeriod" => streams::change_retention(call, input, false).await,
        "ListTagsForStream" => streams::list_tags(call, input).await,
        "PutRecord" => records::put_record(call, input).await,
        "PutRecords" => records::put_records(call, input).await,
        "GetShardIterator" => records::get_shard_iterator(call, input).await,
        "GetRecords" => records::get_records(call, input).await,
        other => Err(unsupported(other)),
    }
}

/// Kinesis actions silt does not have, by what they belong to.
const UNSUPPORTED: [(&str, &[&str]); 4] = [
    (
        "resharding (a stream keeps the shards it was created with)",
        &[
            "UpdateShardCount",
            "SplitShard",
            "MergeShards",
            "UpdateStreamMode",
        ],
    ),
    (
        "enhanced fan-out (every reader reads from the object store at full speed)",
        &[
            "RegisterStreamConsumer",
            "DeregisterStreamConsumer",
            "DescribeStreamConsumer",
            "ListStreamConsumers",
            "SubscribeToShard",
        ],
    ),
    (
        "server-side encryption settings (encrypt the bucket instead)",
        &["StartStreamEncryption", "StopStreamEncryption"],
    ),
    (
        "tags, monitoring settings and resource policies",
        &[
            "AddTagsToStream",
            "RemoveTagsFromStream",
            "TagResource",
            "UntagResource",
            "ListTagsForResource",
            "EnableEnhancedMonitoring",
            "DisableEnhancedMonitoring",
            "PutResourcePolicy",
            "GetResourcePolicy",
            "DeleteResourcePolicy",
            "DescribeLimits",
            "DescribeAccountSettings",
            "UpdateAccountSettings",
            "UpdateMaxRecordSize",
            "UpdateStreamWarmThroughput",
        ],
    ),
];

fn unsupported(action: &str) -> KinesisError {
    let action_text: String = action.chars().take(64).collect();
    match UNSUPPORTED
        .iter()
        .find(|(_, actions)| actions.contains(&action))
    {
        Some((what, _)) => KinesisError::invalid_argument(format!(
            "silt does not support {action_text}: no {what}; see the README, 'Coming from Kinesis'"
        )),
        None => KinesisError::unknown_operation(format!(
            "silt's Kinesis API has no action {action_text:?}"
        )),
    }
}

/// The body as a JSON object (an empty body is `{}`), parsed strictly (no key twice).
fn parse(body: &[u8]) -> Result<Value, KinesisError> {
    if body.is_empty() {
        return Ok(Value::Object(Default::default()));
    }
    let text = std::str::from_utf8(body)
        .map_err(|e| KinesisError::serialization(format!("the body is not UTF-8: {e}")))?;
    match crate::json::strict::parse(text) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err(KinesisError::serialization("the body is not a JSON object")),
        Err(e) => Err(KinesisError::serialization(format!(
            "the body is not JSON: {e}"
        ))),
    }
}

/// Checks the request's SigV4 signature when the agent has access keys. Without keys, an
/// agent that requires bearer tokens for its HTTP API refuses Kinesis requests (they cannot
/// carry a token), and an open agent (loopback, or `--insecure-no-auth`) takes any.
fn authenticate(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    now_ms: i64,
) -> Result<(), KinesisError> {
    let keys = match (&state.settings.access_keys, &state.settings.auth) {
        (Some(keys), _) => keys,
        (None, None) => return Ok(()),
        (None, Some(_)) => {
            return Err(KinesisError::unrecognized_client(
                "this agent requires authentication and has no access keys for the Kinesis API: start it with --auth-keys FILE",
            ));
        }
    };
    let request = sigv4::SignedRequest {
        method,
        path: uri.path(),
        query: uri.query().unwrap_or_default(),
        headers,
        body,
    };
    sigv4::verify(keys, &request, now_ms).map_err(|refused| match refused {
        sigv4::Refused::Missing => KinesisError::missing_token("Missing Authentication Token"),
        sigv4::Refused::UnknownKey => KinesisError::unrecognized_client(
            "The security token included in the request is invalid: unknown access key id",
        ),
        sigv4::Refused::Invalid(why) => KinesisError::invalid_signature(why),
    })
}

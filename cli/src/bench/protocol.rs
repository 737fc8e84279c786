//! What differs between the agent path's protocols (`--agent-protocol`): how the bench's
//! topic is made, how one partition's batch of records becomes a request, and how its answer
//! says which records were committed. `http` is silt's own API (docs/http-api.md): a request
//! appends to one partition, all or nothing. `kinesis` is Kinesis' `PutRecords`
//! (docs/kinesis.md) to a stream made by `CreateStream`: every record of a request carries the
//! `ExplicitHashKey` that starts one shard's hash-key range, so a request also targets one
//! partition, and its answer reports each record's result.

use std::borrow::Cow;
use std::sync::Arc;

use base64::Engine;
use bytes::Bytes;
use hyper::{Method, StatusCode};
use serde::Deserialize;
use silt_core::ids::{PartitionId, TopicName};
use silt_core::topic::hash_key_range;

use super::http::{AgentRequest, Connection, Endpoint};
use crate::CliResult;
pub(crate) use crate::args::AgentProtocol;

/// Bytes of a partition key on the Kinesis path at most: the partition's number, below
/// `silt_core::limits::PARTITIONS_MAX` (10 000).
pub(crate) const KINESIS_KEY_BYTES_MAX: usize = 4;

const JSON: &[(&str, &str)] = &[("content-type", "application/json")];
const PUT_RECORDS: &[(&str, &str)] = &[
    ("content-type", "application/x-amz-json-1.1"),
    ("x-amz-target", "Kinesis_20131202.PutRecords"),
];
const CREATE_STREAM: &[(&str, &str)] = &[
    ("content-type", "application/x-amz-json-1.1"),
    ("x-amz-target", "Kinesis_20131202.CreateStream"),
];

impl AgentProtocol {
    /// `http` or `kinesis`, for the report.
    pub(crate) fn name(self) -> &'static str {
        match self {
            AgentProtocol::Http => "http",
            AgentProtocol::Kinesis => "kinesis",
        }
    }
}

/// What one answer said: how many of the request's records failed, and why.
#[derive(Debug, PartialEq)]
pub(crate) struct Answer {
    pub(crate) failed: u64,
    /// The kind (HTTP status, or Kinesis' `ErrorCode`) and the text of a failure.
    pub(crate) failure: Option<(String, String)>,
}

impl Answer {
    fn all_failed(count: u64, kind: String, detail: String) -> Answer {
        Answer {
            failed: count,
            failure: Some((kind, detail)),
        }
    }
}

/// One protocol, for one topic: the requests the bench's clients send.
#[derive(Debug)]
pub(crate) struct Wire {
    protocol: AgentProtocol,
    topic: TopicName,
    partitions: u32,
    /// Per partition, the JSON that opens one of its records, up to the base64 of the value.
    record_heads: Vec<String>,
}

impl Wire {
    pub(crate) fn new(protocol: AgentProtocol, topic: TopicName, partitions: u32) -> Wire {
        let record_heads = (0..partitions)
            .map(|p| match protocol {
                AgentProtocol::Http => "{\"value\":\"".to_string(),
                AgentProtocol::Kinesis => {
                    let range = hash_key_range(PartitionId(p), partitions);
                    let start = range.map_or(0, |(start, _)| start);
                    format!(
                        "{{\"PartitionKey\":\"{p}\",\"ExplicitHashKey\":\"{start}\",\"Data\":\""
                    )
                }
            })
            .collect();
        Wire {
            protocol,
            topic,
            partitions,
            record_heads,
        }
    }

    pub(crate) fn name(&self) -> &'static str {
        self.protocol.name()
    }

    /// Creates the topic (`POST /v1/topics`) or the stream (`CreateStream`).
    pub(crate) async fn create(&self, endpoint: &Arc<Endpoint>) -> CliResult {
        let (name, partitions) = (self.topic.as_str(), self.partitions);
        let (request, created) = match self.protocol {
            AgentProtocol::Http => {
                let body = serde_json::json!({ "name": name, "partitions": partitions });
                (post("/v1/topics", JSON, body), StatusCode::CREATED)
            }
            AgentProtocol::Kinesis => {
                let body = serde_json::json!({ "StreamName": name, "ShardCount": partitions });
                (post("/", CREATE_STREAM, body), StatusCode::OK)
            }
        };
        let mut connection = Connection::open(endpoint.clone()).await?;
        let (status, answer) = connection.call(request).await?;
        if status != created {
            let answer = String::from_utf8_lossy(&answer);
            return Err(format!(
                "creating topic {name} through the agent ({}): {status} {answer}",
                self.name()
            )
            .into());
        }
        Ok(())
    }

    /// The request that appends `values` to `partition`.
    pub(crate) fn put(&self, partition: u32, values: &[Bytes]) -> AgentRequest {
        let (path, headers, head) = match self.protocol {
            AgentProtocol::Http => (
                format!("/v1/topics/{}/partitions/{partition}/records", self.topic),
                JSON,
                "{\"records\":[".to_string(),
            ),
            AgentProtocol::Kinesis => (
                "/".to_string(),
                PUT_RECORDS,
                format!("{{\"StreamName\":\"{}\",\"Records\":[", self.topic),
            ),
        };
        let record_head = self
            .record_heads
            .get(partition as usize)
            .map_or("", String::as_str);
        AgentRequest {
            method: Method::POST,
            path,
            headers,
            body: records_json(&head, record_head, values),
        }
    }

    /// How many of the `count` records sent to `partition` failed, from the answer.
    pub(crate) fn answer(
        &self,
        partition: u32,
        status: StatusCode,
        body: &[u8],
        count: u64,
    ) -> Answer {
        if status != StatusCode::OK {
            let detail = format!("{status}: {}", String::from_utf8_lossy(body));
            return Answer::all_failed(count, status.as_u16().to_string(), detail);
        }
        match self.protocol {
            AgentProtocol::Http => Answer {
                failed: 0,
                failure: None,
            },
            AgentProtocol::Kinesis => put_records_answer(partition, body, count),
        }
    }
}

fn post(
    path: &str,
    headers: &'static [(&'static str, &'static str)],
    body: serde_json::Value,
) -> AgentRequest {
    AgentRequest {
        method: Method::POST,
        path: path.to_string(),
        headers,
        body: Bytes::from(body.to_string()),
    }
}

/// `head` `{record_head<base64>"}`,… `]}`: the records of a request, each value in base64.
fn records_json(head: &str, record_head: &str, values: &[Bytes]) -> Bytes {
    let per_record = record_head.len() + 4;
    let bytes: usize = values
        .iter()
        .map(|v| v.len() * 4 / 3 + 4 + per_record)
        .sum();
    let mut json = String::with_capacity(head.len() + bytes + 2);
    json.push_str(head);
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        json.push_str(record_head);
        base64::engine::general_purpose::STANDARD.encode_string(value, &mut json);
        json.push_str("\"}");
    }
    json.push_str("]}");
    Bytes::from(json)
}

/// The part of a `PutRecords` answer the bench reads; strings borrowed from the answer where
/// they can be, so that the clients spend little of the CPU they share with the agent.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutRecordsOutput<'a> {
    failed_record_count: u64,
    #[serde(borrow)]
    records: Vec<PutRecordsResult<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutRecordsResult<'a> {
    #[serde(borrow)]
    shard_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    error_code: Option<Cow<'a, str>>,
    #[serde(borrow)]
    error_message: Option<Cow<'a, str>>,
}

/// A `PutRecords` answer: `FailedRecordCount` records failed, the first failed one says why.
/// An answer that does not add up (another number of results, failures other than counted,
/// a record in another shard than asked) counts every record as failed.
fn put_records_answer(partition: u32, body: &[u8], count: u64) -> Answer {
    let output: PutRecordsOutput<'_> = match serde_json::from_slice(body) {
        Ok(output) => output,
        Err(e) => {
            return Answer::all_failed(count, "bad answer".into(), format!("PutRecords: {e}"));
        }
    };
    let shard = format!("shardId-{partition:012}");
    let errors = output
        .records
        .iter()
        .filter(|r| r.error_code.is_some())
        .count() as u64;
    let misplaced = output
        .records
        .iter()
        .find(|r| r.error_code.is_none() && r.shard_id.as_deref() != Some(shard.as_str()));
    if output.records.len() as u64 != count
        || errors != output.failed_record_count
        || misplaced.is_some()
    {
        let detail = format!(
            "PutRecords of {count} records to {shard}: {} results, FailedRecordCount {}, {errors} with an ErrorCode, first other shard {:?}",
            output.records.len(),
            output.failed_record_count,
            misplaced.and_then(|r| r.shard_id.as_deref()),
        );
        return Answer::all_failed(count, "bad answer".into(), detail);
    }
    let failure = output.records.into_iter().find_map(|r| {
        let code = r.error_code?.into_owned();
        let detail = format!("{code}: {}", r.error_message.unwrap_or_default());
        Some((code, detail))
    });
    Answer {
        failed: output.failed_record_count,
        failure,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::{Value, json};
    use silt_core::topic::{parse_hash_key, partition_for_hash_key};

    use super::*;

    fn wire(protocol: AgentProtocol, partitions: u32) -> Wire {
        Wire::new(protocol, TopicName::new("t").unwrap(), partitions)
    }

    fn decode(data: &Value) -> Vec<u8> {
        let text = data.as_str().unwrap();
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap()
    }

    /// Each record of a `PutRecords` request names, by its `ExplicitHashKey`, the shard the
    /// request is for; the data is the value.
    #[test]
    fn put_records_requests_target_their_partition() {
        let values = [Bytes::from_static(b"first"), Bytes::from_static(b"second")];
        let partitions = 7;
        for p in 0..partitions {
            let request = wire(AgentProtocol::Kinesis, partitions).put(p, &values);
            assert_eq!(request.path, "/");
            assert!(
                request
                    .headers
                    .contains(&("x-amz-target", "Kinesis_20131202.PutRecords"))
            );
            let body: Value = serde_json::from_slice(&request.body).unwrap();
            assert_eq!(body["StreamName"], "t");
            let records = body["Records"].as_array().unwrap();
            assert_eq!(records.len(), values.len());
            for (record, value) in records.iter().zip(&values) {
                assert_eq!(decode(&record["Data"]), value.to_vec());
                let key = parse_hash_key(record["ExplicitHashKey"].as_str().unwrap()).unwrap();
                assert_eq!(partition_for_hash_key(key, partitions), PartitionId(p));
            }
        }
    }

    #[test]
    fn http_requests_append_to_their_partition() {
        let values = [Bytes::from_static(b"only")];
        let request = wire(AgentProtocol::Http, 3).put(2, &values);
        assert_eq!(request.path, "/v1/topics/t/partitions/2/records");
        let body: Value = serde_json::from_slice(&request.body).unwrap();
        assert_eq!(decode(&body["records"][0]["value"]), b"only".to_vec());
    }

    fn kinesis_answer(answer: Value, count: u64) -> Answer {
        let body = answer.to_string();
        wire(AgentProtocol::Kinesis, 2).answer(1, StatusCode::OK, body.as_bytes(), count)
    }

    /// Failed records are counted one by one; the first one's error code says why.
    #[test]
    fn put_records_answers_count_failures_per_record() {
        let ok = json!({"ShardId": "shardId-000000000001", "SequenceNumber": "1"});
        let throttled = json!({"ErrorCode": "ProvisionedThroughputExceededException", "ErrorMessage": "slow down"});
        let all_ok = kinesis_answer(json!({"FailedRecordCount": 0, "Records": [ok, ok]}), 2);
        assert_eq!(
            all_ok,
            Answer {
                failed: 0,
                failure: None
            }
        );
        let partial = kinesis_answer(
            json!({"FailedRecordCount": 1, "Records": [ok, throttled, ok]}),
            3,
        );
        assert_eq!(partial.failed, 1);
        let (kind, detail) = partial.failure.unwrap();
        assert_eq!(kind, "ProvisionedThroughputExceededException");
        assert!(detail.contains("slow down"), "{detail}");
    }

    /// An answer that does not add up counts every record as failed.
    #[test]
    fn put_records_answers_that_do_not_add_up_fail_every_record() {
        let ok = json!({"ShardId": "shardId-000000000001", "SequenceNumber": "1"});
        let elsewhere = json!({"ShardId": "shardId-000000000000", "SequenceNumber": "1"});
        for (answer, count) in [
            (json!({"FailedRecordCount": 0, "Records": [ok]}), 2),
            (json!({"FailedRecordCount": 1, "Records": [ok, ok]}), 2),
            (
                json!({"FailedRecordCount": 0, "Records": [ok, elsewhere]}),
                2,
            ),
            (json!({"Records": [ok, ok]}), 2),
        ] {
            let counted = kinesis_answer(answer.clone(), count);
            assert_eq!(counted.failed, count, "{answer}");
            assert_eq!(counted.failure.unwrap().0, "bad answer", "{answer}");
        }
        let refused = wire(AgentProtocol::Kinesis, 2).answer(1, StatusCode::BAD_REQUEST, b"{}", 5);
        assert_eq!(
            (refused.failed, refused.failure.unwrap().0),
            (5, "400".to_string())
        );
    }
}

//! Reading a Kinesis request's members: the action's typed input from the JSON body, the
//! stream it names (`StreamName` or `StreamARN`), blobs in base64, and the limits Kinesis
//! puts on each member, refused with Kinesis' error types.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use silt_core::ids::TopicName;

use crate::kinesis::KinesisError;

/// Longest stream name Kinesis allows (silt's topic names may be longer; such topics are
/// still reachable, but `CreateStream` keeps Kinesis' limit).
pub(crate) const STREAM_NAME_LEN_MAX: usize = 128;

/// The action's input, from the request body's JSON object.
pub(crate) fn input<T: DeserializeOwned>(body: Value) -> Result<T, KinesisError> {
    serde_json::from_value(body).map_err(|e| KinesisError::serialization(e.to_string()))
}

/// How a request names a stream: `StreamName`, `StreamARN`, or both (then they must agree).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct StreamRef {
    #[serde(default)]
    pub(crate) stream_name: Option<String>,
    #[serde(default, rename = "StreamARN")]
    pub(crate) stream_arn: Option<String>,
}

impl StreamRef {
    /// The topic the request names.
    pub(crate) fn topic(&self) -> Result<TopicName, KinesisError> {
        let from_arn = self.stream_arn.as_deref().map(stream_of_arn).transpose()?;
        let name = match (self.stream_name.as_deref(), from_arn) {
            (Some(name), Some(arn)) if name != arn => {
                return Err(KinesisError::invalid_argument(format!(
                    "StreamName {name:?} and StreamARN (stream {arn:?}) name different streams"
                )));
            }
            (Some(name), _) => name,
            (None, Some(arn)) => arn,
            (None, None) => {
                return Err(KinesisError::invalid_argument(
                    "Either StreamName or StreamARN must be provided",
                ));
            }
        };
        stream_name(name)
    }
}

/// The topic named `name`, if the name is one a stream can have.
pub(crate) fn stream_name(name: &str) -> Result<TopicName, KinesisError> {
    TopicName::new(name).map_err(|_| {
        KinesisError::validation(format!(
            "1 validation error detected: Value '{}' at 'streamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
            name.chars().take(STREAM_NAME_LEN_MAX).collect::<String>()
        ))
    })
}

/// The stream name in `arn:aws:kinesis:REGION:ACCOUNT:stream/NAME`.
fn stream_of_arn(arn: &str) -> Result<&str, KinesisError> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts[..] {
        ["arn", _, "kinesis", _, _, resource] => resource
            .strip_prefix("stream/")
            .filter(|name| !name.is_empty() && !name.contains('/'))
            .ok_or_else(|| not_a_stream_arn(arn)),
        _ => Err(not_a_stream_arn(arn)),
    }
}

fn not_a_stream_arn(arn: &str) -> KinesisError {
    KinesisError::invalid_argument(format!(
        "StreamARN {:?} is not arn:aws:kinesis:REGION:ACCOUNT:stream/NAME",
        arn.chars().take(256).collect::<String>()
    ))
}

/// The ARN silt reports for stream `name`: its account is always `000000000000`.
pub(crate) fn stream_arn(region: &str, name: &TopicName) -> String {
    format!("arn:aws:kinesis:{region}:000000000000:stream/{name}")
}

/// A base64 blob (`Data`).
pub(crate) fn blob(member: &str, text: &str) -> Result<Vec<u8>, KinesisError> {
    STANDARD
        .decode(text)
        .map_err(|e| KinesisError::serialization(format!("{member} is not valid base64: {e}")))
}

/// Checks that `value` is within `min..=max`, as Kinesis' validation words it.
pub(crate) fn in_range(member: &str, value: i64, min: i64, max: i64) -> Result<i64, KinesisError> {
    if value < min {
        return Err(KinesisError::validation(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must have value greater than or equal to {min}"
        )));
    }
    if value > max {
        return Err(KinesisError::validation(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must have value less than or equal to {max}"
        )));
    }
    Ok(value)
}

/// Checks a string member's length (in characters) is within `min..=max`.
pub(crate) fn length_in(
    member: &str,
    text: &str,
    min: usize,
    max: usize,
) -> Result<(), KinesisError> {
    let len = text.chars().count();
    if len < min || len > max {
        return Err(KinesisError::validation(format!(
            "1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have length between {min} and {max} (it has {len})"
        )));
    }
    Ok(())
}

/// A timestamp member (seconds since the Unix epoch, fractional) in milliseconds.
pub(crate) fn timestamp_ms(seconds: f64) -> Result<i64, KinesisError> {
    match seconds.is_finite() {
        true => Ok((seconds * 1000.0).round() as i64),
        false => Err(KinesisError::serialization("a timestamp is not a number")),
    }
}

/// Milliseconds as Kinesis writes a timestamp: seconds since the Unix epoch.
pub(crate) fn seconds(ms: i64) -> Value {
    serde_json::json!(ms as f64 / 1000.0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail by panicking
mod tests {
    use super::*;

    fn named(name: Option<&str>, arn: Option<&str>) -> Result<TopicName, KinesisError> {
        StreamRef {
            stream_name: name.map(str::to_string),
            stream_arn: arn.map(str::to_string),
        }
        .topic()
    }

    #[test]
    fn a_stream_is_named_by_name_or_arn() {
        let arn = "arn:aws:kinesis:eu-west-1:123456789012:stream/orders";
        assert_eq!(named(Some("orders"), None).unwrap().as_str(), "orders");
        assert_eq!(named(None, Some(arn)).unwrap().as_str(), "orders");
        assert_eq!(named(Some("orders"), Some(arn)).unwrap().as_str(), "orders");
        let kind = |r: Result<TopicName, KinesisError>| r.unwrap_err().kind;
        assert_eq!(
            kind(named(Some("other"), Some(arn))),
            "InvalidArgumentException"
        );
        assert_eq!(kind(named(None, None)), "InvalidArgumentException");
        assert_eq!(
            kind(named(None, Some("arn:aws:s3:::bucket"))),
            "InvalidArgumentException"
        );
        assert_eq!(kind(named(Some("bad name"), None)), "ValidationException");
        let region = "us-east-1";
        let name = TopicName::new("orders").unwrap();
        assert_eq!(named(None, Some(&stream_arn(region, &name))).unwrap(), name);
    }
}

//! Records as JSON, shared by the CLI's JSON lines and the agent's HTTP API.
//!
//! Bytes (key, value, header values) are written in one of two [`Encoding`]s:
//! - [`Encoding::Text`] (the CLI, and the HTTP API with `Silt-Encoding: utf8`): a string is
//!   UTF-8 text; bytes that are not UTF-8 print as `{"base64": "..."}`.
//! - [`Encoding::Base64`] (the HTTP API's default): a string is standard base64.
//!
//! Input accepts `{"base64": "..."}` in both. Headers are a list of
//! `{"key": ..., "value": ...}` (an object map is accepted on input).
//!
//! Input is strict: `key`, `value` and header values must be a string, null or
//! `{"base64": "..."}`. Numbers, booleans, arrays and other objects are refused, never
//! converted: `123456789012345678901234567890` or `1.50` would otherwise be stored as whatever
//! text a float prints (`1.2345678901234568e+29`, `1.5`). Quote them to store them as text.
//! An object may not repeat a key ([`strict`]).

pub mod strict;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde_json::{Map, Value, json};
use silt_core::record::{Header, Record};
use silt_reader::Consumed;
use thiserror::Error;

/// How a JSON string holds bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Encoding {
    /// Standard base64 (with padding): any bytes, the HTTP API's default.
    #[default]
    Base64,
    /// UTF-8 text; other bytes are written as `{"base64": "..."}`.
    Text,
}

/// The fields an input line may have.
const FIELDS: [&str; 5] = ["key", "value", "partition", "timestamp", "headers"];

/// Why a JSON input line was refused; each names the field and what it held.
#[derive(Debug, Error)]
pub enum JsonError {
    /// Not parseable.
    #[error("not JSON: {0}")]
    NotJson(serde_json::Error),
    /// An object with a key twice (which one was meant?).
    #[error("key {0:?} appears twice in one object")]
    RepeatedKey(String),
    /// Valid JSON, but not an object.
    #[error("a record must be a JSON object, not {0}")]
    NotObject(&'static str),
    /// A field silt does not know (a typo would otherwise drop data silently).
    #[error("unknown field {0:?}; expected one of {FIELDS:?}")]
    UnknownField(String),
    /// Bytes given as something other than a string, null or `{"base64": ...}`.
    #[error(
        "field {field:?} must be a string, null or {{\"base64\": \"...\"}}, not {found} (quote it to store it as text)"
    )]
    NotBytes { field: String, found: String },
    /// `{"base64": ...}` whose text does not decode.
    #[error("field {field:?}: invalid base64: {error}")]
    BadBase64 {
        field: String,
        error: base64::DecodeError,
    },
    /// A partition that is not a `u32`.
    #[error("field \"partition\" must be an integer from 0 to {max}, not {0}", max = u32::MAX)]
    BadPartition(String),
    /// A timestamp that is not an `i64`.
    #[error("field \"timestamp\" must be an integer (ms since the Unix epoch), not {0}")]
    BadTimestamp(String),
    /// Headers that are neither a list nor an object.
    #[error(
        "field \"headers\" must be a list of {{\"key\": \"...\", \"value\": ...}} or an object, not {0}"
    )]
    BadHeaders(&'static str),
    /// One header of the list that is not `{"key": "...", "value": ...}`.
    #[error("field \"headers[{index}]\" must be {{\"key\": \"...\", \"value\": ...}}: {problem}")]
    BadHeader { index: usize, problem: &'static str },
}

/// What kind of JSON value `v` is, for messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// `v` as a message shows it: numbers as written, anything else by its kind.
pub fn shown(v: &Value) -> String {
    match v {
        Value::Number(n) => n.to_string(),
        other => kind(other).to_string(),
    }
}

/// A record parsed from JSON, with its optional explicit partition.
#[derive(Debug)]
pub struct InputRecord {
    /// The partition the record asked for, if any.
    pub partition: Option<u32>,
    /// The record.
    pub record: Record,
}

fn bytes_to_json(b: &Bytes, encoding: Encoding) -> Value {
    match (encoding, std::str::from_utf8(b)) {
        (Encoding::Text, Ok(s)) => Value::String(s.to_string()),
        (Encoding::Text, Err(_)) => json!({ "base64": STANDARD.encode(b) }),
        (Encoding::Base64, _) => Value::String(STANDARD.encode(b)),
    }
}

fn base64_field(b: &str, field: String) -> Result<Option<Bytes>, JsonError> {
    STANDARD
        .decode(b)
        .map(|d| Some(Bytes::from(d)))
        .map_err(|error| JsonError::BadBase64 { field, error })
}

fn json_to_bytes(v: &Value, field: &str, encoding: Encoding) -> Result<Option<Bytes>, JsonError> {
    let not_bytes = |found: &str| JsonError::NotBytes {
        field: field.to_string(),
        found: found.to_string(),
    };
    match v {
        Value::Null => Ok(None),
        Value::String(s) if encoding == Encoding::Base64 => base64_field(s, field.to_string()),
        Value::String(s) => Ok(Some(Bytes::from(s.clone()))),
        Value::Object(o) => match (o.get("base64"), o.len()) {
            (Some(Value::String(b)), 1) => base64_field(b, format!("{field}.base64")),
            (Some(other), 1) => Err(not_bytes(&format!("{{\"base64\": {}}}", kind(other)))),
            _ => Err(not_bytes("an object other than {\"base64\": \"...\"}")),
        },
        other => Err(not_bytes(kind(other))),
    }
}

/// One consumed record as a JSON line, bytes as text (the CLI's `consume`).
pub fn consumed_to_json(c: &Consumed) -> String {
    consumed_to_value(c, Encoding::Text).to_string()
}

/// One consumed record as a JSON object: partition, offset, timestamp, key, value, headers.
pub fn consumed_to_value(c: &Consumed, encoding: Encoding) -> Value {
    let r = &c.record;
    let bytes = |b: &Bytes| bytes_to_json(b, encoding);
    let headers: Vec<Value> = r
        .headers
        .iter()
        .map(|h| json!({ "key": h.key, "value": bytes(&h.value) }))
        .collect();
    json!({
        "partition": c.partition.0,
        "offset": c.offset.0,
        "timestamp": r.timestamp_ms,
        "key": r.key.as_ref().map(bytes),
        "value": r.value.as_ref().map(bytes),
        "headers": headers,
    })
}

/// Parses one input line, bytes as text (the CLI's `produce`); `now_ms` is the timestamp
/// when the line gives none.
pub fn parse_line(line: &str, now_ms: i64) -> Result<InputRecord, JsonError> {
    parse_record(&strict::parse(line)?, now_ms, Encoding::Text)
}

/// Reads one record from a parsed JSON object; `now_ms` is the timestamp when it gives none.
pub fn parse_record(v: &Value, now_ms: i64, encoding: Encoding) -> Result<InputRecord, JsonError> {
    let o = v.as_object().ok_or(JsonError::NotObject(kind(v)))?;
    if let Some(unknown) = o.keys().find(|k| !FIELDS.contains(&k.as_str())) {
        return Err(JsonError::UnknownField(unknown.clone()));
    }
    let partition = match o.get("partition") {
        None | Some(Value::Null) => None,
        Some(p) => Some(
            p.as_u64()
                .and_then(|p| u32::try_from(p).ok())
                .ok_or_else(|| JsonError::BadPartition(shown(p)))?,
        ),
    };
    let timestamp_ms = match o.get("timestamp") {
        None | Some(Value::Null) => now_ms,
        Some(t) => t
            .as_i64()
            .ok_or_else(|| JsonError::BadTimestamp(shown(t)))?,
    };
    let field = |name: &str| {
        o.get(name)
            .map_or(Ok(None), |v| json_to_bytes(v, name, encoding))
    };
    let record = Record {
        key: field("key")?,
        value: field("value")?,
        timestamp_ms,
        headers: parse_headers(o.get("headers"), encoding)?,
    };
    Ok(InputRecord { partition, record })
}

fn parse_headers(v: Option<&Value>, encoding: Encoding) -> Result<Vec<Header>, JsonError> {
    let header = |key: &str, value: &Value, field: String| -> Result<Header, JsonError> {
        let value = json_to_bytes(value, &field, encoding)?.unwrap_or_default();
        Ok(Header {
            key: key.to_string(),
            value,
        })
    };
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| header(k, v, format!("headers.{k}")))
            .collect(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let bad = |problem| JsonError::BadHeader { index, problem };
                let o: &Map<String, Value> = item.as_object().ok_or(bad("not an object"))?;
                if o.keys().any(|k| k != "key" && k != "value") {
                    return Err(bad("it has other fields"));
                }
                let key = match o.get("key") {
                    Some(Value::String(k)) => k,
                    _ => return Err(bad("its key must be a string")),
                };
                let value = o.get("value").unwrap_or(&Value::Null);
                header(key, value, format!("headers[{index}].value"))
            })
            .collect(),
        Some(other) => Err(JsonError::BadHeaders(kind(other))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use silt_core::ids::{Offset, PartitionId};

    #[test]
    fn lines_round_trip_through_json() {
        let line = r#"{"key":"k","value":{"base64":"AP8="},"timestamp":5,"headers":[{"key":"h","value":"v"}],"partition":2}"#;
        let parsed = parse_line(line, 0).unwrap();
        assert_eq!(parsed.partition, Some(2));
        assert_eq!(parsed.record.value.as_deref(), Some(&[0u8, 255][..]));
        let out = consumed_to_json(&Consumed {
            partition: PartitionId(2),
            offset: Offset(9),
            record: parsed.record,
        });
        let v: Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["offset"], 9);
        assert_eq!(v["key"], "k");
        assert_eq!(v["value"]["base64"], "AP8=");
        assert_eq!(v["headers"][0]["value"], "v");
    }

    /// The message `line` is refused with.
    fn refused(line: &str) -> String {
        parse_line(line, 0).unwrap_err().to_string()
    }

    #[test]
    fn bad_lines_say_what_is_wrong() {
        assert!(refused("nope").contains("not JSON"));
        assert!(refused(r#"{"vaule":"x"}"#).contains("unknown field \"vaule\""));
        assert!(refused(r#"{"partition":-1}"#).contains("\"partition\" must be an integer"));
        assert!(refused("[1]").contains("must be a JSON object, not an array"));
        assert!(refused(r#"{"value":"x"} {}"#).contains("not JSON: trailing characters"));
    }

    #[test]
    fn repeated_keys_are_refused_at_any_depth() {
        let repeated = r#"key "value" appears twice in one object"#;
        assert_eq!(refused(r#"{"value":"a","value":"b"}"#), repeated);
        let header = r#"{"headers":{"h":"1","h":"2"}}"#;
        assert_eq!(refused(header), r#"key "h" appears twice in one object"#);
        // Repeated header keys are fine in the list form, as in Kafka.
        let list = r#"{"headers":[{"key":"h","value":"1"},{"key":"h","value":"2"}]}"#;
        assert_eq!(parse_line(list, 0).unwrap().record.headers.len(), 2);
        let big = r#"{"timestamp":18446744073709551615}"#;
        assert!(refused(big).contains("not 18446744073709551615"));
    }

    #[test]
    fn non_string_bytes_are_refused_not_converted() {
        for (line, field, found) in [
            (
                r#"{"key":123456789012345678901234567890}"#,
                "key",
                "a number",
            ),
            (r#"{"value":1.50}"#, "value", "a number"),
            (r#"{"value":true}"#, "value", "a boolean"),
            (r#"{"value":["a"]}"#, "value", "an array"),
            (r#"{"value":{"nested":"x"}}"#, "value", "an object other"),
            (
                r#"{"value":{"base64":"AA==","x":1}}"#,
                "value",
                "an object other",
            ),
            (
                r#"{"value":{"base64":7}}"#,
                "value",
                "{\"base64\": a number}",
            ),
            (r#"{"headers":{"h":false}}"#, "headers.h", "a boolean"),
            (
                r#"{"headers":[{"key":"h","value":2}]}"#,
                "headers[0].value",
                "a number",
            ),
        ] {
            let message = refused(line);
            assert!(
                message.contains(&format!("field {field:?} must be a string")),
                "{line}: {message}"
            );
            assert!(
                message.contains(&format!("not {found}")),
                "{line}: {message}"
            );
        }
    }
}

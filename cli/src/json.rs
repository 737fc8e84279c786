//! JSON lines in and out. Bytes print as UTF-8 text when they are, else as
//! `{"base64": "..."}`; input accepts either form. Headers are a list of
//! `{"key": ..., "value": ...}` (an object map is accepted on input).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use serde_json::{Map, Value, json};
use silt_core::record::{Header, Record};
use silt_reader::Consumed;

/// A record parsed from one input line, with its optional explicit partition.
#[derive(Debug)]
pub(crate) struct InputRecord {
    pub(crate) partition: Option<u32>,
    pub(crate) record: Record,
}

fn bytes_to_json(b: &Bytes) -> Value {
    match std::str::from_utf8(b) {
        Ok(s) => Value::String(s.to_string()),
        Err(_) => json!({ "base64": STANDARD.encode(b) }),
    }
}

fn json_to_bytes(v: &Value, field: &str) -> Result<Option<Bytes>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(Bytes::from(s.clone()))),
        Value::Object(o) => match o.get("base64").and_then(Value::as_str) {
            Some(b) => STANDARD
                .decode(b)
                .map(|d| Some(Bytes::from(d)))
                .map_err(|e| format!("{field}.base64: {e}")),
            None => Err(format!(
                "{field} must be a string, null or {{\"base64\": ...}}"
            )),
        },
        other => Ok(Some(Bytes::from(other.to_string()))),
    }
}

/// One consumed record as a JSON line.
pub(crate) fn consumed_to_json(c: &Consumed) -> String {
    let r = &c.record;
    let headers: Vec<Value> = r
        .headers
        .iter()
        .map(|h| json!({ "key": h.key, "value": bytes_to_json(&h.value) }))
        .collect();
    json!({
        "partition": c.partition.0,
        "offset": c.offset.0,
        "timestamp": r.timestamp_ms,
        "key": r.key.as_ref().map(bytes_to_json),
        "value": r.value.as_ref().map(bytes_to_json),
        "headers": headers,
    })
    .to_string()
}

/// Parses one input line; `now_ms` is the timestamp when the line gives none.
pub(crate) fn parse_line(line: &str, now_ms: i64) -> Result<InputRecord, String> {
    let v: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let o = v.as_object().ok_or("each line must be a JSON object")?;
    let known = ["key", "value", "partition", "timestamp", "headers"];
    if let Some(unknown) = o.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(format!(
            "unknown field {unknown:?}; expected one of {known:?}"
        ));
    }
    let partition = match o.get("partition") {
        None | Some(Value::Null) => None,
        Some(p) => Some(
            p.as_u64()
                .and_then(|p| u32::try_from(p).ok())
                .ok_or("partition must be a non-negative integer")?,
        ),
    };
    let timestamp_ms = match o.get("timestamp") {
        None | Some(Value::Null) => now_ms,
        Some(t) => t
            .as_i64()
            .ok_or("timestamp must be an integer (ms since the Unix epoch)")?,
    };
    let field = |name: &str| o.get(name).map_or(Ok(None), |v| json_to_bytes(v, name));
    let record = Record {
        key: field("key")?,
        value: field("value")?,
        timestamp_ms,
        headers: parse_headers(o.get("headers"))?,
    };
    Ok(InputRecord { partition, record })
}

fn parse_headers(v: Option<&Value>) -> Result<Vec<Header>, String> {
    let header = |key: &str, value: &Value| -> Result<Header, String> {
        let value = json_to_bytes(value, "headers.value")?.unwrap_or_default();
        Ok(Header {
            key: key.to_string(),
            value,
        })
    };
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Object(map)) => map.iter().map(|(k, v)| header(k, v)).collect(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                let o: &Map<String, Value> = item
                    .as_object()
                    .ok_or("each header must be {\"key\": ..., \"value\": ...}")?;
                let key = o
                    .get("key")
                    .and_then(Value::as_str)
                    .ok_or("header key must be a string")?;
                header(key, o.get("value").unwrap_or(&Value::Null))
            })
            .collect(),
        Some(_) => Err("headers must be a list of {\"key\", \"value\"} or an object".into()),
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

    #[test]
    fn bad_lines_say_what_is_wrong() {
        assert!(parse_line("nope", 0).unwrap_err().contains("not JSON"));
        assert!(
            parse_line(r#"{"vaule":"x"}"#, 0)
                .unwrap_err()
                .contains("unknown field")
        );
        assert!(
            parse_line(r#"{"partition":-1}"#, 0)
                .unwrap_err()
                .contains("partition")
        );
    }
}

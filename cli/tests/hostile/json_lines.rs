//! The JSON-lines cases of `hostile_produce.rs`: every value that is not a string, null or
//! `{"base64": ...}`, repeated keys, bad partitions and timestamps. Each line is refused with
//! its number and its field named, after what came before it was committed and acknowledged.

use crate::common::Backend;

use super::{Log, jsonl};

/// Two good JSON lines, then `bad` as line 3, then one more line never sent.
pub(crate) fn refused_jsonl(b: &Backend, bad: &str, message: &str) {
    let log = Log::new(b, 2);
    let input = format!("{}{bad}\n{}", jsonl(&["one", "two"]), jsonl(&["after"]));
    let produced = log.produce(&["--format", "jsonl"], input.as_bytes());
    produced.assert_failed(1, &format!("error: line 3: {message}"));
    log.assert_holds_exactly(&produced, &["one", "two"]);
}

pub(crate) fn invalid_json_mid_stream(b: &Backend) {
    refused_jsonl(b, r#"{"value": "#, "not JSON: EOF while parsing");
}

pub(crate) fn json_line_that_is_not_an_object(b: &Backend) {
    refused_jsonl(b, "[1, 2]", "a record must be a JSON object, not an array");
}

pub(crate) fn unknown_json_field(b: &Backend) {
    refused_jsonl(
        b,
        r#"{"vaule":"x"}"#,
        r#"unknown field "vaule"; expected one of"#,
    );
}

/// `serde_json` keeps the last of repeated keys: "a" would be dropped silently.
pub(crate) fn repeated_json_key(b: &Backend) {
    refused_jsonl(
        b,
        r#"{"value":"a","value":"b"}"#,
        r#"key "value" appears twice in one object"#,
    );
}

/// The number of the issue: it used to be stored as "1.2345678901234568e+29".
pub(crate) fn big_integer_key(b: &Backend) {
    refused_jsonl(
        b,
        r#"{"key":123456789012345678901234567890,"value":"v"}"#,
        r#"field "key" must be a string, null or {"base64": "..."}, not a number"#,
    );
}

/// The number of the issue: it used to be stored as "1.5".
pub(crate) fn float_value(b: &Backend) {
    refused_jsonl(
        b,
        r#"{"value":1.50}"#,
        r#"field "value" must be a string, null"#,
    );
}

pub(crate) fn boolean_value(b: &Backend) {
    refused_jsonl(
        b,
        r#"{"value":true}"#,
        r#"field "value" must be a string, null or {"base64": "..."}, not a boolean"#,
    );
}

pub(crate) fn array_value(b: &Backend) {
    refused_jsonl(
        b,
        r#"{"value":["a"]}"#,
        r#"field "value" must be a string, null or {"base64": "..."}, not an array"#,
    );
}

pub(crate) fn nested_object_value(b: &Backend) {
    refused_jsonl(
        b,
        r#"{"value":{"a":{"b":"c"}}}"#,
        r#"field "value" must be a string, null or {"base64": "..."}, not an object other than"#,
    );
}

pub(crate) fn base64_object_with_another_field(b: &Backend) {
    refused_jsonl(
        b,
        r#"{"value":{"base64":"AA==","utf8":"x"}}"#,
        r#"field "value" must be a string, null or {"base64": "..."}, not an object other than"#,
    );
}

pub(crate) fn invalid_base64(b: &Backend) {
    refused_jsonl(
        b,
        r#"{"value":{"base64":"!!"}}"#,
        r#"field "value.base64": invalid base64"#,
    );
}

pub(crate) fn numeric_header_value(b: &Backend) {
    refused_jsonl(
        b,
        r#"{"value":"v","headers":{"h":1}}"#,
        r#"field "headers.h" must be a string, null or {"base64": "..."}, not a number"#,
    );
}

pub(crate) fn header_key_that_is_not_a_string(b: &Backend) {
    refused_jsonl(
        b,
        r#"{"value":"v","headers":[{"key":7,"value":"x"}]}"#,
        r#"field "headers[0]" must be {"key": "...", "value": ...}: its key must be a string"#,
    );
}

pub(crate) fn partition_conflicting_with_the_flag(b: &Backend) {
    let log = Log::new(b, 2);
    let input = r#"{"value":"one","partition":1}
{"value":"two","partition":0}
{"value":"three"}
"#;
    let produced = log.produce(&["--format", "jsonl", "--partition", "1"], input.as_bytes());
    produced.assert_failed(
        1,
        r#"error: line 2: field "partition" is 0 but --partition is 1; give one or make them agree"#,
    );
    log.assert_holds_exactly(&produced, &["one"]);
    assert_eq!(produced.acks[0].partition, 1);
}

pub(crate) fn partition_agreeing_with_the_flag(b: &Backend) {
    let log = Log::new(b, 2);
    let input = "{\"value\":\"one\",\"partition\":1}\n{\"value\":\"two\"}\n";
    let produced = log.produce(&["--format", "jsonl", "--partition", "1"], input.as_bytes());
    produced.assert_succeeded();
    log.assert_holds_exactly(&produced, &["one", "two"]);
    assert!(produced.acks.iter().all(|a| a.partition == 1));
}

pub(crate) fn partition_the_topic_lacks(b: &Backend) {
    refused_jsonl(
        b,
        r#"{"value":"x","partition":5}"#,
        "partition 5 does not exist: topic t has partitions 0..2",
    );
}

pub(crate) fn partition_given_as_a_string(b: &Backend) {
    refused_jsonl(
        b,
        r#"{"value":"x","partition":"1"}"#,
        r#"field "partition" must be an integer from 0 to 4294967295, not a string"#,
    );
}

pub(crate) fn fractional_timestamp(b: &Backend) {
    refused_jsonl(
        b,
        r#"{"value":"x","timestamp":1.5}"#,
        r#"field "timestamp" must be an integer (ms since the Unix epoch), not 1.5"#,
    );
}

pub(crate) fn timestamp_beyond_the_limit(b: &Backend) {
    refused_jsonl(
        b,
        r#"{"value":"x","timestamp":9223372036854775807}"#,
        "record timestamp 9223372036854775807 ms is out of range: it must be between -62167219200000 (0000-01-01T00:00:00Z) and 253402300799999 (9999-12-31T23:59:59.999Z) ms since the Unix epoch",
    );
}

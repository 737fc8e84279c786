//! The bad-input suite's table: one malformed request a line, by what it attacks, with the
//! status, the code, and what the message must say. `one!` is partition 0's records of the
//! suite's topic, `all!` the topic's records (each with a query string).

use serde_json::json;

use super::Body::{Bytes, Declared, Made, Text};
use super::{Case, JSON, NDJSON, SSE, TEXT, get, post, with};

macro_rules! one {
    ($query:literal) => {
        concat!("/v1/topics/bad-input/partitions/0/records", $query)
    };
}
macro_rules! all {
    ($query:literal) => {
        concat!("/v1/topics/bad-input/records", $query)
    };
}

fn record_over_1_mib() -> Vec<u8> {
    json!({"records": [{"value": "a".repeat(1024 * 1024 + 1)}]})
        .to_string()
        .into_bytes()
}

fn nested_10000_deep() -> Vec<u8> {
    format!(
        "{{\"records\": {}{}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    )
    .into_bytes()
}

fn records_100001() -> Vec<u8> {
    format!("{{\"records\": [{}{{}}]}}", "{},".repeat(100_000)).into_bytes()
}

fn headers_65() -> Vec<u8> {
    let headers: Vec<_> = (0..65)
        .map(|i| json!({"key": format!("h{i}"), "value": null}))
        .collect();
    json!({"records": [{"headers": headers}]})
        .to_string()
        .into_bytes()
}

/// The malformed requests.
#[rustfmt::skip]
pub(super) const CASES: &[Case] = &[
    // The body as a whole.
    post(one!(""), r#"{"records": ["#, "not JSON"),
    post(one!(""), "", "not JSON"),
    post(one!(""), r#"{"records": []} {}"#, "trailing characters"),
    post(one!(""), "[]", "must be a JSON object, not an array"),
    post(one!(""), r#""records""#, "must be a JSON object, not a string"),
    post(one!(""), "null", "must be a JSON object, not null"),
    with("POST", one!(""), JSON, Bytes(b"{\"records\": [\xff]}"), "not UTF-8"),
    post(one!(""), "{}", r#"field "records" must be a list"#),
    post(one!(""), r#"{"records": {"value": "YQ=="}}"#, r#"field "records" must be a list"#),
    post(one!(""), r#"{"records": []}"#, "at least one record"),
    post(one!(""), r#"{"records": [], "recrods": []}"#, r#"unknown field "recrods""#),
    post(all!(""), r#"{"records": [{"value": "YQ=="}], "match_offset": 1}"#, r#"unknown field "match_offset""#),
    post(one!(""), r#"{"records": [{"value": "YQ=="}], "records": []}"#, r#"key "records" appears twice"#),
    // One record.
    post(one!(""), r#"{"records": [1]}"#, "records[0]: a record must be a JSON object, not a number"),
    post(one!(""), r#"{"records": [{"vaule": "YQ=="}]}"#, r#"records[0]: unknown field "vaule""#),
    post(one!(""), r#"{"records": [{"value": "YQ==", "value": "Yg=="}]}"#, r#"key "value" appears twice"#),
    post(one!(""), r#"{"records": [{"value": "YQ=="}, {"value": "not base64!"}]}"#, r#"records[1]: field "value": invalid base64"#),
    post(all!(""), r#"{"records": [{"key": "a=b", "value": "YQ=="}]}"#, r#"field "key": invalid base64"#),
    post(one!(""), r#"{"records": [{"value": {"base64": "%%"}}]}"#, r#"field "value.base64": invalid base64"#),
    post(one!(""), r#"{"records": [{"headers": [{"key": "h", "value": "?"}]}]}"#, r#"field "headers[0].value": invalid base64"#),
    post(one!(""), r#"{"records": [{"value": 12}]}"#, r#"field "value" must be a string, null or {"base64": "..."}, not a number"#),
    post(one!(""), r#"{"records": [{"value": true}]}"#, "not a boolean"),
    post(one!(""), r#"{"records": [{"value": ["YQ=="]}]}"#, "not an array"),
    post(one!(""), r#"{"records": [{"value": {"text": "a"}}]}"#, r#"not an object other than {"base64": "..."}"#),
    post(one!(""), r#"{"records": [{"key": 1.5, "value": "YQ=="}]}"#, r#"field "key" must be a string"#),
    post(one!(""), r#"{"records": [{"value": "YQ==", "timestamp": "now"}]}"#, r#"field "timestamp" must be an integer"#),
    post(one!(""), r#"{"records": [{"value": "YQ==", "timestamp": 1.5}]}"#, r#"field "timestamp" must be an integer (ms since the Unix epoch), not 1.5"#),
    post(one!(""), r#"{"records": [{"value": "YQ==", "timestamp": 18446744073709551615}]}"#, "not 18446744073709551615"),
    post(one!(""), r#"{"records": [{"value": "YQ==", "timestamp": 253402300800000}]}"#, "timestamp 253402300800000 ms is out of range"),
    post(one!(""), r#"{"records": [{"value": "YQ==", "partition": 1}]}"#, r#"field "partition" is 1, but the request appends to partition 0"#),
    post(all!(""), r#"{"records": [{"value": "YQ==", "partition": -1}]}"#, r#"field "partition" must be an integer from 0 to 4294967295, not -1"#),
    post(all!(""), r#"{"records": [{"value": "YQ==", "partition": "0"}]}"#, r#"field "partition" must be an integer"#),
    post(one!(""), r#"{"records": [{"value": "YQ==", "headers": "h=v"}]}"#, r#"field "headers" must be a list"#),
    post(one!(""), r#"{"records": [{"headers": [{"value": "YQ=="}]}]}"#, r#"headers[0]" must be {"key": "...", "value": ...}: its key must be a string"#),
    post(one!(""), r#"{"records": [{"headers": [{"key": "h", "size": 1}]}]}"#, "it has other fields"),
    post(one!(""), r#"{"records": [{"headers": {"h": "YQ==", "h": "Yg=="}}]}"#, r#"key "h" appears twice"#),
    // match_offset.
    post(one!(""), r#"{"records": [{"value": "YQ=="}], "match_offset": -1}"#, r#"field "match_offset" must be an integer from 0"#),
    post(one!(""), r#"{"records": [{"value": "YQ=="}], "match_offset": "1"}"#, r#"field "match_offset" must be an integer from 0 to 18446744073709551615, not a string"#),
    post(one!("?match_offset=2"), r#"{"records": [{"value": "YQ=="}], "match_offset": 1}"#, "match_offset is 1 in the body but 2 in the query"),
    with("POST", one!("?match_offset=one"), NDJSON, Text(r#"{"value": "YQ=="}"#), r#"query parameter "match_offset" must be an integer"#),
    // NDJSON.
    with("POST", one!(""), NDJSON, Text("{\"value\": \"YQ==\"}\n{\"value\": \"Yg==\"\n"), "line 2: not JSON"),
    with("POST", all!(""), NDJSON, Text("{\"value\": \"YQ==\", \"offset\": 3}\n"), r#"line 1: unknown field "offset""#),
    with("POST", one!(""), NDJSON, Text("\n\n[\"YQ==\"]\n"), "line 3: a record must be a JSON object, not an array"),
    with("POST", one!(""), NDJSON, Text("{\"value\": \"YQ==\"}\n{\"value\": \"*\"}\n"), r#"line 2: field "value": invalid base64"#),
    with("POST", one!(""), NDJSON, Text("\n  \n"), "at least one record"),
    // Encodings and query strings.
    post(one!("?encoding=latin1"), r#"{"records": [{"value": "a"}]}"#, r#"encoding "latin1" is not known"#),
    with("POST", one!(""), &[("silt-encoding", "hex")], Text(r#"{"records": [{"value": "a"}]}"#), r#"encoding "hex" is not known"#),
    post(one!("?encoding=utf8&encoding=utf8"), r#"{"records": [{"value": "a"}]}"#, r#"query parameter "encoding" is given twice"#),
    post(all!("?partition=1"), r#"{"records": [{"value": "YQ=="}]}"#, r#"unknown query parameter "partition""#),
    // Sizes.
    Case { status: 413, code: "record_too_large", says: "the limit is 1048576 bytes", ..with("POST", one!(""), TEXT, Made(record_over_1_mib), "") },
    with("POST", one!(""), JSON, Made(nested_10000_deep), "not JSON: recursion limit exceeded"),
    with("POST", one!(""), JSON, Made(records_100001), "batch of 100001 records is too many: the limit is 100000 records"),
    with("POST", one!(""), JSON, Made(headers_65), "record has 65 headers: the limit is 64"),
    Case { status: 413, code: "request_too_large", says: "over the limit of 8388608 bytes", ..with("POST", all!(""), JSON, Declared(8 * 1024 * 1024 + 1), "") },
    // Paths.
    post("/v1/topics/bad*input/partitions/0/records", r#"{"records": [{"value": "YQ=="}]}"#, r#"invalid topic name "bad*input""#),
    post("/v1/topics/bad%20input/records", r#"{"records": [{"value": "YQ=="}]}"#, r#"invalid topic name "bad input""#),
    get("/v1/topics/bad-input/partitions/-1/records", r#"partition "-1" in the path must be an integer from 0 to 4294967295"#),
    get("/v1/topics/bad-input/partitions/4294967296/tail", r#"partition "4294967296" in the path"#),
    post("/v1/topics/bad-input/partitions/zero/records", r#"{"records": [{"value": "YQ=="}]}"#, r#"partition "zero" in the path"#),
    // Reads.
    get(one!("?offset=-1"), r#"query parameter "offset" must be an integer from 0 to 18446744073709551615, not "-1""#),
    get(one!("?offset=18446744073709551616"), r#"query parameter "offset" must be an integer"#),
    get(one!("?offset=first"), r#"not "first""#),
    get(one!("?offset=1&timestamp=5"), "at most one of offset, timestamp and tail_offset"),
    get(one!("?tail_offset=1&offset=0"), "at most one of offset, timestamp and tail_offset"),
    get(one!("?tail_offset=-3"), r#"query parameter "tail_offset" must be an integer from 0"#),
    get(one!("?timestamp=99999999999999999"), r#"query parameter "timestamp" must be between"#),
    get(one!("?timestamp=yesterday"), r#"query parameter "timestamp" must be an integer"#),
    get(one!("?max_records=0"), r#"query parameter "max_records" must be from 1 to 1000, not 0"#),
    get(one!("?max_records=1001"), r#"query parameter "max_records" must be from 1 to 1000, not 1001"#),
    get(one!("?max_bytes=1048577"), r#"query parameter "max_bytes" must be from 1 to 1048576"#),
    get(one!("?wait=61"), r#"query parameter "wait" must be from 0 to 60, not 61"#),
    get(one!("?wait=1.5"), r#"query parameter "wait" must be an integer"#),
    get(one!("?encoding=base32"), r#"encoding "base32" is not known"#),
    get(one!("?ofset=0"), r#"unknown query parameter "ofset""#),
    with("GET", one!(""), &[("accept", "text/event-stream"), ("last-event-id", "abc")], Text(""), "Last-Event-ID must be an offset"),
    with("GET", one!(""), &[("accept", "text/event-stream"), ("last-event-id", "-1")], Text(""), "Last-Event-ID must be an offset"),
    with("GET", one!("?max_records=5000"), SSE, Text(""), r#"query parameter "max_records" must be from 1 to 1000"#),
    // Methods a route does not have.
    Case { status: 405, code: "method_not_allowed", says: "PUT", ..with("PUT", "/v1/topics/bad-input", JSON, Text(r#"{"partitions": 3}"#), "") },
    Case { status: 405, code: "method_not_allowed", says: "DELETE", ..with("DELETE", one!(""), &[], Text(""), "") },
    // Topics: create and alter.
    post("/v1/topics", r#"[{"name": "bad-input-new"}]"#, "must be a JSON object, not an array"),
    post("/v1/topics", r#"{"partitions": 1}"#, r#"field "name" must be a string"#),
    post("/v1/topics", r#"{"name": 7}"#, r#"field "name" must be a string"#),
    post("/v1/topics", r#"{"name": "bad/input"}"#, r#"invalid topic name "bad/input""#),
    post("/v1/topics", r#"{"name": ".."}"#, r#"invalid topic name "..""#),
    post("/v1/topics", r#"{"name": "bad-input-new", "partitions": -1}"#, r#"field "partitions" must be an integer from 0"#),
    post("/v1/topics", r#"{"name": "bad-input-new", "partitions": "2"}"#, r#"field "partitions" must be an integer"#),
    post("/v1/topics", r#"{"name": "bad-input-new", "partitions": 0}"#, "invalid partition count 0"),
    post("/v1/topics", r#"{"name": "bad-input-new", "partitions": 4294967296}"#, "invalid partition count"),
    post("/v1/topics", r#"{"name": "bad-input-new", "partitons": 2}"#, r#"unknown field "partitons""#),
    post("/v1/topics", r#"{"name": "bad-input-new", "cleanup_policy": "forever"}"#, r#"field "cleanup_policy" must be "delete" or "compact""#),
    post("/v1/topics", r#"{"name": "bad-input-new", "retention_ms": -5}"#, "invalid setting retention_ms = -5"),
    post("/v1/topics", r#"{"name": "bad-input-new", "retention_bytes": 0}"#, "invalid setting retention_bytes = 0"),
    post("/v1/topics", r#"{"name": "bad-input-new", "name": "bad-input-other"}"#, r#"key "name" appears twice"#),
    with("PATCH", "/v1/topics/bad-input", JSON, Text(r#"{"retention_ms": "1d"}"#), r#"field "retention_ms" must be an integer, not a string"#),
    with("PATCH", "/v1/topics/bad-input", JSON, Text(r#"{"name": "renamed"}"#), r#"unknown field "name""#),
    with("PATCH", "/v1/topics/bad-input", JSON, Text(r#"{"seal_after_ms": -2}"#), "invalid setting seal_after_ms = -2"),
    with("PATCH", "/v1/topics/bad-input", JSON, Text("5"), "must be a JSON object, not a number"),
];

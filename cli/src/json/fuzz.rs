//! Fuzzing of the producer's input (issue 14 item 12): byte streams cut into lines as
//! `produce` reads stdin (`produce/input.rs`), each line parsed as a JSON record
//! ([`parse_line`]). Seeds are valid lines; cases damage their bytes (invalid UTF-8, line
//! breaks, truncations) or edit their JSON so it stays parseable. Never a panic; the strict
//! parser agrees with `serde_json` except that it refuses repeated keys; a parsed record
//! written back as a canonical line parses to the same record. The corpus of past failures is
//! `core/tests/fuzz-corpus/jsonl/`, replayed first; `SILT_FUZZ_SEED` and `SILT_FUZZ_CASES`
//! change the seed and the count.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use rand::Rng;
use serde_json::{Value, json};
use silt_core::record::Record;
use silt_core::testing::fuzz::{Broken, Fuzz, StdRng, Verdict, json as json_edit, mutate};

use crate::produce::read_line;
use silt_agent::json::{JsonError, parse_line, strict};

/// Lines every case starts from.
const SEEDS: [&str; 9] = [
    r#"{"key":"k","value":"v"}"#,
    r#"{"value":{"base64":"AP8="},"timestamp":5,"headers":[{"key":"h","value":"v"}],"partition":2}"#,
    r#"{"headers":{"a":"1","b":{"base64":""}},"key":{"base64":"/w=="}}"#,
    r#"{"key":null,"value":null,"timestamp":-1,"partition":null,"headers":null}"#,
    r#"{"value":"\u00e9\u0000\n\"","timestamp":253402300799999}"#,
    r#"{"partition":4294967295,"timestamp":-9223372036854775808}"#,
    r#"{"headers":[{"key":"h","value":"1"},{"key":"h","value":null}]}"#,
    "{}",
    "[]",
];

/// One case: a damaged stream of seed lines, an edited line, or noise.
fn generate(rng: &mut StdRng) -> (String, Vec<u8>) {
    let donors: Vec<&[u8]> = SEEDS.iter().map(|s| s.as_bytes()).collect();
    let i = rng.random_range(0..SEEDS.len());
    match rng.random_range(0..10) {
        0..=3 => {
            let mut stream = SEEDS[i].as_bytes().to_vec();
            if rng.random_bool(0.3) {
                stream.extend_from_slice(b"\r\n");
                stream.extend_from_slice(SEEDS[rng.random_range(0..SEEDS.len())].as_bytes());
            }
            let how = mutate::stacked(rng, &mut stream, &donors);
            (format!("seed {i}, {how}"), stream)
        }
        4..=8 => {
            let mut doc: Value = serde_json::from_str(SEEDS[i]).unwrap_or(Value::Null);
            let edits: Vec<&str> = (0..rng.random_range(1..=3))
                .map(|_| json_edit::mutate(rng, &mut doc))
                .collect();
            let line = json_edit::text(rng, &doc);
            (format!("seed {i}, {}", edits.join("+")), line.into_bytes())
        }
        _ => {
            let len = rng.random_range(0..120);
            ("random bytes".into(), mutate::random_bytes(rng, len))
        }
    }
}

/// Reads `stream` line by line as `produce` does and checks each line.
fn check(stream: &[u8]) -> Result<Verdict, Broken> {
    let mut input = stream;
    let mut verdict = Verdict::Refused;
    // Each line consumes at least one byte, so this ends.
    for _ in 0..=stream.len() {
        match read_line(&mut input) {
            Ok(None) => return Ok(verdict),
            Ok(Some(line)) => {
                if check_line(&line)? == Verdict::Accepted {
                    verdict = Verdict::Accepted;
                }
            }
            Err(refused) => {
                let _ = refused.to_string();
                return Ok(verdict);
            }
        }
    }
    Err("read_line returned more lines than the stream has bytes".into())
}

/// The strict parser agrees with `serde_json`; a parsed record survives a canonical rewrite.
fn check_line(line: &str) -> Result<Verdict, Broken> {
    let plain = serde_json::from_str::<Value>(line);
    match (strict::parse(line), &plain) {
        (Ok(strict), Ok(plain)) if strict != *plain => {
            return Err(format!("strict parse gives {strict}, serde_json {plain}"));
        }
        (Ok(strict), Err(e)) => {
            return Err(format!(
                "strict parse accepts {strict}, serde_json refuses: {e}"
            ));
        }
        (Err(JsonError::NotJson(_)), Ok(plain)) => {
            return Err(format!(
                "strict parse refuses what serde_json reads as {plain}"
            ));
        }
        _ => {}
    }
    let parsed = match parse_line(line, 7) {
        Ok(parsed) => parsed,
        Err(e) => {
            let _ = e.to_string();
            return Ok(Verdict::Refused);
        }
    };
    let again = parse_line(&canonical(&parsed.record, parsed.partition), 8)
        .map_err(|e| format!("the canonical line of a parsed record is refused: {e}"))?;
    if again.record != parsed.record || again.partition != parsed.partition {
        return Err(format!(
            "{:?} reads back as {:?}",
            parsed.record, again.record
        ));
    }
    Ok(Verdict::Accepted)
}

/// `record` as an input line with every byte field in base64.
fn canonical(record: &Record, partition: Option<u32>) -> String {
    let bytes = |b: &Option<Bytes>| b.as_ref().map(|b| json!({ "base64": STANDARD.encode(b) }));
    let headers: Vec<Value> = record
        .headers
        .iter()
        .map(|h| json!({ "key": h.key, "value": { "base64": STANDARD.encode(&h.value) } }))
        .collect();
    json!({
        "key": bytes(&record.key),
        "value": bytes(&record.value),
        "timestamp": record.timestamp_ms,
        "partition": partition,
        "headers": headers,
    })
    .to_string()
}

#[test]
fn jsonl_input_survives_fuzzing() {
    let mut fuzz = Fuzz::new("jsonl", 100_000);
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/fuzz-corpus/jsonl");
    fuzz.replay(&corpus, <[u8]>::to_vec, |s| check(s));
    fuzz.run(generate, |s| check(s), Clone::clone);
    fuzz.finish();
}

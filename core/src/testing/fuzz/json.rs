//! JSON-aware damage: edits that keep a document parseable, so inputs get past the parser to
//! the checks behind it. A random node is replaced by a boundary value or a value of another
//! type, deleted, duplicated, swapped, nested or renamed; and [`text`] can splice in what a
//! `serde_json::Value` cannot hold (2^64, `1e400`, repeated keys, lone surrogates, deep nesting).

use rand::Rng;
use rand::rngs::StdRng;
use serde_json::{Map, Value, json};

/// Stands in a document for raw text that [`text`] splices in.
const RAW: &str = "\u{1}raw\u{1}";

/// Raw JSON texts spliced in by [`text`]: numbers past every integer type, odd spellings,
/// repeated keys, escapes and nesting deeper than any parser should follow.
fn raw_texts() -> Vec<String> {
    let mut out: Vec<String> = [
        "18446744073709551616",
        "-9223372036854775809",
        "340282366920938463463374607431768211456",
        "1e400",
        "-1e400",
        "1e-400",
        "-0",
        "0.0",
        "1.0",
        "1e2",
        "4294967296",
        "-1",
        r#"{"a":1,"a":2}"#,
        r#""\ud800""#,
        r#""\u0000""#,
        r#""\uffff""#,
        r#""01ARZ3NDEKTSV4RRFFQ69G5FAV""#,
        r#""ZZZZZZZZZZZZZZZZZZZZZZZZZZ""#,
        r#""8ZZZZZZZZZZZZZZZZZZZZZZZZZ""#,
        r#""7ZZZZZZZZZZZZZZZZZZZZZZZZZ""#,
        r#""ÀÀÀÀÀÀÀÀÀÀÀÀÀ""#,
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect();
    out.push(format!("{}1{}", "[".repeat(200), "]".repeat(200)));
    out.push(format!("{}{}", r#"{"a":"#.repeat(130), "}".repeat(130)).replace(":}", ":1}"));
    out
}

/// Replacement values: boundaries of every integer type, other types, long and empty text.
fn values() -> Vec<Value> {
    vec![
        json!(0),
        json!(1),
        json!(-1),
        json!(u32::MAX),
        json!(u64::from(u32::MAX) + 1),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(i64::MAX),
        json!(i32::MIN),
        json!(i32::MAX),
        json!(1.5),
        json!(true),
        json!(null),
        json!(""),
        json!("x".repeat(300)),
        json!([]),
        json!({}),
        json!([1, 2]),
        json!({"base64": "AP8="}),
    ]
}

/// Every node of `v`, as JSON pointers (the root is "").
fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                pointers(item, format!("{at}/{i}"), out);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                let key = k.replace('~', "~0").replace('/', "~1");
                pointers(item, format!("{at}/{key}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

/// Applies one edit to a random node of `doc`, and names it.
pub fn mutate(rng: &mut StdRng, doc: &mut Value) -> &'static str {
    let mut all = Vec::new();
    pointers(doc, String::new(), &mut all);
    let pointer = &all[rng.random_range(0..all.len())];
    let Some(node) = doc.pointer_mut(pointer) else {
        return "nothing";
    };
    edit(rng, node)
}

fn edit(rng: &mut StdRng, node: &mut Value) -> &'static str {
    match (rng.random_range(0..8), node) {
        (0 | 1, node) => {
            let values = values();
            *node = values[rng.random_range(0..values.len())].clone();
            "boundary value"
        }
        (2, node) => {
            *node = Value::String(RAW.into());
            "raw text"
        }
        (3, Value::Object(map)) if !map.is_empty() => {
            let key = map.keys().nth(rng.random_range(0..map.len())).cloned();
            key.map(|k| map.remove(&k));
            "removed field"
        }
        (4, Value::Object(map)) => {
            map.insert("unknown_field".into(), json!(1));
            "unknown field"
        }
        (3 | 4, Value::Array(items)) if !items.is_empty() => {
            let i = rng.random_range(0..items.len());
            if rng.random_bool(0.5) {
                items.remove(i);
                "removed element"
            } else {
                let copy = items[i].clone();
                items.insert(rng.random_range(0..=items.len()), copy);
                "duplicated element"
            }
        }
        (5, Value::Array(items)) if items.len() > 1 => {
            let (a, b) = (
                rng.random_range(0..items.len()),
                rng.random_range(0..items.len()),
            );
            items.swap(a, b);
            "swapped elements"
        }
        (5, node) if node.is_number() => {
            let nudge = rng.random_range(-2..=2);
            *node = node
                .as_i64()
                .map_or(json!(0), |i| json!(i.wrapping_add(nudge)));
            "nudged number"
        }
        (6, Value::String(s)) => {
            let mut bytes = std::mem::take(s).into_bytes();
            super::mutate::one(rng, &mut bytes, &[]);
            *s = String::from_utf8_lossy(&bytes).into_owned();
            "damaged string"
        }
        (_, node) => {
            let inner = std::mem::take(node);
            *node = if rng.random_bool(0.5) {
                Value::Array(vec![inner])
            } else {
                Value::Object(Map::from_iter([("base64".to_string(), inner)]))
            };
            "nested"
        }
    }
}

/// `doc` as text, with each [`RAW`] placeholder replaced by a raw text.
pub fn text(rng: &mut StdRng, doc: &Value) -> String {
    let mut out = doc.to_string();
    let placeholder = Value::String(RAW.into()).to_string();
    let raws = raw_texts();
    while let Some(i) = out.find(&placeholder) {
        let raw = &raws[rng.random_range(0..raws.len())];
        out.replace_range(i..i + placeholder.len(), raw);
    }
    out
}

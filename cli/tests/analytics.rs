//! Long retention for analysts: records produced with the CLI, sealed as Parquet by
//! `silt compact run`, read back by DuckDB (PyPI `duckdb`, through `SILT_TEST_PYTHON`, which
//! scripts/test sets) exactly as appended, each offset once; consumers still read every
//! record from offset 0, across cold and hot segments.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use common::Silt;

/// Records per partition, in two partitions, appended in four `produce` calls.
const PER_PARTITION: u64 = 120;
/// 2026-11-27T08:00:00Z; records are 15 minutes apart, so they span three UTC days.
const FIRST_TS: i64 = 1_795_766_400_000 - 16 * 3_600_000;

/// Reads every row of a topic's Parquet files with DuckDB, as JSON lines, then runs the
/// statement `silt table` printed and reports how many rows it returned.
const DUCKDB_SCRIPT: &str = r#"
import base64, json, sys, duckdb
glob, printed = sys.argv[1], sys.argv[2]
b64 = lambda v: None if v is None else base64.b64encode(v).decode()
con = duckdb.connect()
rows = con.execute(f"""
    SELECT topic, "partition", "offset", epoch_us("timestamp"), key, value, headers, dt::VARCHAR
    FROM read_parquet('{glob}', hive_partitioning = true) ORDER BY "partition", "offset"
""").fetchall()
for t, p, o, ts, k, v, h, dt in rows:
    headers = [[x["key"], b64(x["value"])] for x in h]
    print(json.dumps({"topic": t, "partition": p, "offset": o, "ts_us": ts, "key": b64(k),
                      "value": b64(v), "headers": headers, "dt": dt}))
print(json.dumps({"printed_rows": len(con.execute(printed).fetchall())}))
"#;

/// The `i`th record: a JSON line for `produce`, and its row as DuckDB should return it.
fn record(i: u64) -> (String, Value) {
    let partition = i % 2;
    let ts = FIRST_TS + (i / 2) as i64 * 900_000;
    let key = (!i.is_multiple_of(5)).then(|| format!("user-{}", i % 13));
    let value: Option<Vec<u8>> = match i % 7 {
        0 => None,
        1 => Some(vec![0, 255, i as u8]),
        _ => Some(format!("event {i}").into_bytes()),
    };
    let headers: Vec<(String, String)> = (0..i % 3)
        .map(|h| (format!("h{h}"), format!("v{i}")))
        .collect();
    let line = json!({
        "partition": partition,
        "timestamp": ts,
        "key": key,
        "value": value.as_ref().map(|v| json!({"base64": STANDARD.encode(v)})),
        "headers": headers.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
    });
    let secs = ts / 1000;
    let day = Command::new("date")
        .args(["-u", "-d", &format!("@{secs}"), "+%Y-%m-%d"])
        .output()
        .unwrap();
    let row = json!({
        "topic": "events",
        "partition": partition,
        "offset": i / 2,
        "ts_us": ts * 1000,
        "key": key.map(|k| STANDARD.encode(k)),
        "value": value.map(|v| STANDARD.encode(v)),
        "headers": headers.iter().map(|(k, v)| json!([k, STANDARD.encode(v)])).collect::<Vec<_>>(),
        "dt": String::from_utf8(day.stdout).unwrap().trim(),
    });
    (line.to_string(), row)
}

#[test]
fn sealed_records_read_back_in_duckdb_exactly_as_appended() {
    let Some(python) = std::env::var_os("SILT_TEST_PYTHON") else {
        eprintln!(
            "skipped on no-python: set SILT_TEST_PYTHON to a Python with duckdb (scripts/test does)"
        );
        return;
    };
    let silt = Silt::new();
    let create = [
        "topic",
        "create",
        "events",
        "--partitions",
        "2",
        "--seal-after-ms",
        "0",
    ];
    silt.ok(&create, "");
    let (lines, rows): (Vec<String>, Vec<Value>) = (0..2 * PER_PARTITION).map(record).unzip();
    for batch in lines.chunks(lines.len() / 4) {
        silt.ok(
            &["produce", "events", "--format", "jsonl"],
            &(batch.join("\n") + "\n"),
        );
    }
    let compacted = silt.ok(&["compact", "run"], "");
    assert!(compacted.contains("sealed 8 segments into"), "{compacted}");

    // A record produced after sealing stays hot; consumers read across both.
    silt.ok(&["produce", "events", "--partition", "1"], "still hot\n");
    for p in 0..2u64 {
        let out = silt.ok(
            &[
                "consume",
                "events",
                "--partition",
                &p.to_string(),
                "--format",
                "jsonl",
            ],
            "",
        );
        let consumed: Vec<Value> = out
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let expected: Vec<&Value> = rows.iter().filter(|r| r["partition"] == p).collect();
        assert_eq!(consumed.len(), expected.len() + p as usize, "partition {p}");
        for (c, e) in consumed.iter().zip(&expected) {
            assert_eq!(c["offset"], e["offset"]);
            assert_eq!(
                c["timestamp"].as_i64().unwrap() * 1000,
                e["ts_us"].as_i64().unwrap()
            );
        }
    }

    let table = silt.ok(&["table", "events"], "");
    let printed = table
        .split("-- DuckDB\n")
        .nth(1)
        .and_then(|rest| rest.split(";\n").next())
        .unwrap_or_else(|| panic!("no DuckDB statement in {table}"));
    let root = silt
        .dir
        .path()
        .join("silt-data/tables/topic=events/*/*/*.parquet");
    let out = Command::new(python)
        .args(["-c", DUCKDB_SCRIPT, root.to_str().unwrap(), printed])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "duckdb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let printed_rows = lines.pop().unwrap();
    let mut expected = rows.clone();
    expected.sort_by_key(|r| (r["partition"].as_u64(), r["offset"].as_u64()));
    assert_eq!(lines.len(), expected.len(), "every sealed record, once");
    let mut seen = BTreeMap::new();
    for (got, want) in lines.iter().zip(&expected) {
        assert_eq!(got, want);
        *seen
            .entry((
                got["partition"].clone().to_string(),
                got["offset"].to_string(),
            ))
            .or_insert(0) += 1;
    }
    assert!(seen.values().all(|n| *n == 1), "an offset appears twice");
    assert_eq!(printed_rows["printed_rows"], expected.len());
}

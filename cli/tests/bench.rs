//! `silt bench` end to end on a tiny budget.

#![allow(clippy::unwrap_used)] // tests fail by panicking

mod common;

use serde_json::Value;

use common::Silt;

/// `silt bench` runs end to end on a small budget and writes every required figure.
#[test]
fn bench_reports_every_figure() {
    let silt = Silt::new();
    let json = silt.dir.path().join("bench.json");
    let args = [
        "--store",
        "memory://",
        "bench",
        "--seconds",
        "0.5",
        "--raw-seconds",
        "0.2",
        "--segment-mib",
        "1",
    ];
    let mut args: Vec<&str> = args.to_vec();
    let path = json.to_str().unwrap();
    args.extend(["--json", path]);
    let table = silt.ok(&args, "");
    assert!(table.contains("catch-up"), "{table}");
    let report: Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    for key in [
        "raw.put_mib_per_s",
        "raw.get_mib_per_s",
        "produce.mib_per_s",
        "produce.records_per_s",
        "produce.ack_ms.p50",
        "produce.ack_ms.p99",
        "e2e_ms.p50",
        "e2e_ms.p99",
        "read.mib_per_s",
        "requests.put_per_gib",
    ] {
        let value = key.split('.').fold(&report, |v, k| &v[k]);
        assert!(value.as_f64().is_some_and(|v| v > 0.0), "{key} = {value}");
    }
    assert_eq!(
        report["requests"]["list_per_gib"], 0.0,
        "no LIST on the produce or read path"
    );
    assert_eq!(report["produce"]["failed"], 0);
    assert_eq!(report["read"]["records"], report["produce"]["records"]);
    assert_eq!(
        report["machine"]["cores"].as_u64().map(|c| c > 0),
        Some(true)
    );
}

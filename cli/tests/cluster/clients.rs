//! Client threads that append over HTTP and note what they were told in a [`Ledger`]. Each
//! client alternates the two append routes: the topic's (some records placed by partition,
//! some by key) and one partition's (one batch, atomically).

use std::sync::mpsc::Sender;
use std::thread::JoinHandle;

use serde_json::{Value, json};

use super::ledger::Ledger;
use crate::common::agent::{Answer, try_call};

/// What one client sends: `batches` requests of `records` records each.
#[derive(Debug, Clone)]
pub(crate) struct Workload {
    pub(crate) topic: String,
    pub(crate) partitions: u32,
    pub(crate) batches: usize,
    pub(crate) records: usize,
}

/// Starts client `id` against the agent at `url`; it reports each acknowledged batch on
/// `progress` (when given) and stops at the first request that gets no answer.
pub(crate) fn spawn(
    url: String,
    work: Workload,
    id: usize,
    progress: Option<Sender<()>>,
) -> JoinHandle<Ledger> {
    std::thread::spawn(move || {
        let mut ledger = Ledger::default();
        for batch in 0..work.batches {
            let values: Vec<String> = (0..work.records)
                .map(|r| format!("c{id}-b{batch}-r{r}"))
                .collect();
            let sent = match batch % 2 {
                0 => to_topic(&url, &work, id, &values, &mut ledger),
                _ => {
                    let p = ((id + batch) % work.partitions as usize) as u32;
                    to_partition(&url, &work.topic, p, &values, &mut ledger)
                }
            };
            if !sent {
                ledger.unanswered.extend(values);
                return ledger;
            }
            if let Some(progress) = &progress {
                let _ = progress.send(());
            }
        }
        ledger
    })
}

/// `POST url path` with a JSON body, values as text; `None` when no answer came.
fn post(url: &str, path: &str, body: &Value) -> Option<Answer> {
    let body = body.to_string();
    let headers = [("content-type", "application/json")];
    try_call("POST", &format!("{url}{path}"), &headers, body.as_bytes()).ok()
}

/// One batch to the topic's route: even records name their partition, odd ones have a key.
fn to_topic(url: &str, work: &Workload, id: usize, values: &[String], ledger: &mut Ledger) -> bool {
    let records: Vec<Value> = values
        .iter()
        .enumerate()
        .map(|(i, v)| match i % 2 {
            0 => json!({"partition": (id + i) % work.partitions as usize, "value": v}),
            _ => json!({"key": format!("k{id}-{i}"), "value": v}),
        })
        .collect();
    let path = format!("/v1/topics/{}/records?encoding=utf8", work.topic);
    let Some(answer) = post(url, &path, &json!({ "records": records })) else {
        return false;
    };
    assert_eq!(answer.status, 200, "{path}: {}", answer.body);
    let placed = answer.json()["records"].as_array().unwrap().clone();
    assert_eq!(placed.len(), values.len(), "{}", answer.body);
    for (value, at) in values.iter().zip(placed) {
        let (p, o) = (
            at["partition"].as_u64().unwrap(),
            at["offset"].as_u64().unwrap(),
        );
        ledger.ack(value.clone(), p as u32, o);
    }
    true
}

/// One batch to one partition's route: consecutive offsets from `base_offset`.
fn to_partition(url: &str, topic: &str, p: u32, values: &[String], ledger: &mut Ledger) -> bool {
    let records: Vec<Value> = values
        .iter()
        .map(|v| json!({"value": v, "headers": [{"key": "client", "value": "c"}]}))
        .collect();
    let path = format!("/v1/topics/{topic}/partitions/{p}/records?encoding=utf8");
    let Some(answer) = post(url, &path, &json!({ "records": records })) else {
        return false;
    };
    assert_eq!(answer.status, 200, "{path}: {}", answer.body);
    let ack = answer.json();
    let base = ack["base_offset"].as_u64().unwrap();
    let last = ack["last_offset"].as_u64().unwrap();
    assert_eq!(last + 1 - base, values.len() as u64, "{}", answer.body);
    for (i, value) in values.iter().enumerate() {
        ledger.ack(value.clone(), p, base + i as u64);
    }
    true
}

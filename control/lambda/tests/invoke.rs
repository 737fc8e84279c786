//! The function answers a scheduled invocation of each job (retention, GC, compaction): the real binary (or, when the test script
//! built one, the `cargo lambda` artefact in `SILT_TEST_LAMBDA_BOOTSTRAP`) is started against
//! a fake Lambda Runtime API on loopback, which hands it one EventBridge scheduled event and
//! receives its answer, as Lambda would.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use bytes::Bytes;
use object_store::ObjectStoreExt;
use serde_json::Value;
use silt_core::clock::{Clock, SystemClock};
use silt_core::ids::{Offset, PartitionId, TopicName};
use silt_core::record::Record;
use silt_core::store::Storage;
use silt_core::topic::TopicSettings;
use silt_writer::{Writer, WriterSettings};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

const REQUEST_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";

/// What EventBridge sends on a schedule.
const SCHEDULED_EVENT: &str = r#"{"version":"0","id":"53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa","detail-type":"Scheduled Event","source":"aws.events","account":"123456789012","time":"2026-11-30T00:00:00Z","region":"us-east-1","resources":["arn:aws:events:us-east-1:123456789012:rule/silt-retention"],"detail":{}}"#;

/// One HTTP request as the runtime client sends it.
struct Request {
    method: String,
    path: String,
    body: Vec<u8>,
}

async fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    reader.read_line(&mut line).await.ok()?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut length = 0;
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).await.ok()?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().ok()?;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).await.ok()?;
    Some(Request { method, path, body })
}

/// Serves one connection of the runtime client: the first `next` gets the event, later ones
/// wait forever (as Lambda does between invocations); responses and errors are passed on.
async fn serve(stream: TcpStream, answers: mpsc::Sender<(String, Value)>) {
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader).await {
        let reply = if request.path.ends_with("/invocation/next") {
            if answers.is_closed() {
                std::future::pending::<()>().await;
            }
            let deadline_ms = SystemClock.now_ms() + 60_000;
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: {REQUEST_ID}\r\nLambda-Runtime-Deadline-Ms: {deadline_ms}\r\nLambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:silt-retention\r\nContent-Length: {}\r\n\r\n{SCHEDULED_EVENT}",
                SCHEDULED_EVENT.len()
            )
        } else {
            let kind = request
                .path
                .rsplit('/')
                .next()
                .unwrap_or_default()
                .to_string();
            let body = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
            let _ = answers
                .send((format!("{} {kind}", request.method), body))
                .await;
            "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n".to_string()
        };
        if reader.get_mut().write_all(reply.as_bytes()).await.is_err() {
            return;
        }
    }
}

/// A topic whose records are all older than its retention time.
async fn expired_topic(storage: &Storage) -> TopicName {
    let name = TopicName::new("expiring").unwrap();
    let settings = TopicSettings {
        retention_ms: Some(60_000),
        ..TopicSettings::default()
    };
    storage.create_topic(&name, 1, settings).await.unwrap();
    let writer = Writer::open(storage.clone(), &name, WriterSettings::default())
        .await
        .unwrap();
    let records = (0..5).map(|i| Record::from_value(Bytes::from(format!("r{i}")), 1_000));
    writer
        .append(PartitionId(0), records.collect())
        .await
        .unwrap();
    name
}

fn start_function(runtime_api: &str, store: &str, job: &str, env: &[(&str, &str)]) -> Child {
    let binary = std::env::var("SILT_TEST_LAMBDA_BOOTSTRAP")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_silt-job").to_string());
    Command::new(binary)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
        .env("AWS_LAMBDA_FUNCTION_NAME", format!("silt-{job}"))
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("SILT_JOB", job)
        .env("SILT_STORE", store)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

/// Starts the function for `job`, hands it one scheduled event, and returns its answer: the
/// runtime API call it made and the body (the report, or the error).
async fn invoke(store: &str, job: &str, env: &[(&str, &str)]) -> (String, Value) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let runtime_api = listener.local_addr().unwrap().to_string();
    let (answers, mut answered) = mpsc::channel(4);
    let server = tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(serve(stream, answers.clone()));
        }
    });
    let mut function = start_function(&runtime_api, store, job, env);
    let waiting = async {
        loop {
            tokio::select! {
                answer = answered.recv() => return answer,
                _ = silt_core::clock::sleep(Duration::from_millis(100)) => {
                    if let Some(status) = function.try_wait().unwrap() {
                        panic!("the function exited ({status}) before answering");
                    }
                }
            }
        }
    };
    let answer = tokio::time::timeout(Duration::from_secs(60), waiting).await;
    answered.close();
    let _ = function.kill(); // the process this test started
    let _ = function.wait();
    server.abort();
    answer.expect("an answer within 60 s").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_scheduled_invocations_of_each_job_with_its_report() {
    let dir = tempfile::tempdir().unwrap();
    let store = format!("file://{}", dir.path().display());
    let storage = Storage::open(&store).await.unwrap();
    let name = expired_topic(&storage).await;

    let (call, report) = invoke(&store, "retention", &[]).await;
    assert_eq!(call, "POST response", "the function failed: {report}");
    assert_eq!(report["partitions_visited"], 1, "{report}");
    assert_eq!(report["expired"][0]["topic"], "expiring", "{report}");
    assert_eq!(report["expired"][0]["trim"]["to"], 5, "{report}");
    let m = storage.manifests.read(&name, PartitionId(0)).await.unwrap();
    assert_eq!(m.unwrap().manifest.log_start_offset, Offset(5));

    let segment = segments(&storage, &name).await;
    let (call, report) = invoke(&store, "gc", &[("SILT_GRACE_MS", "0")]).await;
    assert_eq!(call, "POST response", "the function failed: {report}");
    assert_eq!(
        (&report["buried"], &report["deleted"]),
        (&1.into(), &1.into()),
        "{report}"
    );
    assert!(segments(&storage, &name).await.is_empty());
    assert!(
        storage.objects.head(&segment[0]).await.is_err(),
        "GC deleted the segment"
    );

    let tiny = TopicName::new("tiny").unwrap();
    storage
        .create_topic(&tiny, 1, TopicSettings::default())
        .await
        .unwrap();
    let writer = Writer::open(storage.clone(), &tiny, WriterSettings::default())
        .await
        .unwrap();
    for i in 0..3 {
        let record = Record::from_value(Bytes::from(format!("t{i}")), 1_000);
        writer.append(PartitionId(0), vec![record]).await.unwrap();
    }
    let (call, report) = invoke(&store, "compaction", &[("SILT_TOPICS", "tiny")]).await;
    assert_eq!(call, "POST response", "the function failed: {report}");
    assert_eq!(
        (&report["segments_merged"], &report["segments_written"]),
        (&3.into(), &1.into()),
        "{report}"
    );
}

/// The segment objects of partition 0 that the manifest lists.
async fn segments(storage: &Storage, name: &TopicName) -> Vec<object_store::path::Path> {
    let snapshot = storage
        .manifests
        .read(name, PartitionId(0))
        .await
        .unwrap()
        .unwrap();
    let entries = storage
        .manifests
        .segments_from(name, PartitionId(0), &snapshot, Offset(0), 100);
    let entries = entries.await.unwrap();
    entries
        .iter()
        .map(|e| storage.keys.segment(name, PartitionId(0), e.id))
        .collect()
}

//! The store's raw limits, measured first in the same run: PUT and GET of segment-sized
//! objects at the writer's concurrency, and the sequential conditional-write rate on one key.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, UpdateVersion};
use serde::Serialize;
use tokio::time::Instant;

use super::stats::{Percentiles, mib_per_s, per_s};
use crate::CliResult;

/// What the store does with no silt in the way.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Raw {
    pub(crate) object_bytes: usize,
    pub(crate) concurrency: usize,
    pub(crate) put_mib_per_s: f64,
    pub(crate) put_objects_per_s: f64,
    pub(crate) put_ms: Percentiles,
    pub(crate) get_mib_per_s: f64,
    pub(crate) get_objects_per_s: f64,
    pub(crate) get_ms: Percentiles,
    pub(crate) conditional_writes_per_s: f64,
}

pub(crate) async fn measure(
    store: Arc<dyn ObjectStore>,
    root: &Path,
    payload: Bytes,
    concurrency: usize,
    seconds: f64,
) -> CliResult<Raw> {
    let dir = root.clone().join("raw");
    let (put_s, puts, put_ms) = timed_workers(concurrency, seconds, {
        let (store, dir, payload) = (store.clone(), dir.clone(), payload.clone());
        move |worker, n| {
            let (store, path, payload) = (
                store.clone(),
                dir.clone().join(format!("{worker}-{n}")),
                payload.clone(),
            );
            async move { store.put(&path, payload.into()).await.map(|_| ()) }
        }
    })
    .await?;
    let per_worker: Vec<usize> = puts.clone();
    let (get_s, gets, get_ms) = timed_workers(concurrency, seconds, {
        let (store, dir) = (store.clone(), dir.clone());
        move |worker, n| {
            let written = per_worker[worker].max(1);
            let (store, path) = (
                store.clone(),
                dir.clone().join(format!("{worker}-{}", n % written)),
            );
            async move { store.get(&path).await?.bytes().await.map(|_| ()) }
        }
    })
    .await?;
    let conditional_writes_per_s = conditional_rate(
        store.as_ref(),
        &root.clone().join("raw-cas"),
        seconds.min(2.0),
    )
    .await?;
    let bytes = payload.len() as u64;
    let (put_n, get_n) = (
        puts.iter().sum::<usize>() as u64,
        gets.iter().sum::<usize>() as u64,
    );
    Ok(Raw {
        object_bytes: payload.len(),
        concurrency,
        put_mib_per_s: mib_per_s(put_n * bytes, put_s),
        put_objects_per_s: per_s(put_n as f64, put_s),
        put_ms,
        get_mib_per_s: mib_per_s(get_n * bytes, get_s),
        get_objects_per_s: per_s(get_n as f64, get_s),
        get_ms,
        conditional_writes_per_s,
    })
}

/// Runs `concurrency` workers, each repeating `call(worker, n)` (at least once) until `seconds`
/// pass; returns
/// the elapsed time, calls per worker and their latencies.
async fn timed_workers<F, Fut>(
    concurrency: usize,
    seconds: f64,
    call: F,
) -> CliResult<(f64, Vec<usize>, Percentiles)>
where
    F: Fn(usize, usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = object_store::Result<()>> + Send,
{
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(seconds);
    let workers = (0..concurrency).map(|worker| {
        let call = call.clone();
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            // At least one call each, so every worker has written what its reads look for.
            loop {
                let t = Instant::now();
                call(worker, latencies.len()).await?;
                latencies.push(t.elapsed().as_secs_f64() * 1000.0);
                if Instant::now() >= deadline {
                    break;
                }
            }
            Ok::<_, object_store::Error>(latencies)
        })
    });
    let mut counts = Vec::new();
    let mut all = Vec::new();
    for w in futures::future::join_all(workers).await {
        let latencies = w??;
        counts.push(latencies.len());
        all.extend(latencies);
    }
    Ok((
        started.elapsed().as_secs_f64(),
        counts,
        Percentiles::of(all),
    ))
}

/// Sequential If-Match updates of one small object per second.
async fn conditional_rate(store: &dyn ObjectStore, path: &Path, seconds: f64) -> CliResult<f64> {
    let create = PutOptions {
        mode: PutMode::Create,
        ..PutOptions::default()
    };
    let mut last = store
        .put_opts(path, Bytes::from_static(b"0").into(), create)
        .await?;
    let started = Instant::now();
    let mut n = 0u64;
    while started.elapsed().as_secs_f64() < seconds {
        let version = UpdateVersion {
            e_tag: last.e_tag.clone(),
            version: last.version.clone(),
        };
        let opts = PutOptions {
            mode: PutMode::Update(version),
            ..PutOptions::default()
        };
        last = store
            .put_opts(path, Bytes::from(n.to_string()).into(), opts)
            .await?;
        n += 1;
    }
    Ok(per_s(n as f64, started.elapsed().as_secs_f64()))
}

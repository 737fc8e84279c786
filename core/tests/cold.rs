//! Cold segments: what goes into a Parquet file reads back identical, by offset and by
//! timestamp, and a read from the middle of a large file fetches a small part of it.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::sync::Arc;

use bytes::Bytes;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use silt_core::cold::{ColdFile, ColdOptions, ColdWriter, Owner, first_offset_at, read_window};
use silt_core::ids::{Day, ObjectId, Offset, PartitionId, TopicId, TopicName};
use silt_core::keys::Keys;
use silt_core::record::{Header, Record};
use silt_core::store::CountingStore;
use ulid::Ulid;

/// Pseudo-random bytes (xorshift), so values do not compress away.
fn noise(seed: u64, len: usize) -> Bytes {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let bytes = (0..len).map(|_| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x as u8
    });
    bytes.collect()
}

/// `n` records with every field exercised, at offsets with gaps (as key compaction leaves):
/// offset 1, and one offset every 97 records (so some gaps fall on page and row-group
/// boundaries).
fn records(n: u64) -> Vec<(Offset, Record)> {
    (0..n)
        .map(|i| {
            let offset = Offset(if i == 0 { 0 } else { i + 1 + i / 97 });
            let record = Record {
                key: (!i.is_multiple_of(3)).then(|| Bytes::from(format!("key-{}", i % 50))),
                value: (!i.is_multiple_of(7)).then(|| noise(i, 200)),
                timestamp_ms: 1_700_000_000_000 + (i as i64) * 10,
                headers: (0..i % 3)
                    .map(|h| Header {
                        key: format!("h{h}"),
                        value: Bytes::from(vec![h as u8; h as usize]),
                    })
                    .collect(),
            };
            (offset, record)
        })
        .collect()
}

const OWNER: Owner = (TopicId(Ulid::from_parts(1, 1)), PartitionId(3));

async fn write(
    objects: Arc<dyn ObjectStore>,
    rows: &[(Offset, Record)],
    options: &ColdOptions,
) -> (Path, u64) {
    let keys = Keys::new(Path::from("root"));
    let file = ColdFile {
        topic: TopicName::new("orders").unwrap(),
        topic_id: OWNER.0,
        partition: OWNER.1,
        id: ObjectId(Ulid::from_parts(2, 2)),
        day: Day::of_ms(rows[0].1.timestamp_ms),
        first: rows[0].0,
        last: rows.last().unwrap().0,
    };
    let path = file.path(&keys);
    let mut writer = ColdWriter::new(objects.clone(), &keys, file, options).unwrap();
    for (offset, record) in rows {
        writer.push(*offset, record.clone()).await.unwrap();
    }
    let size = writer.finish().await.unwrap();
    assert_eq!(objects.head(&path).await.unwrap().size, size);
    (path, size)
}

/// Every record, read window by window from `from` on.
async fn read_all(
    objects: Arc<dyn ObjectStore>,
    path: &Path,
    size: u64,
    from: Offset,
) -> Vec<(Offset, Record)> {
    let mut out = Vec::new();
    let mut at = from;
    loop {
        let window = read_window(objects.clone(), path, size, OWNER, at)
            .await
            .unwrap();
        out.extend(window.records);
        match window.end {
            Some(end) => {
                assert!(end > at, "windows move forward");
                at = end;
            }
            None => return out,
        }
    }
}

#[tokio::test]
async fn records_read_back_identical_from_any_offset() {
    let objects: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let rows = records(5_000);
    let options = ColdOptions {
        row_group_bytes: 256 * 1024,
        page_rows: 100,
    };
    let (path, size) = write(objects.clone(), &rows, &options).await;
    assert_eq!(
        read_all(objects.clone(), &path, size, Offset(0)).await,
        rows
    );
    // From a removed offset: the next kept record.
    let from_one = read_all(objects.clone(), &path, size, Offset(1)).await;
    assert_eq!(from_one, rows[1..]);
    let last = rows.last().unwrap().0;
    for from in [
        2,
        98,
        99,
        100,
        101,
        198,
        199,
        200,
        2_345,
        last.0 - 1,
        last.0,
    ] {
        let expected: Vec<_> = rows.iter().filter(|(o, _)| o.0 >= from).cloned().collect();
        let got = read_all(objects.clone(), &path, size, Offset(from)).await;
        assert_eq!(got, expected, "from {from}");
    }
    let past = read_window(objects.clone(), &path, size, OWNER, last.plus(1))
        .await
        .unwrap();
    assert!(past.records.is_empty() && past.end.is_none());
}

#[tokio::test]
async fn timestamps_find_the_first_record_at_or_after_them() {
    let objects: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let rows = records(3_000);
    let options = ColdOptions {
        row_group_bytes: 128 * 1024,
        page_rows: 64,
    };
    let (path, size) = write(objects.clone(), &rows, &options).await;
    let first_at = |ts: i64| first_offset_at(objects.clone(), &path, size, OWNER, ts);
    let t0 = rows[0].1.timestamp_ms;
    assert_eq!(first_at(t0 - 1_000).await.unwrap(), Some(Offset(0)));
    for i in [1, 97, 1_000, 2_999] {
        // Record timestamps are 10 ms apart: between two, the later one is found.
        assert_eq!(
            first_at(t0 + 10 * i as i64 - 5).await.unwrap(),
            Some(rows[i].0)
        );
        assert_eq!(first_at(t0 + 10 * i as i64).await.unwrap(), Some(rows[i].0));
    }
    assert_eq!(first_at(t0 + 29_991).await.unwrap(), None);
}

#[tokio::test]
async fn a_read_from_the_middle_fetches_a_small_part_of_a_large_file() {
    let counting = Arc::new(CountingStore::new(Arc::new(InMemory::new())));
    let objects: Arc<dyn ObjectStore> = counting.clone();
    let rows = records(120_000);
    let (path, size) = write(objects.clone(), &rows, &ColdOptions::default()).await;
    let before = counting.counts();
    let window = read_window(objects.clone(), &path, size, OWNER, Offset(77_777))
        .await
        .unwrap();
    let fetched = counting.counts().since(&before);
    assert_eq!(
        window.records.first().map(|(o, _)| *o),
        Some(Offset(77_777))
    );
    let share = fetched.get_bytes as f64 / size as f64;
    println!(
        "read one page from the middle of a {size}-byte cold segment: {} bytes in {} requests ({:.2}%)",
        fetched.get_bytes,
        fetched.get,
        share * 100.0
    );
    assert!(
        share < 0.025,
        "fetched {} of {size} bytes",
        fetched.get_bytes
    );
}

#[tokio::test]
async fn a_read_among_large_records_fetches_about_a_megabyte() {
    let counting = Arc::new(CountingStore::new(Arc::new(InMemory::new())));
    let objects: Arc<dyn ObjectStore> = counting.clone();
    let rows: Vec<(Offset, Record)> = (0..64)
        .map(|i| {
            (
                Offset(i),
                Record::from_value(noise(i, 256 * 1024), i as i64),
            )
        })
        .collect();
    let (path, size) = write(objects.clone(), &rows, &ColdOptions::default()).await;
    let before = counting.counts();
    let window = read_window(objects.clone(), &path, size, OWNER, Offset(30))
        .await
        .unwrap();
    let fetched = counting.counts().since(&before);
    println!(
        "read one 256 KiB record among 64: {} records, {} bytes fetched of {size}",
        window.records.len(),
        fetched.get_bytes
    );
    assert_eq!(window.records[0], rows[30]);
    assert!(
        window.records.len() <= 4,
        "{} records",
        window.records.len()
    );
    assert!(
        fetched.get_bytes < 2 * 1024 * 1024,
        "{} bytes",
        fetched.get_bytes
    );
    assert_eq!(read_all(objects, &path, size, Offset(0)).await, rows);
}

/// A push out of order is the caller's bug, reported as internal, not as a corrupt file.
#[tokio::test]
async fn a_push_out_of_order_is_an_internal_error_not_corruption() {
    let objects: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let keys = Keys::new(Path::from("root"));
    let file = ColdFile {
        topic: TopicName::new("orders").unwrap(),
        topic_id: OWNER.0,
        partition: OWNER.1,
        id: ObjectId(Ulid::from_parts(2, 2)),
        day: Day::of_ms(0),
        first: Offset(0),
        last: Offset(9),
    };
    let options = ColdOptions::default();
    let mut writer = ColdWriter::new(objects, &keys, file, &options).unwrap();
    writer
        .push(Offset(5), Record::from_value("a", 0))
        .await
        .unwrap();
    let refused = writer.push(Offset(5), Record::from_value("b", 0)).await;
    let error = refused.unwrap_err();
    assert_eq!(
        error.kind(),
        silt_core::error::ErrorKind::Internal,
        "{error}"
    );
    assert!(error.to_string().contains("out of order"), "{error}");
}

/// The golden file's records: those of [`records`], with short values, over several pages and
/// row groups.
fn golden_rows() -> Vec<(Offset, Record)> {
    let mut rows = records(120);
    for (i, (_, r)) in rows.iter_mut().enumerate() {
        r.value = r.value.as_ref().map(|_| noise(i as u64, 24));
    }
    rows
}

fn golden_options() -> ColdOptions {
    ColdOptions {
        row_group_bytes: 2 * 1024,
        page_rows: 16,
    }
}

/// The files every earlier writer produced stay readable: one golden file per format version.
/// `SILT_WRITE_GOLDEN=1` writes the current version's file (never an older one).
#[tokio::test]
async fn golden_cold_files_read_back() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");
    let current = format!("{dir}/cold-v{}.parquet", silt_core::cold::FORMAT_VERSION);
    if std::env::var_os("SILT_WRITE_GOLDEN").is_some() {
        let objects: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let (path, _) = write(objects.clone(), &golden_rows(), &golden_options()).await;
        let bytes = objects.get(&path).await.unwrap().bytes().await.unwrap();
        std::fs::write(&current, bytes).unwrap();
    }
    for version in 1..=silt_core::cold::FORMAT_VERSION {
        let file = format!("{dir}/cold-v{version}.parquet");
        let bytes = Bytes::from(std::fs::read(&file).unwrap());
        let objects: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let path = Path::from(format!("golden/cold-v{version}.parquet"));
        let size = bytes.len() as u64;
        objects.put(&path, bytes.into()).await.unwrap();
        let got = read_all(objects.clone(), &path, size, Offset(0)).await;
        assert_eq!(got, golden_rows(), "{file}");
        let t = golden_rows()[50].1.timestamp_ms;
        let at = first_offset_at(objects, &path, size, OWNER, t)
            .await
            .unwrap();
        assert_eq!(at, Some(golden_rows()[50].0), "{file}");
    }
}

//! A cursor waiting at the tail hears of a commit made by a writer of the same process at
//! once, not at its next poll (`Storage::commit_news`), and takes the manifest committed and
//! the segment uploaded (`Storage::tail_cache`) without a request; a commit made through
//! another storage (another process) is still found by polling.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::sync::Arc;
use std::time::Duration;

use object_store::ObjectStore;
use object_store::memory::InMemory;
use object_store::path::Path;
use silt_core::ids::{PartitionId, TopicName};
use silt_core::record::Record;
use silt_core::store::{CountingStore, Storage};
use silt_reader::{POLL_INTERVAL, Reader, StartFrom};
use silt_writer::{Writer, WriterSettings};
use tokio::time::Instant;

const P: PartitionId = PartitionId(0);

/// How long (in paused time) a cursor of `reader_side` waits at the tail for one record
/// appended through `writer_side`.
async fn waited(reader_side: Storage, writer_side: Storage) -> Duration {
    let topic = TopicName::new("news").unwrap();
    let reader = Reader::open(reader_side, &topic).await.unwrap();
    let mut cursor = reader.cursor(P, StartFrom::Latest).await.unwrap();
    let waiting = tokio::spawn(async move {
        let start = Instant::now();
        let more = cursor.wait_for_more(Duration::from_secs(3600)).await;
        (more.unwrap(), start.elapsed())
    });
    for _ in 0..10 {
        tokio::task::yield_now().await; // the cursor looks, finds nothing and waits
    }
    let settings = WriterSettings {
        linger_ms: 0,
        ..WriterSettings::default()
    };
    let writer = Writer::open(writer_side, &topic, settings).await.unwrap();
    let record = Record::from_value(b"hello".to_vec(), 0);
    writer.append(P, vec![record]).await.unwrap();
    let (more, waited) = waiting.await.unwrap();
    assert!(more);
    writer.close().await;
    waited
}

/// A storage over `objects`, as one process opens it.
fn storage(objects: &Arc<dyn ObjectStore>) -> Storage {
    Storage::over(objects.clone(), Path::default(), "memory://")
}

/// Objects holding topic `news` of one partition.
async fn with_topic() -> Arc<dyn ObjectStore> {
    let objects: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
    let topic = TopicName::new("news").unwrap();
    storage(&objects)
        .create_topic(&topic, 1, Default::default())
        .await
        .unwrap();
    objects
}

#[tokio::test(start_paused = true)]
async fn a_waiting_cursor_wakes_at_a_commit_of_its_own_process() {
    let storage = storage(&with_topic().await);
    let waited = waited(storage.clone(), storage).await;
    assert!(waited < POLL_INTERVAL, "woke after {waited:?}");
}

#[tokio::test(start_paused = true)]
async fn a_commit_of_another_process_is_found_at_the_next_poll() {
    let objects = with_topic().await;
    let (here, elsewhere) = (storage(&objects), storage(&objects));
    let waited = waited(here, elsewhere).await;
    assert!(waited >= POLL_INTERVAL, "woke after {waited:?}");
}

#[tokio::test(start_paused = true)]
async fn a_woken_cursor_reads_the_commit_and_its_segment_without_a_request() {
    let objects = with_topic().await;
    let writer_side = storage(&objects).with_tail_cache(1024 * 1024);
    // The reader's requests are counted; it shares the process's news and tail cache.
    let counting = Arc::new(CountingStore::new(objects.clone()));
    let mut reader_side = storage(&(counting.clone() as Arc<dyn ObjectStore>));
    reader_side.commit_news = writer_side.commit_news.clone();
    reader_side.tail_cache = writer_side.tail_cache.clone();

    let topic = TopicName::new("news").unwrap();
    let reader = Reader::open(reader_side, &topic).await.unwrap();
    let mut cursor = reader.cursor(P, StartFrom::Latest).await.unwrap();
    let waiting = tokio::spawn(async move {
        let more = cursor
            .wait_for_more(Duration::from_secs(3600))
            .await
            .unwrap();
        let read = cursor.next_batch(10).await.unwrap();
        (more, read, cursor)
    });
    for _ in 0..10 {
        tokio::task::yield_now().await; // the cursor looks, finds nothing and waits
    }
    let before = counting.counts();
    let settings = WriterSettings {
        linger_ms: 0,
        ..WriterSettings::default()
    };
    let writer = Writer::open(writer_side, &topic, settings).await.unwrap();
    let record = Record::from_value(b"hello".to_vec(), 0);
    writer.append(P, vec![record.clone()]).await.unwrap();
    let (more, read, mut cursor) = waiting.await.unwrap();
    assert!(more);
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].record.value, record.value);
    let requests = counting.counts().since(&before);
    assert_eq!(requests.get, 0, "no manifest or segment GET: {requests:?}");

    // The manifest taken counts as a look for a poll interval, then the store is read again.
    assert!(!cursor.wait_for_more(Duration::ZERO).await.unwrap());
    assert_eq!(counting.counts().since(&before).get, 0);
    tokio::time::advance(POLL_INTERVAL).await;
    assert!(!cursor.wait_for_more(Duration::ZERO).await.unwrap());
    assert_eq!(counting.counts().since(&before).get, 1, "a revalidation");

    // A commit made while the cursor was not waiting is taken on its next look.
    let second = Record::from_value(b"again".to_vec(), 0);
    writer.append(P, vec![second.clone()]).await.unwrap();
    assert!(cursor.wait_for_more(Duration::ZERO).await.unwrap());
    let read = cursor.next_batch(10).await.unwrap();
    assert_eq!(read[0].record.value, second.value);
    assert_eq!(counting.counts().since(&before).get, 1, "nothing more read");
    writer.close().await;
}

//! A cursor waiting at the tail hears of a commit made by a writer of the same process at
//! once, not at its next poll (`Storage::commit_news`), and takes the manifest committed and
//! the segment uploaded (`Storage::tail_cache`) without a request; a commit made through
//! another storage (another process) is still found by polling: every poll interval once the
//! cursor noticed another committer, while its own process's commits stand for the polls as
//! long as that process seems to commit alone.

#![allow(clippy::unwrap_used)] // tests fail by panicking

use std::sync::Arc;
use std::time::Duration;

use object_store::ObjectStore;
use object_store::memory::InMemory;
use object_store::path::Path;
use silt_core::ids::{PartitionId, TopicName};
use silt_core::record::Record;
use silt_core::store::{CountingStore, Storage};
use silt_reader::{Cursor, OTHERS_QUIET, OWN_COMMITS_WINDOW, POLL_INTERVAL, Reader, StartFrom};
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
    let writer = writer(writer_side).await;
    writer.append(P, record(b"hello")).await.unwrap();
    let (more, waited) = waiting.await.unwrap();
    assert!(more);
    writer.close().await;
    waited
}

/// A storage over `objects`, as one process opens it.
fn storage(objects: &Arc<dyn ObjectStore>) -> Storage {
    Storage::over(objects.clone(), Path::default(), "memory://")
}

/// A storage of the same process as `here` (its commit news and tail cache) whose requests
/// to `objects` are counted.
fn counted_beside(here: &Storage, objects: &Arc<dyn ObjectStore>) -> (Storage, Arc<CountingStore>) {
    let counting = Arc::new(CountingStore::new(objects.clone()));
    let mut beside = storage(&(counting.clone() as Arc<dyn ObjectStore>));
    beside.commit_news = here.commit_news.clone();
    beside.tail_cache = here.tail_cache.clone();
    (beside, counting)
}

/// A writer of topic `news` through `storage` that commits each append at once.
async fn writer(storage: Storage) -> Writer {
    let settings = WriterSettings {
        linger_ms: 0,
        ..WriterSettings::default()
    };
    let topic = TopicName::new("news").unwrap();
    Writer::open(storage, &topic, settings).await.unwrap()
}

/// One record holding `value`.
fn record(value: &[u8]) -> Vec<Record> {
    vec![Record::from_value(value.to_vec(), 0)]
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
    let (reader_side, counting) = counted_beside(&writer_side, &objects);

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
    let writer = writer(writer_side).await;
    writer.append(P, record(b"hello")).await.unwrap();
    let (more, read, mut cursor) = waiting.await.unwrap();
    assert!(more);
    assert_eq!(read.len(), 1);
    assert_eq!(read[0].record.value.as_deref(), Some(&b"hello"[..]));
    let requests = counting.counts().since(&before);
    assert_eq!(requests.get, 0, "no manifest or segment GET: {requests:?}");

    // This process is the only committer: the manifest taken counts as a look for the
    // window of its own commits, then the store is read again.
    assert!(!cursor.wait_for_more(Duration::ZERO).await.unwrap());
    tokio::time::advance(POLL_INTERVAL).await;
    assert!(!cursor.wait_for_more(Duration::ZERO).await.unwrap());
    assert_eq!(counting.counts().since(&before).get, 0);
    tokio::time::advance(OWN_COMMITS_WINDOW - POLL_INTERVAL).await;
    assert!(!cursor.wait_for_more(Duration::ZERO).await.unwrap());
    assert_eq!(counting.counts().since(&before).get, 1, "a revalidation");

    // A commit made while the cursor was not waiting is taken on its next look.
    writer.append(P, record(b"again")).await.unwrap();
    assert!(cursor.wait_for_more(Duration::ZERO).await.unwrap());
    let read = cursor.next_batch(10).await.unwrap();
    assert_eq!(read[0].record.value.as_deref(), Some(&b"again"[..]));
    assert_eq!(counting.counts().since(&before).get, 1, "nothing more read");
    writer.close().await;
}

/// GETs a cursor with nothing new makes when it looks (without waiting) `after` from now.
async fn gets_of_a_look(cursor: &mut Cursor, counting: &CountingStore, after: Duration) -> u64 {
    let before = counting.counts();
    tokio::time::advance(after).await;
    assert!(!cursor.wait_for_more(Duration::ZERO).await.unwrap());
    counting.counts().since(&before).get
}

#[tokio::test(start_paused = true)]
async fn a_cursor_polls_every_interval_again_once_it_notices_another_committer() {
    let objects = with_topic().await;
    let here = storage(&objects).with_tail_cache(1024 * 1024);
    let (reader_side, counting) = counted_beside(&here, &objects);
    let topic = TopicName::new("news").unwrap();
    let (ours, theirs) = (writer(here).await, writer(storage(&objects)).await);
    let reader = Reader::open(reader_side, &topic).await.unwrap();
    let mut cursor = reader.cursor(P, StartFrom::Latest).await.unwrap();

    // Two commits of this process, heard one after the other (the first wait opens the
    // partition's news channel): it is alone, and rides them.
    assert!(!cursor.wait_for_more(Duration::ZERO).await.unwrap());
    for value in [b"ours 1", b"ours 2"] {
        ours.append(P, record(value)).await.unwrap();
        assert!(cursor.wait_for_more(Duration::ZERO).await.unwrap());
        assert_eq!(cursor.next_batch(10).await.unwrap().len(), 1);
    }
    let look = gets_of_a_look(&mut cursor, &counting, POLL_INTERVAL).await;
    assert_eq!(look, 0, "riding its own commits");
    let before = counting.counts();
    assert!(!cursor.wait_for_more(2 * POLL_INTERVAL).await.unwrap());
    let waited = counting.counts().since(&before).get;
    assert_eq!(waited, 0, "nor at the end of a wait within the window");

    // Another process commits, then this one: the version moved by two for one commit heard.
    theirs.append(P, record(b"theirs")).await.unwrap();
    ours.append(P, record(b"ours 3")).await.unwrap();
    assert!(cursor.wait_for_more(Duration::ZERO).await.unwrap());
    let theirs_then_ours = [cursor.next_batch(10).await, cursor.next_batch(10).await];
    let values: Vec<_> = theirs_then_ours
        .into_iter()
        .flat_map(Result::unwrap)
        .collect();
    assert_eq!(values.len(), 2, "theirs inside ours");
    let look = gets_of_a_look(&mut cursor, &counting, POLL_INTERVAL).await;
    assert_eq!(look, 1, "polls again after an interval");

    // Once the other committer was quiet long enough, the cursor rides its process again.
    tokio::time::advance(OTHERS_QUIET).await;
    ours.append(P, record(b"ours 4")).await.unwrap();
    assert!(cursor.wait_for_more(Duration::ZERO).await.unwrap());
    assert_eq!(cursor.next_batch(10).await.unwrap().len(), 1);
    let look = gets_of_a_look(&mut cursor, &counting, POLL_INTERVAL).await;
    assert_eq!(look, 0, "riding again");

    // Another process's commit found by a poll (this one paused over the window) counts
    // as well, at this process's next commit.
    theirs.append(P, record(b"theirs 2")).await.unwrap();
    tokio::time::advance(OWN_COMMITS_WINDOW).await;
    assert!(cursor.wait_for_more(Duration::ZERO).await.unwrap());
    assert_eq!(cursor.next_batch(10).await.unwrap().len(), 1);
    ours.append(P, record(b"ours 5")).await.unwrap();
    assert!(cursor.wait_for_more(Duration::ZERO).await.unwrap());
    assert_eq!(cursor.next_batch(10).await.unwrap().len(), 1);
    let look = gets_of_a_look(&mut cursor, &counting, POLL_INTERVAL).await;
    assert_eq!(look, 1, "polls again after an interval");
    ours.close().await;
    theirs.close().await;
}

#[tokio::test(start_paused = true)]
async fn a_commit_told_to_nobody_is_found_by_the_next_look() {
    let objects = with_topic().await;
    let storage = storage(&objects);
    let topic = TopicName::new("news").unwrap();
    let writer = writer(storage.clone()).await;
    let reader = Reader::open(storage.clone(), &topic).await.unwrap();
    let mut cursor = reader.cursor(P, StartFrom::Latest).await.unwrap();
    assert!(!cursor.wait_for_more(Duration::ZERO).await.unwrap());
    writer.append(P, record(b"heard")).await.unwrap();
    assert!(cursor.wait_for_more(Duration::ZERO).await.unwrap());
    assert_eq!(cursor.next_batch(10).await.unwrap().len(), 1);

    // Nobody listens to the partition's news while channels come and go: it is dropped, and
    // the next commit is told to nobody.
    let other = TopicName::new("other").unwrap();
    for p in 0..1000 {
        drop(storage.commit_news.subscribe(&other, PartitionId(p)));
    }
    writer.append(P, record(b"untold")).await.unwrap();
    assert!(
        cursor.wait_for_more(Duration::ZERO).await.unwrap(),
        "the commit heard before no longer stands for the look"
    );
    writer.close().await;
}

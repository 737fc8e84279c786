//! The log service: what every protocol of the agent does, written once. The HTTP routes (and
//! later the Kinesis and Kafka front ends) translate their requests into these calls and
//! these answers back into their own.
//!
//! It keeps one [`Writer`] per topic (shared mode), opened on first use and shared by every
//! request, so concurrent appends to a partition are batched into one segment and one commit;
//! a [`Reader`] per topic; and a pool of cursors parked at the offset where their last read
//! ended (see `read`). A topic that is deleted or re-created under a cached writer or reader
//! is noticed by its next commit or manifest read, and the cached handle is dropped. It also
//! holds the consumer-group members of HTTP clients (see `groups`): the one state an agent
//! keeps that is not in the store.

mod append;
mod error;
mod groups;
mod read;
mod topics;

pub use append::{Placed, Placement, Sent};
pub use error::{MemberError, ServiceError};
pub use groups::{GROUP_MEMBERS_MAX, OffsetCommit, PollRequest};
pub use read::{POOLED_CURSORS_MAX, ReadBatch, ReadFrom, ReadRequest, Tail};
pub use topics::{PartitionSummary, TopicSummary};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use silt_core::error::{Error, Rejection};
use silt_core::ids::TopicName;
use silt_core::store::Storage;
use silt_reader::Reader;
use silt_writer::{Partitioner, Writer, WriterSettings};
use tokio::sync::watch;

use crate::service::groups::GroupMembers;
use crate::service::read::CursorPool;

/// The shared state behind every request of one agent.
#[derive(Debug)]
pub struct LogService {
    storage: Storage,
    writer_settings: WriterSettings,
    writers: Mutex<HashMap<TopicName, Arc<Writer>>>,
    readers: Mutex<HashMap<TopicName, Reader>>,
    cursors: CursorPool,
    partitioner: Partitioner,
    stopping: watch::Sender<bool>,
    groups: GroupMembers,
}

impl LogService {
    /// A service over `storage`; writers use `writer_settings` (validated here).
    pub fn new(storage: Storage, writer_settings: WriterSettings) -> Result<LogService, Error> {
        writer_settings.validate()?;
        Ok(LogService {
            storage,
            writer_settings,
            writers: Mutex::default(),
            readers: Mutex::default(),
            cursors: CursorPool::default(),
            partitioner: Partitioner::default(),
            stopping: watch::Sender::new(false),
            groups: GroupMembers::new(GROUP_MEMBERS_MAX),
        })
    }

    /// The same service holding at most `max` consumer-group members (0: none, for a
    /// process that does not outlive its requests, such as the Lambda function).
    pub fn with_group_members_max(mut self, max: usize) -> LogService {
        self.groups = GroupMembers::new(max);
        self
    }

    /// The store it serves.
    pub fn storage(&self) -> &Storage {
        &self.storage
    }

    /// Ends every long-poll and event stream now (with what it has), so a shutting-down agent
    /// can answer its requests in flight; appends keep going until [`LogService::close`].
    pub fn stop_waiting(&self) {
        self.stopping.send_replace(true);
    }

    /// True once [`LogService::stop_waiting`] was called.
    pub fn is_stopping(&self) -> bool {
        *self.stopping.borrow()
    }

    /// Resolves once [`LogService::stop_waiting`] was called.
    pub(crate) async fn stopped(&self) {
        let mut stopping = self.stopping.subscribe();
        // An error means the sender is gone, which `self` outlives: never.
        let _ = stopping.wait_for(|stop| *stop).await;
    }

    /// Flushes and commits every record accepted, answering each waiting append; every group
    /// member held leaves its group.
    pub async fn close(&self) {
        self.stop_waiting();
        self.leave_all_groups().await;
        let writers: Vec<_> = match self.writers.lock() {
            Ok(mut writers) => writers.drain().map(|(_, w)| w).collect(),
            Err(_) => Vec::new(),
        };
        for writer in writers {
            match Arc::try_unwrap(writer) {
                Ok(writer) => writer.close().await,
                Err(_) => tracing::error!("a writer is still in use at shutdown; not flushed"),
            }
        }
    }

    /// The topic's writer, opened on first use; an open that finds the topic gone or replaced
    /// drops what was cached of it.
    async fn writer(&self, topic: &TopicName) -> Result<Arc<Writer>, Error> {
        if let Some(w) = self.writers.lock().ok().and_then(|w| w.get(topic).cloned()) {
            return Ok(w);
        }
        let opened = Writer::open(self.storage.clone(), topic, self.writer_settings.clone())
            .await
            .inspect_err(|e| self.forget_if_stale(topic, e))?;
        let opened = Arc::new(opened);
        let mut writers = self.writers.lock().map_err(|_| poisoned())?;
        Ok(writers.entry(topic.clone()).or_insert(opened).clone())
    }

    /// The topic's reader, opened on first use (likewise).
    async fn reader(&self, topic: &TopicName) -> Result<Reader, Error> {
        if let Some(r) = self.readers.lock().ok().and_then(|r| r.get(topic).cloned()) {
            return Ok(r);
        }
        let reader = Reader::open(self.storage.clone(), topic)
            .await
            .inspect_err(|e| self.forget_if_stale(topic, e))?;
        let mut readers = self.readers.lock().map_err(|_| poisoned())?;
        Ok(readers.entry(topic.clone()).or_insert(reader).clone())
    }

    /// Drops the cached writer, reader and cursors of `topic` (deleted, re-created, or found
    /// to be another topic than the one cached). The writer is closed once its last request
    /// is answered.
    fn forget(&self, topic: &TopicName) {
        if let Ok(mut writers) = self.writers.lock() {
            writers.remove(topic);
        }
        if let Ok(mut readers) = self.readers.lock() {
            readers.remove(topic);
        }
        self.cursors.forget(topic);
    }

    /// Forgets `topic` when `e` says the cached handles no longer match the store.
    fn forget_if_stale(&self, topic: &TopicName, e: &Error) {
        if matches!(
            e,
            Error::UnknownTopic(_)
                | Error::TopicIdMismatch { .. }
                | Error::TopicConfigMissing { .. }
                | Error::Rejected(Rejection::TopicDeleted { .. })
        ) {
            self.forget(topic);
        }
    }
}

fn poisoned() -> Error {
    Error::Internal {
        doing: "using the agent's caches",
        reason: "a lock was poisoned by a panic".into(),
        source: None,
    }
}

#[cfg(test)]
mod tests;

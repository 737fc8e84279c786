//! Cluster-unique Kafka producer ids (docs/design.md §6.6), for `InitProducerId`. One CAS
//! record (`<root>/_producers/next-id`, or its DynamoDB item) holds the next id nobody
//! reserved; a process reserves a block of [`BLOCK`] ids by a conditional write moving it on,
//! then hands them out from memory. Ids of a block a process never used are skipped, never
//! given twice: a write whose outcome is unknown is decided by reading the record back.

use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;
use ulid::Ulid;

use crate::clock::Clock;
use crate::error::{Corruption, Error, Result};
use crate::ids::ProducerId;
use crate::keys::Keys;
use crate::store::Storage;
use crate::store::cas::{self, CAS_RESOLVE_TIMEOUT, CasKey, CasStore, Condition, Seen, Versioned};
use crate::store::cas::{Witness, Written};

/// Ids reserved per conditional write.
pub const BLOCK: i64 = 1000;
/// Races lost in a row before giving up with `ProducerIdsContended`.
const ATTEMPTS_MAX: u32 = 50;

/// The counter record.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Counter {
    format_version: u32,
    /// The first id not reserved yet.
    next: i64,
    /// The write that set it: tells our write from another's when read back.
    write_id: Ulid,
}

/// The block this process hands ids out of: `next..end`.
#[derive(Debug, Default)]
struct Block {
    next: i64,
    end: i64,
}

/// Hands out producer ids; share one per process (behind an `Arc`).
#[derive(Debug)]
pub struct ProducerIds {
    cas: Arc<dyn CasStore>,
    key: CasKey,
    clock: Arc<dyn Clock>,
    block: Mutex<Block>,
}

impl ProducerIds {
    /// The ids of the store whose keys are `keys` (its CAS from `Storage::cas`).
    pub fn new(cas: Arc<dyn CasStore>, keys: &Keys, clock: Arc<dyn Clock>) -> ProducerIds {
        let key = CasKey {
            scope: keys.producers(),
            name: "next-id".into(),
        };
        ProducerIds {
            cas,
            key,
            clock,
            block: Mutex::new(Block::default()),
        }
    }

    /// The ids of `storage`: its CAS store (the DynamoDB table when manifests live there).
    pub fn of(storage: &Storage) -> ProducerIds {
        ProducerIds::new(storage.cas(), &storage.keys, storage.clock.clone())
    }

    /// A producer id no other call, here or in any process on the same store, ever got.
    pub async fn allocate(&self) -> Result<ProducerId> {
        let mut block = self.block.lock().await;
        if block.next >= block.end {
            let start = self.reserve().await?;
            *block = Block {
                next: start,
                end: start + BLOCK,
            };
        }
        let id = block.next;
        block.next += 1;
        Ok(ProducerId(id))
    }

    /// Moves the counter on by a block; returns the block's first id.
    async fn reserve(&self) -> Result<i64> {
        let mut stored = self.cas.get(&self.key).await?;
        for _ in 0..ATTEMPTS_MAX {
            let (start, condition) = match &stored {
                None => (0, Condition::Absent),
                Some(v) => (self.decode(v)?.next, Condition::Matches(v.version.clone())),
            };
            if start > i64::MAX - BLOCK {
                return Err(Error::ProducerIdsExhausted {
                    location: self.cas.location(&self.key),
                    next: start,
                    block: BLOCK,
                });
            }
            let counter = Counter {
                format_version: 1,
                next: start + BLOCK,
                write_id: self.clock.new_ulid(),
            };
            let body = serde_json::to_vec(&counter)
                .map_err(|e| Error::internal("encoding the producer id counter", e))?;
            let witness = CounterWitness {
                ours: counter.write_id,
                read: stored.as_ref().map(|v| v.body.clone()),
            };
            let written = cas::write(
                self.cas.as_ref(),
                &self.key,
                Bytes::from(body),
                &condition,
                &witness,
                CAS_RESOLVE_TIMEOUT,
            )
            .await?;
            match written {
                Written::Landed(_) => return Ok(start),
                Written::Lost(now) => stored = now,
            }
        }
        Err(Error::ProducerIdsContended {
            location: self.cas.location(&self.key),
            attempts: ATTEMPTS_MAX,
        })
    }

    fn decode(&self, v: &Versioned) -> Result<Counter> {
        decode(&v.body, &self.cas.location(&self.key))
    }
}

fn decode(body: &[u8], location: &str) -> Result<Counter> {
    let counter: Counter = serde_json::from_slice(body).map_err(|e| Corruption {
        what: "producer id counter",
        location: location.to_string(),
        reason: e.to_string(),
    })?;
    if counter.next < 0 {
        return Err(Corruption {
            what: "producer id counter",
            location: location.to_string(),
            reason: format!("next id {} is negative", counter.next),
        }
        .into());
    }
    Ok(counter)
}

/// Ours when the stored counter carries our write id; unchanged while it is the body we read.
struct CounterWitness {
    ours: Ulid,
    read: Option<Bytes>,
}

impl Witness for CounterWitness {
    fn seen(&self, stored: Option<&Versioned>) -> Result<Seen> {
        let Some(stored) = stored else {
            return Ok(match self.read {
                None => Seen::Unchanged,
                Some(_) => Seen::MovedOn,
            });
        };
        let ours =
            serde_json::from_slice::<Counter>(&stored.body).is_ok_and(|c| c.write_id == self.ours);
        Ok(if ours {
            Seen::Ours
        } else if self.read.as_ref() == Some(&stored.body) {
            Seen::Unchanged
        } else {
            Seen::MovedOn
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;
    use std::collections::HashSet;

    #[tokio::test]
    async fn ids_are_unique_across_processes_and_blocks() {
        let storage = Storage::open("memory://").await.expect("memory store");
        let clock: Arc<dyn Clock> = Arc::new(SystemClock);
        let a = Arc::new(ProducerIds::new(
            storage.cas(),
            &storage.keys,
            clock.clone(),
        ));
        let b = Arc::new(ProducerIds::new(storage.cas(), &storage.keys, clock));
        let mut tasks = Vec::new();
        for ids in [a.clone(), b.clone(), a, b] {
            tasks.push(tokio::spawn(async move {
                let mut got = Vec::new();
                for _ in 0..(BLOCK + 10) {
                    got.push(ids.allocate().await.expect("an id").0);
                }
                got
            }));
        }
        let mut seen = HashSet::new();
        for t in tasks {
            for id in t.await.expect("task") {
                assert!(seen.insert(id), "id {id} handed out twice");
            }
        }
        assert_eq!(seen.len() as i64, 4 * (BLOCK + 10));
        let max = seen.iter().max().copied().unwrap_or(0);
        assert!(
            max < 6 * BLOCK,
            "ids {max} skip more than the unused blocks"
        );
    }
}

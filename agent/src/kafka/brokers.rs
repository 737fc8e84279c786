//! The agents a Kafka client sees as brokers. Every agent with a Kafka listener rewrites a
//! small object named after its advertised address (`<root>/_agents/<hex of host:port>`)
//! every [`HEARTBEAT_INTERVAL`]; the listing's last-modified times say who is live. Metadata
//! lists the live agents and names each partition's leader by rendezvous hashing over them, so
//! one partition's produce traffic tends to reach one agent, which batches it; FindCoordinator
//! picks a group's agent the same way. Correctness never depends on this view: any agent
//! accepts any request, and an agent always counts itself live.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};
use silt_core::error::Result;
use silt_core::store::Storage;
use tokio::sync::watch;
use tokio::time::Instant;

/// How often an agent rewrites its entry.
pub const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(10);
/// An entry not rewritten for this long is not live.
pub const LIVE_FOR: Duration = Duration::from_secs(30);
/// A Metadata request lists the agents again when the last listing is this old.
pub const RELIST_AFTER: Duration = Duration::from_secs(2);
/// An entry this old is deleted by whichever agent lists it (agents that stopped long ago).
const FORGET_AFTER: Duration = Duration::from_secs(3600);

/// One agent as Kafka clients address it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broker {
    /// Derived from the address, so every agent computes the same id for it.
    pub node_id: i32,
    pub host: String,
    pub port: u16,
}

impl Broker {
    /// The broker at `host:port`.
    pub fn at(host: &str, port: u16) -> Broker {
        let address = format!("{host}:{port}");
        let node_id = (crc32c::crc32c(address.as_bytes()) & 0x7fff_ffff) as i32;
        Broker {
            node_id,
            host: host.to_string(),
            port,
        }
    }

    fn entry_name(&self) -> String {
        hex::encode(format!("{}:{}", self.host, self.port))
    }

    fn from_entry_name(name: &str) -> Option<Broker> {
        let address = String::from_utf8(hex::decode(name).ok()?).ok()?;
        let (host, port) = address.rsplit_once(':')?;
        Some(Broker::at(host, port.parse().ok()?))
    }
}

/// This agent and the live ones it last listed.
#[derive(Debug)]
pub struct Brokers {
    this: Broker,
    live: RwLock<Arc<Vec<Broker>>>,
    listed_at: Mutex<Option<Instant>>,
}

impl Brokers {
    /// A view holding only `this` until the first listing.
    pub fn new(this: Broker) -> Brokers {
        let live = RwLock::new(Arc::new(vec![this.clone()]));
        Brokers {
            this,
            live,
            listed_at: Mutex::default(),
        }
    }

    /// This agent.
    pub fn this(&self) -> &Broker {
        &self.this
    }

    /// The live agents, by node id (this one always among them).
    pub fn live(&self) -> Arc<Vec<Broker>> {
        self.live
            .read()
            .map(|l| l.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// The agent named leader of `partition` of `topic`.
    pub fn leader_for(&self, topic: &str, partition: i32) -> Broker {
        self.rendezvous(&format!("p/{topic}/{partition}"))
    }

    /// The agent that coordinates `group`.
    pub fn coordinator_for(&self, group: &str) -> Broker {
        self.rendezvous(&format!("g/{group}"))
    }

    /// The live agent with the highest score for `key` (highest random weight hashing: when
    /// an agent joins or leaves, only the keys it wins or held move).
    fn rendezvous(&self, key: &str) -> Broker {
        let live = self.live();
        live.iter()
            .max_by_key(|b| score(key, b.node_id))
            .cloned()
            .unwrap_or_else(|| self.this.clone())
    }

    /// Rewrites this agent's entry and lists the others.
    pub async fn heartbeat(&self, storage: &Storage) -> Result<()> {
        let own = storage.keys.agents().join(self.this.entry_name());
        storage
            .objects
            .put(&own, PutPayload::from(Bytes::new()))
            .await?;
        self.list(storage).await
    }

    /// Lists the live agents again if the last listing is older than [`RELIST_AFTER`]: a
    /// Metadata request then sees an agent started since this one's last heartbeat (clients
    /// that are shown a broker list without an agent they are talking to drop their requests
    /// to it). At most one listing per [`RELIST_AFTER`], however many requests.
    pub async fn refresh(&self, storage: &Storage) {
        let due = {
            let mut listed = self.listed_at.lock().unwrap_or_else(|e| e.into_inner());
            let due = listed.is_none_or(|at| at.elapsed() >= RELIST_AFTER);
            if due {
                *listed = Some(Instant::now());
            }
            due
        };
        if due && let Err(e) = self.list(storage).await {
            tracing::debug!(error = %e, "listing agents for Metadata failed; keeping the last view");
        }
    }

    async fn list(&self, storage: &Storage) -> Result<()> {
        let dir = storage.keys.agents();
        let now_ms = storage.clock.now_ms();
        let entries: Vec<_> = storage.objects.list(Some(&dir)).try_collect().await?;
        let mut live = vec![self.this.clone()];
        for entry in entries {
            let age_ms = now_ms - entry.last_modified.timestamp_millis();
            if age_ms > FORGET_AFTER.as_millis() as i64 {
                forget(storage, &entry.location).await;
                continue;
            }
            let found = entry.location.filename().and_then(Broker::from_entry_name);
            match found {
                Some(b) if age_ms <= LIVE_FOR.as_millis() as i64 && b != self.this => live.push(b),
                _ => {}
            }
        }
        live.sort_by_key(|b| b.node_id);
        live.dedup_by_key(|b| b.node_id);
        *self.live.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(live);
        *self.listed_at.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        Ok(())
    }

    /// Removes this agent's entry (on a clean stop), so clients stop being sent here.
    pub async fn withdraw(&self, storage: &Storage) {
        forget(storage, &storage.keys.agents().join(self.this.entry_name())).await;
    }
}

async fn forget(storage: &Storage, location: &Path) {
    if let Err(e) = storage.objects.delete(location).await {
        tracing::debug!(%location, error = %e, "could not delete an agent entry");
    }
}

fn score(key: &str, node_id: i32) -> u64 {
    let h = crc32c::crc32c_append(crc32c::crc32c(key.as_bytes()), &node_id.to_be_bytes());
    // splitmix64's finalizer: spreads the 32-bit checksum over 64 bits.
    let mut z = u64::from(h).wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Heartbeats every [`HEARTBEAT_INTERVAL`] until `stop` turns true; then withdraws.
pub async fn run_registry(
    brokers: Arc<Brokers>,
    storage: Storage,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if let Err(e) = brokers.heartbeat(&storage).await {
            tracing::warn!(error = %e, "agent registry heartbeat failed; keeping the last view");
        }
        tokio::select! {
            () = silt_core::clock::sleep(HEARTBEAT_INTERVAL) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
    brokers.withdraw(&storage).await;
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_round_trip_and_ids_are_stable() {
        let b = Broker::at("10.0.0.7", 9092);
        assert_eq!(Broker::from_entry_name(&b.entry_name()), Some(b.clone()));
        assert_eq!(Broker::at("10.0.0.7", 9092).node_id, b.node_id);
        assert_ne!(Broker::at("10.0.0.8", 9092).node_id, b.node_id);
        assert!(b.node_id >= 0);
        assert_eq!(Broker::from_entry_name("zz"), None);
    }

    #[test]
    fn rendezvous_spreads_partitions_and_moves_few_when_an_agent_leaves() {
        let agents: Vec<Broker> = (0..3).map(|i| Broker::at("127.0.0.1", 9000 + i)).collect();
        let brokers = Brokers::new(agents[0].clone());
        *brokers.live.write().unwrap() = Arc::new(agents.clone());
        let before: Vec<i32> = (0..300)
            .map(|p| brokers.leader_for("t", p).node_id)
            .collect();
        for a in &agents {
            let led = before.iter().filter(|n| **n == a.node_id).count();
            assert!(
                (60..=140).contains(&led),
                "{led} of 300 partitions led by one of 3"
            );
        }
        *brokers.live.write().unwrap() = Arc::new(agents[..2].to_vec());
        let after: Vec<i32> = (0..300)
            .map(|p| brokers.leader_for("t", p).node_id)
            .collect();
        let gone = agents[2].node_id;
        for (b, a) in before.iter().zip(&after) {
            assert!(
                b == a || *b == gone,
                "only the leaving agent's partitions move"
            );
        }
    }
}

//! The Kafka wire protocol on a second listener (`silt agent --kafka-listen`), so that Kafka
//! clients (librdkafka, kcat, kafka-python, …) produce and consume with only the bootstrap
//! address changed (docs/kafka.md).
//!
//! ```text
//! TCP ─► connection: frames in (size bound first), answers out in request order, ≤ 5 in flight
//!          └─► dispatch: API key + version ─► one module per API ─► LogService (as HTTP does)
//! brokers: the registry of live agents (Metadata's broker list, leaders, coordinators)
//! groups:  the classic consumer-group APIs (silt_group::classic coordinates)
//! batch:   record batch v2 <-> silt records
//! ```
//!
//! An agent stays stateless: every answer comes from the store, and any agent accepts any
//! request (Metadata's leaders only steer traffic).

pub mod brokers;

mod api_versions;
mod batch;
mod connection;
mod dispatch;
mod errors;
mod fetch;
mod frame;
mod groups;
mod init_producer_id;
mod list_offsets;
mod metadata;
mod produce;
mod topics;
mod turn;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use silt_core::producer_ids::ProducerIds;
use silt_group::classic::ClassicCoordinator;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::service::LogService;
pub use brokers::{Broker, Brokers};
pub use dispatch::{KAFKA_ERRORS, KAFKA_REQUEST_SECONDS, KAFKA_REQUESTS};
pub use fetch::FETCH_WAIT_MAX;
pub use frame::FrameError;
pub use produce::DECOMPRESSED_BYTES_MAX;

/// Kafka's `socket.request.max.bytes` default: the largest request frame read.
pub const KAFKA_REQUEST_BYTES_MAX: usize = 100 * 1024 * 1024;
/// Requests of one connection handled at once (librdkafka's and Java's
/// `max.in.flight.requests.per.connection` with idempotence is 5); answers keep their order.
pub const KAFKA_IN_FLIGHT_MAX: usize = 5;

/// How the Kafka listener behaves.
#[derive(Debug, Clone)]
pub struct KafkaSettings {
    /// The largest request frame accepted; a larger one closes its connection unread.
    pub request_bytes_max: usize,
    /// Create an unknown topic with this many partitions when a client asks for it (Metadata
    /// with auto-creation allowed, or Produce); `None`: never (the default, as users expect).
    pub auto_create_partitions: Option<u32>,
}

impl Default for KafkaSettings {
    fn default() -> KafkaSettings {
        KafkaSettings {
            request_bytes_max: KAFKA_REQUEST_BYTES_MAX,
            auto_create_partitions: None,
        }
    }
}

/// What every request handler of one agent shares.
#[derive(Debug)]
pub struct KafkaContext {
    pub(crate) service: Arc<LogService>,
    pub(crate) brokers: Arc<Brokers>,
    pub(crate) settings: KafkaSettings,
    pub(crate) producer_ids: ProducerIds,
    /// The classic consumer groups this agent coordinates.
    pub(crate) groups: Arc<ClassicCoordinator>,
    /// Turns true when the agent stops: long-polls answer at once.
    pub(crate) stopping: watch::Receiver<bool>,
}

impl KafkaContext {
    /// The context of an agent serving `service`, known to clients as `brokers.this()`.
    pub fn new(
        service: Arc<LogService>,
        brokers: Arc<Brokers>,
        settings: KafkaSettings,
        stopping: watch::Receiver<bool>,
    ) -> KafkaContext {
        let producer_ids = ProducerIds::of(service.storage());
        let groups = Arc::new(groups::coordinator(&service, &brokers));
        KafkaContext {
            service,
            brokers,
            settings,
            producer_ids,
            groups,
            stopping,
        }
    }
}

/// Serves Kafka connections on `listener` until `shutdown` resolves; then stops accepting,
/// lets each connection answer what it read (up to `grace`), and returns.
pub async fn serve_kafka(
    listener: TcpListener,
    context: Arc<KafkaContext>,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) {
    let mut connections = JoinSet::new();
    let mut shutdown = std::pin::pin!(shutdown);
    // Ends the sessions of group members that went silent.
    let groups = context.groups.clone();
    let ticks = tokio::spawn(async move { groups.run_ticks().await });
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "kafka accept failed");
                    continue;
                }
            },
            () = &mut shutdown => break,
            Some(_) = connections.join_next() => continue,
        };
        connections.spawn(connection::serve(context.clone(), stream, peer));
    }
    drop(listener);
    ticks.abort();
    let drained = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(grace, drained).await.is_err() {
        tracing::warn!(
            ?grace,
            "kafka connections still open after the grace period"
        );
    }
}

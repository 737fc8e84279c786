//! `silt agent --kafka-listen`: the Kafka listener beside the HTTP one, and this agent's entry
//! in the registry of agents Kafka clients see as brokers (docs/kafka.md).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use silt_agent::kafka::brokers::run_registry;
use silt_agent::kafka::{Broker, Brokers, KafkaContext, KafkaSettings, serve_kafka};
use silt_agent::{LogService, check_kafka_listen, kafka_advertised};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::CliResult;
use crate::agent::{KafkaArgs, wait_until_true};
use crate::out::outln;

/// Binds the Kafka listener on `addr` and serves it (and the registry heartbeat) until
/// `stopped` turns true; the handle ends when its connections have answered (up to `grace`).
pub(crate) async fn start(
    args: &KafkaArgs,
    addr: SocketAddr,
    insecure_no_auth: bool,
    service: &Arc<LogService>,
    stopped: &watch::Receiver<bool>,
    grace: Duration,
) -> CliResult<JoinHandle<()>> {
    check_kafka_listen(addr, insecure_no_auth)?;
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let (host, port) = kafka_advertised(args.kafka_advertise.as_deref(), bound)?;
    outln!("kafka listening on {bound}")?;
    let brokers = Arc::new(Brokers::new(Broker::at(&host, port)));
    let storage = service.storage().clone();
    tokio::spawn(run_registry(brokers.clone(), storage, stopped.clone()));
    let settings = KafkaSettings {
        request_bytes_max: args.kafka_request_bytes_max,
        auto_create_partitions: args.auto_create_topics,
    };
    let context = KafkaContext::new(service.clone(), brokers, settings, stopped.clone());
    let shutdown = wait_until_true(stopped.clone());
    Ok(tokio::spawn(serve_kafka(
        listener,
        Arc::new(context),
        shutdown,
        grace,
    )))
}

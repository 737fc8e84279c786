//! Metadata: the live agents as brokers, and each asked-for topic's partitions with a leader
//! picked by rendezvous hashing over them (`brokers`). Leader epochs are -1, so clients skip
//! epoch validation; every partition's replicas and in-sync replicas are its leader alone. An
//! unknown topic is UNKNOWN_TOPIC_OR_PARTITION unless auto-creation is on (`--auto-create-topics`)
//! and the client allows it.

use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{ApiKey, BrokerId, MetadataRequest, MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use silt_core::topic::TopicConfig;

use super::KafkaContext;
use super::dispatch::count_error;
use super::topics::{known_or_created, topic_name};

/// The cluster id every agent of a store reports.
pub(crate) const CLUSTER_ID: &str = "silt";

pub(super) async fn handle(
    context: &KafkaContext,
    version: i16,
    request: MetadataRequest,
) -> MetadataResponse {
    let names: Vec<TopicName> = match request.topics {
        // v0: an empty list means every topic; v1+: null does.
        Some(topics) if !(version == 0 && topics.is_empty()) => {
            topics.into_iter().filter_map(|t| t.name).collect()
        }
        _ => all_topics(context).await,
    };
    let auto_create = request.allow_auto_topic_creation || version < 4;
    let mut topics = Vec::with_capacity(names.len());
    for name in names {
        topics.push(describe(context, name, auto_create).await);
    }
    context.brokers.refresh(context.service.storage()).await;
    let this = context.brokers.this().node_id;
    let brokers = context
        .brokers
        .live()
        .iter()
        .map(|b| {
            MetadataResponseBroker::default()
                .with_node_id(BrokerId(b.node_id))
                .with_host(StrBytes::from_string(b.host.clone()))
                .with_port(i32::from(b.port))
        })
        .collect();
    MetadataResponse::default()
        .with_brokers(brokers)
        .with_cluster_id(Some(StrBytes::from_static_str(CLUSTER_ID)))
        .with_controller_id(BrokerId(this))
        .with_topics(topics)
}

async fn all_topics(context: &KafkaContext) -> Vec<TopicName> {
    match context.service.list_topics().await {
        Ok(names) => names
            .into_iter()
            .map(|n| TopicName(StrBytes::from_string(n.to_string())))
            .collect(),
        Err(e) => {
            tracing::warn!(error = %e, "listing topics for Metadata failed");
            Vec::new()
        }
    }
}

async fn describe(
    context: &KafkaContext,
    name: TopicName,
    auto_create: bool,
) -> MetadataResponseTopic {
    let topic = MetadataResponseTopic::default().with_name(Some(name.clone()));
    let config = match topic_name(&name) {
        Ok(silt_name) => known_or_created(context, &silt_name, auto_create).await,
        Err(code) => Err(code),
    };
    match config {
        Ok(config) => topic.with_partitions(partitions(context, &config)),
        Err(code) => {
            count_error(ApiKey::Metadata, code.code());
            topic.with_error_code(code.code())
        }
    }
}

fn partitions(context: &KafkaContext, config: &TopicConfig) -> Vec<MetadataResponsePartition> {
    (0..config.partitions as i32)
        .map(|p| {
            let leader = BrokerId(context.brokers.leader_for(config.name.as_str(), p).node_id);
            MetadataResponsePartition::default()
                .with_partition_index(p)
                .with_leader_id(leader)
                .with_leader_epoch(-1)
                .with_replica_nodes(vec![leader])
                .with_isr_nodes(vec![leader])
        })
        .collect()
}

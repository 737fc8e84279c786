//! Topic administration as Kafka tools do it: CreateTopics (partitions and the configs silt
//! keeps: `retention.ms`, `retention.bytes`, `cleanup.policy`, `min.compaction.lag.ms`,
//! `delete.retention.ms`; any other config is INVALID_CONFIG; the replication factor is the
//! store's business and ignored), DeleteTopics, DescribeConfigs (a topic's configs; a broker's
//! is empty). Also the lookup every topic-naming API shares, with auto-creation when enabled.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult,
};
use kafka_protocol::messages::{
    ApiKey, CreateTopicsRequest, CreateTopicsResponse, DeleteTopicsRequest, DeleteTopicsResponse,
    DescribeConfigsRequest, DescribeConfigsResponse, TopicName as KafkaTopic,
};
use kafka_protocol::protocol::StrBytes;
use silt_core::error::{Error, InvalidInput};
use silt_core::ids::TopicName;
use silt_core::limits::PARTITIONS_MAX;
use silt_core::topic::{CleanupPolicy, TopicConfig, TopicSettings};

use super::KafkaContext;
use super::dispatch::count_error;
use super::errors::store_code;

/// DescribeConfigs' resource type of a topic (2; a broker is 4).
const RESOURCE_TOPIC: i8 = 2;

/// The silt name of a Kafka topic name, or INVALID_TOPIC_EXCEPTION.
pub(crate) fn topic_name(name: &KafkaTopic) -> Result<TopicName, ResponseError> {
    TopicName::new(name.0.as_str()).map_err(|_| ResponseError::InvalidTopicException)
}

/// The topic's configuration; an unknown topic is created first when `may_create` and the
/// agent auto-creates topics (`--auto-create-topics N`).
pub(crate) async fn known_or_created(
    context: &KafkaContext,
    name: &TopicName,
    may_create: bool,
) -> Result<TopicConfig, ResponseError> {
    match context.service.cached_topic(name).await {
        Err(Error::UnknownTopic(_)) if may_create => {}
        found => return found.map_err(|e| store_code(&e)),
    }
    let Some(partitions) = context.settings.auto_create_partitions else {
        return Err(ResponseError::UnknownTopicOrPartition);
    };
    let settings = TopicSettings::default();
    match context
        .service
        .create_topic(name, partitions, settings)
        .await
    {
        Ok(config) => Ok(config),
        // Another client created it meanwhile: use theirs.
        Err(Error::TopicExists(_)) => context
            .service
            .cached_topic(name)
            .await
            .map_err(|e| store_code(&e)),
        Err(e) => Err(store_code(&e)),
    }
}

pub(super) async fn create(
    context: &KafkaContext,
    _version: i16,
    request: CreateTopicsRequest,
) -> CreateTopicsResponse {
    let mut results = Vec::with_capacity(request.topics.len());
    for topic in request.topics {
        let name = topic.name.clone();
        let outcome = create_one(context, topic, request.validate_only).await;
        let result = CreatableTopicResult::default().with_name(name);
        results.push(match outcome {
            Ok(partitions) => result
                .with_num_partitions(partitions as i32)
                .with_replication_factor(1),
            Err((code, message)) => {
                count_error(ApiKey::CreateTopics, code.code());
                result
                    .with_error_code(code.code())
                    .with_error_message(Some(StrBytes::from_string(message)))
            }
        });
    }
    CreateTopicsResponse::default().with_topics(results)
}

async fn create_one(
    context: &KafkaContext,
    topic: CreatableTopic,
    validate_only: bool,
) -> Result<u32, (ResponseError, String)> {
    let name = topic_name(&topic.name).map_err(|code| {
        (
            code,
            format!("{} is not a valid topic name", topic.name.0.as_str()),
        )
    })?;
    let partitions = match topic.num_partitions {
        -1 => context.settings.auto_create_partitions.unwrap_or(1),
        n => u32::try_from(n).ok().filter(|n| *n > 0).ok_or((
            ResponseError::InvalidPartitions,
            format!("{n} partitions: give at least 1 (or -1 for the default)"),
        ))?,
    };
    let mut settings = TopicSettings::default();
    for config in &topic.configs {
        let value = config.value.as_ref().map_or("", |v| v.as_str());
        apply_config(&mut settings, config.name.as_str(), value)
            .map_err(|m| (ResponseError::InvalidConfig, m))?;
    }
    let invalid = |e: InvalidInput| (store_code(&Error::Invalid(e.clone())), e.to_string());
    settings.validate().map_err(invalid)?;
    if partitions > PARTITIONS_MAX {
        return Err(invalid(InvalidInput::PartitionCount {
            partitions,
            max: PARTITIONS_MAX,
        }));
    }
    if !validate_only {
        let created = context
            .service
            .create_topic(&name, partitions, settings)
            .await;
        created.map_err(|e| (store_code(&e), e.to_string()))?;
    }
    Ok(partitions)
}

/// Sets one Kafka topic config on `settings`, or says why it cannot.
fn apply_config(settings: &mut TopicSettings, name: &str, value: &str) -> Result<(), String> {
    let number = || {
        value
            .parse::<i64>()
            .map_err(|_| format!("{name}={value}: not a number"))
    };
    match name {
        "retention.ms" => settings.retention_ms = Some(number()?).filter(|v| *v != -1),
        "retention.bytes" => {
            settings.retention_bytes = u64::try_from(number()?).ok().filter(|v| *v > 0)
        }
        "min.compaction.lag.ms" => settings.min_compaction_lag_ms = Some(number()?),
        "delete.retention.ms" => settings.delete_retention_ms = Some(number()?),
        "cleanup.policy" => {
            settings.cleanup_policy = match value {
                "delete" => CleanupPolicy::Delete,
                "compact" => CleanupPolicy::Compact,
                _ => {
                    return Err(format!(
                        "cleanup.policy={value}: silt supports delete or compact"
                    ));
                }
            }
        }
        _ => {
            return Err(format!(
                "config {name} is not supported by silt (supported: retention.ms, retention.bytes, cleanup.policy, min.compaction.lag.ms, delete.retention.ms)"
            ));
        }
    }
    Ok(())
}

pub(super) async fn delete(
    context: &KafkaContext,
    _version: i16,
    request: DeleteTopicsRequest,
) -> DeleteTopicsResponse {
    let mut responses = Vec::new();
    for name in request.topic_names {
        let result = DeletableTopicResult::default().with_name(Some(name.clone()));
        let code = match topic_name(&name) {
            Ok(silt_name) => match context.service.delete_topic(&silt_name).await {
                Ok(_) => 0,
                Err(e) => store_code(&e).code(),
            },
            Err(code) => code.code(),
        };
        count_error(ApiKey::DeleteTopics, code);
        responses.push(result.with_error_code(code));
    }
    DeleteTopicsResponse::default().with_responses(responses)
}

pub(super) async fn describe_configs(
    context: &KafkaContext,
    _version: i16,
    request: DescribeConfigsRequest,
) -> DescribeConfigsResponse {
    let mut results = Vec::with_capacity(request.resources.len());
    for resource in request.resources {
        let result = DescribeConfigsResult::default()
            .with_resource_type(resource.resource_type)
            .with_resource_name(resource.resource_name.clone());
        if resource.resource_type != RESOURCE_TOPIC {
            results.push(result); // a broker's configs: none to show
            continue;
        }
        let name = KafkaTopic(resource.resource_name.clone());
        let config = match topic_name(&name) {
            Ok(n) => known_or_created(context, &n, false).await,
            Err(code) => Err(code),
        };
        results.push(match config {
            Ok(config) => {
                result.with_configs(configs_of(&config.settings, &resource.configuration_keys))
            }
            Err(code) => {
                count_error(ApiKey::DescribeConfigs, code.code());
                result.with_error_code(code.code())
            }
        });
    }
    DescribeConfigsResponse::default().with_results(results)
}

fn configs_of(
    s: &TopicSettings,
    keys: &Option<Vec<StrBytes>>,
) -> Vec<DescribeConfigsResourceResult> {
    let policy = match s.cleanup_policy {
        CleanupPolicy::Compact => "compact",
        _ => "delete",
    };
    let all = [
        ("retention.ms", s.retention_ms.unwrap_or(-1).to_string()),
        (
            "retention.bytes",
            s.retention_bytes.map_or(-1, |b| b as i64).to_string(),
        ),
        ("cleanup.policy", policy.to_string()),
        (
            "min.compaction.lag.ms",
            s.min_compaction_lag_ms.unwrap_or(0).to_string(),
        ),
        (
            "delete.retention.ms",
            s.delete_retention_ms
                .unwrap_or(silt_core::topic::DELETE_RETENTION_MS)
                .to_string(),
        ),
    ];
    all.into_iter()
        .filter(|(name, _)| {
            keys.as_ref()
                .is_none_or(|k| k.iter().any(|k| k.as_str() == *name))
        })
        .map(|(name, value)| {
            DescribeConfigsResourceResult::default()
                .with_name(StrBytes::from_static_str(name))
                .with_value(Some(StrBytes::from_string(value)))
        })
        .collect()
}

//! OffsetCommit (checked by the group's coordinator, written to the partitions' offset
//! records) and OffsetFetch (read from those records by any agent). A committed offset belongs
//! to one incarnation of its topic: an offset of a deleted topic's namesake reads as none (-1).

use std::collections::BTreeMap;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponseGroup, OffsetFetchResponsePartition, OffsetFetchResponsePartitions,
    OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::messages::{
    ApiKey, GroupId, OffsetCommitRequest, OffsetCommitResponse, OffsetFetchRequest,
    OffsetFetchResponse, TopicName as KafkaTopic,
};
use silt_core::ids::{PartitionId, TopicId, TopicName};
use silt_group::TopicPartition;
use silt_group::classic::{CommitRequest, MemberRef, OffsetToCommit};

use super::{check_coordinator, code_of, group_name, opt_string, text};
use crate::kafka::KafkaContext;
use crate::kafka::dispatch::count_error;
use crate::kafka::errors::store_code;
use crate::kafka::topics::topic_name;

/// The partition, if its topic exists and has it, with the topic's incarnation.
async fn known_partition(
    context: &KafkaContext,
    topic: &KafkaTopic,
    partition: i32,
) -> Result<(TopicPartition, TopicId), ResponseError> {
    let name = topic_name(topic)?;
    let config = context
        .service
        .cached_topic(&name)
        .await
        .map_err(|e| store_code(&e))?;
    let partition = u32::try_from(partition)
        .ok()
        .filter(|p| *p < config.partitions)
        .ok_or(ResponseError::UnknownTopicOrPartition)?;
    let partition = PartitionId(partition);
    Ok((
        TopicPartition {
            topic: name,
            partition,
        },
        config.topic_id,
    ))
}

pub(crate) async fn commit(
    context: &KafkaContext,
    _version: i16,
    request: OffsetCommitRequest,
) -> OffsetCommitResponse {
    // Each partition's code: set now for those refused before the commit.
    let mut codes: Vec<Vec<i16>> = Vec::with_capacity(request.topics.len());
    let mut offsets = Vec::new();
    let mut places = Vec::new();
    for (t, topic) in request.topics.iter().enumerate() {
        let mut topic_codes = Vec::with_capacity(topic.partitions.len());
        for (p, partition) in topic.partitions.iter().enumerate() {
            match known_partition(context, &topic.name, partition.partition_index).await {
                Ok((tp, topic_id)) => {
                    offsets.push(OffsetToCommit {
                        partition: tp,
                        topic_id,
                        offset: partition.committed_offset,
                        metadata: partition
                            .committed_metadata
                            .as_ref()
                            .map(|m| m.to_string())
                            .unwrap_or_default(),
                    });
                    places.push((t, p));
                    topic_codes.push(0);
                }
                Err(code) => topic_codes.push(code.code()),
            }
        }
        codes.push(topic_codes);
    }
    let answers = commit_offsets(context, &request, offsets).await;
    for ((t, p), code) in places.into_iter().zip(answers) {
        codes[t][p] = code;
    }
    let topics = request
        .topics
        .iter()
        .zip(codes)
        .map(|(topic, codes)| {
            let partitions = topic
                .partitions
                .iter()
                .zip(codes)
                .map(|(p, code)| {
                    count_error(ApiKey::OffsetCommit, code);
                    OffsetCommitResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(code)
                })
                .collect();
            OffsetCommitResponseTopic::default()
                .with_name(topic.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    OffsetCommitResponse::default().with_topics(topics)
}

/// Commits `offsets` (in order), one code per offset.
async fn commit_offsets(
    context: &KafkaContext,
    request: &OffsetCommitRequest,
    offsets: Vec<OffsetToCommit>,
) -> Vec<i16> {
    let count = offsets.len();
    let all = |code: ResponseError| vec![code.code(); count];
    if count == 0 {
        return Vec::new();
    }
    let group = match group_name(&request.group_id) {
        Ok(group) => group,
        Err(code) => return all(code),
    };
    if let Err(code) = check_coordinator(context, &group).await {
        return all(code);
    }
    let asked = CommitRequest {
        group,
        generation: request.generation_id_or_member_epoch,
        member: MemberRef {
            member_id: request.member_id.to_string(),
            instance_id: opt_string(&request.group_instance_id),
        },
        offsets,
    };
    match context.groups.commit(asked).await {
        Ok(answers) => answers
            .into_iter()
            .map(|(_, a)| a.err().map_or(0, |e| code_of(&e).code()))
            .collect(),
        Err(e) => all(code_of(&e)),
    }
}

/// One group's committed offsets: per topic, per partition (offset, metadata, code).
type Fetched = Vec<(KafkaTopic, Vec<(i32, i64, String, i16)>)>;

pub(crate) async fn fetch(
    context: &KafkaContext,
    version: i16,
    request: OffsetFetchRequest,
) -> OffsetFetchResponse {
    if version >= 8 {
        let mut groups = Vec::with_capacity(request.groups.len());
        for g in &request.groups {
            let asked = g.topics.as_ref().map(|ts| {
                ts.iter()
                    .map(|t| (t.name.clone(), t.partition_indexes.clone()))
                    .collect()
            });
            groups.push(group_answer(
                &g.group_id,
                fetch_group(context, &g.group_id, asked).await,
            ));
        }
        return OffsetFetchResponse::default().with_groups(groups);
    }
    let asked = request.topics.as_ref().map(|ts| {
        ts.iter()
            .map(|t| (t.name.clone(), t.partition_indexes.clone()))
            .collect()
    });
    match fetch_group(context, &request.group_id, asked).await {
        Ok(found) => OffsetFetchResponse::default().with_topics(
            found
                .into_iter()
                .map(|(name, partitions)| {
                    let partitions = partitions
                        .into_iter()
                        .map(|(index, offset, metadata, code)| {
                            OffsetFetchResponsePartition::default()
                                .with_partition_index(index)
                                .with_committed_offset(offset)
                                .with_committed_leader_epoch(-1)
                                .with_metadata(Some(text(metadata)))
                                .with_error_code(code)
                        })
                        .collect();
                    OffsetFetchResponseTopic::default()
                        .with_name(name)
                        .with_partitions(partitions)
                })
                .collect(),
        ),
        Err(code) => {
            count_error(ApiKey::OffsetFetch, code.code());
            OffsetFetchResponse::default().with_error_code(code.code())
        }
    }
}

fn group_answer(id: &GroupId, found: Result<Fetched, ResponseError>) -> OffsetFetchResponseGroup {
    let answer = OffsetFetchResponseGroup::default().with_group_id(id.clone());
    let found = match found {
        Ok(found) => found,
        Err(code) => {
            count_error(ApiKey::OffsetFetch, code.code());
            return answer.with_error_code(code.code());
        }
    };
    let topics = found
        .into_iter()
        .map(|(name, partitions)| {
            let partitions = partitions
                .into_iter()
                .map(|(index, offset, metadata, code)| {
                    OffsetFetchResponsePartitions::default()
                        .with_partition_index(index)
                        .with_committed_offset(offset)
                        .with_committed_leader_epoch(-1)
                        .with_metadata(Some(text(metadata)))
                        .with_error_code(code)
                })
                .collect();
            OffsetFetchResponseTopics::default()
                .with_name(name)
                .with_partitions(partitions)
        })
        .collect();
    answer.with_topics(topics)
}

/// The offsets of `asked` (topic, partitions), or of every partition with one (`None`).
async fn fetch_group(
    context: &KafkaContext,
    id: &GroupId,
    asked: Option<Vec<(KafkaTopic, Vec<i32>)>>,
) -> Result<Fetched, ResponseError> {
    let group = group_name(id)?;
    let wanted: Option<Vec<TopicPartition>> = asked.as_ref().map(|asked| {
        asked
            .iter()
            .filter_map(|(t, ps)| Some((topic_name(t).ok()?, ps)))
            .flat_map(|(topic, ps)| {
                ps.iter().filter_map(move |p| {
                    let partition = PartitionId(u32::try_from(*p).ok()?);
                    Some(TopicPartition {
                        topic: topic.clone(),
                        partition,
                    })
                })
            })
            .collect()
    });
    let found = context.groups.fetch(&group, wanted.as_deref()).await;
    let found = found.map_err(|e| code_of(&e))?;
    let mut current: BTreeMap<TopicName, Option<TopicId>> = BTreeMap::new();
    let mut by_topic: BTreeMap<String, Vec<(i32, i64, String, i16)>> = BTreeMap::new();
    for committed in found {
        let topic = committed.partition.topic.clone();
        if !current.contains_key(&topic) {
            let config = context.service.cached_topic(&topic).await.ok();
            current.insert(topic.clone(), config.map(|c| c.topic_id));
        }
        let live = current.get(&topic).copied().flatten();
        let offset = committed
            .offset
            .filter(|_| live.is_some() && committed.topic_id == live)
            .and_then(|o| i64::try_from(o).ok());
        if asked.is_none() && offset.is_none() {
            continue; // listing everything: only partitions with an offset
        }
        let index = i32::try_from(committed.partition.partition.0).unwrap_or(i32::MAX);
        let metadata = offset.map(|_| committed.metadata).unwrap_or_default();
        let entry = by_topic.entry(topic.to_string()).or_default();
        entry.push((index, offset.unwrap_or(-1), metadata, 0));
    }
    // Asked-for partitions that could not be named (bad topic names, negative indexes): -1.
    if let Some(asked) = asked {
        for (t, ps) in asked {
            let entry = by_topic.entry(t.0.to_string()).or_default();
            for p in ps {
                if !entry.iter().any(|(index, ..)| *index == p) {
                    entry.push((p, -1, String::new(), 0));
                }
            }
        }
    }
    Ok(by_topic
        .into_iter()
        .map(|(name, partitions)| (KafkaTopic(text(name)), partitions))
        .collect())
}

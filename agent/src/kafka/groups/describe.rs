//! ListGroups and DescribeGroups, for `kafka-consumer-groups` and admin clients: the Kafka
//! groups (those with a `classic.json`) this agent coordinates, and a group's state, protocol
//! and members with their metadata and assignment. silt's own groups are listed by
//! `silt group list`, not here.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{
    ApiKey, DescribeGroupsRequest, DescribeGroupsResponse, GroupId, ListGroupsRequest,
    ListGroupsResponse,
};
use silt_group::admin::GroupAdmin;

use super::{check_coordinator, code_of, group_name, text};
use crate::kafka::KafkaContext;
use crate::kafka::dispatch::count_error;

pub(crate) async fn list(
    context: &KafkaContext,
    version: i16,
    request: ListGroupsRequest,
) -> ListGroupsResponse {
    let admin = GroupAdmin::new(context.service.storage());
    let names = match admin.list().await {
        Ok(names) => names,
        Err(e) => {
            tracing::info!(error = %e, "ListGroups: the list of groups could not be read");
            count_error(
                ApiKey::ListGroups,
                ResponseError::CoordinatorNotAvailable.code(),
            );
            let code = ResponseError::CoordinatorNotAvailable.code();
            return ListGroupsResponse::default().with_error_code(code);
        }
    };
    let this = context.brokers.this().node_id;
    let wanted = |state: &str| {
        request.states_filter.is_empty()
            || request
                .states_filter
                .iter()
                .any(|s| s.eq_ignore_ascii_case(state))
    };
    let mut groups = Vec::new();
    for name in names {
        if context.brokers.coordinator_for(name.as_str()).node_id != this {
            continue; // listed by the agent that coordinates it
        }
        let Ok(Some(found)) = context.groups.describe(&name).await else {
            continue;
        };
        if !wanted(found.state) {
            continue;
        }
        let protocol_type = found.record.protocol_type.unwrap_or_default();
        groups.push(
            ListedGroup::default()
                .with_group_id(GroupId(text(name.to_string())))
                .with_protocol_type(text(protocol_type))
                .with_group_state(text(if version >= 4 { found.state } else { "" }))
                .with_group_type(text(if version >= 5 { "classic" } else { "" })),
        );
    }
    ListGroupsResponse::default().with_groups(groups)
}

pub(crate) async fn describe(
    context: &KafkaContext,
    _version: i16,
    request: DescribeGroupsRequest,
) -> DescribeGroupsResponse {
    let mut groups = Vec::with_capacity(request.groups.len());
    for id in request.groups {
        let described = describe_one(context, &id).await;
        if described.error_code != 0 {
            count_error(ApiKey::DescribeGroups, described.error_code);
        }
        groups.push(described);
    }
    DescribeGroupsResponse::default().with_groups(groups)
}

async fn describe_one(context: &KafkaContext, id: &GroupId) -> DescribedGroup {
    let answer = DescribedGroup::default()
        .with_group_id(id.clone())
        .with_authorized_operations(i32::MIN);
    let refused = |code: ResponseError| answer.clone().with_error_code(code.code());
    let group = match group_name(id) {
        Ok(group) => group,
        Err(code) => return refused(code),
    };
    if let Err(code) = check_coordinator(context, &group).await {
        return refused(code);
    }
    let found = match context.groups.describe(&group).await {
        Ok(Some(found)) => found,
        // As Kafka: a group it does not know is Dead, with no error.
        Ok(None) => return answer.with_group_state(text("Dead")),
        Err(e) => return refused(code_of(&e)),
    };
    let record = found.record;
    let protocol = record.protocol_name.clone().unwrap_or_default();
    let members = record
        .members
        .iter()
        .map(|m| {
            DescribedGroupMember::default()
                .with_member_id(text(m.member_id.clone()))
                .with_group_instance_id(m.instance_id.clone().map(text))
                .with_client_id(text(m.client_id.clone()))
                .with_client_host(text(m.client_host.clone()))
                .with_member_metadata(m.metadata(&protocol).cloned().unwrap_or_default())
                .with_member_assignment(m.assignment.clone())
        })
        .collect();
    answer
        .with_group_state(text(found.state))
        .with_protocol_type(text(record.protocol_type.unwrap_or_default()))
        .with_protocol_data(text(protocol))
        .with_members(members)
}

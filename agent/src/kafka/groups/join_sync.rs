//! JoinGroup and SyncGroup: the two barriers of a rebalance. The handler waits as long as the
//! coordinator's barrier does (up to the group's rebalance timeout), as a Kafka broker does.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{
    ApiKey, JoinGroupRequest, JoinGroupResponse, SyncGroupRequest, SyncGroupResponse,
};
use silt_group::classic::{
    ClassicError, JoinRequest, JoinResponse, MemberRef, SyncRequest, SyncResponse,
};
use silt_group::records::ClassicProtocol;

use super::{Client, check_coordinator, code_of, group_name, opt_string, text};
use crate::kafka::KafkaContext;
use crate::kafka::dispatch::count_error;

pub(crate) async fn join(
    context: &KafkaContext,
    version: i16,
    request: JoinGroupRequest,
    client: &Client,
) -> JoinGroupResponse {
    let refused = |code: ResponseError, member_id: &str| {
        count_error(ApiKey::JoinGroup, code.code());
        JoinGroupResponse::default()
            .with_error_code(code.code())
            .with_generation_id(-1)
            .with_member_id(text(member_id))
            .with_leader(text(""))
            .with_protocol_name((version < 7).then(|| text("")))
    };
    let group = match group_name(&request.group_id) {
        Ok(group) => group,
        Err(code) => return refused(code, &request.member_id),
    };
    if let Err(code) = check_coordinator(context, &group).await {
        return refused(code, &request.member_id);
    }
    let asked = JoinRequest {
        group,
        member_id: request.member_id.to_string(),
        instance_id: opt_string(&request.group_instance_id),
        client_id: client.id.clone(),
        client_host: client.host.clone(),
        session_timeout_ms: request.session_timeout_ms,
        rebalance_timeout_ms: if version >= 1 {
            request.rebalance_timeout_ms
        } else {
            -1
        },
        protocol_type: request.protocol_type.to_string(),
        protocols: request
            .protocols
            .iter()
            .map(|p| ClassicProtocol {
                name: p.name.to_string(),
                metadata: p.metadata.clone(),
            })
            .collect(),
        require_known_member_id: version >= 4,
    };
    match context.groups.join(asked).await {
        Ok(joined) => joined_response(version, joined),
        Err(ClassicError::MemberIdRequired { member_id }) => {
            refused(ResponseError::MemberIdRequired, &member_id)
        }
        Err(e) => refused(code_of(&e), &request.member_id),
    }
}

fn joined_response(version: i16, joined: JoinResponse) -> JoinGroupResponse {
    let members = joined
        .members
        .into_iter()
        .map(|m| {
            JoinGroupResponseMember::default()
                .with_member_id(text(m.member_id))
                .with_group_instance_id(m.instance_id.filter(|_| version >= 5).map(text))
                .with_metadata(m.metadata)
        })
        .collect();
    let protocol_name = match joined.protocol_name {
        None if version < 7 => Some(text("")),
        name => name.map(text),
    };
    JoinGroupResponse::default()
        .with_generation_id(joined.generation)
        .with_protocol_type(joined.protocol_type.filter(|_| version >= 7).map(text))
        .with_protocol_name(protocol_name)
        .with_leader(text(joined.leader))
        .with_skip_assignment(joined.skip_assignment && version >= 9)
        .with_member_id(text(joined.member_id))
        .with_members(members)
}

pub(crate) async fn sync(
    context: &KafkaContext,
    version: i16,
    request: SyncGroupRequest,
) -> SyncGroupResponse {
    let refused = |code: ResponseError| {
        count_error(ApiKey::SyncGroup, code.code());
        SyncGroupResponse::default().with_error_code(code.code())
    };
    let group = match group_name(&request.group_id) {
        Ok(group) => group,
        Err(code) => return refused(code),
    };
    if let Err(code) = check_coordinator(context, &group).await {
        return refused(code);
    }
    let asked = SyncRequest {
        group,
        generation: request.generation_id,
        member: MemberRef {
            member_id: request.member_id.to_string(),
            instance_id: opt_string(&request.group_instance_id),
        },
        protocol_type: opt_string(&request.protocol_type),
        protocol_name: opt_string(&request.protocol_name),
        assignments: request
            .assignments
            .into_iter()
            .map(|a| (a.member_id.to_string(), a.assignment))
            .collect(),
    };
    match context.groups.sync(asked).await {
        Ok(SyncResponse {
            protocol_type,
            protocol_name,
            assignment,
        }) => SyncGroupResponse::default()
            .with_protocol_type(protocol_type.filter(|_| version >= 5).map(text))
            .with_protocol_name(protocol_name.filter(|_| version >= 5).map(text))
            .with_assignment(assignment),
        Err(e) => refused(code_of(&e)),
    }
}

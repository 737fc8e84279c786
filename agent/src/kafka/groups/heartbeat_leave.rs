//! Heartbeat (a member's session goes on; REBALANCE_IN_PROGRESS tells it to rejoin) and
//! LeaveGroup (one member before v3, a batch after, each with its own answer).

use kafka_protocol::ResponseError;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{
    ApiKey, HeartbeatRequest, HeartbeatResponse, LeaveGroupRequest, LeaveGroupResponse,
};
use silt_group::classic::MemberRef;

use super::{check_coordinator, code_of, group_name, opt_string, text};
use crate::kafka::KafkaContext;
use crate::kafka::dispatch::count_error;

pub(crate) async fn heartbeat(
    context: &KafkaContext,
    _version: i16,
    request: HeartbeatRequest,
) -> HeartbeatResponse {
    let answer = async {
        let group = group_name(&request.group_id)?;
        check_coordinator(context, &group).await?;
        let member = MemberRef {
            member_id: request.member_id.to_string(),
            instance_id: opt_string(&request.group_instance_id),
        };
        let beat = context
            .groups
            .heartbeat(&group, request.generation_id, &member);
        beat.await.map_err(|e| code_of(&e))
    };
    match answer.await {
        Ok(()) => HeartbeatResponse::default(),
        Err(code) => {
            count_error(ApiKey::Heartbeat, code.code());
            HeartbeatResponse::default().with_error_code(code.code())
        }
    }
}

pub(crate) async fn leave(
    context: &KafkaContext,
    version: i16,
    request: LeaveGroupRequest,
) -> LeaveGroupResponse {
    let members: Vec<MemberRef> = match version {
        0..=2 => vec![MemberRef {
            member_id: request.member_id.to_string(),
            instance_id: None,
        }],
        _ => request
            .members
            .iter()
            .map(|m| MemberRef {
                member_id: m.member_id.to_string(),
                instance_id: opt_string(&m.group_instance_id),
            })
            .collect(),
    };
    let refused = |code: ResponseError| {
        count_error(ApiKey::LeaveGroup, code.code());
        LeaveGroupResponse::default().with_error_code(code.code())
    };
    let group = match group_name(&request.group_id) {
        Ok(group) => group,
        Err(code) => return refused(code),
    };
    if let Err(code) = check_coordinator(context, &group).await {
        return refused(code);
    }
    let answers = match context.groups.leave(&group, &members).await {
        Ok(answers) => answers,
        Err(e) => return refused(code_of(&e)),
    };
    if version < 3 {
        return match answers.into_iter().next() {
            Some(Err(e)) => refused(code_of(&e)),
            _ => LeaveGroupResponse::default(),
        };
    }
    let responses = members
        .into_iter()
        .zip(answers)
        .map(|(m, answer)| {
            let code = answer.err().map_or(0, |e| code_of(&e).code());
            count_error(ApiKey::LeaveGroup, code);
            MemberResponse::default()
                .with_member_id(text(m.member_id))
                .with_group_instance_id(m.instance_id.map(text))
                .with_error_code(code)
        })
        .collect();
    LeaveGroupResponse::default().with_members(responses)
}

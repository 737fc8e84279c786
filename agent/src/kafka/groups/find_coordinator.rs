//! FindCoordinator: the agent that coordinates a group, by rendezvous hashing over the live
//! agents (`brokers::coordinator_for`). v0–v3 ask for one key, v4+ for a batch. Transaction
//! coordinators are refused: silt has no transactions.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{ApiKey, BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;

use super::text;
use crate::kafka::KafkaContext;
use crate::kafka::dispatch::count_error;

/// FindCoordinator's key type of a consumer group.
const GROUP_KEY: i8 = 0;

pub(crate) async fn handle(
    context: &KafkaContext,
    version: i16,
    request: FindCoordinatorRequest,
) -> FindCoordinatorResponse {
    if version >= 4 {
        let coordinators = request
            .coordinator_keys
            .iter()
            .map(|key| find(context, request.key_type, key))
            .collect();
        return FindCoordinatorResponse::default().with_coordinators(coordinators);
    }
    let found = find(context, request.key_type, &request.key);
    FindCoordinatorResponse::default()
        .with_error_code(found.error_code)
        .with_error_message(found.error_message.filter(|_| version >= 1))
        .with_node_id(found.node_id)
        .with_host(found.host)
        .with_port(found.port)
}

fn find(context: &KafkaContext, key_type: i8, key: &StrBytes) -> Coordinator {
    let answer = Coordinator::default().with_key(key.clone());
    let refused = |code: ResponseError, message: &str| {
        count_error(ApiKey::FindCoordinator, code.code());
        answer
            .clone()
            .with_error_code(code.code())
            .with_error_message(Some(text(message)))
            .with_node_id(BrokerId(-1))
            .with_host(text(""))
            .with_port(-1)
    };
    if key_type != GROUP_KEY {
        return refused(
            ResponseError::InvalidRequest,
            "silt has no transactions: only group coordinators (key type 0) are found",
        );
    }
    if silt_core::ids::GroupName::new(key.as_str()).is_err() {
        return refused(
            ResponseError::InvalidGroupId,
            "group ids are 1 to 249 characters from [a-zA-Z0-9._-]",
        );
    }
    let broker = context.brokers.coordinator_for(key.as_str());
    answer
        .with_node_id(BrokerId(broker.node_id))
        .with_host(text(broker.host))
        .with_port(i32::from(broker.port))
}

//! InitProducerId: a cluster-unique producer id for an idempotent producer, taken from blocks
//! reserved by conditional writes on one counter (`silt_core::producer_ids`), with epoch 0. A
//! producer that asks again with its id and epoch (KIP-360, after UNKNOWN_PRODUCER_ID or an
//! out-of-order sequence) gets a fresh id: its new epoch 0 starts at sequence 0 everywhere.
//! A transactional id is refused: transactions are not supported.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::{ApiKey, InitProducerIdRequest, InitProducerIdResponse, ProducerId};

use super::KafkaContext;
use super::dispatch::count_error;
use super::errors::store_code;

pub(super) async fn handle(
    context: &KafkaContext,
    _version: i16,
    request: InitProducerIdRequest,
) -> InitProducerIdResponse {
    let response = InitProducerIdResponse::default()
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let code = match request.transactional_id {
        Some(_) => ResponseError::TransactionalIdAuthorizationFailed,
        None => match context.producer_ids.allocate().await {
            Ok(id) => {
                return response
                    .with_producer_id(ProducerId(id.0))
                    .with_producer_epoch(0);
            }
            Err(e) => store_code(&e),
        },
    };
    count_error(ApiKey::InitProducerId, code.code());
    response.with_error_code(code.code())
}

//! Faults in DynamoDB calls, injected inside the AWS SDK by an interceptor, so the SDK's own
//! retries, error parsing and idempotency tokens are exercised as they would be in production:
//!
//! - *before*: the request is turned into a harmless one (its target becomes `DescribeLimits`,
//!   so the server changes nothing) and the answer replaced by the chosen error;
//! - *after*: the request takes effect and its answer is replaced by the chosen error.
//!
//! Errors: throttling (the SDK retries it), an internal server error, or a cancelled
//! transaction (what a condition failure looks like). Choices come from a seeded RNG. With no
//! rules it only counts the calls, by operation (tests that bound a lookup's requests).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::Client;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextMut, BeforeTransmitInterceptorContextMut,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::{Response, StatusCode};
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The error a faulted call answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DynamoError {
    /// `ThrottlingException` (400, retried by the SDK).
    Throttling,
    /// `InternalServerError` (500, retried by the SDK).
    ServerError,
    /// `TransactionCanceledException` with a failed condition (not retried).
    Cancelled,
}

/// When the fault strikes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DynamoFault {
    /// The call changes nothing and answers with the error.
    Before(DynamoError),
    /// The call takes effect and answers with the error.
    After(DynamoError),
}

/// A fault on one operation (such as `TransactWriteItems`), with a probability per attempt.
#[derive(Debug, Clone, Copy)]
pub struct DynamoRule {
    /// Operation name, as in the DynamoDB API.
    pub operation: &'static str,
    /// What happens.
    pub fault: DynamoFault,
    /// Chance per attempt, 0.0..=1.0.
    pub probability: f64,
}

/// The interceptor: add it to a client with [`DynamoFaults::client`].
#[derive(Debug, Clone)]
pub struct DynamoFaults {
    rules: Arc<Vec<DynamoRule>>,
    rng: Arc<Mutex<StdRng>>,
    injected: Arc<Mutex<u64>>,
    calls: Arc<Mutex<HashMap<String, u64>>>,
}

/// This attempt's fault, kept between the hooks of one attempt.
#[derive(Debug, Clone)]
struct Chosen(Option<DynamoFault>);

impl Storable for Chosen {
    type Storer = StoreReplace<Self>;
}

impl DynamoFaults {
    /// Faults following `rules`, chosen with a RNG seeded by `seed`.
    pub fn new(rules: Vec<DynamoRule>, seed: u64) -> DynamoFaults {
        DynamoFaults {
            rules: Arc::new(rules),
            rng: Arc::new(Mutex::new(StdRng::seed_from_u64(seed))),
            injected: Arc::default(),
            calls: Arc::default(),
        }
    }

    /// `client` with this interceptor added.
    pub fn client(&self, client: &Client) -> Client {
        let config = client
            .config()
            .to_builder()
            .interceptor(self.clone())
            .build();
        Client::from_conf(config)
    }

    /// Faults injected so far.
    pub fn injected(&self) -> u64 {
        self.injected.lock().map_or(0, |n| *n)
    }

    /// Attempts of `operation` (such as `Query`) sent so far, retries included.
    pub fn calls(&self, operation: &str) -> u64 {
        let calls = self.calls.lock();
        calls.map_or(0, |c| c.get(operation).copied().unwrap_or(0))
    }

    fn choose(&self, operation: &str) -> Option<DynamoFault> {
        if let Ok(mut calls) = self.calls.lock() {
            *calls.entry(operation.to_string()).or_default() += 1;
        }
        let mut rng = self.rng.lock().ok()?;
        let fault = self
            .rules
            .iter()
            .filter(|r| r.operation == operation)
            .find(|r| rng.random_bool(r.probability.clamp(0.0, 1.0)))
            .map(|r| r.fault);
        if fault.is_some()
            && let Ok(mut n) = self.injected.lock()
        {
            *n += 1;
        }
        fault
    }
}

impl Intercept for DynamoFaults {
    fn name(&self) -> &'static str {
        "DynamoFaults"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg.load::<Metadata>().map(|m| m.name().to_string());
        let chosen = operation.and_then(|op| self.choose(&op));
        if let Some(DynamoFault::Before(_)) = chosen {
            let headers = context.request_mut().headers_mut();
            headers.insert("x-amz-target", "DynamoDB_20120810.DescribeLimits");
        }
        cfg.interceptor_state().store_put(Chosen(chosen));
        Ok(())
    }

    fn modify_before_deserialization(
        &self,
        context: &mut BeforeDeserializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let error = match cfg.load::<Chosen>() {
            Some(Chosen(Some(DynamoFault::Before(e) | DynamoFault::After(e)))) => *e,
            _ => return Ok(()),
        };
        let (status, kind, message) = match error {
            DynamoError::Throttling => (400, "ThrottlingException", "Rate exceeded (injected)"),
            DynamoError::ServerError => (500, "InternalServerError", "Internal error (injected)"),
            DynamoError::Cancelled => (
                400,
                "TransactionCanceledException",
                "Transaction cancelled, please refer cancellation reasons for specific reasons [ConditionalCheckFailed] (injected)",
            ),
        };
        let body = format!(
            r#"{{"__type":"com.amazonaws.dynamodb.v20120810#{kind}","message":"{message}"}}"#
        );
        let status = StatusCode::try_from(status)?;
        let mut response = Response::new(status, SdkBody::from(body));
        response
            .headers_mut()
            .insert("content-type", "application/x-amz-json-1.0");
        *context.response_mut() = response;
        Ok(())
    }
}

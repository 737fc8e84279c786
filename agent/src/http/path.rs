//! Path and query parameters, checked with errors that name the parameter (axum's own
//! rejections are plain text).

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use silt_core::ids::{GroupName, PartitionId, TopicName};
use silt_group::MemberId;

use crate::http::error::ApiError;
use crate::http::topics::topic_name;

/// `{topic}` of the path, a valid topic name.
pub(crate) struct TopicPath(pub(crate) TopicName);

/// `{topic}` and `{partition}` of the path.
pub(crate) struct PartitionPath(pub(crate) TopicName, pub(crate) PartitionId);

impl<S: Send + Sync> FromRequestParts<S> for TopicPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(format!("the path: {e}")))?;
        let topic = params.get("topic").cloned().unwrap_or_default();
        Ok(TopicPath(topic_name(topic)?))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PartitionPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::bad_request(format!("the path: {e}")))?;
        let topic = topic_name(params.get("topic").cloned().unwrap_or_default())?;
        let partition = params.get("partition").map_or("", String::as_str);
        let partition = partition.parse::<u32>().map_err(|_| {
            ApiError::bad_request(format!(
                "partition {partition:?} in the path must be an integer from 0 to {}",
                u32::MAX
            ))
        })?;
        Ok(PartitionPath(topic, PartitionId(partition)))
    }
}

/// `{group}` of the path, a valid group name.
pub(crate) struct GroupPath(pub(crate) GroupName);

/// `{group}` and `{member}` of the path: a member id as its join answered it.
pub(crate) struct MemberPath(pub(crate) GroupName, pub(crate) MemberId);

async fn params<S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
) -> Result<HashMap<String, String>, ApiError> {
    let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map_err(|e| ApiError::bad_request(format!("the path: {e}")))?;
    Ok(params)
}

impl<S: Send + Sync> FromRequestParts<S> for GroupPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let params = params(parts, state).await?;
        let group = params.get("group").cloned().unwrap_or_default();
        Ok(GroupPath(GroupName::new(group)?))
    }
}

impl<S: Send + Sync> FromRequestParts<S> for MemberPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let params = params(parts, state).await?;
        let group = GroupName::new(params.get("group").cloned().unwrap_or_default())?;
        let member = MemberId(params.get("member").cloned().unwrap_or_default());
        Ok(MemberPath(group, member))
    }
}

/// The query string's parameters, each at most once and each one the route knows.
#[derive(Debug, Default)]
pub(crate) struct Query(HashMap<String, String>);

impl Query {
    /// Parses `query`, refusing a parameter not in `known` or given twice.
    pub(crate) fn parse(query: Option<&str>, known: &[&str]) -> Result<Query, ApiError> {
        let mut params = HashMap::new();
        for (name, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            if !known.contains(&name.as_ref()) {
                return Err(ApiError::bad_request(format!(
                    "unknown query parameter {name:?}; expected one of {known:?}"
                )));
            }
            if params.insert(name.to_string(), value.to_string()).is_some() {
                return Err(ApiError::bad_request(format!(
                    "query parameter {name:?} is given twice"
                )));
            }
        }
        Ok(Query(params))
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A parameter that must be a non-negative integer, when given.
    pub(crate) fn u64(&self, name: &str) -> Result<Option<u64>, ApiError> {
        self.get(name)
            .map(|v| {
                v.parse().map_err(|_| {
                    ApiError::bad_request(format!(
                        "query parameter {name:?} must be an integer from 0 to {}, not {v:?}",
                        u64::MAX
                    ))
                })
            })
            .transpose()
    }

    /// Integer parameter `name` from `min` to `max` (`default` when absent); out of range is
    /// refused naming the bounds, with `limit`.
    pub(crate) fn bounded(
        &self,
        name: &str,
        min: u64,
        max: u64,
        default: u64,
    ) -> Result<u64, ApiError> {
        match self.u64(name)? {
            None => Ok(default),
            Some(v) if (min..=max).contains(&v) => Ok(v),
            Some(v) => Err(ApiError::bad_request(format!(
                "query parameter {name:?} must be from {min} to {max}, not {v}"
            ))
            .with("limit", max)),
        }
    }

    /// A parameter that must be an integer, when given.
    pub(crate) fn i64(&self, name: &str) -> Result<Option<i64>, ApiError> {
        self.get(name)
            .map(|v| {
                v.parse().map_err(|_| {
                    ApiError::bad_request(format!(
                        "query parameter {name:?} must be an integer, not {v:?}"
                    ))
                })
            })
            .transpose()
    }
}

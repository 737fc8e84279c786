//! `GET /v1/groups` and `GET /v1/groups/{group}`: the consumer groups of the store and one
//! group's members, committed offsets and lag (`silt_group::admin`, what `silt group list` and
//! `silt group describe --json` print). Read only, and served by every agent, Lambda included:
//! resets and deletes stay on the command line, where an operator runs them.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::json;
use silt_group::admin::GroupAdmin;

use crate::http::error::ApiError;
use crate::http::path::GroupPath;
use crate::http::{AppState, json_ok};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/groups", get(list))
        .route("/v1/groups/{group}", get(describe))
}

async fn list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let groups = GroupAdmin::new(state.service.storage()).list().await?;
    let names: Vec<&str> = groups.iter().map(|g| g.as_str()).collect();
    Ok(json_ok(json!({ "groups": names })))
}

async fn describe(
    State(state): State<AppState>,
    GroupPath(group): GroupPath,
) -> Result<Response, ApiError> {
    let described = GroupAdmin::new(state.service.storage())
        .describe(&group)
        .await?;
    let body = serde_json::to_value(&described).map_err(|e| {
        let message = format!("encoding the group description: {e}");
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    })?;
    Ok(json_ok(body))
}

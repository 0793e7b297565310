//! `/-/health` (the process is up) and `/-/ready` (the directory knows its instances, and the default
//! instance, if any, answers PING).

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use redisgate_core::protocol::Command;

use crate::{ApiError, AppState};

/// Liveness: always `{"status":"ok"}`.
pub async fn live() -> Response {
    super::json_ok(br#"{"status":"ok"}"#.to_vec())
}

/// Readiness: 503 while shutting down, while the directory does not know its instances yet, or while the
/// default instance's Redis does not answer.
pub async fn ready(State(state): State<AppState>) -> Response {
    if state.shutdown.is_cancelled() {
        return ApiError::NotReady("shutting down").into_response();
    }
    if !state.directory.ready() {
        return ApiError::NotReady("the instances are not known yet").into_response();
    }
    if let Some(instance) = state.directory.default_instance() {
        let Ok(ping) = Command::new(b"ping".to_vec(), Vec::new()) else {
            return ApiError::Internal("ping".into()).into_response();
        };
        if instance.upstream().run(&ping, state.limits.max_response_bytes).await.is_err() {
            return ApiError::NotReady("redis does not answer").into_response();
        }
    }
    super::json_ok(br#"{"status":"ready"}"#.to_vec())
}

//! Request handlers, one file per endpoint kind, and the helpers they share to write replies.

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use redis::Value;
use redisgate_core::limits::Limits;
use redisgate_core::protocol::compat::ScriptAliases;
use redisgate_core::protocol::encode::{error_text, json, resp2};
use redisgate_core::protocol::{Access, Command, ResponseFormat};

use crate::{ApiError, AppState};

pub mod command;
pub mod data_plane;
pub mod health;
pub mod monitor;
pub mod pipeline;
pub mod subscribe;
pub mod transaction;

/// What every command of one request passes before it runs. Every endpoint that runs commands goes through
/// [`Gate::ready`].
pub struct Gate<'a> {
    /// The token's access.
    pub access: Access,
    /// The instance's and the key's limits combined.
    pub limits: &'a Limits,
    /// The process's script aliases.
    pub scripts: &'a ScriptAliases,
}

impl Gate<'_> {
    /// Readies one command: the REST policy and the token's access, the size limits, then the Upstash
    /// emulations (script aliases, SCAN WITHTYPE...).
    fn ready(&self, command: Command) -> Result<Command, redisgate_core::Error> {
        command.check(self.access)?;
        self.limits.check_command(&command)?;
        Ok(self.scripts.prepare(command))
    }
}

/// A 200 response with one command's reply; an error reply from Redis becomes a 400 `{"error"}`.
fn reply(format: ResponseFormat, value: &Value) -> Result<Response, ApiError> {
    if let Value::ServerError(e) = value {
        return Err(ApiError::Redis(error_text(e)));
    }
    Ok(match format {
        ResponseFormat::Resp2 => octets(resp2::reply(value)?),
        _ => json_ok(json::result(value, format.is_base64())?),
    })
}

/// A 200 response with several replies in order, errors in place.
fn replies(format: ResponseFormat, values: &[Value]) -> Result<Response, ApiError> {
    Ok(match format {
        ResponseFormat::Resp2 => octets(resp2::replies(values)?),
        _ => json_ok(json::results(values, format.is_base64())?),
    })
}

/// An SSE response over `events` with the state's keepalive, ending on shutdown, counted in the metrics.
fn event_stream<S>(state: &AppState, events: S) -> Response
where
    S: futures_util::Stream<Item = bytes::Bytes> + Send + 'static,
{
    let shutdown = tokio_util::sync::CancellationToken::clone(&state.shutdown);
    crate::sse::response(events, state.limits.sse_keepalive, shutdown, state.metrics.sse_stream())
}

fn json_ok(body: Vec<u8>) -> Response {
    with_type(body, "application/json")
}

fn octets(body: Vec<u8>) -> Response {
    with_type(body, "application/octet-stream")
}

fn with_type(body: Vec<u8>, content_type: &'static str) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

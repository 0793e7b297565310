//! Request handlers, one file per endpoint kind, and the helpers they share to write replies; the gate every
//! command passes is in [`gate`].

use axum::body::Body;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use redis::Value;
use redisgate_core::protocol::encode::{error_text, json, resp2, Reply};
use redisgate_core::protocol::ResponseFormat;

use crate::replies::held_bytes;
use crate::{ApiError, AppState};

pub mod command;
pub mod data_plane;
mod gate;
pub mod health;
pub mod monitor;
pub mod pipeline;
pub mod subscribe;
pub mod transaction;

pub use gate::Gate;

/// A 200 response with one command's reply; an error reply from Redis becomes a 400 `{"error"}`, or a 503
/// with `Retry-After` when it says Redis cannot serve for a moment ([`ApiError::Unready`]).
fn reply(format: ResponseFormat, value: &Value, gate: &Gate<'_>) -> Result<Response, ApiError> {
    if let Value::ServerError(e) = value {
        if matches!(e.code(), "NOREPLICAS" | "MASTERDOWN" | "LOADING") {
            return Err(ApiError::Unready(error_text(e)));
        }
        return Err(ApiError::Redis(error_text(e)));
    }
    match format {
        ResponseFormat::Resp2 => {
            encoded(gate, json::size_hint(value, false), OCTETS, |limit| resp2::reply(value, limit))
        }
        _ => encoded(gate, 12 + json::size_hint(value, format.is_base64()), JSON, |limit| {
            json::result(value, format.is_base64(), limit)
        }),
    }
}

/// A 200 response with several replies in order, errors and refusals in place.
fn replies(format: ResponseFormat, replies: &[Reply], gate: &Gate<'_>) -> Result<Response, ApiError> {
    match format {
        ResponseFormat::Resp2 => {
            encoded(gate, resp2::replies_hint(replies), OCTETS, |limit| resp2::replies(replies, limit))
        }
        _ => encoded(gate, json::results_hint(replies, format.is_base64()), JSON, |limit| {
            json::results(replies, format.is_base64(), limit)
        }),
    }
}

const JSON: HeaderValue = HeaderValue::from_static("application/json");
const OCTETS: HeaderValue = HeaderValue::from_static("application/octet-stream");

/// Encodes a reply of about `hint` bytes within the request's limit, holding its bytes in the process's
/// reply budget from before it is built until it is written.
fn encoded(
    gate: &Gate<'_>,
    hint: usize,
    content_type: HeaderValue,
    encode: impl FnOnce(usize) -> redisgate_core::Result<Vec<u8>>,
) -> Result<Response, ApiError> {
    let (budget, max) = gate.replies;
    let held = budget.hold(hint.min(gate.max_response), max)?;
    let body = encode(gate.max_response)?;
    let mut response = Response::new(Body::from(held_bytes(body, held)));
    response.headers_mut().insert(header::CONTENT_TYPE, content_type);
    Ok(response)
}

/// An SSE response over `events` with the state's keepalive, ending on shutdown, counted in the metrics.
fn event_stream<S>(state: &AppState, events: S) -> Response
where
    S: futures_util::Stream<Item = bytes::Bytes> + Send + 'static,
{
    let shutdown = tokio_util::sync::CancellationToken::clone(&state.shutdown);
    crate::sse::response(events, state.limits.sse_keepalive, shutdown, state.metrics.sse_stream())
}

/// A small, fixed JSON answer (health endpoints).
fn json_ok(body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    response.headers_mut().insert(header::CONTENT_TYPE, JSON);
    response
}

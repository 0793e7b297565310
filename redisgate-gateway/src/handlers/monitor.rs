//! `/monitor`: every command Redis runs, as Server-Sent Events. It shows all data, so it needs the
//! standard token.

use axum::response::Response;
use futures_util::{stream, StreamExt};
use redisgate_core::protocol::Access;

use crate::directory::Instance;
use crate::{sse, ApiError, AppState};

/// Joins the instance's MONITOR connection and streams its lines: first `"OK"`, then one event per command.
pub async fn stream(state: &AppState, instance: &Instance, access: Access) -> Result<Response, ApiError> {
    if access != Access::Full {
        return Err(redisgate_core::Error::NoPermission("monitor".into()).into());
    }
    let lines = instance.upstream().monitor().await?;
    let events = stream::once(async { sse::event(&[b"\"OK\""]) }).chain(lines);
    Ok(super::event_stream(state, events))
}

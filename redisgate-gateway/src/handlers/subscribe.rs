//! `/subscribe/<channel>` and `/psubscribe/<pattern>`: Redis pub/sub as Server-Sent Events.
//!
//! Each stream holds its own Redis connection, so the first event is always `subscribe,<channel>,1`, sent as
//! soon as Redis confirms the subscription. When the client goes away the body is dropped, and with it the
//! connection, which releases the subscription in Redis. Payloads are sent raw (never base64), as the JS
//! client parses them.

use axum::response::Response;
use futures_util::{stream, StreamExt};

use tokio_util::sync::CancellationToken;

use crate::directory::Instance;
use crate::{sse, ApiError, AppState};

/// What to subscribe to.
pub enum Target {
    /// One channel (`SUBSCRIBE`).
    Channel(Vec<u8>),
    /// A glob pattern (`PSUBSCRIBE`).
    Pattern(Vec<u8>),
}

/// Subscribes on a dedicated connection and streams the messages.
pub async fn stream(state: &AppState, instance: &Instance, target: Target) -> Result<Response, ApiError> {
    let name = match &target {
        Target::Channel(name) | Target::Pattern(name) => name.clone(),
    };
    if name.iter().any(|b| matches!(b, b'\r' | b'\n')) {
        return Err(redisgate_core::Error::invalid("channel names must not contain CR or LF").into());
    }
    let mut pubsub = instance.upstream().pubsub().await?;
    let first = match target {
        Target::Channel(_) => {
            pubsub.subscribe(&name[..]).await?;
            sse::event(&[b"subscribe", &name, b"1"])
        }
        Target::Pattern(_) => {
            pubsub.psubscribe(&name[..]).await?;
            sse::event(&[b"psubscribe", &name, b"1"])
        }
    };
    let messages = pubsub.into_on_message().map(|msg| {
        let channel = msg.get_channel_name().as_bytes();
        if msg.from_pattern() {
            let pattern: Vec<u8> = msg.get_pattern().unwrap_or_default();
            sse::event(&[b"pmessage", &pattern, channel, msg.get_payload_bytes()])
        } else {
            sse::event(&[b"message", channel, msg.get_payload_bytes()])
        }
    });
    let events = stream::once(async move { first }).chain(messages);
    Ok(sse::response(events, state.limits.sse_keepalive, CancellationToken::clone(&state.shutdown)))
}

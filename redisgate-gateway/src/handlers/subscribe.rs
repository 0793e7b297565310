//! `/subscribe/<channel>` and `/psubscribe/<pattern>`: Redis pub/sub as Server-Sent Events.
//!
//! All streams of an instance share one pub/sub connection ([`crate::fanout`]). The first event is always
//! `subscribe,<channel>,1` (each stream counts alone, as the JS client expects), sent once Redis has
//! confirmed the subscription. When the client goes away the body is dropped, and when the last subscriber
//! of a channel is gone the hub unsubscribes it in Redis. Payloads are sent raw (never base64), as the JS
//! client parses them.

use axum::response::Response;
use futures_util::{stream, StreamExt};

pub use crate::fanout::Topic;

use crate::directory::Instance;
use crate::{sse, ApiError, AppState};

/// Joins the channel or pattern on the instance's shared pub/sub connection and streams its messages.
pub async fn stream(state: &AppState, instance: &Instance, topic: Topic) -> Result<Response, ApiError> {
    let (kind, name) = match &topic {
        Topic::Channel(name) => (&b"subscribe"[..], name.clone()),
        Topic::Pattern(name) => (&b"psubscribe"[..], name.clone()),
    };
    if name.iter().any(|b| matches!(b, b'\r' | b'\n')) {
        return Err(redisgate_core::Error::invalid("channel names must not contain CR or LF").into());
    }
    let messages = instance.upstream().subscribe(topic).await?;
    let first = sse::event(&[kind, &name, b"1"]);
    let events = stream::once(async move { first }).chain(messages);
    Ok(super::event_stream(state, events))
}

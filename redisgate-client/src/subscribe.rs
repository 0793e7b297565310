//! `/subscribe/<channel>` and `/psubscribe/<pattern>`: Server-Sent Events as a `Stream` of messages.
//!
//! [`Client::subscribe`] returns once the server confirmed the subscription (its first event), so a message
//! published afterwards is never missed. Dropping the [`Subscription`] closes the stream, which ends the
//! subscription on the server.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::stream::{self, Stream, StreamExt};

use crate::client::encode;
use crate::{Client, Error, Result};

/// One published message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The channel it was published on.
    pub channel: String,
    /// The pattern that matched, for `psubscribe`.
    pub pattern: Option<String>,
    /// The payload (text: the REST API sends payloads as they are).
    pub payload: String,
}

/// A live subscription. Poll it as a [`Stream`]; it ends when the server closes the stream.
pub struct Subscription {
    events: Pin<Box<dyn Stream<Item = Result<String>> + Send>>,
    pattern: bool,
}

impl std::fmt::Debug for Subscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Subscription").field("pattern", &self.pattern).finish_non_exhaustive()
    }
}

impl Client {
    /// Subscribes to `channel`.
    ///
    /// # Errors
    /// Transport, authentication, or a server that does not confirm the subscription.
    pub async fn subscribe(&self, channel: &str) -> Result<Subscription> {
        self.open("subscribe", channel, false).await
    }

    /// Subscribes to channels matching `pattern`.
    ///
    /// # Errors
    /// As [`Client::subscribe`].
    pub async fn psubscribe(&self, pattern: &str) -> Result<Subscription> {
        self.open("psubscribe", pattern, true).await
    }

    async fn open(&self, kind: &str, name: &str, pattern: bool) -> Result<Subscription> {
        let response = self.send(&format!("/{kind}/{}", encode(name.as_bytes())), b"[]".to_vec(), true).await?;
        let status = response.status().as_u16();
        if status != 200 {
            let bytes = response.bytes().await?;
            return Err(crate::response::error(status, &bytes));
        }
        let mut events = Box::pin(events(response.bytes_stream()));
        match events.next().await {
            Some(Ok(first)) if first.starts_with(&format!("{kind},")) => Ok(Subscription { events, pattern }),
            Some(Ok(other)) => Err(Error::Decode(format!("expected a {kind} confirmation, got {other:?}"))),
            Some(Err(e)) => Err(e),
            None => Err(Error::Decode("the stream ended before the subscription was confirmed".into())),
        }
    }
}

impl Stream for Subscription {
    type Item = Result<Message>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            let pattern = self.pattern;
            match self.events.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(data))) => {
                    if let Some(message) = parse(&data, pattern) {
                        return Poll::Ready(Some(Ok(message)));
                    }
                }
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// `message,<channel>,<payload>` or `pmessage,<pattern>,<channel>,<payload>`; other events are skipped.
fn parse(data: &str, pattern: bool) -> Option<Message> {
    if pattern {
        let mut parts = data.splitn(4, ',');
        (parts.next()? == "pmessage").then_some(())?;
        let (pattern, channel, payload) = (parts.next()?, parts.next()?, parts.next()?);
        Some(Message { channel: channel.to_owned(), pattern: Some(pattern.to_owned()), payload: payload.to_owned() })
    } else {
        let mut parts = data.splitn(3, ',');
        (parts.next()? == "message").then_some(())?;
        let (channel, payload) = (parts.next()?, parts.next()?);
        Some(Message { channel: channel.to_owned(), pattern: None, payload: payload.to_owned() })
    }
}

/// SSE bytes → the `data` of each event (multi-line data joined with `\n`), comments skipped.
fn events(
    bytes: impl Stream<Item = reqwest::Result<Bytes>> + Send + 'static,
) -> impl Stream<Item = Result<String>> + Send {
    stream::unfold((Box::pin(bytes), Vec::<u8>::new()), |(mut bytes, mut buffer)| async move {
        loop {
            if let Some(end) = buffer.windows(2).position(|w| w == b"\n\n") {
                let block: Vec<u8> = buffer.drain(..end + 2).collect();
                let text = String::from_utf8_lossy(&block[..end]).into_owned();
                let data: Vec<&str> = text.lines().filter_map(|l| l.strip_prefix("data: ")).collect();
                if data.is_empty() {
                    continue;
                }
                return Some((Ok(data.join("\n")), (bytes, buffer)));
            }
            match bytes.next().await {
                Some(Ok(chunk)) => buffer.extend_from_slice(&chunk),
                Some(Err(e)) => return Some((Err(e.into()), (bytes, buffer))),
                None => return None,
            }
        }
    })
}

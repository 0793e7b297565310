//! Server-Sent Events framing shared by `/subscribe`, `/psubscribe` and `/monitor`.
//!
//! Each event is flushed as it is produced. A `: keepalive` comment is sent at a fixed interval so idle
//! streams survive proxies and a vanished client is noticed (the write fails and the stream, with its Redis
//! connection, is dropped). Shutdown ends every stream.

use axum::body::Body;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use bytes::{BufMut, Bytes, BytesMut};
use futures_util::stream::{self, Stream, StreamExt};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::metrics::GaugeGuard;

/// `data: <fields joined by commas>\n\n`. Payload lines are split into several `data:` lines as the SSE
/// specification says, so a CR or LF in a payload can never forge an event or a field of its own.
pub fn event(fields: &[&[u8]]) -> Bytes {
    let mut joined = Vec::with_capacity(fields.iter().map(|f| f.len() + 1).sum());
    for (i, field) in fields.iter().enumerate() {
        if i > 0 {
            joined.push(b',');
        }
        joined.extend_from_slice(field);
    }
    let text = String::from_utf8_lossy(&joined);
    let mut out = BytesMut::with_capacity(text.len() + 16);
    // CRLF is one line break; a lone CR or LF is one too.
    let text = if text.contains('\r') { std::borrow::Cow::Owned(text.replace("\r\n", "\n")) } else { text };
    for line in text.split(['\n', '\r']) {
        out.put_slice(b"data: ");
        out.put_slice(line.as_bytes());
        out.put_u8(b'\n');
    }
    out.put_u8(b'\n');
    out.freeze()
}

/// An SSE response over `events`, with a keepalive comment every `keepalive`, ending on `shutdown` or when
/// `events` ends; `open` (the metrics' gauge) is held for as long as the stream lives.
pub fn response<S>(events: S, keepalive: Duration, shutdown: CancellationToken, open: GaugeGuard) -> Response
where
    S: Stream<Item = Bytes> + Send + 'static,
{
    let ticker = tokio::time::interval_at(tokio::time::Instant::now() + keepalive, keepalive);
    let state = (Box::pin(events), ticker, shutdown, open);
    let body = stream::unfold(state, |(mut events, mut ticker, shutdown, open)| async move {
        let next = tokio::select! {
            () = shutdown.cancelled() => None,
            event = events.next() => event,
            _ = ticker.tick() => Some(Bytes::from_static(b": keepalive\n\n")),
        };
        next.map(|bytes| (Ok::<_, std::convert::Infallible>(bytes), (events, ticker, shutdown, open)))
    });
    let mut response = Body::from_stream(body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

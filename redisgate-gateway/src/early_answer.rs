//! Answers given before the request's body was read: a wrong token, an unknown instance, a 405, a 413 by
//! `Content-Length`, a 429. The data plane refuses these without reading the body on purpose (a client
//! without a token must not make the gateway read 10 MiB), but HTTP/1 cannot reuse a connection whose
//! request body is still on the wire, and hyper then closes it without saying so: a keep-alive client's
//! next request on that connection fails with a broken pipe instead of getting an answer.
//!
//! So, as Go's net/http and nginx do, the middleware that observes every request ([`watch`], then
//! [`Unread::settle`]) reads and discards a small unread rest
//! ([`DRAIN_LIMIT`], within [`DRAIN_DEADLINE`]) and the connection stays usable; a larger or slower rest is
//! not read, and the answer carries `Connection: close` so the client opens a new connection. The close
//! itself lingers on reads (`serve`'s `Counted`) so the client can read the answer before it.
//!
//! HTTP/2 needs none of this: each request is a stream, and hyper resets an unread one with `NO_ERROR`
//! after its answer.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, Version};
use axum::response::Response;
use bytes::Bytes;
use http_body::{Body as _, Frame, SizeHint};
use http_body_util::BodyExt as _;
use tokio::sync::oneshot;

/// The most of an unread body that is read (and discarded) to keep its connection.
pub const DRAIN_LIMIT: u64 = 64 * 1024;
/// How long the rest of an unread body may take to arrive.
pub const DRAIN_DEADLINE: Duration = Duration::from_secs(1);

/// A request body that the handler may leave unread: see [`watch`] and [`Unread::settle`].
pub struct Unread {
    returned: oneshot::Receiver<Body>,
    declared: Option<u64>,
    /// A client waiting for `100 Continue` has not sent its body, and should not be asked for it now.
    waits_for_continue: bool,
}

/// Before the request is handled: a request with a body (HTTP/1) gets one that comes back if left unread.
/// GET, HEAD and every request without a body pass untouched, at no cost.
pub fn watch(request: Request) -> (Request, Option<Unread>) {
    if request.body().is_end_stream() || request.version() >= Version::HTTP_2 {
        return (request, None);
    }
    let declared = request.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let waits_for_continue = request.headers().contains_key(header::EXPECT);
    let (sender, returned) = oneshot::channel();
    let request =
        request.map(|body| Body::new(Returning { body: Some(body), finished: false, returned: Some(sender) }));
    (request, Some(Unread { returned, declared, waits_for_continue }))
}

impl Unread {
    /// After the answer is decided: the rest of a body the handler left unread is drained, or the answer
    /// says `Connection: close`.
    pub async fn settle(mut self, response: &mut Response) {
        let Ok(rest) = self.returned.try_recv() else {
            // Read to its end, or still held by the answer (a stream): hyper keeps or closes as it should.
            return;
        };
        let small = self.declared.is_none_or(|length| length <= DRAIN_LIMIT);
        if self.waits_for_continue || !small || !drain(rest).await {
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
    }
}

/// Reads `body` to its end, if it ends within [`DRAIN_LIMIT`] bytes and [`DRAIN_DEADLINE`].
async fn drain(mut body: Body) -> bool {
    let read_all = async {
        let mut read = 0_u64;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { return false };
            read += frame.data_ref().map_or(0, |data| data.len() as u64);
            if read > DRAIN_LIMIT {
                return false;
            }
        }
        true
    };
    tokio::time::timeout(DRAIN_DEADLINE, read_all).await.unwrap_or(false)
}

/// A request body that, dropped before its end, hands itself back to [`keep_alive`].
struct Returning {
    body: Option<Body>,
    /// Whether the body said it had no more frames.
    finished: bool,
    returned: Option<oneshot::Sender<Body>>,
}

impl http_body::Body for Returning {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let Some(body) = self.body.as_mut() else { return Poll::Ready(None) };
        let frame = Pin::new(body).poll_frame(cx);
        if let Poll::Ready(None) = frame {
            self.finished = true;
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.finished || self.body.as_ref().is_none_or(http_body::Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.body.as_ref().map_or_else(|| SizeHint::with_exact(0), http_body::Body::size_hint)
    }
}

impl Drop for Returning {
    fn drop(&mut self) {
        if self.is_end_stream() {
            return;
        }
        if let (Some(body), Some(returned)) = (self.body.take(), self.returned.take()) {
            let _ = returned.send(body);
        }
    }
}

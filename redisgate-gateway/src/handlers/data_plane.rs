//! The data plane's entry point: every path that is not a health endpoint.
//!
//! The steps run in the order that spends the least on a request that will fail: method, instance,
//! token, concurrent requests, response format, then the body (so an unauthenticated client cannot make the
//! gateway read 10 MiB), then parsing, the daily quota and the rate, then the endpoint. A request that runs
//! scripts is charged again after it ran, by the time it kept the instance busy.

use std::borrow::Cow;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::{BodyExt as _, LengthLimitError, Limited};
use redisgate_core::auth::bearer;
use redisgate_core::protocol::request::{parse, query_token};
use redisgate_core::protocol::{Access, Endpoint, Method, ResponseFormat, RestRequest};

use super::{command, monitor, pipeline, subscribe, transaction, Gate};
use crate::directory::{Directory, Instance};
use crate::metrics::{Kind, Observed};
use crate::quota::{Allowance, Meter, Slot};
use crate::{ApiError, AppState};

/// The request headers choosing the response's format (protocol.md §F, §G). Named once: a lookup by `&str`
/// parses the name on every request.
const ENCODING: HeaderName = HeaderName::from_static("upstash-encoding");
const RESPONSE_FORMAT: HeaderName = HeaderName::from_static("upstash-response-format");

/// Handles one data-plane request.
pub async fn handle(State(state): State<AppState>, request: Request) -> Response {
    // Counted as a command until the request is parsed (a refused token, an unknown instance...).
    let mut observed = Observed { kind: Kind::Command, instance: None };
    let mut response = dispatch(state, request, &mut observed).await.unwrap_or_else(IntoResponse::into_response);
    response.extensions_mut().insert(observed);
    response
}

async fn dispatch(state: AppState, request: Request, observed: &mut Observed) -> Result<Response, ApiError> {
    let method = match *request.method() {
        axum::http::Method::GET => Method::Get,
        axum::http::Method::HEAD => Method::Head,
        axum::http::Method::POST => Method::Post,
        axum::http::Method::PUT => Method::Put,
        _ => return Err(ApiError::MethodNotAllowed),
    };
    let (parts, body) = request.into_parts();
    let host = parts.headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let lookup = || {
        let (instance, path) = resolve(state.directory.as_ref(), host, parts.uri.path())?;
        let (access, key) = authorize(&instance, &parts.headers, parts.uri.query())?;
        Ok::<_, ApiError>((instance, path, access, key))
    };
    // A miss may be a token or instance created a moment ago: let the directory catch up once (not for a
    // request without a token, which no reload can admit).
    let (instance, path, access, key) = match lookup() {
        Err(ApiError::Unauthorized) => {
            if !presents_token(&parts.headers, parts.uri.query()) || !Box::pin(state.directory.refresh()).await {
                return Err(ApiError::Unauthorized);
            }
            lookup()?
        }
        other => other?,
    };
    observed.instance = Some(instance.metrics());
    let allowance = Allowance::admit(instance.meter(), key.as_ref())?;
    let format = ResponseFormat::from_headers(
        parts.headers.get(ENCODING).map(|v| v.as_bytes()),
        parts.headers.get(RESPONSE_FORMAT).map(|v| v.as_bytes()),
    )?;
    let max_body = allowance.limits.max_body(state.limits.max_body_bytes);
    // A request without a body (every GET) has nothing to wait for: no timer is armed for it.
    let body = if http_body::Body::is_end_stream(&body) {
        Bytes::new()
    } else {
        Box::pin(tokio::time::timeout(state.limits.body_timeout, read_body(body, &parts.headers, max_body)))
            .await
            .map_err(|_| ApiError::BodyTimeout)??
    };
    let endpoint = parse(&RestRequest { method, path, query: parts.uri.query(), body: &body })?;
    observed.kind = Kind::of(&endpoint);
    allowance.charge(endpoint.commands())?;
    let limits = allowance.limits.with_record_size_default(state.limits.max_record_bytes);
    let gate = Gate {
        access,
        limits: &limits,
        scripts: &state.scripts,
        max_response: allowance.limits.max_response(state.limits.max_response_bytes),
        replies: (&state.replies, state.limits.max_reply_bytes_in_flight),
    };
    // A script's work is measured in time: see `Allowance::charge_after`.
    let scripted = endpoint.runs_scripts().then(|| (std::time::Instant::now(), endpoint.commands()));
    // The streams' futures (like the body's read and the directory's refresh above) are boxed: held inline
    // they made every request's future 15.5 KB, copied each time axum and the layers box it; now 2.5 KB.
    let response = match endpoint {
        Endpoint::Command(c) => command::run(&instance, c, &gate, format).await,
        Endpoint::Pipeline(c) => pipeline::run(&instance, c, &gate, format).await,
        Endpoint::MultiExec(c) => transaction::run(&instance, c, &gate, format).await,
        Endpoint::Subscribe(channel) => {
            Box::pin(subscribe::stream(&state, &instance, subscribe::Topic::Channel(channel))).await
        }
        Endpoint::PSubscribe(pattern) => {
            Box::pin(subscribe::stream(&state, &instance, subscribe::Topic::Pattern(pattern))).await
        }
        Endpoint::Monitor => Box::pin(monitor::stream(&state, &instance, access)).await,
    };
    if let Some((started, charged)) = scripted {
        let busy_ms = usize::try_from(started.elapsed().as_millis()).unwrap_or(usize::MAX);
        allowance.charge_after(busy_ms.saturating_sub(charged));
    }
    let response = response?;
    Ok(hold(response, allowance.into_slots()))
}

/// Keeps the request's places among the requests in progress until its body is sent (an SSE stream holds
/// them until it closes).
fn hold(response: Response, slots: Vec<Slot>) -> Response {
    if slots.is_empty() {
        return response;
    }
    let (parts, body) = response.into_parts();
    Response::from_parts(
        parts,
        Body::new(body.map_frame(move |frame| {
            let _held = &slots;
            frame
        })),
    )
}

/// Finds the instance: `/db/<name>/...` first, then a `<name>.<domain>` Host header, then the default.
/// Returns the instance and the path that remains for the protocol. A name that names nothing is a 401, the
/// answer to a wrong token, so that which names exist is not told to callers without a token.
fn resolve<'a>(
    directory: &dyn Directory,
    host: Option<&str>,
    path: &'a str,
) -> Result<(Arc<Instance>, &'a str), ApiError> {
    let trimmed = path.trim_start_matches('/');
    if let Some(rest) = trimmed.strip_prefix("db/") {
        let (name, rest) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
        if name.is_empty() {
            return Err(ApiError::NoInstanceNamed);
        }
        return directory.get(name).map(|i| (i, rest)).ok_or(ApiError::Unauthorized);
    }
    if let (Some(domain), Some(host)) = (directory.domain(), host) {
        let host = host.rsplit_once(':').map_or(host, |(h, _)| h);
        if let Some(name) = host.strip_suffix(domain).and_then(|h| h.strip_suffix('.')) {
            return directory.get(name).map(|i| (i, path)).ok_or(ApiError::Unauthorized);
        }
    }
    directory.default_instance().map(|i| (i, path)).ok_or(ApiError::NoInstanceNamed)
}

/// `Authorization: Bearer <token>` wins when present (a malformed header is a 401, without falling back);
/// otherwise `?_token=`.
fn authorize(
    instance: &Instance,
    headers: &HeaderMap,
    query: Option<&str>,
) -> Result<(Access, Option<Arc<Meter>>), ApiError> {
    let token: Cow<'_, [u8]> = match headers.get(header::AUTHORIZATION) {
        Some(value) => Cow::Borrowed(bearer(value.as_bytes()).ok_or(ApiError::Unauthorized)?),
        None => Cow::Owned(query_token(query).ok_or(ApiError::Unauthorized)?),
    };
    if token.is_empty() {
        return Err(ApiError::Unauthorized);
    }
    let (access, key) = instance.authorize(&token).ok_or(ApiError::Unauthorized)?;
    Ok((access, key.cloned()))
}

/// Whether the request carries a token at all (an `Authorization` header or `?_token=`).
fn presents_token(headers: &HeaderMap, query: Option<&str>) -> bool {
    headers.contains_key(header::AUTHORIZATION) || query_token(query).is_some_and(|t| !t.is_empty())
}

/// Reads the body up to `limit` bytes; a declared or actual larger body is a 413.
async fn read_body(body: Body, headers: &HeaderMap, limit: usize) -> Result<Bytes, ApiError> {
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(redisgate_core::Error::RequestTooLarge.into());
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(redisgate_core::Error::RequestTooLarge.into()),
        Err(e) => Err(redisgate_core::Error::invalid(format!("could not read the request body: {e}")).into()),
    }
}

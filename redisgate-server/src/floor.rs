//! `--bench-floor` (hidden): this binary's serving without RedisGate, the floor `bench/` compares the gateway
//! with. The same runtimes (one current-thread runtime per worker), accept loop, connection admission,
//! first-byte and header timers and hyper settings as the gateway, answering every request, after reading
//! its body, with the fixed body a `GET` of the benchmark's key gets (`{"result":"v…"}`, 100 bytes of value).
//! No middleware, token, limit, parsing or Redis: what is left between the floor and the gateway is what
//! RedisGate adds.

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderValue;
use axum::response::Response;

/// The floor's service; bodies are read up to `max_body` bytes, as the gateway's are. A service of its own,
/// not a `Router`: the gateway's data plane does not go through axum's route matching either.
pub fn service(max_body: usize) -> impl redisgate_gateway::App {
    let body = Bytes::from(format!("{{\"result\":\"{}\"}}", "v".repeat(100)));
    tower::service_fn(move |request: Request| {
        let body = body.clone();
        async move {
            // Read what the client sent, as the gateway does before it answers.
            let _ = axum::body::to_bytes(request.into_body(), max_body).await;
            let mut response = Response::new(Body::from(body));
            response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            Ok::<_, Infallible>(response)
        }
    })
}

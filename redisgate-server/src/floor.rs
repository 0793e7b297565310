//! `--bench-floor` (hidden): this binary's serving without RedisGate, the floor `bench/` compares the gateway
//! with. The same runtimes (one current-thread runtime per worker), accept loop, connection admission,
//! first-byte and header timers and hyper settings as the gateway, answering every request, after reading
//! its body, with the fixed body a `GET` of the benchmark's key gets (`{"result":"v…"}`, 100 bytes of value).
//! No middleware, token, limit, parsing or Redis: what is left between the floor and the gateway is what
//! RedisGate adds.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderValue;
use axum::response::Response;
use axum::Router;

/// The floor's router; bodies are read up to `max_body` bytes, as the gateway's are.
pub fn router(max_body: usize) -> Router {
    let body = Bytes::from(format!("{{\"result\":\"{}\"}}", "v".repeat(100)));
    Router::new().fallback(move |request: Request| {
        let body = body.clone();
        async move {
            // Read what the client sent, as the gateway does before it answers.
            let _ = axum::body::to_bytes(request.into_body(), max_body).await;
            let mut response = Response::new(Body::from(body));
            response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response
        }
    })
}

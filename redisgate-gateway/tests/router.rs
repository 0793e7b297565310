//! The router as a plain `tower::Service`, mounted inside another application (no sockets, no Redis).
#![allow(missing_docs)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use redisgate_gateway::directory::StaticDirectory;
use redisgate_gateway::upstream::UpstreamOptions;
use redisgate_gateway::AppState;
use redisgate_test_support::instance;
use tower::ServiceExt as _;

fn app() -> Router {
    // Nothing listens on port 1: every test here must be decided before Redis is asked.
    let one = instance("one", "redis://127.0.0.1:1", "tok", None, UpstreamOptions::default());
    let directory = StaticDirectory::new(vec![one], None, None);
    Router::new().nest("/redis", redisgate_gateway::router(AppState::new(Arc::new(directory))))
}

async fn call(request: Request<Body>) -> (StatusCode, serde_json::Value) {
    let response = app().oneshot(request).await.unwrap();
    let status = response.status();
    assert!(response.headers().contains_key("upstash-sync-token"));
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn mounted_router_answers_json_before_reaching_redis() {
    let get = |uri: &str| Request::get(uri).body(Body::empty()).unwrap();
    assert_eq!(call(get("/redis/-/health")).await.0, StatusCode::OK);
    let (status, body) = call(get("/redis/db/one/get/k")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("WRONGPASS invalid or missing auth token"))
    );
    let (status, _) = call(get("/redis/get/k?_token=tok")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "no default instance: a request must name one");
    let (status, body) = call(get("/redis/db/one/blpop/q/0?_token=tok")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(body["error"].as_str().unwrap().contains("blocking"));
    let delete = Request::delete("/redis/db/one/get/k").body(Body::empty()).unwrap();
    assert_eq!(call(delete).await.0, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn an_unreachable_redis_is_a_502() {
    let request = Request::post("/redis/db/one?_token=tok").body(Body::from(r#"["ping"]"#)).unwrap();
    let (status, body) = call(request).await;
    assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_GATEWAY, Some("ERR redis unavailable")));
}

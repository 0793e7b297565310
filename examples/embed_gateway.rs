//! Mount RedisGate's data plane inside your own axum application.
//!
//! Your routes stay yours (`/hello` here); the gateway is nested under `/redis`, so `@upstash/redis` can use
//! `http://127.0.0.1:3000/redis` as its base URL.
//!
//! ```text
//! redis-server --port 6379 &
//! cargo run -p redisgate-examples --example embed_gateway
//! curl -H "Authorization: Bearer example-token" http://127.0.0.1:3000/redis/set/greeting/hi
//! ```

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use redisgate_core::auth::TokenHash;
use redisgate_core::protocol::Access;
use redisgate_gateway::directory::{Instance, StaticDirectory};
use redisgate_gateway::upstream::{Upstream, UpstreamOptions};
use redisgate_gateway::AppState;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let redis_url = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let upstream = Upstream::new("default", &redis_url, UpstreamOptions::default())?;
    let token = std::env::var("GATEWAY_TOKEN").unwrap_or_else(|_| "example-token".into());
    let instance = Instance::new("default", upstream, vec![(TokenHash::of(token.as_bytes()), Access::Full)]);
    let directory = StaticDirectory::new(vec![instance], Some("default"), None);
    let state = AppState::new(Arc::new(directory));

    let app = Router::new()
        .route("/hello", get(|| async { "your own routes keep working\n" }))
        .nest("/redis", redisgate_gateway::router(state));

    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}/ (gateway under /redis)", listener.local_addr()?);
    axum::serve(listener, app).with_graceful_shutdown(redisgate_gateway::shutdown_signal()).await?;
    Ok(())
}

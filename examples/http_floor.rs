//! The floor of `bench/bench.py`: the gateway's own HTTP stack (its accept loop, hyper, axum, jemalloc, one
//! worker thread) answering every request with the fixed body a `GET` of the benchmark's key gets, without
//! Redis, tokens, limits or middleware. The distance from this row to the gateway's is what everything but
//! HTTP costs.
//!
//! ```text
//! cargo build --release -p redisgate-examples --example http_floor
//! bench/bench.py --gateway …/redisgate-gateway --floor …/examples/http_floor
//! ```

use std::sync::Arc;

use axum::http::header::CONTENT_TYPE;
use axum::Router;
use redisgate_gateway::directory::StaticDirectory;
use redisgate_gateway::AppState;

#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> anyhow::Result<()> {
    let listen = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:8090".into());
    // `{"result":"vvv…"}` with the benchmark's 100-byte value.
    let body: &'static str = Box::leak(format!("{{\"result\":\"{}\"}}", "v".repeat(100)).into_boxed_str());
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    runtime.block_on(async move {
        let state = AppState::new(Arc::new(StaticDirectory::new(Vec::new(), None, None)));
        let app = Router::new().fallback(move || async move { ([(CONTENT_TYPE, "application/json")], body) });
        let listener = tokio::net::TcpListener::bind(&listen).await?;
        redisgate_gateway::serve_router(listener, app, &state, redisgate_gateway::shutdown_signal()).await?;
        Ok(())
    })
}

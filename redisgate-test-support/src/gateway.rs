//! `TestGateway`: the gateway in-process, on a free port, in front of real Redis servers.

use std::net::SocketAddr;
use std::sync::Arc;

use redisgate_gateway::directory::{Directory, Instance, StaticDirectory};
use redisgate_gateway::upstream::UpstreamOptions;
use redisgate_gateway::{AppState, ServerLimits};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The standard token of instances made by [`TestGateway::single`].
pub const TOKEN: &str = "test-token";
/// The read-only token of instances made by [`TestGateway::single`].
pub const READONLY_TOKEN: &str = "test-readonly-token";

/// A running gateway; stopped when dropped.
pub struct TestGateway {
    address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
    http: reqwest::Client,
    metrics: Arc<redisgate_gateway::metrics::Metrics>,
    replies: Arc<redisgate_gateway::replies::ReplyBytes>,
    scheme: &'static str,
}

impl TestGateway {
    /// A standalone gateway in front of `redis_url` with [`TOKEN`] and [`READONLY_TOKEN`].
    pub async fn single(redis_url: &str) -> Self {
        Self::single_with(redis_url, ServerLimits::default(), UpstreamOptions::default()).await
    }

    /// As [`TestGateway::single`], with limits and timeouts.
    pub async fn single_with(redis_url: &str, limits: ServerLimits, options: UpstreamOptions) -> Self {
        let instance = instance("default", redis_url, TOKEN, Some(READONLY_TOKEN), options);
        let directory = StaticDirectory::new(vec![instance], Some("default"), None);
        Self::start(AppState::new(Arc::new(directory)).with_limits(limits)).await
    }

    /// A gateway over any directory.
    pub async fn with_directory(directory: Arc<dyn Directory>) -> Self {
        Self::start(AppState::new(directory)).await
    }

    /// Starts serving `state`.
    ///
    /// # Panics
    /// When no loopback port can be bound.
    pub async fn start(state: AppState) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let metrics = Arc::clone(&state.metrics);
        let replies = Arc::clone(&state.replies);
        let scheme = if state.tls.is_some() { "https" } else { "http" };
        let task = tokio::spawn(redisgate_gateway::serve(listener, state, async move {
            let _ = stopped.await;
        }));
        Self { address, stop: Some(stop), task: Some(task), http: reqwest::Client::new(), metrics, replies, scheme }
    }

    /// The bytes of replies this gateway holds.
    #[must_use]
    pub fn replies(&self) -> &redisgate_gateway::replies::ReplyBytes {
        &self.replies
    }

    /// This gateway's metrics registry (serve it with `redisgate_gateway::admin_router`, or `encode()` it).
    #[must_use]
    pub fn metrics(&self) -> Arc<redisgate_gateway::metrics::Metrics> {
        Arc::clone(&self.metrics)
    }

    /// `http://127.0.0.1:<port>`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("{}://{}", self.scheme, self.address)
    }

    /// The listening address.
    #[must_use]
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// A reqwest client (keep-alive) for this gateway.
    #[must_use]
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// `POST /` with `command` as JSON and the standard token; returns (status, JSON body).
    ///
    /// # Panics
    /// When the gateway does not answer or the body is not JSON.
    pub async fn command(&self, command: serde_json::Value) -> (u16, serde_json::Value) {
        self.post("/", &command.to_string(), TOKEN).await
    }

    /// `POST <path>` with a raw body and a token; returns (status, JSON body).
    ///
    /// # Panics
    /// When the gateway does not answer or the body is not JSON.
    pub async fn post(&self, path: &str, body: &str, token: &str) -> (u16, serde_json::Value) {
        let response = self
            .http
            .post(format!("{}{path}", self.url()))
            .bearer_auth(token)
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap();
        let json = serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&bytes)));
        (status, json)
    }

    /// Stops accepting, ends streams, and waits for in-flight requests.
    ///
    /// # Panics
    /// When the server task failed.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
    }
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// An instance with the given tokens.
///
/// # Panics
/// When the URL is invalid.
#[must_use]
pub fn instance(name: &str, url: &str, token: &str, readonly: Option<&str>, options: UpstreamOptions) -> Instance {
    redisgate_gateway::config::InstanceConfig::new(name, url, token, readonly, options)
        .and_then(|instance| instance.build())
        .unwrap_or_else(|e| panic!("{e}"))
}

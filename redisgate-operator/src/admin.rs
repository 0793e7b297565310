//! The operator's admin port: `/metrics` (OpenMetrics text), `/healthz` and `/readyz`.
//!
//! Three fixed GET endpoints do not justify an HTTP framework (the architecture keeps axum out of the
//! operator), so this is a minimal HTTP/1.1 responder: one request per connection, then close.

use std::future::Future;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

use crate::metrics::Metrics;

/// Serves the admin endpoints on `listener` until `shutdown` completes.
pub async fn serve(listener: TcpListener, metrics: Metrics, shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => {
                let Ok((mut stream, _)) = accepted else { continue };
                let metrics = metrics.clone();
                tokio::spawn(async move {
                    let mut buffer = [0u8; 1024];
                    let Ok(read) = stream.read(&mut buffer).await else { return };
                    let response = respond(&String::from_utf8_lossy(&buffer[..read]), &metrics);
                    let _ = stream.write_all(response.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
        }
    }
}

/// The full HTTP response to a request whose head is `request`.
#[must_use]
pub fn respond(request: &str, metrics: &Metrics) -> String {
    let path = request.lines().next().and_then(|line| line.strip_prefix("GET ")).and_then(|r| r.split(' ').next());
    let (status, content_type, body) = match path {
        Some("/metrics") => ("200 OK", "application/openmetrics-text; version=1.0.0; charset=utf-8", metrics.encode()),
        Some("/healthz" | "/readyz") => ("200 OK", "text/plain", "ok\n".to_owned()),
        _ => ("404 Not Found", "text/plain", "not found\n".to_owned()),
    };
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn metrics_and_health_over_tcp() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let stop = tokio_util::sync::CancellationToken::new();
        let server = tokio::spawn(serve(listener, Metrics::default(), stop.clone().cancelled_owned()));
        let get = |path: &'static str| async move {
            let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
            stream.write_all(format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n").as_bytes()).await.unwrap();
            let mut response = String::new();
            stream.read_to_string(&mut response).await.unwrap();
            response
        };
        assert!(get("/healthz").await.starts_with("HTTP/1.1 200"));
        assert!(get("/metrics").await.contains("redisgate_operator_reconciles_total"));
        assert!(get("/nope").await.starts_with("HTTP/1.1 404"));
        stop.cancel();
        server.await.unwrap();
    }
}

//! The listeners the accept loop takes connections from: plain TCP within the connection limits
//! ([`CountingListener`]), and TLS over it ([`TlsListener`]).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::Listener as _;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use crate::client_socket::{ClientSocket, Timeouts};
use crate::connections::{Connections, Refusal};
use crate::metrics::Metrics;
use crate::ServerLimits;

/// How long a client may take to finish its TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections that finished their TLS handshake. Handshakes run in tasks of their own (bounded by
/// [`HANDSHAKE_TIMEOUT`]), so a slow or silent client never holds up the next one's.
pub(super) struct TlsListener {
    handshaken: mpsc::Receiver<(TlsStream<ClientSocket>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    pub(super) fn new(mut tcp: CountingListener, acceptor: TlsAcceptor) -> std::io::Result<Self> {
        let local = tcp.listener.local_addr()?;
        let (done, handshaken) = mpsc::channel(64);
        tokio::spawn(async move {
            loop {
                // Ends when the server stops accepting (the receiver is dropped).
                let (stream, address) = tokio::select! {
                    () = done.closed() => return,
                    accepted = tcp.accept() => accepted,
                };
                let (acceptor, done) = (acceptor.clone(), done.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = done.send((tls, address)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(%address, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%address, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(Self { handshaken, local })
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<ClientSocket>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.handshaken.recv().await {
            Some(connection) => connection,
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

/// Accepts connections within the limits (closing the others at once), turns Nagle's algorithm off (small
/// JSON replies must not wait), and gives each its socket's timeouts and place in the metrics
/// ([`ClientSocket`]).
pub(super) struct CountingListener {
    pub(super) listener: TcpListener,
    pub(super) metrics: Arc<Metrics>,
    pub(super) connections: Arc<Connections>,
    pub(super) limits: ServerLimits,
}

impl axum::serve::Listener for CountingListener {
    type Io = ClientSocket;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            match self.listener.accept().await {
                Ok((stream, address)) => {
                    let (max, per_address) = (self.limits.max_connections, self.limits.max_connections_per_address);
                    let admitted = match self.connections.admit(address.ip(), max, per_address) {
                        Ok(admitted) => admitted,
                        Err(refusal) => {
                            self.metrics.connection_refused(if refusal == Refusal::Full { "total" } else { "address" });
                            drop(stream);
                            continue;
                        }
                    };
                    let _ = stream.set_nodelay(true);
                    let timeouts = Timeouts { idle: self.limits.idle_timeout, write: self.limits.write_timeout };
                    return (ClientSocket::new(stream, self.metrics.connection(), admitted, timeouts), address);
                }
                // Out of file descriptors and the like: wait a moment instead of spinning.
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.listener.local_addr()
    }
}

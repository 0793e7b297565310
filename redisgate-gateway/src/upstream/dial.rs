//! Making one connection to one Redis server: TCP (or TLS, verified against the options' CA or the system's
//! roots, with the client certificate for mTLS), then `AUTH` and `SELECT` as the URL asks.
//!
//! Failures are `RedisError`s of the kinds redis-rs gives for the same failure (an `io::Error` for a refused
//! connection or a TLS handshake, the server's error reply for a wrong password), so
//! [`super::UpstreamError`] classifies them in one place.

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use bytes::BytesMut;
use redis::{ConnectionAddr, ConnectionInfo, ErrorKind, RedisError, RedisResult, Value};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio::net::TcpStream;

use super::resp::{Malformed, Read, Reader};
use crate::tls::RedisTls;

/// The two halves of a connection, as the shared connection's reader and writer use them.
pub type Halves = (Pin<Box<dyn AsyncRead + Send>>, Pin<Box<dyn AsyncWrite + Send>>);

/// Where one server is and how to sign in: read once from its URL.
pub struct Target {
    host: String,
    port: u16,
    /// For `rediss://`: the TLS settings (built once: loading the system's roots reads files).
    tls: Option<Arc<rustls::ClientConfig>>,
    /// `AUTH` and `SELECT`, encoded, and how many replies they get (none for the defaults).
    hello: (Vec<u8>, usize),
    connect_timeout: Duration,
}

impl Target {
    /// The server `info` names, reached with `tls` for `rediss://`.
    ///
    /// # Errors
    /// A Unix socket or `#insecure` URL (neither is offered), or certificates rustls refuses.
    pub fn new(info: &ConnectionInfo, tls: &RedisTls, connect_timeout: Duration) -> RedisResult<Self> {
        let (host, port, tls) = match info.addr() {
            ConnectionAddr::Tcp(host, port) => (host.clone(), *port, None),
            ConnectionAddr::TcpTls { insecure: true, .. } => {
                return Err(invalid("rediss:// URLs with #insecure are not offered: give the server's CA instead"))
            }
            ConnectionAddr::TcpTls { host, port, .. } => (host.clone(), *port, Some(client_config(tls)?)),
            _ => return Err(invalid("only redis:// and rediss:// servers are offered")),
        };
        let settings = info.redis_settings();
        let mut hello = (Vec::new(), 0);
        if let Some(password) = settings.password() {
            let mut auth = redis::cmd("AUTH");
            if let Some(user) = settings.username() {
                auth.arg(user);
            }
            auth.arg(password).write_packed_command(&mut hello.0);
            hello.1 += 1;
        }
        if settings.db() != 0 {
            redis::cmd("SELECT").arg(settings.db()).write_packed_command(&mut hello.0);
            hello.1 += 1;
        }
        Ok(Self { host, port, tls, hello, connect_timeout })
    }

    /// A new connection, signed in, within the connect timeout.
    ///
    /// # Errors
    /// The server is unreachable, the TLS handshake or the sign-in failed, or it took too long.
    pub async fn dial(&self) -> RedisResult<Halves> {
        tokio::time::timeout(self.connect_timeout, self.dial_now())
            .await
            .unwrap_or_else(|_| Err(std::io::Error::from(std::io::ErrorKind::TimedOut).into()))
    }

    async fn dial_now(&self) -> RedisResult<Halves> {
        let tcp = TcpStream::connect((self.host.as_str(), self.port)).await?;
        tcp.set_nodelay(true)?;
        let (mut read, mut write): Halves = match &self.tls {
            None => {
                let (read, write) = tcp.into_split();
                (Box::pin(read), Box::pin(write))
            }
            Some(config) => {
                let name = ServerName::try_from(self.host.clone())?;
                let stream = tokio_rustls::TlsConnector::from(Arc::clone(config)).connect(name, tcp).await?;
                let (read, write) = tokio::io::split(stream);
                (Box::pin(read), Box::pin(write))
            }
        };
        let (hello, replies) = &self.hello;
        if *replies > 0 {
            write.write_all(hello).await?;
            write.flush().await?;
            // AUTH and SELECT answer a line each; anything larger is not theirs.
            let (mut reader, mut buf) = (Reader::new(4096), BytesMut::with_capacity(256));
            for _ in 0..*replies {
                let value = loop {
                    if let Some(value) = reader.next(&mut buf).map_err(|e| invalid_reply(&e))? {
                        break value;
                    }
                    if read.read_buf(&mut buf).await? == 0 {
                        return Err(std::io::Error::from(std::io::ErrorKind::BrokenPipe).into());
                    }
                };
                match value {
                    Read::Value(Value::ServerError(e), _) => {
                        return Err(RedisError::from((
                            ErrorKind::AuthenticationFailed,
                            "signing in failed",
                            e.to_string(),
                        )))
                    }
                    Read::TooLarge => return Err(invalid_reply(&Malformed("a reply too large for AUTH or SELECT"))),
                    Read::Value(..) => {}
                }
            }
        }
        Ok((read, write))
    }
}

/// rustls's settings for `tls`: its CA (else the system's roots) and its client certificate.
fn client_config(tls: &RedisTls) -> RedisResult<Arc<rustls::ClientConfig>> {
    let mut roots = rustls::RootCertStore::empty();
    match &tls.ca_cert {
        Some(pem) => {
            for cert in CertificateDer::pem_slice_iter(pem) {
                roots.add(cert.map_err(|e| invalid_tls("the CA certificate", &e))?)?;
            }
        }
        None => roots = system_roots()?.clone(),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    let config = match &tls.client {
        Some((cert, key)) => {
            let chain = CertificateDer::pem_slice_iter(cert)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| invalid_tls("the client certificate", &e))?;
            let key = PrivateKeyDer::from_pem_slice(key).map_err(|e| invalid_tls("the client key", &e))?;
            builder.with_client_auth_cert(chain, key)?
        }
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// The system's roots, read once per process (as redis-rs would, with rustls-native-certs).
fn system_roots() -> RedisResult<&'static rustls::RootCertStore> {
    static ROOTS: OnceLock<Result<rustls::RootCertStore, String>> = OnceLock::new();
    let roots = ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        if let Some(error) = found.errors.first() {
            return Err(error.to_string());
        }
        let mut roots = rustls::RootCertStore::empty();
        roots.add_parsable_certificates(found.certs);
        Ok(roots)
    });
    roots
        .as_ref()
        .map_err(|e| RedisError::from((ErrorKind::InvalidClientConfig, "cannot read the system's CAs", e.clone())))
}

fn invalid(what: &'static str) -> RedisError {
    RedisError::from((ErrorKind::InvalidClientConfig, what))
}

fn invalid_tls(what: &str, error: &dyn std::fmt::Display) -> RedisError {
    RedisError::from((ErrorKind::InvalidClientConfig, "unreadable TLS material", format!("{what}: {error}")))
}

fn invalid_reply(error: &Malformed) -> RedisError {
    RedisError::from((ErrorKind::Parse, "malformed reply from redis", error.to_string()))
}

//! A renewed certificate reaches running Redis servers without a restart (issue 12, item 4).
//!
//! When the operator writes a new certificate into `<name>-tls`, the kubelet updates the mounted files some
//! time later (its sync period, often a minute). Redis reads its certificate files only at start and on
//! `CONFIG SET tls-cert-file …`; since 7.0.1 such a `CONFIG SET` loads the files again even when the path is
//! unchanged (`VOLATILE_CONFIG` in `src/config.c`, redis/redis#10713). So the operator, for each server:
//!
//! 1. opens a TLS connection and reads the certificate the server presents; when it is the current one,
//!    nothing is left to do;
//! 2. otherwise logs in as the admin user and sets `tls-cert-file`, `tls-key-file` and `tls-ca-cert-file` to
//!    the paths the server already uses (`CONFIG GET`), which makes it read the files again;
//! 3. opens a fresh connection and compares again: when the kubelet has not updated the files yet, the
//!    server still presents the old certificate, and the caller asks again later.
//!
//! Established connections keep their TLS sessions: only new handshakes use the new certificate. The operator
//! presents a client certificate from the namespace's CA (the servers ask every client for one) and checks
//! the server's certificate against that CA and the pod's DNS name.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redisgate_core::provisioning::acl::ADMIN_USER;
use redisgate_core::provisioning::ClientTls;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use sha2::{Digest as _, Sha256};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

use crate::{Error, Result};

/// How long one step (a connection, a handshake, a command) may take.
const STEP_TIMEOUT: Duration = Duration::from_secs(3);

/// The certificate files a TLS server reads, as `CONFIG GET` names them.
const FILES: [&str; 3] = ["tls-cert-file", "tls-key-file", "tls-ca-cert-file"];

/// One server of an instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// Its pod, for people.
    pub pod: String,
    /// The DNS name its certificate must cover.
    pub host: String,
    /// Its TLS port.
    pub port: u16,
    /// Where to connect (`host:port`, or where that maps to).
    pub dial: String,
}

/// What the operator presents to the servers of a namespace, and the CA it trusts them by.
#[derive(Clone)]
pub struct OperatorTls(Arc<rustls::ClientConfig>);

impl std::fmt::Debug for OperatorTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OperatorTls(<redacted>)")
    }
}

impl OperatorTls {
    /// Trusts `tls.ca` and presents `tls.cert`.
    ///
    /// # Errors
    /// [`Error::Config`] when a certificate or the key cannot be read.
    pub fn new(tls: &ClientTls) -> Result<Self> {
        let failed = |what: &str, e: &dyn std::fmt::Display| Error::Config(format!("TLS: {what}: {e}"));
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(&tls.ca) {
            roots.add(cert.map_err(|e| failed("the CA", &e))?).map_err(|e| failed("the CA", &e))?;
        }
        let chain = CertificateDer::pem_slice_iter(&tls.cert)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| failed("the client certificate", &e))?;
        let key = PrivateKeyDer::from_pem_slice(&tls.key).map_err(|e| failed("the client key", &e))?;
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| failed("TLS", &e))?
            .with_root_certificates(roots)
            .with_client_auth_cert(chain, key)
            .map_err(|e| failed("the client certificate", &e))?;
        Ok(Self(Arc::new(config)))
    }
}

/// The DER of the first certificate in `pem`.
#[must_use]
pub fn der(pem: &str) -> Option<Vec<u8>> {
    CertificateDer::from_pem_slice(pem.as_bytes()).ok().map(|c| c.as_ref().to_vec())
}

/// The SHA-256 digest of `der`, in hex: how the status names a certificate.
#[must_use]
pub fn fingerprint(der: &[u8]) -> String {
    Sha256::digest(der).iter().map(|b| format!("{b:02x}")).collect()
}

fn unreachable(server: &Server, what: &str, error: impl std::fmt::Display) -> Error {
    Error::Server(format!("{}: {what}: {error}", server.pod))
}

async fn within<T>(server: &Server, what: &str, work: impl std::future::Future<Output = T>) -> Result<T> {
    tokio::time::timeout(STEP_TIMEOUT, work).await.map_err(|_| unreachable(server, what, "timed out"))
}

/// A TLS connection to `server`, its certificate checked.
async fn connect(server: &Server, tls: &OperatorTls) -> Result<TlsStream<TcpStream>> {
    let name = ServerName::try_from(server.host.clone()).map_err(|e| unreachable(server, "its name", e))?;
    let tcp = within(server, "connecting", TcpStream::connect(&server.dial))
        .await?
        .map_err(|e| unreachable(server, "connecting", e))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::clone(&tls.0));
    within(server, "the TLS handshake", connector.connect(name, tcp))
        .await?
        .map_err(|e| unreachable(server, "the TLS handshake", e))
}

/// The DER of the certificate `server` presents in a fresh handshake.
///
/// # Errors
/// [`Error::Server`] when it cannot be reached, its certificate is not from the CA or not for its name.
pub async fn presented(server: &Server, tls: &OperatorTls) -> Result<Vec<u8>> {
    let stream = connect(server, tls).await?;
    let (_, session) = stream.get_ref();
    let leaf = session.peer_certificates().and_then(|chain| chain.first());
    leaf.map(|cert| cert.as_ref().to_vec()).ok_or_else(|| unreachable(server, "the TLS handshake", "no certificate"))
}

/// A connection to `server` over TLS, logged in with `login`.
///
/// # Errors
/// [`Error::Server`] when it cannot be reached or refuses the login.
pub async fn login(
    server: &Server,
    tls: &OperatorTls,
    login: redis::RedisConnectionInfo,
) -> Result<MultiplexedConnection> {
    let stream = connect(server, tls).await?;
    let config = redis::AsyncConnectionConfig::default();
    let (connection, driver) =
        within(server, "logging in", MultiplexedConnection::new_with_config(&login, stream, config))
            .await?
            .map_err(|e| unreachable(server, "logging in", e))?;
    // The driver ends when the last handle of the connection is dropped.
    tokio::spawn(driver);
    Ok(connection)
}

/// Makes `server` read its certificate files again, logged in as the admin user with `admin_password`.
///
/// # Errors
/// [`Error::Server`] when it cannot be reached or refuses (it keeps its certificate then: Redis applies the
/// three files together or not at all).
pub async fn reload(server: &Server, tls: &OperatorTls, admin_password: &str) -> Result<()> {
    let admin = redis::RedisConnectionInfo::default().set_username(ADMIN_USER).set_password(admin_password);
    let mut connection = login(server, tls, admin).await?;
    let mut get = redis::cmd("CONFIG");
    get.arg("GET");
    for file in FILES {
        get.arg(file);
    }
    let paths: std::collections::HashMap<String, String> =
        within(server, "CONFIG GET", get.query_async(&mut connection))
            .await?
            .map_err(|e| unreachable(server, "CONFIG GET", e))?;
    let mut set = redis::cmd("CONFIG");
    set.arg("SET");
    for file in FILES {
        match paths.get(file).filter(|p| !p.is_empty()) {
            Some(path) => set.arg(file).arg(path),
            None => return Err(unreachable(server, "CONFIG GET", format!("no {file}"))),
        };
    }
    within(server, "CONFIG SET", set.query_async::<()>(&mut connection))
        .await?
        .map_err(|e| unreachable(server, "CONFIG SET", e))
}

/// Where one server stands with the current certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loaded {
    /// It presented the current certificate.
    Presents,
    /// It still presents another one (or could not be asked): why, for people.
    Pending(String),
}

/// Makes `server` present the certificate `current` (DER): nothing when it already does, else a reload and a
/// fresh handshake to confirm.
pub async fn converge(server: &Server, tls: &OperatorTls, admin_password: &str, current: &[u8]) -> Loaded {
    match presented(server, tls).await {
        Ok(der) if der == current => return Loaded::Presents,
        Ok(_) => {}
        Err(error) => return Loaded::Pending(error.to_string()),
    }
    if let Err(error) = reload(server, tls, admin_password).await {
        return Loaded::Pending(error.to_string());
    }
    match presented(server, tls).await {
        Ok(der) if der == current => {
            tracing::info!(pod = %server.pod, "the server loaded the renewed certificate");
            Loaded::Presents
        }
        Ok(_) => Loaded::Pending(format!(
            "{} still presents an older certificate (its files are not updated yet)",
            server.pod
        )),
        Err(error) => Loaded::Pending(error.to_string()),
    }
}

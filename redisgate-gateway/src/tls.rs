//! TLS: the gateway's HTTPS listener, and the certificates for `rediss://` upstreams.
//!
//! Both are rustls on ring. The listener negotiates HTTP/2 or HTTP/1.1 by ALPN and re-reads its certificate
//! when the files change ([`ReloadingCert`]: cert-manager renews a mounted Secret in place): each new
//! connection gets the certificate on disk, open connections keep theirs, nothing restarts. Toward Redis,
//! [`RedisTls`] adds a private CA and a client certificate (mTLS) to redis-rs's `rediss://` support (a
//! handshake failure is told apart, in words, by [`crate::upstream::UpstreamError`]).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;

/// The PEM files of the listener's certificate chain and private key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first.
    pub cert: PathBuf,
    /// Its private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// The HTTPS configuration of a listener serving `files`: HTTP/2 and HTTP/1.1 by ALPN, the certificate
/// re-read when the files change.
///
/// # Errors
/// When the files cannot be read or do not hold a certificate and its key.
pub fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, String> {
    let resolver = Arc::new(ReloadingCert::load(files.clone())?);
    let mut config = ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// When and how big the two files were last seen: a change of either means "read them again".
type Stamp = [(Option<SystemTime>, u64); 2];

/// A certificate that follows its files: checked (two `stat`s) at each handshake, re-read when they changed.
/// A half-written pair (a key that does not match the certificate, an unreadable file) keeps the previous
/// certificate serving and is tried again at the next handshake.
#[derive(Debug)]
pub struct ReloadingCert {
    files: TlsFiles,
    current: Mutex<(Stamp, Arc<CertifiedKey>)>,
}

impl ReloadingCert {
    /// Reads the files once.
    ///
    /// # Errors
    /// As [`server_config`].
    pub fn load(files: TlsFiles) -> Result<Self, String> {
        let stamp = stamp(&files);
        let key = read(&files)?;
        Ok(Self { files, current: Mutex::new((stamp, key)) })
    }

    /// The certificate on disk now (or the last good one).
    #[must_use]
    pub fn current(&self) -> Arc<CertifiedKey> {
        let stamp = stamp(&self.files);
        let mut current = self.current.lock().unwrap_or_else(PoisonError::into_inner);
        if stamp != current.0 {
            match read(&self.files) {
                Ok(key) => {
                    tracing::info!(cert = %self.files.cert.display(), "TLS certificate reloaded");
                    *current = (stamp, key);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "TLS certificate changed but cannot be used yet; serving the previous one")
                }
            }
        }
        Arc::clone(&current.1)
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

fn stamp(files: &TlsFiles) -> Stamp {
    let of = |path: &Path| std::fs::metadata(path).map_or((None, 0), |m| (m.modified().ok(), m.len()));
    [of(&files.cert), of(&files.key)]
}

fn read(files: &TlsFiles) -> Result<Arc<CertifiedKey>, String> {
    let certs = CertificateDer::pem_file_iter(&files.cert)
        .and_then(Iterator::collect::<Result<Vec<_>, _>>)
        .map_err(|e| format!("cannot read the certificate {}: {e}", files.cert.display()))?;
    if certs.is_empty() {
        return Err(format!("{} holds no certificate", files.cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .map_err(|e| format!("cannot read the private key {}: {e}", files.key.display()))?;
    let provider = rustls::crypto::ring::default_provider();
    let certified = CertifiedKey::from_der(certs, key, &provider)
        .map_err(|e| format!("{} and {} do not make a certificate: {e}", files.cert.display(), files.key.display()))?;
    Ok(Arc::new(certified))
}

/// Certificates for `rediss://` upstreams, in PEM: a CA to verify servers with instead of the system's roots,
/// and a client certificate and key for servers that ask for one (`tls-auth-clients yes`).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RedisTls {
    /// The CA that signed the servers' certificates (`None`: the system's roots).
    pub ca_cert: Option<Arc<[u8]>>,
    /// The client certificate chain and its key, for mTLS.
    pub client: Option<ClientCert>,
}

/// A client certificate chain and its private key (PEM).
pub type ClientCert = (Arc<[u8]>, Arc<[u8]>);

impl std::fmt::Debug for RedisTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisTls")
            .field("ca_cert", &self.ca_cert.is_some())
            .field("client", &self.client.as_ref().map(|_| "<set>"))
            .finish()
    }
}

impl RedisTls {
    /// Reads the PEM files: a CA, and a client certificate with its key.
    ///
    /// # Errors
    /// An unreadable file, or a client certificate without a key (or the reverse).
    pub fn from_files(ca: Option<&Path>, cert: Option<&Path>, key: Option<&Path>) -> Result<Self, String> {
        let read = |path: &Path| {
            std::fs::read(path).map(Arc::from).map_err(|e| format!("cannot read {}: {e}", path.display()))
        };
        let client = match (cert, key) {
            (Some(cert), Some(key)) => Some((read(cert)?, read(key)?)),
            (None, None) => None,
            _ => return Err("a client certificate needs its key, and a key its certificate".to_owned()),
        };
        Ok(Self { ca_cert: ca.map(read).transpose()?, client })
    }

    /// An instance's own material (an operator-managed CA's): its CA and the gateway's client certificate.
    #[must_use]
    pub fn of_instance(tls: &redisgate_core::provisioning::ClientTls) -> Self {
        Self {
            ca_cert: Some(Arc::from(tls.ca.as_slice())),
            client: Some((Arc::from(tls.cert.as_slice()), Arc::from(tls.key.as_slice()))),
        }
    }

    /// Whether anything differs from redis-rs's defaults (the system's roots, no client certificate).
    #[must_use]
    pub fn is_default(&self) -> bool {
        self.ca_cert.is_none() && self.client.is_none()
    }

    /// As redis-rs takes them.
    #[must_use]
    pub fn certificates(&self) -> redis::TlsCertificates {
        redis::TlsCertificates {
            client_tls: self
                .client
                .as_ref()
                .map(|(cert, key)| redis::ClientTlsConfig { client_cert: cert.to_vec(), client_key: key.to_vec() }),
            root_cert: self.ca_cert.as_ref().map(|ca| ca.to_vec()),
        }
    }
}

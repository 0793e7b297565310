//! The local provisioner's certificate authority: TLS-only instances without anything set up by hand.
//!
//! `<state-dir>/ca/` holds the CA (`ca.pem`; its key `ca-key.pem`, mode 0600) and the gateway's client
//! certificate (`gateway.pem`, `gateway-key.pem`), made on first use with rcgen. Each TLS instance gets a
//! server certificate for `127.0.0.1` and `localhost` in its own directory (`tls.pem`, `tls-key.pem`), and
//! its server verifies clients against the same CA (`tls-auth-clients yes`): only the gateway and the
//! control plane, which hold the client certificate, can open a connection.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SanType,
};
use redisgate_core::provisioning::Listen;
use redisgate_gateway::tls::RedisTls;

use crate::os::write_private;

/// The CA of a state directory, and the gateway's client certificate from it.
pub struct LocalCa {
    dir: PathBuf,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for LocalCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalCa").field("dir", &self.dir).finish_non_exhaustive()
    }
}

/// The CA's certificate parameters. The same every time, so a CA read back from its key signs certificates
/// that chain to the `ca.pem` written when it was made (same subject, same key identifier).
fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, "RedisGate local CA");
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    params
}

fn failed(what: &str, error: impl std::fmt::Display) -> String {
    format!("local CA: cannot {what}: {error}")
}

impl LocalCa {
    /// The CA of `state_dir`, made (with the gateway's client certificate) when there is none yet.
    ///
    /// # Errors
    /// Files that cannot be written or read back.
    pub fn open(state_dir: &Path) -> Result<Self, String> {
        let dir = state_dir.join("ca");
        let key_file = dir.join("ca-key.pem");
        if !key_file.exists() {
            let key = KeyPair::generate().map_err(|e| failed("make a key", e))?;
            let cert = ca_params().self_signed(&key).map_err(|e| failed("sign its certificate", e))?;
            write_private(&dir.join("ca.pem"), cert.pem().as_bytes()).map_err(|e| failed("write ca.pem", e))?;
            let ca = Self { dir: dir.clone(), issuer: Issuer::new(ca_params(), key) };
            let (gateway, gateway_key) = ca.issue("redisgate-gateway", ExtendedKeyUsagePurpose::ClientAuth)?;
            write_private(&dir.join("gateway.pem"), gateway.as_bytes()).map_err(|e| failed("write gateway.pem", e))?;
            write_private(&dir.join("gateway-key.pem"), gateway_key.as_bytes())
                .map_err(|e| failed("write gateway-key.pem", e))?;
            // The CA's key last: its presence says the directory is complete.
            write_private(&key_file, ca.issuer.key().serialize_pem().as_bytes())
                .map_err(|e| failed("write ca-key.pem", e))?;
            return Ok(ca);
        }
        let pem = std::fs::read_to_string(&key_file).map_err(|e| failed("read ca-key.pem", e))?;
        let key = KeyPair::from_pem(&pem).map_err(|e| failed("read ca-key.pem", e))?;
        Ok(Self { dir, issuer: Issuer::new(ca_params(), key) })
    }

    /// The CA of `state_dir` if one was made (instances made with TLS need it even when new ones are plain).
    ///
    /// # Errors
    /// As [`LocalCa::open`].
    pub fn existing(state_dir: &Path) -> Result<Option<Self>, String> {
        if state_dir.join("ca").join("ca-key.pem").exists() {
            Self::open(state_dir).map(Some)
        } else {
            Ok(None)
        }
    }

    /// `ca.pem`.
    #[must_use]
    pub fn cert(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }

    /// What the gateway and the control plane connect to TLS instances with: this CA, and the client
    /// certificate it issued.
    ///
    /// # Errors
    /// Unreadable files.
    pub fn client_tls(&self) -> Result<RedisTls, String> {
        RedisTls::from_files(
            Some(&self.cert()),
            Some(&self.dir.join("gateway.pem")),
            Some(&self.dir.join("gateway-key.pem")),
        )
    }

    /// The client certificate and key the CA issued for the gateway and the control plane (a replicated TLS
    /// instance's processes present it to each other too).
    #[must_use]
    pub fn client_files(&self) -> (PathBuf, PathBuf) {
        (self.dir.join("gateway.pem"), self.dir.join("gateway-key.pem"))
    }

    /// Writes a server certificate into `instance_dir` and says how the server listens on `port` with it.
    ///
    /// # Errors
    /// Files that cannot be written.
    pub fn listen(&self, instance_dir: &Path, port: u16) -> Result<Listen, String> {
        let (cert, key) = self.issue("redisgate-instance", ExtendedKeyUsagePurpose::ServerAuth)?;
        let (cert_file, key_file) = (instance_dir.join("tls.pem"), instance_dir.join("tls-key.pem"));
        write_private(&cert_file, cert.as_bytes()).map_err(|e| failed("write tls.pem", e))?;
        write_private(&key_file, key.as_bytes()).map_err(|e| failed("write tls-key.pem", e))?;
        let path = |p: &Path| p.to_string_lossy().into_owned();
        Ok(Listen::Tls { port, cert: path(&cert_file), key: path(&key_file), ca: path(&self.cert()) })
    }

    /// A certificate for `127.0.0.1` and `localhost`, and its key, as PEM.
    fn issue(&self, name: &str, purpose: ExtendedKeyUsagePurpose) -> Result<(String, String), String> {
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, name);
        params.subject_alt_names = vec![
            SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            SanType::DnsName("localhost".try_into().map_err(|e| failed("name localhost", e))?),
        ];
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = vec![purpose];
        let key = KeyPair::generate().map_err(|e| failed("make a key", e))?;
        let cert = params.signed_by(&key, &self.issuer).map_err(|e| failed("sign a certificate", e))?;
        Ok((cert.pem(), key.serialize_pem()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ca_read_back_issues_what_its_first_certificate_verifies() {
        let state = tempfile::tempdir().unwrap();
        assert!(LocalCa::existing(state.path()).unwrap().is_none());
        let first = LocalCa::open(state.path()).unwrap();
        let ca_pem = std::fs::read(first.cert()).unwrap();
        let again = LocalCa::existing(state.path()).unwrap().expect("made once, found again");
        assert_eq!(std::fs::read(again.cert()).unwrap(), ca_pem, "the CA is not made twice");
        let dir = tempfile::tempdir().unwrap();
        let Listen::Tls { cert, .. } = again.listen(dir.path(), 7000).unwrap() else { panic!("not TLS") };
        // The server certificate from the re-read CA chains to the CA written first.
        use rustls::client::danger::ServerCertVerifier as _;
        use rustls::pki_types::pem::PemObject as _;
        let mut roots = rustls::RootCertStore::empty();
        roots.add(rustls::pki_types::CertificateDer::from_pem_slice(&ca_pem).unwrap()).unwrap();
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
            std::sync::Arc::new(roots),
            std::sync::Arc::new(rustls::crypto::ring::default_provider()),
        )
        .build()
        .unwrap();
        let leaf = rustls::pki_types::CertificateDer::from_pem_file(cert).unwrap();
        let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
        let now = rustls::pki_types::UnixTime::now();
        assert!(verifier.verify_server_cert(&leaf, &[], &name, &[], now).is_ok());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(state.path().join("ca/ca-key.pem")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}

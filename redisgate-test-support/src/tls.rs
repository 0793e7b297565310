//! `TestCa`: a certificate authority of a test's own, issuing server and client certificates as PEM files.

use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SanType,
};

/// A CA in a temporary directory; what it issues is valid for `127.0.0.1` and `localhost`.
pub struct TestCa {
    issuer: Issuer<'static, KeyPair>,
    dir: tempfile::TempDir,
    issued: std::cell::Cell<u32>,
}

/// A certificate and its key, as PEM files.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The certificate.
    pub cert: PathBuf,
    /// Its private key.
    pub key: PathBuf,
}

/// What a certificate is for, and whether it is still valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A server's, valid now.
    Server,
    /// A server's that expired in 2021.
    ExpiredServer,
    /// A client's (mTLS).
    Client,
    /// A server's that also connects to its peers as a client: a cluster node's (Redis checks the
    /// certificate a node presents on the cluster bus).
    Peer,
}

impl TestCa {
    /// A new CA named `name`; its certificate is [`TestCa::cert`].
    ///
    /// # Panics
    /// When the key or the files cannot be made.
    #[must_use]
    pub fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages =
            vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let dir = tempfile::Builder::new().prefix("redisgate-ca-").tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), cert.pem()).unwrap();
        Self { issuer: Issuer::new(params, key), dir, issued: std::cell::Cell::new(0) }
    }

    /// The CA's certificate (PEM).
    #[must_use]
    pub fn cert(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// Issues a certificate named `name` for `purpose`, written to new files.
    ///
    /// # Panics
    /// When the key or the files cannot be made.
    #[must_use]
    pub fn issue(&self, name: &str, purpose: Purpose) -> Issued {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.subject_alt_names = vec![
            SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            SanType::DnsName("localhost".try_into().unwrap()),
        ];
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = match purpose {
            Purpose::Client => vec![ExtendedKeyUsagePurpose::ClientAuth],
            Purpose::Server | Purpose::ExpiredServer => vec![ExtendedKeyUsagePurpose::ServerAuth],
            Purpose::Peer => vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth],
        };
        if purpose == Purpose::ExpiredServer {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let n = self.issued.get() + 1;
        self.issued.set(n);
        let issued = Issued {
            cert: self.dir.path().join(format!("{name}-{n}.pem")),
            key: self.dir.path().join(format!("{name}-{n}-key.pem")),
        };
        std::fs::write(&issued.cert, cert.pem()).unwrap();
        std::fs::write(&issued.key, key.serialize_pem()).unwrap();
        issued
    }

    /// The directory the files are in.
    #[must_use]
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

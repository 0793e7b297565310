//! TLS for instances with `spec.tls.enabled` (issue 12, the operator's part): an operator-managed CA, a
//! server certificate per instance, and the client certificate the gateway presents.
//!
//! - **The CA** lives in the Secret [`CA_SECRET`] of the namespace (`ca.crt`, `ca.key`), made once with
//!   rcgen and shared by the namespace's instances. It belongs to no instance, so deleting one keeps it.
//! - **Each instance** gets `<name>-tls` (`ca.crt`, `tls.crt`, `tls.key`): a server certificate for the
//!   instance's Service and pods' DNS names, valid [`VALIDITY_DAYS`] days and issued again once fewer than
//!   [`RENEW_DAYS`] remain (the Secret's [`NOT_AFTER_ANNOTATION`] says when it expires).
//! - **The gateway** presents the client certificate in [`GATEWAY_SECRET`] (`ca.crt`, `tls.crt`,
//!   `tls.key`), renewed the same way; servers require it (`tls-auth-clients yes`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::jiff::{Timestamp, ToSpan as _};
use k8s_openapi::ByteString;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    SanType,
};

use redisgate_core::provisioning::ClientTls;

use super::Desired;
use crate::naming::{LABEL_MANAGED_BY, MANAGER};
use crate::{Error, Result};

/// The namespace's CA.
pub const CA_SECRET: &str = "redisgate-ca";
/// The gateway's client certificate.
pub const GATEWAY_SECRET: &str = "redisgate-gateway-tls";
/// When a certificate Secret's certificate expires (RFC 3339).
pub const NOT_AFTER_ANNOTATION: &str = "redisgate.io/not-after";
/// How long an issued certificate is valid.
pub const VALIDITY_DAYS: i64 = 365;
/// A certificate with fewer days left is issued again.
pub const RENEW_DAYS: i64 = 30;
/// Keys of the certificate Secrets (those of `kubernetes.io/tls`, plus the CA).
pub const CA_CERT_KEY: &str = "ca.crt";
/// The certificate.
pub const CERT_KEY: &str = "tls.crt";
/// Its private key.
pub const KEY_KEY: &str = "tls.key";
/// The CA's private key (in [`CA_SECRET`] only).
const CA_KEY_KEY: &str = "ca.key";

/// The CA: its certificate (PEM) and what signs with its key.
pub struct Ca {
    cert: String,
    issuer: Issuer<'static, KeyPair>,
}

impl std::fmt::Debug for Ca {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ca").finish_non_exhaustive()
    }
}

/// A certificate issued by the [`Ca`], with its key (PEM) and expiry.
#[derive(Clone, PartialEq, Eq)]
pub struct Issued {
    /// The certificate.
    pub cert: String,
    /// Its private key.
    pub key: String,
    /// When it expires.
    pub not_after: Timestamp,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued").field("not_after", &self.not_after).finish_non_exhaustive()
    }
}

/// The CA's parameters; the same every time, so a CA read back from its Secret signs certificates that chain
/// to the certificate written when it was made.
fn ca_params() -> CertificateParams {
    let mut params = CertificateParams::default();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, "RedisGate instances CA");
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    params
}

fn failed(what: &str, error: impl std::fmt::Display) -> Error {
    Error::Config(format!("TLS: cannot {what}: {error}"))
}

impl Ca {
    /// A new CA.
    ///
    /// # Errors
    /// When rcgen cannot make a key or sign (it does not happen with its defaults).
    pub fn generate() -> Result<Self> {
        let key = KeyPair::generate().map_err(|e| failed("make a key", e))?;
        let mut params = ca_params();
        params.not_after = rcgen::date_time_ymd(2100, 1, 1);
        let cert = params.self_signed(&key).map_err(|e| failed("sign the CA", e))?.pem();
        Ok(Self { cert, issuer: Issuer::new(ca_params(), key) })
    }

    /// The CA in `secret` (made by [`Ca::secret`]).
    ///
    /// # Errors
    /// [`Error::SecretInvalid`] when its certificate or key is missing or unreadable.
    pub fn from_secret(secret: &Secret) -> Result<Self> {
        let invalid = || Error::SecretInvalid(secret.metadata.name.clone().unwrap_or_default());
        let cert = text(secret, CA_CERT_KEY).ok_or_else(invalid)?;
        let key = KeyPair::from_pem(&text(secret, CA_KEY_KEY).ok_or_else(invalid)?).map_err(|_| invalid())?;
        Ok(Self { cert, issuer: Issuer::new(ca_params(), key) })
    }

    /// The CA's certificate (PEM).
    #[must_use]
    pub fn cert(&self) -> &str {
        &self.cert
    }

    /// The Secret [`CA_SECRET`] holding this CA in `namespace`: as `ca.crt`/`ca.key`, and as `tls.crt`/
    /// `tls.key` too, where a cert-manager CA Issuer reads it.
    #[must_use]
    pub fn secret(&self, namespace: &str) -> Secret {
        let key = self.issuer.key().serialize_pem();
        let mut secret = certificate_secret(
            namespace,
            CA_SECRET,
            [
                (CA_CERT_KEY, self.cert.clone()),
                (CA_KEY_KEY, key.clone()),
                (CERT_KEY, self.cert.clone()),
                (KEY_KEY, key),
            ],
        );
        secret.metadata.annotations = None;
        secret
    }

    /// A server certificate for `names` (DNS names, `*.` wildcards allowed), valid from `now`; the server may
    /// present it as a client too.
    ///
    /// # Errors
    /// A name that is not a DNS name.
    pub fn server(&self, names: &[String], now: Timestamp) -> Result<Issued> {
        let mut sans = Vec::new();
        for name in names {
            sans.push(SanType::DnsName(name.clone().try_into().map_err(|e| failed("name a certificate", e))?));
        }
        // Client authentication too: the pod's probe (and a replica) presents it to the server.
        let purposes = vec![ExtendedKeyUsagePurpose::ServerAuth, ExtendedKeyUsagePurpose::ClientAuth];
        self.issue(names.first().map_or("redisgate-instance", String::as_str), sans, purposes, now)
    }

    /// A client certificate for `name`, valid from `now`.
    ///
    /// # Errors
    /// As [`Ca::server`].
    pub fn client(&self, name: &str, now: Timestamp) -> Result<Issued> {
        self.issue(name, Vec::new(), vec![ExtendedKeyUsagePurpose::ClientAuth], now)
    }

    fn issue(
        &self,
        common_name: &str,
        sans: Vec<SanType>,
        purposes: Vec<ExtendedKeyUsagePurpose>,
        now: Timestamp,
    ) -> Result<Issued> {
        let not_after = now.checked_add((VALIDITY_DAYS * 24).hours()).map_err(|e| failed("date a certificate", e))?;
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, common_name);
        params.subject_alt_names = sans;
        params.use_authority_key_identifier_extension = true;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
        params.extended_key_usages = purposes;
        let (year, month, day) = ymd(now.checked_sub(24.hours()).unwrap_or(now));
        params.not_before = rcgen::date_time_ymd(year, month, day);
        let (year, month, day) = ymd(not_after);
        params.not_after = rcgen::date_time_ymd(year, month, day);
        let key = KeyPair::generate().map_err(|e| failed("make a key", e))?;
        let cert = params.signed_by(&key, &self.issuer).map_err(|e| failed("sign a certificate", e))?;
        Ok(Issued { cert: cert.pem(), key: key.serialize_pem(), not_after })
    }

    /// The Secret `name` in `namespace` holding `issued` and this CA's certificate.
    #[must_use]
    pub fn issued_secret(&self, namespace: &str, name: &str, issued: &Issued) -> Secret {
        let mut secret = certificate_secret(
            namespace,
            name,
            [(CA_CERT_KEY, self.cert.clone()), (CERT_KEY, issued.cert.clone()), (KEY_KEY, issued.key.clone())],
        );
        secret.metadata.annotations =
            Some(BTreeMap::from([(NOT_AFTER_ANNOTATION.to_owned(), issued.not_after.to_string())]));
        secret
    }
}

/// The UTC date of `timestamp` (certificates are dated by the day: a day before issuing, so clocks a little
/// behind accept them).
fn ymd(timestamp: Timestamp) -> (i32, u8, u8) {
    let date = timestamp.to_zoned(k8s_openapi::jiff::tz::TimeZone::UTC).date();
    (i32::from(date.year()), u8::try_from(date.month()).unwrap_or(1), u8::try_from(date.day()).unwrap_or(1))
}

fn certificate_secret<const N: usize>(namespace: &str, name: &str, data: [(&str, String); N]) -> Secret {
    let mut secret = Secret::default();
    secret.metadata.name = Some(name.to_owned());
    secret.metadata.namespace = Some(namespace.to_owned());
    secret.metadata.labels = Some(BTreeMap::from([(LABEL_MANAGED_BY.to_owned(), MANAGER.to_owned())]));
    secret.type_ = Some("Opaque".to_owned());
    secret.data = Some(data.into_iter().map(|(k, v)| (k.to_owned(), ByteString(v.into_bytes()))).collect());
    secret
}

/// What a gateway presents to the TLS instances of a namespace, from its [`GATEWAY_SECRET`].
///
/// # Errors
/// [`Error::SecretInvalid`] when a certificate or the key is missing.
pub fn client_tls(secret: &Secret) -> Result<ClientTls> {
    let read = |key: &str| text(secret, key).map(String::into_bytes);
    match (read(CA_CERT_KEY), read(CERT_KEY), read(KEY_KEY)) {
        (Some(ca), Some(cert), Some(key)) => Ok(ClientTls { ca, cert, key }),
        _ => Err(Error::SecretInvalid(secret.metadata.name.clone().unwrap_or_default())),
    }
}

/// The text under `key` of `secret`, if any and not empty.
#[must_use]
pub fn text(secret: &Secret, key: &str) -> Option<String> {
    secret.data.as_ref()?.get(key).and_then(|b| String::from_utf8(b.0.clone()).ok()).filter(|t| !t.is_empty())
}

/// When the certificate in `secret` expires, as its [`NOT_AFTER_ANNOTATION`] says.
#[must_use]
pub fn not_after(secret: &Secret) -> Option<Timestamp> {
    secret.metadata.annotations.as_ref()?.get(NOT_AFTER_ANNOTATION)?.parse().ok()
}

/// Whether the certificate in `secret` must be issued again at `now`: missing, unreadable, issued by another
/// CA than `ca`, or expiring within [`RENEW_DAYS`].
#[must_use]
pub fn needs_issuing(secret: Option<&Secret>, ca: &Ca, now: Timestamp) -> bool {
    let Some(secret) = secret else { return true };
    let renew_at = not_after(secret).and_then(|at| at.checked_sub((RENEW_DAYS * 24).hours()).ok());
    text(secret, CA_CERT_KEY).as_deref() != Some(ca.cert())
        || text(secret, CERT_KEY).is_none()
        || text(secret, KEY_KEY).is_none()
        || renew_at.is_none_or(|at| now >= at)
}

/// The DNS names an instance's server certificate covers: its Service and its pods under the headless
/// Service, short and fully qualified; for a replicated instance its Sentinels' too (they present the same
/// certificate).
#[must_use]
pub fn server_names(desired: &Desired) -> Vec<String> {
    let (ns, domain, names) = (&desired.namespace, &desired.config.cluster_domain, &desired.names);
    let service = |name: &str| {
        vec![name.to_owned(), format!("{name}.{ns}"), format!("{name}.{ns}.svc"), format!("{name}.{ns}.svc.{domain}")]
    };
    let pods = |headless: &str| vec![format!("*.{headless}.{ns}.svc.{domain}"), format!("*.{headless}.{ns}.svc")];
    let mut all = service(&names.instance);
    all.extend(pods(&names.headless));
    if desired.instance.spec.topology.is_replicated() {
        all.extend(service(&names.sentinel));
        all.extend(pods(&names.sentinel_headless));
    }
    all.push("localhost".to_owned());
    all
}

#[cfg(test)]
mod tests {
    use rustls::client::danger::ServerCertVerifier as _;
    use rustls::pki_types::pem::PemObject as _;
    use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

    use super::*;

    fn verifies(ca_pem: &str, cert_pem: &str, name: &str) -> bool {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(CertificateDer::from_pem_slice(ca_pem.as_bytes()).unwrap()).unwrap();
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
            std::sync::Arc::new(roots),
            std::sync::Arc::new(rustls::crypto::ring::default_provider()),
        )
        .build()
        .unwrap();
        let leaf = CertificateDer::from_pem_slice(cert_pem.as_bytes()).unwrap();
        let name = ServerName::try_from(name.to_owned()).unwrap();
        verifier.verify_server_cert(&leaf, &[], &name, &[], UnixTime::now()).is_ok()
    }

    #[test]
    fn a_ca_read_back_from_its_secret_issues_certificates_that_chain_to_it() {
        let ca = Ca::generate().unwrap();
        let again = Ca::from_secret(&ca.secret("tenant")).unwrap();
        assert_eq!(again.cert(), ca.cert());
        let names =
            vec!["cache.tenant.svc.cluster.local".to_owned(), "*.cache-headless.tenant.svc.cluster.local".to_owned()];
        let issued = again.server(&names, Timestamp::now()).unwrap();
        assert!(verifies(ca.cert(), &issued.cert, "cache.tenant.svc.cluster.local"));
        assert!(verifies(ca.cert(), &issued.cert, "cache-0.cache-headless.tenant.svc.cluster.local"));
        assert!(!verifies(ca.cert(), &issued.cert, "other.tenant.svc.cluster.local"));
        assert!(!verifies(Ca::generate().unwrap().cert(), &issued.cert, "cache.tenant.svc.cluster.local"));
        assert!(!format!("{issued:?}").contains("PRIVATE"), "a key in Debug");
    }

    #[test]
    fn a_replicated_instances_certificate_covers_its_sentinels() {
        let spec = serde_json::json!({"memory": "64Mi", "topology": {"mode": "replicated"}, "tls": {"enabled": true}});
        let mut instance = crate::crd::RedisHttpInstance::new("ha", serde_json::from_value(spec).unwrap());
        instance.metadata.namespace = Some("tenant".into());
        instance.metadata.uid = Some("0b4c5c1e-0000-4000-8000-000000000002".into());
        let desired = Desired::new(&instance, &crate::config::OperatorConfig::default()).unwrap();
        let ca = Ca::generate().unwrap();
        let issued = ca.server(&server_names(&desired), Timestamp::now()).unwrap();
        for name in [
            "ha.tenant.svc.cluster.local",
            "ha-1.ha-headless.tenant.svc.cluster.local",
            "ha-sentinel.tenant.svc.cluster.local",
            "ha-sentinel-2.ha-sentinel-headless.tenant.svc.cluster.local",
        ] {
            assert!(verifies(ca.cert(), &issued.cert, name), "{name}");
        }
    }

    #[test]
    fn certificates_are_issued_again_when_missing_foreign_or_expiring() {
        let ca = Ca::generate().unwrap();
        let now = Timestamp::now();
        let issued = ca.client("redisgate", now).unwrap();
        let secret = ca.issued_secret("tenant", GATEWAY_SECRET, &issued);
        assert!(!needs_issuing(Some(&secret), &ca, now));
        assert!(needs_issuing(None, &ca, now));
        assert!(needs_issuing(Some(&secret), &Ca::generate().unwrap(), now), "issued by another CA");
        let later = now.checked_add(((VALIDITY_DAYS - RENEW_DAYS + 1) * 24).hours()).unwrap();
        assert!(needs_issuing(Some(&secret), &ca, later), "expiring within the renewal window");
        let mut unreadable = secret;
        unreadable.metadata.annotations = None;
        assert!(needs_issuing(Some(&unreadable), &ca, now));
    }
}

//! TLS certificates through cert-manager, where its CRDs are installed (issue 12, item 4): the operator
//! still makes the namespace's CA ([`super::tls::CA_SECRET`]), and cert-manager issues and renews the
//! certificates from it.
//!
//! - **The Issuer** [`ISSUER`] (kind `Issuer`, `spec.ca.secretName` = the CA's Secret, which therefore also
//!   holds the CA as `tls.crt`/`tls.key`, the keys cert-manager reads).
//! - **A `Certificate` per instance**, `<name>-tls`, writing the Secret `<name>-tls` (`ca.crt`, `tls.crt`,
//!   `tls.key`, the keys the pods mount) for the same names as the operator's own certificates
//!   ([`super::tls::server_names`]), owned by the instance.
//! - **The gateway's `Certificate`**, [`super::tls::GATEWAY_SECRET`], CN `redisgate`, client auth only.
//!
//! Certificates last a year and are renewed 30 days before they expire, as the operator's own, with a new
//! key each time.

use kube::api::{ApiResource, DynamicObject};
use serde_json::json;

use super::tls::{server_names, CA_SECRET, GATEWAY_SECRET, RENEW_DAYS, VALIDITY_DAYS};
use super::Desired;
use crate::naming::{LABEL_MANAGED_BY, MANAGER};

/// The API group and version whose presence (discovery) switches issuing to cert-manager.
pub const GROUP_VERSION: &str = "cert-manager.io/v1";
/// The namespace's Issuer.
pub const ISSUER: &str = "redisgate-ca";

/// cert-manager's `Certificate`.
#[must_use]
pub fn certificate_resource() -> ApiResource {
    resource("Certificate", "certificates")
}

/// cert-manager's `Issuer`.
#[must_use]
pub fn issuer_resource() -> ApiResource {
    resource("Issuer", "issuers")
}

fn resource(kind: &str, plural: &str) -> ApiResource {
    ApiResource {
        group: "cert-manager.io".to_owned(),
        version: "v1".to_owned(),
        api_version: GROUP_VERSION.to_owned(),
        kind: kind.to_owned(),
        plural: plural.to_owned(),
    }
}

fn object(resource: &ApiResource, namespace: &str, name: &str, spec: serde_json::Value) -> DynamicObject {
    let mut object = DynamicObject::new(name, resource).within(namespace).data(json!({"spec": spec}));
    object.metadata.labels = Some([(LABEL_MANAGED_BY.to_owned(), MANAGER.to_owned())].into());
    object
}

/// The CA Issuer of `namespace`, backed by the CA's Secret.
#[must_use]
pub fn issuer(namespace: &str) -> DynamicObject {
    object(&issuer_resource(), namespace, ISSUER, json!({"ca": {"secretName": CA_SECRET}}))
}

/// The common part of a certificate's spec: the Issuer, lifetime and key.
fn spec(secret: &str, usages: &[&str]) -> serde_json::Value {
    json!({
        "secretName": secret,
        "duration": format!("{}h", VALIDITY_DAYS * 24),
        "renewBefore": format!("{}h", RENEW_DAYS * 24),
        "privateKey": {"algorithm": "ECDSA", "size": 256, "rotationPolicy": "Always"},
        "usages": usages,
        "issuerRef": {"group": "cert-manager.io", "kind": "Issuer", "name": ISSUER},
        "secretTemplate": {"labels": {LABEL_MANAGED_BY: MANAGER}},
    })
}

/// The instance's server certificate (it authenticates as a client too: probes, replicas, Sentinels).
#[must_use]
pub fn server_certificate(desired: &Desired) -> DynamicObject {
    let mut spec = spec(&desired.names.tls, &["digital signature", "key encipherment", "server auth", "client auth"]);
    spec["dnsNames"] = json!(server_names(desired));
    let mut certificate = object(&certificate_resource(), &desired.namespace, &desired.names.tls, spec);
    let meta = desired.meta(&desired.names.tls);
    certificate.metadata.labels = meta.labels;
    certificate.metadata.owner_references = meta.owner_references;
    certificate
}

/// The gateway's client certificate, shared by the namespace's instances (owned by none).
#[must_use]
pub fn gateway_certificate(namespace: &str) -> DynamicObject {
    let mut spec = spec(GATEWAY_SECRET, &["digital signature", "key encipherment", "client auth"]);
    spec["commonName"] = json!(redisgate_core::provisioning::acl::GATEWAY_USER);
    object(&certificate_resource(), namespace, GATEWAY_SECRET, spec)
}

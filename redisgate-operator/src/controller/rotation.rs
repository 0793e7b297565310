//! A TLS instance's server certificate in its status (`.status.certificate`), and the renewal reaching its
//! running servers without a restart ([`crate::tls_reload`]).
//!
//! The certificate is in no pod template, so a renewal rolls no pod. Once the pods run the current template,
//! the operator asks each server which certificate it presents; a server that presents an older one is asked
//! to read its files again. Until every server presents the current certificate, `loaded` is false, the
//! message says which do not yet (the kubelet updates mounted Secrets within about a minute), and the
//! instance is reconciled again after [`RETRY`]. A certificate every server presented is not checked again.

use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use redisgate_core::provisioning::ClientTls;

use super::Context;
use crate::config::REDIS_PORT;
use crate::crd::CertificateStatus;
use crate::resources::tls::Ca;
use crate::resources::Desired;
use crate::tls_reload::{self, Loaded, OperatorTls, Server};
use crate::Result;

/// How soon a server that still presents an older certificate is asked again.
pub const RETRY: Duration = Duration::from_secs(10);

/// The CN of the client certificate the operator presents to the servers.
const OPERATOR_CN: &str = "redisgate-operator";

/// The current server certificate of a TLS instance, as [`super::apply`] ensured it.
pub(super) struct ServerCertificate {
    /// The namespace's CA.
    pub ca: Ca,
    /// The certificate (PEM) in `<name>-tls`.
    pub cert: String,
    /// When it expires (RFC 3339).
    pub not_after: String,
}

impl ServerCertificate {
    /// What the operator presents to the instance's servers: a client certificate it issues itself from the
    /// namespace's CA (kept nowhere; a new one each time).
    ///
    /// # Errors
    /// When rcgen cannot issue it (it does not happen with its defaults).
    pub fn operator_tls(&self) -> Result<OperatorTls> {
        let client = self.ca.client(OPERATOR_CN, Timestamp::now())?;
        OperatorTls::new(&ClientTls {
            ca: self.ca.cert().as_bytes().to_vec(),
            cert: client.cert.into_bytes(),
            key: client.key.into_bytes(),
        })
    }
}

/// The data servers of `desired`: each data pod under the headless Service, on the Redis port.
#[must_use]
pub fn data_servers(desired: &Desired, ctx: &Context) -> Vec<Server> {
    (0..desired.instance.spec.topology.data_pods())
        .map(|i| {
            let pod = format!("{}-{i}", desired.names.instance);
            let host = desired.config.data_pod_host(&desired.names, i, &desired.namespace);
            let dial = ctx.dial(&format!("{host}:{REDIS_PORT}"));
            Server { pod, host, port: REDIS_PORT, dial }
        })
        .collect()
}

/// Where `servers` stand with `certificate`, each made to load it when it does not present it yet. `ready`:
/// the pods run the current template (until then they are starting, and read the files at start).
///
/// # Errors
/// Only when the operator cannot make itself a client certificate (it does not happen with rcgen's defaults).
pub(super) async fn observe(
    certificate: &ServerCertificate,
    previous: Option<&CertificateStatus>,
    servers: &[Server],
    admin_password: &str,
    ready: bool,
) -> Result<CertificateStatus> {
    let der = tls_reload::der(&certificate.cert).unwrap_or_default();
    let sha256 = tls_reload::fingerprint(&der);
    let status = |loaded: bool, message: Option<String>| CertificateStatus {
        sha256: sha256.clone(),
        not_after: certificate.not_after.clone(),
        loaded,
        message,
    };
    if der.is_empty() {
        return Ok(status(false, Some("the certificate is not issued yet (cert-manager issues it)".to_owned())));
    }
    if previous.is_some_and(|p| p.sha256 == sha256 && p.loaded) {
        return Ok(status(true, None));
    }
    if !ready {
        return Ok(status(false, Some("waiting for the pods to run the current template".to_owned())));
    }
    let tls = certificate.operator_tls()?;
    let mut pending = Vec::new();
    for server in servers {
        if let Loaded::Pending(why) = tls_reload::converge(server, &tls, admin_password, &der).await {
            pending.push(why);
        }
    }
    if pending.is_empty() {
        Ok(status(true, None))
    } else {
        Ok(status(false, Some(pending.join("; "))))
    }
}

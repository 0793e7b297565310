//! Issuing through cert-manager (see [`crate::resources::cert_manager`]): the Issuer and the two
//! `Certificate`s applied, the CA's Secret completed with the keys cert-manager reads, and the server
//! certificate read back from the Secret cert-manager writes.

use k8s_openapi::api::core::v1::Secret;
use kube::api::{DynamicObject, Patch, PatchParams};
use kube::{Api, Client};

use super::rotation::ServerCertificate;
use crate::naming::MANAGER;
use crate::resources::tls::{self, Ca};
use crate::resources::{cert_manager, Desired};
use crate::Result;

/// Applies the Issuer and the `Certificate`s of `desired`'s namespace and instance, and returns the server
/// certificate as cert-manager last wrote it (empty until it has).
pub(super) async fn ensure(
    client: &Client,
    desired: &Desired,
    ca: Ca,
    ca_secret: &Secret,
) -> Result<ServerCertificate> {
    let ns = desired.namespace.as_str();
    let secrets: Api<Secret> = Api::namespaced(client.clone(), ns);
    // A CA made before cert-manager was there lacks the keys its Issuer reads.
    if tls::text(ca_secret, tls::CERT_KEY).is_none() {
        let patch = serde_json::json!({"data": ca.secret(ns).data});
        secrets.patch(tls::CA_SECRET, &PatchParams::default(), &Patch::Merge(&patch)).await?;
    }
    let issuers: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &cert_manager::issuer_resource());
    apply(&issuers, &cert_manager::issuer(ns)).await?;
    let resource = cert_manager::certificate_resource();
    let certificates: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &resource);
    apply(&certificates, &cert_manager::gateway_certificate(ns)).await?;
    let certificate = apply(&certificates, &cert_manager::server_certificate(desired)).await?;
    let not_after = certificate.data["status"]["notAfter"].as_str().unwrap_or_default().to_owned();
    let issued = secrets.get_opt(&desired.names.tls).await?;
    let cert = issued.as_ref().and_then(|s| tls::text(s, tls::CERT_KEY)).unwrap_or_default();
    Ok(ServerCertificate { ca, cert, not_after })
}

async fn apply(api: &Api<DynamicObject>, object: &DynamicObject) -> Result<DynamicObject> {
    let name = object.metadata.name.clone().unwrap_or_default();
    Ok(api.patch(&name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(object)).await?)
}

//! The provisioner's endpoint cache: instance id → where its Redis listens and the URL with its password,
//! read synchronously by the gateway's directory.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client, ResourceExt as _};
use redisgate_core::provisioning::Endpoint;
use uuid::Uuid;

use crate::crd::RedisHttpInstance;
use crate::resources::secret::password_of;
use crate::resources::tls::{client_tls, GATEWAY_SECRET};
use crate::{Error, Result};

/// Maps the in-cluster `host:port` of an instance to the address the gateway dials.
pub type ConnectAddress = Arc<dyn Fn(&str) -> String + Send + Sync>;

/// One cached instance.
#[derive(Clone)]
pub(super) struct Cached {
    pub namespace: String,
    pub name: String,
    pub endpoint: Endpoint,
}

#[derive(Default)]
pub(super) struct Cache {
    entries: RwLock<HashMap<Uuid, Cached>>,
}

impl Cache {
    pub fn get(&self, id: Uuid) -> Option<Cached> {
        self.entries.read().unwrap_or_else(PoisonError::into_inner).get(&id).cloned()
    }

    pub fn insert(&self, id: Uuid, cached: Cached) {
        self.entries.write().unwrap_or_else(PoisonError::into_inner).insert(id, cached);
    }

    pub fn remove(&self, id: Uuid) {
        self.entries.write().unwrap_or_else(PoisonError::into_inner).remove(&id);
    }

    pub fn entries(&self) -> Vec<(Uuid, Cached)> {
        self.entries.read().unwrap_or_else(PoisonError::into_inner).iter().map(|(k, v)| (*k, v.clone())).collect()
    }

    /// The endpoint of a Ready instance: host and port from its status, the password from its Secret, and for
    /// a TLS instance the gateway's client certificate from the namespace's CA.
    pub async fn resolve(
        &self,
        client: &Client,
        instance: &RedisHttpInstance,
        connect: Option<&ConnectAddress>,
    ) -> Result<Cached> {
        let namespace = instance.namespace().ok_or(Error::MissingField("metadata.namespace"))?;
        let secrets = Api::<Secret>::namespaced(client.clone(), &namespace);
        let password = secrets.get(&password_secret(instance)?).await?;
        let tls = if instance.spec.tls.enabled { Some(secrets.get(GATEWAY_SECRET).await?) } else { None };
        let endpoint = endpoint(instance, &password, tls.as_ref(), connect)?;
        Ok(Cached { namespace, name: instance.name_any(), endpoint })
    }
}

/// The name of the Secret holding the gateway user's password, as `instance`'s status names it.
///
/// # Errors
/// [`Error::MissingField`] before the operator reported it.
pub(crate) fn password_secret(instance: &RedisHttpInstance) -> Result<String> {
    let status = instance.status.as_ref().ok_or(Error::MissingField("status"))?;
    Ok(status.secret_ref.as_ref().ok_or(Error::MissingField("status.secretRef"))?.name.clone())
}

/// How the gateway reaches a Ready `instance` (the provisioner's cache and the Kubernetes directory): the
/// status endpoint dialled through `connect`, the password from `password` (the Secret
/// [`password_secret`] names) and, for a TLS instance, the CA and client certificate of `gateway_tls` (the
/// namespace's [`GATEWAY_SECRET`]).
///
/// # Errors
/// A status without its endpoint, a Secret without its keys, a TLS instance without `gateway_tls`.
pub(crate) fn endpoint(
    instance: &RedisHttpInstance,
    password: &Secret,
    gateway_tls: Option<&Secret>,
    connect: Option<&ConnectAddress>,
) -> Result<Endpoint> {
    let status = instance.status.as_ref().ok_or(Error::MissingField("status"))?;
    let at = status.endpoint.as_ref().ok_or(Error::MissingField("status.endpoint"))?;
    let tls = match (instance.spec.tls.enabled, gateway_tls) {
        (false, _) => None,
        (true, Some(secret)) => Some(client_tls(secret)?),
        (true, None) => return Err(Error::SecretInvalid(GATEWAY_SECRET.to_owned())),
    };
    let address = format!("{}:{}", at.host, at.port);
    let dial = connect.map_or_else(|| address.clone(), |map| map(&address));
    let url = instance.gateway_url(&password_of(password)?, &dial);
    Ok(Endpoint { url, address, tls })
}

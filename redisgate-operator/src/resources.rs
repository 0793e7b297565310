//! Pure builders for the children of a `RedisHttpInstance`: given the resource and the cluster facts, they
//! return the exact k8s-openapi objects the controller applies. No I/O happens here, so every property the
//! issue asks for (owner references, selectors, password only through `secretKeyRef`, maxmemory from the
//! limit, PVC only when persistent) is checked by plain unit tests in [`tests`](self).

pub mod cert_manager;
pub mod configmap;
pub mod job;
pub mod networkpolicy;
pub mod pdb;
pub mod secret;
pub mod sentinel;
pub mod service;
pub mod statefulset;
pub mod tls;
pub mod tokens;

use k8s_openapi::api::core::v1::{ConfigMapVolumeSource, Volume};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::{Resource as _, ResourceExt as _};

use crate::config::OperatorConfig;
use crate::crd::RedisHttpInstance;
use crate::naming::{labels, Names};
use crate::redis_conf::{redis_conf, DATA_DIR};
use crate::{sizing, Error, Result};

/// Annotation on the pod template: checksum of redis.conf and the password.
pub const CHECKSUM_ANNOTATION: &str = "redisgate.io/config-checksum";

/// Everything the builders derive from one instance, validated once.
#[derive(Debug, Clone)]
pub struct Desired {
    /// Child names.
    pub names: Names,
    /// The instance's namespace (children live next to it: owner references cannot cross namespaces).
    pub namespace: String,
    /// Controller owner reference to the instance.
    pub owner: OwnerReference,
    /// Memory limit in bytes.
    pub limit: i64,
    /// Redis's `maxmemory` in bytes.
    pub max_memory: i64,
    /// The redis.conf text (without users: [`crate::redis_conf::with_users`] adds them).
    pub conf: String,
    /// The container image.
    pub image: String,
    /// The instance itself.
    pub instance: RedisHttpInstance,
    /// Cluster facts.
    pub config: OperatorConfig,
}

impl Desired {
    /// Validates `instance` and derives its children's parameters.
    ///
    /// # Errors
    /// [`Error::InvalidSpec`] for a bad name or memory, [`Error::MissingField`] without namespace or uid.
    pub fn new(instance: &RedisHttpInstance, config: &OperatorConfig) -> Result<Self> {
        let names = Names::new(&instance.name_any(), instance.spec.secret_name.as_deref())?;
        let namespace = instance.namespace().ok_or(Error::MissingField("metadata.namespace"))?;
        let owner = instance.controller_owner_ref(&()).ok_or(Error::MissingField("metadata.uid"))?;
        let limit = sizing::memory_limit(&instance.spec.memory)?;
        if instance.spec.persistence.enabled {
            sizing::parse_binary_quantity(&instance.spec.persistence.size)?;
        }
        let max_memory = sizing::max_memory_from_limit(limit);
        let mut conf =
            redis_conf(max_memory, instance.spec.eviction_policy, instance.spec.persistence.enabled, DATA_DIR);
        let topology = &instance.spec.topology;
        if instance.spec.tls.enabled {
            conf.push_str(&crate::redis_conf::tls_conf());
        }
        if !topology.is_standalone() {
            if let Some(problem) = topology.topology().problem() {
                return Err(Error::InvalidSpec(format!("topology: {problem}")));
            }
            if topology.is_cluster() {
                conf.push_str(&crate::redis_conf::cluster::cluster_conf(instance.spec.tls.enabled));
            }
            conf.push_str(&topology.topology().node_conf());
        }
        let image = instance
            .spec
            .image
            .clone()
            .unwrap_or_else(|| format!("{}:{}", config.image_repository, instance.spec.redis_version));
        Ok(Self {
            names,
            namespace,
            owner,
            limit,
            max_memory,
            conf,
            image,
            instance: instance.clone(),
            config: config.clone(),
        })
    }

    /// Metadata of a child named `name`: namespace, labels, controller owner reference.
    #[must_use]
    pub fn meta(&self, name: &str) -> ObjectMeta {
        ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(self.namespace.clone()),
            labels: Some(labels(&self.names.instance)),
            owner_references: Some(vec![self.owner.clone()]),
            ..ObjectMeta::default()
        }
    }
}

/// The volume of the instance's ConfigMap (its `redis.conf` and scripts), as its pods and Jobs mount it.
fn config_volume(desired: &Desired) -> Volume {
    Volume {
        name: "config".to_owned(),
        config_map: Some(ConfigMapVolumeSource {
            name: desired.names.config.clone(),
            ..ConfigMapVolumeSource::default()
        }),
        ..Volume::default()
    }
}

#[cfg(test)]
mod tests;

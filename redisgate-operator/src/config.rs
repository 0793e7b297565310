//! What the operator needs to know about the cluster it runs in: where the gateway's pods are (the only
//! clients a NetworkPolicy admits) and its own (admitted where it talks to an instance's servers itself), the
//! cluster's DNS domain and the default Redis image repository.

use std::collections::BTreeMap;

/// The port Redis listens on in every pod.
pub const REDIS_PORT: u16 = 6379;
/// The port a replicated instance's Sentinels listen on.
pub const SENTINEL_PORT: u16 = 26379;

/// Cluster facts used when building children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorConfig {
    /// Namespace of the gateway's pods.
    pub gateway_namespace: String,
    /// Labels of the gateway's pods.
    pub gateway_pod_labels: BTreeMap<String, String>,
    /// Namespace of the operator's own pod.
    pub operator_namespace: String,
    /// Labels of the operator's own pod.
    pub operator_pod_labels: BTreeMap<String, String>,
    /// The cluster's DNS domain (`cluster.local` on most clusters).
    pub cluster_domain: String,
    /// Image repository used as `<repository>:<redisVersion>` when a spec names no image.
    pub image_repository: String,
    /// The image whose `redisgate-backup` the backup Jobs run (the gateway's).
    pub backup_image: String,
    /// Where backups go when a `RedisHttpBackup` names no store.
    pub backup_store: Option<String>,
    /// The Secret (in the instances' namespace) whose keys become the backup Jobs' environment, when a
    /// `RedisHttpBackup` names none: the store's `AWS_*` credentials.
    pub backup_store_secret: Option<String>,
}

impl Default for OperatorConfig {
    fn default() -> Self {
        Self {
            gateway_namespace: "redisgate-system".to_owned(),
            gateway_pod_labels: BTreeMap::from([("app.kubernetes.io/name".to_owned(), "redisgate-gateway".to_owned())]),
            operator_namespace: "redisgate-system".to_owned(),
            operator_pod_labels: BTreeMap::from([(
                "app.kubernetes.io/name".to_owned(),
                "redisgate-operator".to_owned(),
            )]),
            cluster_domain: "cluster.local".to_owned(),
            image_repository: "redis".to_owned(),
            backup_image: "redisgate-gateway:0.1.0".to_owned(),
            backup_store: None,
            backup_store_secret: None,
        }
    }
}

impl OperatorConfig {
    /// The in-cluster DNS name of Service `service` in `namespace`.
    #[must_use]
    pub fn service_host(&self, service: &str, namespace: &str) -> String {
        format!("{service}.{namespace}.svc.{}", self.cluster_domain)
    }

    /// The in-cluster DNS name of data pod `index` of the instance named by `names`, in `namespace` (under
    /// its headless Service).
    #[must_use]
    pub fn data_pod_host(&self, names: &crate::naming::Names, index: i32, namespace: &str) -> String {
        self.service_host(&format!("{}-{index}.{}", names.instance, names.headless), namespace)
    }
}

/// Parses `k=v,k2=v2` (the `--gateway-pod-labels` flag).
///
/// # Errors
/// A message naming the malformed pair.
pub fn parse_labels(text: &str) -> Result<BTreeMap<String, String>, String> {
    text.split(',')
        .filter(|pair| !pair.trim().is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.trim().to_owned())),
            _ => Err(format!("`{pair}` is not key=value")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_parse() {
        let labels = parse_labels("a=b, c=d").unwrap();
        assert_eq!(labels.get("c").map(String::as_str), Some("d"));
        assert!(parse_labels("a").is_err());
        assert_eq!(OperatorConfig::default().service_host("x", "ns"), "x.ns.svc.cluster.local");
    }
}

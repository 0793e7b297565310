//! Names and labels of the objects behind one instance.
//!
//! Every child is named after the instance, so names stay predictable for `kubectl` and for the gateway's
//! endpoint. Services need DNS-1035 labels (a letter first, at most 63 characters) and a StatefulSet's pods
//! carry `controller-revision-hash: <statefulset>-<hash>`, which must also fit in 63, so instance names are
//! capped at 42 characters: the control plane's 40, plus `i-` before a name that starts with a digit (the CRD
//! enforces the same rule).

use std::collections::BTreeMap;

use crate::{Error, Result};

/// Label with the instance's name on every child.
pub const LABEL_INSTANCE: &str = "app.kubernetes.io/instance";
/// Label selecting Redis pods in general.
pub const LABEL_NAME: &str = "app.kubernetes.io/name";
/// Who manages the children.
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// The control plane's instance id, on resources the provisioner creates.
pub const LABEL_INSTANCE_ID: &str = "redisgate.io/instance-id";
/// The control plane's organization id, on resources the provisioner creates.
pub const LABEL_ORGANIZATION_ID: &str = "redisgate.io/organization-id";
/// The namespace the control plane's instances live in, unless configured otherwise: the one namespace the
/// gateway and the operator hold rights in (deploy/namespace.yaml, deploy/*/rbac.yaml).
pub const DEFAULT_TENANT_NAMESPACE: &str = "redisgate-instances";
/// The environment variable that names the tenant namespace to the gateway's provisioner.
pub const TENANT_NAMESPACE_ENV: &str = "REDISGATE_KUBERNETES_NAMESPACE";
/// The field manager of every write, and the `managed-by` label value.
pub const MANAGER: &str = "redisgate-operator";
/// `managed-by` of the resources the control plane's Kubernetes provisioner writes.
pub const PROVISIONER_MANAGER: &str = "redisgate-control-plane";
/// Longest instance name: the control plane's 40 characters, plus the `i-` that [`resource_name`] puts
/// before a name starting with a digit.
pub const MAX_NAME: usize = 42;
/// Name of the volume claim template (PVC `data-<name>-0`).
pub const DATA_VOLUME: &str = "data";

/// The names of an instance's children.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// The instance (and its StatefulSet, client Service and NetworkPolicy).
    pub instance: String,
    /// Headless Service that gives the pod its stable DNS name.
    pub headless: String,
    /// ConfigMap with redis.conf.
    pub config: String,
    /// Secret with the password of the gateway's Redis user.
    pub secret: String,
    /// Secret with the password of the admin Redis user (always the operator's own).
    pub admin_secret: String,
    /// Secret with the instance's REST tokens, for its users.
    pub tokens: String,
    /// Secret with the instance's server certificate (TLS instances).
    pub tls: String,
    /// A replicated instance's Sentinels: their StatefulSet and client Service.
    pub sentinel: String,
    /// Headless Service giving each Sentinel its stable DNS name.
    pub sentinel_headless: String,
}

impl Names {
    /// Names for `instance`, whose password Secret is `secret_name` or `<instance>-auth`.
    ///
    /// # Errors
    /// [`Error::InvalidSpec`] when `instance` is not a DNS-1035 label of at most [`MAX_NAME`] characters.
    pub fn new(instance: &str, secret_name: Option<&str>) -> Result<Self> {
        if let Some(problem) = name_problem(instance) {
            return Err(Error::InvalidSpec(format!("name `{instance}` {problem}")));
        }
        Ok(Self {
            instance: instance.to_owned(),
            headless: format!("{instance}-headless"),
            config: format!("{instance}-config"),
            secret: secret_name.map_or_else(|| format!("{instance}-auth"), str::to_owned),
            admin_secret: format!("{instance}-admin"),
            tokens: format!("{instance}-tokens"),
            tls: format!("{instance}-tls"),
            sentinel: format!("{instance}-sentinel"),
            sentinel_headless: format!("{instance}-sentinel-headless"),
        })
    }

    /// The first (only) pod's PersistentVolumeClaim.
    #[must_use]
    pub fn data_claim(&self) -> String {
        format!("{DATA_VOLUME}-{}-0", self.instance)
    }
}

/// Why `name` cannot name an instance.
#[must_use]
pub fn name_problem(name: &str) -> Option<String> {
    if let Some(problem) = redisgate_core::provisioning::dns_label_problem(name, 1, MAX_NAME) {
        return Some(problem);
    }
    (!name.starts_with(|c: char| c.is_ascii_lowercase())).then(|| "must start with a letter".to_owned())
}

/// Labels that select an instance's pods (a StatefulSet's selector is immutable: never change these).
#[must_use]
pub fn selector_labels(instance: &str) -> BTreeMap<String, String> {
    BTreeMap::from([(LABEL_NAME.to_owned(), "redis".to_owned()), (LABEL_INSTANCE.to_owned(), instance.to_owned())])
}

/// Labels that select a replicated instance's Sentinel pods (apart from its data pods).
#[must_use]
pub fn sentinel_selector_labels(instance: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_NAME.to_owned(), "redis-sentinel".to_owned()),
        (LABEL_INSTANCE.to_owned(), instance.to_owned()),
    ])
}

/// Labels on every child: the selector plus `managed-by`.
#[must_use]
pub fn labels(instance: &str) -> BTreeMap<String, String> {
    let mut labels = selector_labels(instance);
    labels.insert(LABEL_MANAGED_BY.to_owned(), MANAGER.to_owned());
    labels
}

/// The tenant namespace named by `configured` (the value of [`TENANT_NAMESPACE_ENV`]), or
/// [`DEFAULT_TENANT_NAMESPACE`] when it is unset or blank.
///
/// # Errors
/// [`Error::Config`] when the value is not a namespace name (a DNS label of at most 63 characters).
pub fn tenant_namespace(configured: Option<&str>) -> Result<String> {
    let name = configured.map(str::trim).filter(|n| !n.is_empty()).unwrap_or(DEFAULT_TENANT_NAMESPACE);
    match redisgate_core::provisioning::dns_label_problem(name, 1, 63) {
        Some(problem) => Err(Error::Config(format!("{TENANT_NAMESPACE_ENV} `{name}` {problem}"))),
        None => Ok(name.to_owned()),
    }
}

/// The resource name of a control-plane instance: its name, prefixed with `i-` when it starts with a digit
/// (control-plane names are DNS labels, which may; Service names may not).
#[must_use]
pub fn resource_name(instance_name: &str) -> String {
    if instance_name.starts_with(|c: char| c.is_ascii_digit()) {
        format!("i-{instance_name}")
    } else {
        instance_name.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_in_63_characters() {
        let longest = "a".repeat(MAX_NAME);
        let names = Names::new(&longest, None).unwrap();
        for name in [
            &names.instance,
            &names.headless,
            &names.config,
            &names.secret,
            &names.data_claim(),
            &names.sentinel,
            &names.sentinel_headless,
            &names.tokens,
            &names.tls,
        ] {
            assert!(name.len() <= 63, "{name}");
        }
        // controller-revision-hash label: "<statefulset>-<10 character hash>".
        assert!(names.instance.len() + 11 <= 63);
        assert!(names.sentinel.len() + 11 <= 63);
        assert!(Names::new(&"a".repeat(MAX_NAME + 1), None).is_err());
    }

    #[test]
    fn names_must_be_dns_1035_labels() {
        for bad in ["1abc", "-a", "a-", "A", "a_b", ""] {
            assert!(Names::new(bad, None).is_err(), "{bad}");
        }
        assert_eq!(Names::new("cache", Some("mine")).unwrap().secret, "mine");
        assert_eq!(Names::new("cache", None).unwrap().secret, "cache-auth");
        assert_eq!(resource_name("1cache"), "i-1cache");
        assert!(name_problem(&resource_name("1cache")).is_none());
        // The control plane's longest name (40) starting with a digit still makes valid resources.
        let longest = format!("1{}", "a".repeat(39));
        assert!(Names::new(&resource_name(&longest), None).is_ok());
        assert_eq!(resource_name("cache"), "cache");
    }

    #[test]
    fn the_tenant_namespace_is_configured_or_the_default() {
        assert_eq!(tenant_namespace(None).unwrap(), DEFAULT_TENANT_NAMESPACE);
        assert_eq!(tenant_namespace(Some(" ")).unwrap(), DEFAULT_TENANT_NAMESPACE);
        assert_eq!(tenant_namespace(Some("tenants")).unwrap(), "tenants");
        for bad in ["Tenants", "a_b", "-a", &"a".repeat(64)] {
            assert!(tenant_namespace(Some(bad)).is_err(), "{bad}");
        }
    }
}

//! The control plane's [`Provisioner`] on Kubernetes: an instance becomes a `RedisHttpInstance` in the one
//! tenant namespace RedisGate owns ([`ProvisionerConfig::namespace`], `redisgate-instances` by default), and
//! the operator does the rest.
//!
//! Every instance of every organization shares that namespace, so the gateway needs rights there only
//! (deploy/gateway/rbac.yaml: a Role, no ClusterRole): it never creates a namespace and reads no Secret
//! elsewhere. The resource is named after the instance, whose name the control plane keeps unique across all
//! organizations (`redis_instances.name` is UNIQUE), and carries the organization and the instance id as
//! labels; a name already taken in the namespace (say by a resource made with kubectl) fails the creation
//! rather than touching a resource that is not the instance's.
//!
//! `create` writes the resource and waits (through a watch) until the operator reports it Ready, then reads
//! the password from the Secret named in the status and caches the endpoint; on any failure or timeout it
//! deletes the resource again, so a failed creation leaves nothing behind and the control plane records
//! `failed`. `endpoint` is synchronous (the gateway's directory asks on every reload), so it only reads that
//! cache, which `adopt` fills after a platform restart and a background refresh keeps current (a rotated
//! password, a deleted resource). `delete` removes the resource; its children follow through owner
//! references.

mod cache;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::await_condition;
use kube::{Api, Client, ResourceExt as _};
use redisgate_core::provisioning::{BoxFuture, Endpoint, InstanceSpec, Node, Provisioned, Provisioner, Role, Target};
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use cache::Cache;
pub use cache::ConnectAddress;
pub(crate) use cache::{endpoint, password_secret};

use crate::crd::{
    EvictionPolicy, LimitsSpec, Persistence, Phase, RedisHttpInstance, RedisHttpInstanceSpec, TlsSpec, TopologySpec,
};
use crate::naming::{
    resource_name, tenant_namespace, DEFAULT_TENANT_NAMESPACE, LABEL_INSTANCE_ID, LABEL_MANAGED_BY,
    LABEL_ORGANIZATION_ID, TENANT_NAMESPACE_ENV,
};
use crate::{sizing, Error, Result};

pub use crate::naming::PROVISIONER_MANAGER;

/// How the provisioner shapes instances and waits for them.
#[derive(Clone)]
pub struct ProvisionerConfig {
    /// The namespace every instance lives in; it must exist (deploy/namespace.yaml), as the provisioner
    /// creates no namespace.
    pub namespace: String,
    /// How long `create` and `adopt` wait for the operator to report Ready.
    pub ready_timeout: Duration,
    /// How often cached endpoints are checked against the cluster.
    pub refresh_interval: Duration,
    /// Storage of new instances.
    pub persistence: Persistence,
    /// Turns the in-cluster endpoint into the address the gateway dials (identity by default; tests and
    /// port-forwarding setups map it elsewhere).
    pub connect_address: Option<ConnectAddress>,
}

impl Default for ProvisionerConfig {
    fn default() -> Self {
        Self {
            namespace: DEFAULT_TENANT_NAMESPACE.to_owned(),
            ready_timeout: Duration::from_secs(300),
            refresh_interval: Duration::from_secs(30),
            persistence: Persistence { enabled: true, ..Persistence::default() },
            connect_address: None,
        }
    }
}

impl std::fmt::Debug for ProvisionerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvisionerConfig")
            .field("namespace", &self.namespace)
            .field("ready_timeout", &self.ready_timeout)
            .field("refresh_interval", &self.refresh_interval)
            .field("persistence", &self.persistence)
            .finish_non_exhaustive()
    }
}

/// Instances as `RedisHttpInstance` resources.
#[derive(Clone)]
pub struct KubernetesProvisioner {
    client: Client,
    config: ProvisionerConfig,
    cache: Arc<Cache>,
    stop: CancellationToken,
}

impl KubernetesProvisioner {
    /// A provisioner on `client`; starts the cache refresh on the current runtime.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    #[must_use]
    pub fn new(client: Client, config: ProvisionerConfig) -> Self {
        let this = Self { client, config, cache: Arc::default(), stop: CancellationToken::new() };
        let refresher = this.clone();
        tokio::spawn(async move { refresher.refresh_until_stopped().await });
        this
    }

    /// A provisioner on the cluster found the usual way (in-cluster service account, else `KUBECONFIG` /
    /// `~/.kube/config`), with the default [`ProvisionerConfig`] in the namespace named by
    /// `REDISGATE_KUBERNETES_NAMESPACE` (default `redisgate-instances`).
    ///
    /// # Errors
    /// [`Error::Config`] when that variable is not a namespace name, [`Error::Kube`] when no cluster
    /// configuration is found.
    ///
    /// # Panics
    /// Outside a tokio runtime.
    pub async fn from_env() -> Result<Self> {
        let namespace = tenant_namespace(std::env::var(TENANT_NAMESPACE_ENV).ok().as_deref())?;
        let client = Client::try_default().await?;
        tracing::info!(%namespace, "Kubernetes provisioner: instances live in this namespace");
        Ok(Self::new(client, ProvisionerConfig { namespace, ..ProvisionerConfig::default() }))
    }

    /// The namespace every instance lives in.
    #[must_use]
    pub fn namespace(&self) -> &str {
        &self.config.namespace
    }

    fn instances(&self) -> Api<RedisHttpInstance> {
        Api::namespaced(self.client.clone(), &self.config.namespace)
    }

    /// The resource an instance becomes.
    #[must_use]
    pub fn resource(&self, target: Target, spec: &InstanceSpec) -> RedisHttpInstance {
        let mut instance = RedisHttpInstance::new(
            &resource_name(&spec.name),
            RedisHttpInstanceSpec {
                memory: sizing::limit_for_max_memory(spec.max_memory),
                cpu: None,
                redis_version: spec.redis_version.clone(),
                image: None,
                persistence: self.config.persistence.clone(),
                eviction_policy: EvictionPolicy::NoEviction,
                secret_name: None,
                topology: TopologySpec::from(spec.topology),
                // The control plane's gateway enforces its instances' limits from PostgreSQL.
                limits: LimitsSpec::default(),
                tls: TlsSpec::default(),
                // The control plane schedules its instances' backups itself.
                backup: None,
            },
        );
        instance.metadata.namespace = Some(self.config.namespace.clone());
        instance.metadata.labels = Some(labels(target));
        instance.metadata.annotations =
            Some(BTreeMap::from([("redisgate.io/instance-name".to_owned(), spec.name.clone())]));
        instance
    }

    async fn create_inner(&self, target: Target, spec: &InstanceSpec) -> Result<Endpoint> {
        let namespace = &self.config.namespace;
        let api = self.instances();
        let instance = self.resource(target, spec);
        match api.create(&PostParams::default(), &instance).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 409 => {
                return Err(Error::Config(format!(
                    "a RedisHttpInstance named {} already exists in {namespace}",
                    instance.name_any()
                )));
            }
            Err(kube::Error::Api(status)) if status.code == 404 => {
                // The provisioner creates no namespace (it has no right to): the tenant namespace, like the
                // CRD, is part of the installation.
                return Err(Error::Config(format!(
                    "cannot create in namespace {namespace} ({}): the namespace must exist (deploy/namespace.yaml; \
                     {TENANT_NAMESPACE_ENV} names it) and the RedisHttpInstance CRD be installed",
                    status.message
                )));
            }
            Err(e) => return Err(e.into()),
        }
        let result = self.wait_ready(target.id, &api, &instance.name_any()).await;
        if result.is_err() {
            // Leave nothing behind.
            let _ = api.delete(&instance.name_any(), &DeleteParams::background()).await;
        }
        result
    }

    /// Waits until the operator reports Ready (or Degraded: fail fast), then caches the endpoint.
    async fn wait_ready(&self, id: Uuid, api: &Api<RedisHttpInstance>, name: &str) -> Result<Endpoint> {
        let settled = |object: Option<&RedisHttpInstance>| {
            object.is_none_or(|o| o.is_ready() || o.status.as_ref().and_then(|s| s.phase) == Some(Phase::Degraded))
        };
        let waited = tokio::time::timeout(self.config.ready_timeout, await_condition(api.clone(), name, settled));
        let instance = match waited.await {
            Err(_) => {
                return Err(Error::Timeout(format!("{name} was not ready within {:?}", self.config.ready_timeout)))
            }
            Ok(Err(e)) => return Err(Error::Config(format!("watching {name} failed: {e}"))),
            Ok(Ok(None)) => return Err(Error::Config(format!("{name} was deleted while starting"))),
            Ok(Ok(Some(instance))) => instance,
        };
        if !instance.is_ready() {
            let message = instance
                .status
                .iter()
                .flat_map(|s| s.conditions.iter())
                .find(|c| c.type_ == "Degraded")
                .map_or_else(String::new, |c| c.message.clone());
            return Err(Error::InvalidSpec(message));
        }
        let cached = self.cache.resolve(&self.client, &instance, self.config.connect_address.as_ref()).await?;
        let endpoint = cached.endpoint.clone();
        self.cache.insert(id, cached);
        Ok(endpoint)
    }

    async fn adopt_inner(&self, target: Target, spec: &InstanceSpec) -> Result<Endpoint> {
        let api = self.instances();
        let name = self.owned(&api, target, spec).await?;
        self.wait_ready(target.id, &api, &name).await
    }

    /// The name of the instance's resource, when the resource of that name is the instance's (its
    /// instance-id label): the tenant namespace is shared, so a name alone does not say whose it is.
    async fn owned(&self, api: &Api<RedisHttpInstance>, target: Target, spec: &InstanceSpec) -> Result<String> {
        let name = resource_name(&spec.name);
        let existing = api.get_opt(&name).await?;
        let ours = existing.as_ref().is_some_and(|i| i.labels().get(LABEL_INSTANCE_ID) == Some(&target.id.to_string()));
        if !ours {
            return Err(Error::Gone(format!(
                "instance {} has no RedisHttpInstance in {}",
                target.id,
                self.namespace()
            )));
        }
        Ok(name)
    }

    /// A new size is a change of the resource's `spec.memory`: the operator rolls the pod with the new limit
    /// and `maxmemory`.
    async fn resize_inner(&self, target: Target, spec: &InstanceSpec) -> Result<()> {
        let api = self.instances();
        let name = self.owned(&api, target, spec).await?;
        let mut patch = serde_json::json!({"spec": {"memory": sizing::limit_for_max_memory(spec.max_memory)}});
        if spec.topology.is_replicated() || spec.topology.is_cluster() {
            patch["spec"]["topology"] = serde_json::to_value(TopologySpec::from(spec.topology))?;
        }
        api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch)).await?;
        Ok(())
    }

    /// A replicated instance's master, as the operator last reported it in the resource's status (the
    /// operator asks the Sentinels at every reconcile); a cluster's nodes, as the node behind its endpoint
    /// reports them, asked as the gateway's user.
    async fn nodes_inner(&self, target: Target) -> Result<Vec<Node>> {
        let Some(cached) = self.cache.get(target.id) else { return Ok(Vec::new()) };
        if let Some(one_node) = cached.endpoint.url.strip_prefix("redis+cluster://") {
            return Ok(crate::shards::nodes(&format!("redis://{one_node}")).await);
        }
        let Some(instance) = self.instances().get_opt(&cached.name).await? else { return Ok(Vec::new()) };
        let master = instance.status.as_ref().and_then(|s| s.master.clone());
        Ok(master
            .map(|address| {
                vec![Node {
                    address,
                    role: Role::Master,
                    healthy: instance.is_ready(),
                    lag_bytes: None,
                    shard: None,
                    slots: Vec::new(),
                }]
            })
            .unwrap_or_default())
    }

    async fn delete_inner(&self, target: Target) -> Result<()> {
        let api = self.instances();
        let selector = ListParams::default().labels(&format!("{LABEL_INSTANCE_ID}={}", target.id));
        let found = match api.list(&selector).await {
            Ok(list) => list.items,
            Err(kube::Error::Api(status)) if status.code == 404 => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        for instance in found {
            match api.delete(&instance.name_any(), &DeleteParams::background()).await {
                Ok(_) => {}
                Err(kube::Error::Api(status)) if status.code == 404 => {}
                Err(e) => return Err(e.into()),
            }
        }
        self.cache.remove(target.id);
        Ok(())
    }

    /// Re-reads every cached instance and its Secret: drops deleted ones, picks up a rotated password.
    pub async fn refresh(&self) {
        for (id, cached) in self.cache.entries() {
            let api: Api<RedisHttpInstance> = Api::namespaced(self.client.clone(), &cached.namespace);
            match api.get_opt(&cached.name).await {
                Ok(None) => self.cache.remove(id),
                Ok(Some(instance)) => {
                    match self.cache.resolve(&self.client, &instance, self.config.connect_address.as_ref()).await {
                        Ok(fresh) => self.cache.insert(id, fresh),
                        Err(e) => tracing::warn!(%id, error = %e, "cannot refresh an endpoint"),
                    }
                }
                Err(e) => tracing::warn!(%id, error = %e, "cannot refresh an endpoint"),
            }
        }
    }

    async fn refresh_until_stopped(&self) {
        let mut ticks = tokio::time::interval(self.config.refresh_interval);
        ticks.tick().await;
        loop {
            tokio::select! {
                () = self.stop.cancelled() => return,
                _ = ticks.tick() => self.refresh().await,
            }
        }
    }
}

fn labels(target: Target) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_MANAGED_BY.to_owned(), PROVISIONER_MANAGER.to_owned()),
        (LABEL_INSTANCE_ID.to_owned(), target.id.to_string()),
        (LABEL_ORGANIZATION_ID.to_owned(), target.organization_id.to_string()),
    ])
}

impl Provisioner for KubernetesProvisioner {
    fn create(&self, target: Target, spec: InstanceSpec) -> BoxFuture<'_, Provisioned<Endpoint>> {
        Box::pin(async move { Ok(self.create_inner(target, &spec).await?) })
    }

    fn adopt(&self, target: Target, spec: InstanceSpec) -> BoxFuture<'_, Provisioned<Endpoint>> {
        Box::pin(async move { Ok(self.adopt_inner(target, &spec).await?) })
    }

    fn resize(&self, target: Target, spec: InstanceSpec) -> BoxFuture<'_, Provisioned<()>> {
        Box::pin(async move { Ok(self.resize_inner(target, &spec).await?) })
    }

    fn delete(&self, target: Target) -> BoxFuture<'_, Provisioned<()>> {
        Box::pin(async move { Ok(self.delete_inner(target).await?) })
    }

    fn endpoint(&self, id: Uuid) -> Option<Endpoint> {
        self.cache.get(id).map(|c| c.endpoint)
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        // Instances keep running on the cluster; only the refresh stops.
        self.stop.cancel();
        Box::pin(async {})
    }

    fn nodes(&self, target: Target) -> BoxFuture<'_, Provisioned<Vec<Node>>> {
        Box::pin(async move { Ok(self.nodes_inner(target).await?) })
    }
}

#[cfg(test)]
mod tests;

//! The writes of a reconcile, in order: the password Secrets (create-if-missing), the REST tokens' Secret
//! (minted once, and again when the instance asks for a rotation), the ConfigMap, the
//! StatefulSet (keeping its immutable claim templates), the Services, the NetworkPolicy, a grown PVC, the
//! data pods' PodDisruptionBudget (all but a standalone instance), for a replicated instance the Sentinels'
//! StatefulSet, Services and budget, for a cluster its bootstrap Job (create-if-missing), and finally the
//! status (with the master the Sentinels name). Everything but the Secret goes through server-side apply under one field manager,
//! forced because the operator alone owns these objects.

use std::fmt::Debug;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, PersistentVolumeClaim, Secret, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::jiff::Timestamp;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Resource, ResourceExt as _};
use redisgate_core::provisioning::acl::GATEWAY_USER;
use redisgate_core::provisioning::Credentials;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::rotation::{self, ServerCertificate};
use super::Context;
use crate::config::{REDIS_PORT, SENTINEL_PORT};
use crate::crd::{
    CertificateStatus, RedisHttpInstance, RedisHttpInstanceStatus, SecretRef, StatusEndpoint, TokenDigests,
};
use crate::master;
use crate::naming::MANAGER;
use crate::resources::secret::{self, PASSWORD_KEY};
use crate::resources::tls::{self, Ca};
use crate::resources::tokens::{self, Tokens};
use crate::resources::{configmap, job, networkpolicy, pdb, sentinel, service, statefulset, Desired};
use crate::status::{self, rollout, Rollout};
use crate::tls_reload::Server;
use crate::{redis_conf, sizing, Error, Result};

/// What the status needs from a successful apply.
pub(super) struct Applied {
    pub rollout: Rollout,
    pub endpoint: StatusEndpoint,
    pub secret: SecretRef,
    /// A replicated instance's master (`host:port`), as its Sentinels name it now.
    pub master: Option<String>,
    /// The digests of the instance's REST tokens (none for the control plane's instances).
    pub digests: Option<TokenDigests>,
    /// A TLS instance's server certificate and whether its servers present it.
    pub certificate: Option<CertificateStatus>,
}

/// Creates or updates every child of `instance`.
pub(super) async fn children(instance: &RedisHttpInstance, ctx: &Context) -> Result<Applied> {
    let desired = Desired::new(instance, &ctx.config)?;
    let ns = desired.namespace.as_str();
    let client = &ctx.client;

    let secrets = Api::namespaced(client.clone(), ns);
    let credentials = Credentials {
        gateway: ensure_secret(&secrets, &desired, &desired.names.secret).await?,
        admin: ensure_secret(&secrets, &desired, &desired.names.admin_secret).await?,
    };
    let digests =
        if tokens::wanted(instance) { Some(tokens::digests(&ensure_tokens(&secrets, &desired).await?)) } else { None };
    // A TLS instance's certificate is in no pod template: a renewed one is loaded by the running servers.
    let certificate = if instance.spec.tls.enabled { Some(ensure_tls(ctx, &secrets, &desired).await?) } else { None };
    let conf = redis_conf::with_users(&desired.conf, &credentials);
    let map = configmap::build_for(&desired, &conf, &credentials);
    apply(&Api::<ConfigMap>::namespaced(client.clone(), ns), &map).await?;

    let statefulsets = Api::<StatefulSet>::namespaced(client.clone(), ns);
    let existing = statefulsets.get_opt(&desired.names.instance).await?;
    let claims = existing.as_ref().and_then(|s| s.spec.as_ref()).and_then(|s| s.volume_claim_templates.clone());
    let topology = &instance.spec.topology;
    // A standalone instance's checksum stays what it was (redis.conf and the password), so upgrading the
    // operator rolls no existing pod. (A TLS instance's used to cover its certificate too: it rolls once.)
    let checksum = if topology.is_standalone() {
        redis_conf::checksum(&conf, &credentials.gateway)
    } else {
        redis_conf::checksum(&configmap::contents(&map), &credentials.gateway)
    };
    let applied = apply(&statefulsets, &statefulset::build(&desired, &checksum, claims)).await?;

    let services = Api::<Service>::namespaced(client.clone(), ns);
    apply(&services, &service::headless(&desired)).await?;
    apply(&services, &service::client(&desired)).await?;
    apply(&Api::<NetworkPolicy>::namespaced(client.clone(), ns), &networkpolicy::build(&desired)).await?;
    if instance.spec.persistence.enabled {
        grow_claim(&Api::namespaced(client.clone(), ns), &desired).await?;
    }
    let secret = SecretRef { name: desired.names.secret.clone(), key: PASSWORD_KEY.to_owned() };
    let budgets = Api::<PodDisruptionBudget>::namespaced(client.clone(), ns);
    let data =
        StatusEndpoint { host: ctx.config.service_host(&desired.names.instance, ns), port: i32::from(REDIS_PORT) };
    let data_rollout = rollout(Some(&applied));
    // The data servers load a renewed certificate while they run (a replicated instance's Sentinels restart
    // instead: see `sentinel::statefulset`).
    let observed = match &certificate {
        Some(current) => {
            let previous = instance.status.as_ref().and_then(|s| s.certificate.as_ref());
            let servers = rotation::data_servers(&desired, ctx);
            Some(rotation::observe(current, previous, &servers, &credentials.admin, data_rollout.ready).await?)
        }
        None => None,
    };
    let mut applied =
        Applied { rollout: data_rollout, endpoint: data, secret, master: None, digests, certificate: observed };
    if topology.is_standalone() {
        return Ok(applied);
    }
    apply(&budgets, &pdb::data(&desired)).await?;
    if topology.is_cluster() {
        // Clients start at the Service (any node) and are sent on to the nodes by their DNS names.
        let formed = ensure_job(&Api::namespaced(client.clone(), ns), &desired).await?;
        applied.rollout = applied.rollout.and("the cluster", status::job(&formed));
        return Ok(applied);
    }
    // Sentinel cannot load a renewed certificate while it runs: it is part of the Sentinels' checksum.
    let sentinel_checksum = match &certificate {
        Some(current) => redis_conf::checksum(&format!("{checksum}{}", current.cert), &credentials.gateway),
        None => checksum,
    };
    let sentinels = apply(&statefulsets, &sentinel::statefulset(&desired, &sentinel_checksum)).await?;
    apply(&services, &sentinel::headless(&desired)).await?;
    apply(&services, &sentinel::client(&desired)).await?;
    apply(&budgets, &pdb::sentinels(&desired)).await?;
    let host = ctx.config.service_host(&desired.names.sentinel, ns);
    let operator_tls = certificate.as_ref().map(ServerCertificate::operator_tls).transpose()?;
    let asked = Server {
        pod: desired.names.sentinel.clone(),
        host: host.clone(),
        port: SENTINEL_PORT,
        dial: ctx.dial(&format!("{host}:{SENTINEL_PORT}")),
    };
    applied.master = master::named(&asked, &desired.names.instance, &credentials.admin, operator_tls.as_ref())
        .await
        .or_else(|| instance.status.as_ref().and_then(|s| s.master.clone()));
    applied.rollout = applied.rollout.and("Sentinels", rollout(Some(&sentinels)));
    applied.endpoint = StatusEndpoint { host, port: i32::from(SENTINEL_PORT) };
    Ok(applied)
}

/// Writes `status` with server-side apply on the status subresource.
pub(super) async fn status(
    instance: &RedisHttpInstance,
    ctx: &Context,
    status: &RedisHttpInstanceStatus,
) -> Result<()> {
    let api: Api<RedisHttpInstance> =
        Api::namespaced(ctx.client.clone(), &instance.namespace().ok_or(Error::MissingField("metadata.namespace"))?);
    let patch = serde_json::json!({
        "apiVersion": RedisHttpInstance::api_version(&()),
        "kind": RedisHttpInstance::kind(&()),
        "status": status,
    });
    api.patch_status(&instance.name_any(), &PatchParams::apply(MANAGER).force(), &Patch::Apply(&patch)).await?;
    Ok(())
}

/// Server-side apply of a child we alone own.
async fn apply<K>(api: &Api<K>, object: &K) -> Result<K>
where
    K: Resource + Serialize + DeserializeOwned + Clone + Debug,
{
    let name = object.meta().name.clone().ok_or(Error::MissingField("metadata.name"))?;
    Ok(api.patch(&name, &PatchParams::apply(MANAGER).force(), &Patch::Apply(object)).await?)
}

/// The bootstrap Job of the spec's size, created when missing; an existing one is left as it is (its pod
/// template is immutable, and it ran or runs for this very size).
async fn ensure_job(api: &Api<Job>, desired: &Desired) -> Result<Job> {
    let name = job::name(desired);
    if let Some(existing) = api.get_opt(&name).await? {
        return Ok(existing);
    }
    let params = PostParams { field_manager: Some(MANAGER.to_owned()), ..PostParams::default() };
    match api.create(&params, &job::bootstrap(desired)).await {
        Ok(created) => Ok(created),
        Err(kube::Error::Api(status)) if status.code == 409 => Ok(api.get(&name).await?),
        Err(e) => Err(e.into()),
    }
}

/// The certificates of a TLS instance: the namespace's CA (made once), the gateway's client certificate and
/// the instance's server certificate, each issued again when it nears its expiry, by cert-manager where it
/// is installed, else by the operator. Returns the server certificate.
async fn ensure_tls(ctx: &Context, api: &Api<Secret>, desired: &Desired) -> Result<ServerCertificate> {
    let ns = desired.namespace.as_str();
    let ca_secret = match api.get_opt(tls::CA_SECRET).await? {
        Some(existing) => existing,
        None => {
            let params = PostParams { field_manager: Some(MANAGER.to_owned()), ..PostParams::default() };
            match api.create(&params, &Ca::generate()?.secret(ns)).await {
                Ok(made) => made,
                // Another reconcile made it meanwhile: theirs wins.
                Err(kube::Error::Api(status)) if status.code == 409 => api.get(tls::CA_SECRET).await?,
                Err(e) => return Err(e.into()),
            }
        }
    };
    let ca = Ca::from_secret(&ca_secret)?;
    if ctx.cert_manager().await? {
        return super::cert_manager::ensure(&ctx.client, desired, ca, &ca_secret).await;
    }
    let now = Timestamp::now();
    if tls::needs_issuing(api.get_opt(tls::GATEWAY_SECRET).await?.as_ref(), &ca, now) {
        let client = ca.client(GATEWAY_USER, now)?;
        apply(api, &ca.issued_secret(ns, tls::GATEWAY_SECRET, &client)).await?;
    }
    let existing = api.get_opt(&desired.names.tls).await?;
    if let Some(current) = existing.as_ref().filter(|s| !tls::needs_issuing(Some(s), &ca, now)) {
        let cert = current.data.as_ref().and_then(|d| d.get(tls::CERT_KEY)).map(|b| b.0.clone()).unwrap_or_default();
        let not_after = tls::not_after(current).map(|t| t.to_string()).unwrap_or_default();
        return Ok(ServerCertificate { ca, cert: String::from_utf8_lossy(&cert).into_owned(), not_after });
    }
    let server = ca.server(&tls::server_names(desired), now)?;
    let mut secret = ca.issued_secret(ns, &desired.names.tls, &server);
    let annotations = secret.metadata.annotations.take();
    secret.metadata = desired.meta(&desired.names.tls);
    secret.metadata.annotations = annotations;
    apply(api, &secret).await?;
    tracing::info!(instance = %desired.names.instance, not_after = %server.not_after, "issued a server certificate");
    Ok(ServerCertificate { ca, cert: server.cert, not_after: server.not_after.to_string() })
}

/// The instance's REST tokens: those of its tokens Secret when they were minted for the rotation the
/// instance asks for now, else new ones, written there.
async fn ensure_tokens(api: &Api<Secret>, desired: &Desired) -> Result<Tokens> {
    let rotation = tokens::rotation(&desired.instance);
    let existing = api.get_opt(&desired.names.tokens).await?;
    if let Some(kept) = existing.filter(|s| tokens::current(s, &rotation)).as_ref().and_then(Tokens::of) {
        return Ok(kept);
    }
    let minted = Tokens::generate();
    apply(api, &tokens::secret(desired, &minted, &rotation)).await?;
    tracing::info!(instance = %desired.names.instance, %rotation, "minted the instance's REST tokens");
    Ok(minted)
}

/// The password in the Secret `name`, or a new Secret with a new password when there is none.
async fn ensure_secret(api: &Api<Secret>, desired: &Desired, name: &str) -> Result<String> {
    if let Some(existing) = api.get_opt(name).await? {
        return secret::password_of(&existing);
    }
    let password = secret::generate_password();
    let params = PostParams { field_manager: Some(MANAGER.to_owned()), ..PostParams::default() };
    match api.create(&params, &secret::build(desired, name, &password)).await {
        Ok(_) => Ok(password),
        // Someone created it meanwhile: theirs wins.
        Err(kube::Error::Api(status)) if status.code == 409 => secret::password_of(&api.get(name).await?),
        Err(e) => Err(e.into()),
    }
}

/// Grows the data PVC when the spec asks for more than it has (never shrinks: the CRD refuses that).
async fn grow_claim(api: &Api<PersistentVolumeClaim>, desired: &Desired) -> Result<()> {
    let Some(claim) = api.get_opt(&desired.names.data_claim()).await? else {
        return Ok(());
    };
    let wanted = &desired.instance.spec.persistence.size;
    let current = claim
        .spec
        .as_ref()
        .and_then(|s| s.resources.as_ref())
        .and_then(|r| r.requests.as_ref())
        .and_then(|r| r.get("storage"))
        .map(|q| q.0.clone());
    let smaller = match current.as_deref().map(sizing::parse_binary_quantity) {
        Some(Ok(current)) => current < sizing::parse_binary_quantity(wanted)?,
        _ => false,
    };
    if smaller {
        let patch = serde_json::json!({"spec": {"resources": {"requests": {"storage": wanted}}}});
        api.patch(&desired.names.data_claim(), &PatchParams::default(), &Patch::Merge(&patch)).await?;
        tracing::info!(claim = %desired.names.data_claim(), size = %wanted, "growing the data volume");
    }
    Ok(())
}

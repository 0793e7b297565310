//! The reconciler: `reconcile` turns one `RedisHttpInstance` into its children and its status,
//! `error_policy` requeues failures with per-object exponential backoff, and [`run`] wires both into a
//! kube-runtime `Controller` that also watches the children (owner references map their changes back).
//!
//! Order matters: the Secret and the ConfigMap exist before the StatefulSet that mounts them, so a new
//! instance's pod starts once with the right config. A resource being deleted is left alone: its children
//! carry controller owner references and Kubernetes' garbage collector removes them; no finalizer is needed
//! because nothing outside Kubernetes holds state for an instance.

mod apply;
mod cert_manager;
mod rotation;

use std::future::Future;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{ConfigMap, Secret, Service};
use k8s_openapi::api::networking::v1::NetworkPolicy;
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::watcher;
use kube::runtime::Controller;
use kube::{Api, Client, ResourceExt as _};

pub use crate::context::Context;
use crate::crd::{Phase, RedisHttpInstance};
use crate::naming::{LABEL_MANAGED_BY, MANAGER};
use crate::{status, Error, Result};

/// How often a healthy instance is reconciled even without a change (catches edits to a user's Secret).
pub const RESYNC: Duration = Duration::from_secs(300);
/// First retry after a failure; doubles per consecutive failure up to [`MAX_BACKOFF`].
pub const MIN_BACKOFF: Duration = Duration::from_secs(5);
/// Longest retry delay.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// Reconciles one instance: children in order, then status and events.
///
/// # Errors
/// Any API failure, or a spec or Secret that cannot be used (after reporting it in the status).
pub async fn reconcile(instance: Arc<RedisHttpInstance>, ctx: Arc<Context>) -> Result<Action> {
    let started = Instant::now();
    let result = reconcile_inner(&instance, &ctx).await;
    ctx.metrics.reconciled(started.elapsed());
    if result.is_ok() {
        ctx.failures.lock().unwrap_or_else(PoisonError::into_inner).remove(&Context::key(&instance));
    }
    result
}

async fn reconcile_inner(instance: &RedisHttpInstance, ctx: &Context) -> Result<Action> {
    if instance.metadata.deletion_timestamp.is_some() {
        // The garbage collector removes the children through their owner references.
        return Ok(Action::await_change());
    }
    let previous = instance.status.as_ref().and_then(|s| s.phase);
    let new_status = match apply::children(instance, ctx).await {
        Ok(applied) => status::applied(
            instance,
            &applied.rollout,
            applied.endpoint,
            applied.secret,
            status::Observed {
                master: applied.master,
                token_digests: applied.digests,
                certificate: applied.certificate,
            },
        ),
        Err(error @ (Error::InvalidSpec(_) | Error::SecretInvalid(_))) => {
            let reason = if matches!(error, Error::InvalidSpec(_)) { "InvalidSpec" } else { "SecretInvalid" };
            let status = status::degraded(instance, reason, &error.to_string());
            apply::status(instance, ctx, &status).await?;
            if previous != Some(Phase::Degraded) {
                ctx.event(instance, EventType::Warning, reason, error.to_string()).await;
            }
            return Err(error);
        }
        Err(error) => return Err(error),
    };
    let phase = new_status.phase;
    apply::status(instance, ctx, &new_status).await?;
    let before = instance.status.as_ref().and_then(|s| s.certificate.as_ref());
    if let Some(now) = new_status.certificate.as_ref().filter(|c| c.loaded) {
        if before.is_some_and(|b| b.sha256 != now.sha256 || !b.loaded) {
            let note = "every server presents the current certificate (see .status.certificate)".to_owned();
            ctx.event(instance, EventType::Normal, "CertificateLoaded", note).await;
        }
    }
    match (previous, phase) {
        (None, _) => ctx.event(instance, EventType::Normal, "Provisioning", "created the Redis objects".into()).await,
        (Some(before), Some(Phase::Ready)) if before != Phase::Ready => {
            ctx.event(instance, EventType::Normal, "Ready", "Redis is ready".into()).await;
        }
        _ => {}
    }
    if phase != Some(Phase::Ready) {
        return Ok(Action::requeue(MIN_BACKOFF * 6));
    }
    if new_status.certificate.as_ref().is_some_and(|c| !c.loaded) {
        // A server still presents an older certificate: its files are updated within about a minute.
        return Ok(Action::requeue(rotation::RETRY));
    }
    let next_backup = crate::backups::schedule::run(instance, ctx, k8s_openapi::jiff::Timestamp::now()).await?;
    Ok(Action::requeue(next_backup.map_or(RESYNC, |due| due.clamp(Duration::from_secs(1), RESYNC))))
}

/// Requeues a failed instance after 5 s, doubling per consecutive failure up to 5 min, and counts it.
pub fn error_policy(instance: Arc<RedisHttpInstance>, error: &Error, ctx: Arc<Context>) -> Action {
    ctx.metrics.failed(error);
    let mut failures = ctx.failures.lock().unwrap_or_else(PoisonError::into_inner);
    let count = failures.entry(Context::key(&instance)).or_insert(0);
    let delay = MIN_BACKOFF.saturating_mul(2u32.saturating_pow(*count)).min(MAX_BACKOFF);
    *count = count.saturating_add(1);
    tracing::warn!(instance = %instance.name_any(), %error, ?delay, "reconcile failed");
    Action::requeue(delay)
}

/// Runs the controller until `shutdown` completes, watching instances in `namespace` (or all) and their
/// children.
pub async fn run(
    ctx: Arc<Context>,
    namespace: Option<&str>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let client = ctx.client.clone();
    let instances: Api<RedisHttpInstance> = scoped(&client, namespace);
    let children = watcher::Config::default().labels(&format!("{LABEL_MANAGED_BY}={MANAGER}"));
    Controller::new(instances, watcher::Config::default())
        .owns(scoped::<StatefulSet>(&client, namespace), children.clone())
        .owns(scoped::<ConfigMap>(&client, namespace), children.clone())
        .owns(scoped::<Secret>(&client, namespace), children.clone())
        .owns(scoped::<Service>(&client, namespace), children.clone())
        .owns(scoped::<NetworkPolicy>(&client, namespace), children.clone())
        .owns(scoped::<PodDisruptionBudget>(&client, namespace), children.clone())
        .owns(scoped::<Job>(&client, namespace), children)
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            match result {
                Ok((object, _)) => tracing::debug!(instance = %object.name, "reconciled"),
                Err(error) => tracing::debug!(%error, "reconcile error"),
            }
        })
        .await;
}

fn scoped<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>,
{
    namespace.map_or_else(|| Api::all(client.clone()), |ns| Api::namespaced(client.clone(), ns))
}

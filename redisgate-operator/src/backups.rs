//! The backup controller: each `RedisHttpBackup` becomes one Job that runs `redisgate-backup` (the
//! gateway's image) against its instance, and the Job's outcome becomes the backup's status.
//!
//! - The backup waits (`Pending`, retried every 15 s) while its instance is missing or not Ready.
//! - The Job reads a replica when the instance has one (a data pod that is not `status.master`), else the
//!   client Service; it logs in as the admin user (password from `<instance>-admin`), over TLS with the
//!   namespace's `redisgate-gateway-tls` for a TLS instance, and carries the instance's label so that the
//!   instance's NetworkPolicy admits it.
//! - `redisgate-backup` writes its result as JSON into the container's termination message; when the Job
//!   succeeds, the operator reads it from the Job's pod and records size, keys, SHA-256 and object key.
//! - A finished backup is never run again. Deleting the resource deletes its Job (owner reference); the file
//!   stays in the store.
//! - Cluster instances are refused (`Failed`): each shard would need its own snapshot.
//! - An instance's `spec.backup` schedule makes them on its own ([`schedule`]).

mod job;
pub mod schedule;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::runtime::{watcher, Controller};
use kube::{Api, Resource as _, ResourceExt as _};
use serde::Deserialize;

use crate::context::Context;
use crate::crd::{BackupPhase, RedisHttpBackup, RedisHttpBackupStatus, RedisHttpInstance, TopologyMode};
use crate::naming::{LABEL_MANAGED_BY, MANAGER};
use crate::{Error, Result};

pub use job::{job, job_name, BACKUP_NAME};

/// How often a pending backup looks at its instance again.
const PENDING_RETRY: Duration = Duration::from_secs(15);

/// Reconciles every `RedisHttpBackup` (of `namespace`, or of all) until `shutdown`.
pub async fn run(
    ctx: Arc<Context>,
    namespace: Option<&str>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) {
    let client = ctx.client.clone();
    let backups: Api<RedisHttpBackup> =
        namespace.map_or_else(|| Api::all(client.clone()), |ns| Api::namespaced(client.clone(), ns));
    let jobs: Api<Job> = namespace.map_or_else(|| Api::all(client.clone()), |ns| Api::namespaced(client.clone(), ns));
    let children = watcher::Config::default().labels(&format!("{LABEL_MANAGED_BY}={MANAGER}"));
    Controller::new(backups, watcher::Config::default())
        .owns(jobs, children)
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(error) = result {
                tracing::debug!(%error, "backup reconcile error");
            }
        })
        .await;
}

fn error_policy(_: Arc<RedisHttpBackup>, error: &Error, _: Arc<Context>) -> Action {
    tracing::warn!(%error, "backup reconcile failed");
    Action::requeue(PENDING_RETRY)
}

/// One step of one backup: wait for the instance, start the Job, or record how it ended.
///
/// # Errors
/// API failures (retried).
pub async fn reconcile(backup: Arc<RedisHttpBackup>, ctx: Arc<Context>) -> Result<Action> {
    let phase = backup.status.as_ref().and_then(|s| s.phase);
    if matches!(phase, Some(BackupPhase::Completed | BackupPhase::Failed)) {
        return Ok(Action::await_change());
    }
    let namespace = backup.namespace().ok_or(Error::MissingField("metadata.namespace"))?;
    let instances: Api<RedisHttpInstance> = Api::namespaced(ctx.client.clone(), &namespace);
    let Some(instance) = instances.get_opt(&backup.spec.instance).await? else {
        let message = format!("waiting for RedisHttpInstance {}", backup.spec.instance);
        set_status(&ctx, &backup, pending(&backup, "InstanceNotFound", &message)).await?;
        return Ok(Action::requeue(PENDING_RETRY));
    };
    if instance.spec.topology.mode == TopologyMode::Cluster {
        let message = "backups of Redis Cluster instances are not supported yet".to_owned();
        set_status(&ctx, &backup, failed(&backup, "Unsupported", message)).await?;
        return Ok(Action::await_change());
    }
    let jobs: Api<Job> = Api::namespaced(ctx.client.clone(), &namespace);
    let name = job_name(&backup);
    let Some(existing) = jobs.get_opt(&name).await? else {
        if !instance.is_ready() {
            let message = format!("waiting for RedisHttpInstance {} to be Ready", backup.spec.instance);
            set_status(&ctx, &backup, pending(&backup, "InstanceNotReady", &message)).await?;
            return Ok(Action::requeue(PENDING_RETRY));
        }
        let (job, store) = job(&backup, &instance, &ctx.config)?;
        match jobs.create(&PostParams::default(), &job).await {
            Ok(_) => {}
            Err(kube::Error::Api(status)) if status.code == 409 => {}
            Err(e) => return Err(e.into()),
        }
        let mut status = running(&backup, "JobStarted", &format!("Job {name} started"));
        status.store = Some(store);
        status.object_key = Some(job::object_key(&backup));
        set_status(&ctx, &backup, status).await?;
        return Ok(Action::await_change());
    };
    let job_status = existing.status.unwrap_or_default();
    let done = job_status.succeeded.unwrap_or(0) > 0;
    let gave_up = job_status.conditions.iter().flatten().any(|c| c.type_ == "Failed" && c.status == "True");
    if !done && !gave_up {
        return Ok(Action::await_change());
    }
    let outcome = termination_message(&ctx, &namespace, &name).await?;
    let status = match (done, outcome) {
        (true, Some(Outcome { error: None, size_bytes, keys, sha256, object_key })) => RedisHttpBackupStatus {
            phase: Some(BackupPhase::Completed),
            conditions: vec![condition(&backup, "True", "Completed", "stored")],
            size_bytes,
            keys,
            sha256,
            object_key: object_key.or_else(|| Some(job::object_key(&backup))),
            ..current(&backup)
        },
        (_, Some(Outcome { error: Some(error), .. })) => failed(&backup, "JobFailed", error),
        (_, _) => failed(&backup, "JobFailed", format!("Job {name} failed without a result")),
    };
    set_status(&ctx, &backup, status).await?;
    Ok(Action::await_change())
}

/// What `redisgate-backup` writes into its termination message.
#[derive(Debug, Default, Deserialize)]
struct Outcome {
    error: Option<String>,
    object_key: Option<String>,
    size_bytes: Option<u64>,
    keys: Option<u64>,
    sha256: Option<String>,
}

/// The termination message of the Job's last pod that wrote one.
async fn termination_message(ctx: &Context, namespace: &str, job: &str) -> Result<Option<Outcome>> {
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), namespace);
    let listed = pods.list(&ListParams::default().labels(&format!("job-name={job}"))).await?;
    Ok(listed
        .items
        .iter()
        .filter_map(|pod| pod.status.as_ref()?.container_statuses.as_ref())
        .flatten()
        .filter_map(|status| status.state.as_ref()?.terminated.as_ref()?.message.as_deref())
        .filter_map(|message| serde_json::from_str::<Outcome>(message).ok())
        .max_by_key(|outcome| outcome.error.is_none()))
}

fn current(backup: &RedisHttpBackup) -> RedisHttpBackupStatus {
    backup.status.clone().unwrap_or_default()
}

fn pending(backup: &RedisHttpBackup, reason: &str, message: &str) -> RedisHttpBackupStatus {
    RedisHttpBackupStatus {
        phase: Some(BackupPhase::Pending),
        conditions: vec![condition(backup, "False", reason, message)],
        ..current(backup)
    }
}

fn running(backup: &RedisHttpBackup, reason: &str, message: &str) -> RedisHttpBackupStatus {
    RedisHttpBackupStatus {
        phase: Some(BackupPhase::Running),
        conditions: vec![condition(backup, "False", reason, message)],
        ..current(backup)
    }
}

fn failed(backup: &RedisHttpBackup, reason: &str, message: String) -> RedisHttpBackupStatus {
    RedisHttpBackupStatus {
        phase: Some(BackupPhase::Failed),
        conditions: vec![condition(backup, "False", reason, &message)],
        message: Some(message),
        ..current(backup)
    }
}

/// The `Complete` condition, keeping its `lastTransitionTime` while its status does not change.
fn condition(backup: &RedisHttpBackup, status: &str, reason: &str, message: &str) -> Condition {
    let previous = backup.status.as_ref().and_then(|s| s.conditions.iter().find(|c| c.type_ == "Complete"));
    let last_transition_time = match previous {
        Some(previous) if previous.status == status => previous.last_transition_time.clone(),
        _ => Time(Timestamp::now()),
    };
    Condition {
        type_: "Complete".to_owned(),
        status: status.to_owned(),
        reason: reason.to_owned(),
        message: message.to_owned(),
        observed_generation: backup.metadata.generation,
        last_transition_time,
    }
}

async fn set_status(ctx: &Context, backup: &RedisHttpBackup, status: RedisHttpBackupStatus) -> Result<()> {
    if backup.status.as_ref() == Some(&status) {
        return Ok(());
    }
    let namespace = backup.namespace().ok_or(Error::MissingField("metadata.namespace"))?;
    let api: Api<RedisHttpBackup> = Api::namespaced(ctx.client.clone(), &namespace);
    let patch = serde_json::json!({
        "apiVersion": RedisHttpBackup::api_version(&()),
        "kind": RedisHttpBackup::kind(&()),
        "status": status,
    });
    api.patch_status(&backup.name_any(), &PatchParams::apply(MANAGER).force(), &Patch::Apply(&patch)).await?;
    Ok(())
}

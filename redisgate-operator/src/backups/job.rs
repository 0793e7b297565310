//! The Job of one backup: `redisgate-backup` from the gateway's image, against a replica of the instance
//! when it has one (a data pod that is not the master its Sentinels name), else its client Service.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    Container, EnvFromSource, PodSpec, PodTemplateSpec, ResourceRequirements, SecretEnvSource, SecretVolumeSource,
    Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::{Resource as _, ResourceExt as _};

use crate::config::{OperatorConfig, REDIS_PORT};
use crate::crd::{RedisHttpBackup, RedisHttpInstance, TopologyMode};
use crate::naming::{Names, LABEL_INSTANCE, LABEL_MANAGED_BY, LABEL_NAME, MANAGER};
use crate::resources::statefulset::{container_security, plain_env, secret_env};
use crate::resources::tls::GATEWAY_SECRET;
use crate::{Error, Result};

/// `app.kubernetes.io/name` of the Job and its pod (not `redis`: no Service or budget selects it).
pub const BACKUP_NAME: &str = "redisgate-backup";
/// Where the gateway's client certificate is mounted for a TLS instance.
const TLS_DIR: &str = "/etc/redisgate-backup-tls";
/// How long one backup may run.
const DEADLINE_SECONDS: i64 = 6 * 3600;

/// `<backup>-backup`.
#[must_use]
pub fn job_name(backup: &RedisHttpBackup) -> String {
    format!("{}-backup", backup.name_any())
}

/// `<namespace>/<instance>/<backup>.rdb`.
#[must_use]
pub fn object_key(backup: &RedisHttpBackup) -> String {
    format!("{}/{}/{}.rdb", backup.namespace().unwrap_or_default(), backup.spec.instance, backup.name_any())
}

/// The `host:port` the backup reads: a replica's pod when the instance has one, else the client Service.
#[must_use]
pub fn source(instance: &RedisHttpInstance, names: &Names, config: &OperatorConfig) -> String {
    let namespace = instance.namespace().unwrap_or_default();
    if instance.spec.topology.mode == TopologyMode::Replicated {
        let master = instance.status.as_ref().and_then(|s| s.master.as_deref()).unwrap_or_default();
        let pod = |i: i32| config.data_pod_host(names, i, &namespace);
        if let Some(replica) =
            (0..instance.spec.topology.data_pods()).map(pod).find(|host| !master.starts_with(host.as_str()))
        {
            return format!("{replica}:{REDIS_PORT}");
        }
    }
    format!("{}:{REDIS_PORT}", config.service_host(&names.instance, &namespace))
}

/// The Job of `backup` against `instance`, and the store it writes to.
///
/// # Errors
/// [`Error::Config`] when neither the backup nor the operator names a store; invalid names.
pub fn job(backup: &RedisHttpBackup, instance: &RedisHttpInstance, config: &OperatorConfig) -> Result<(Job, String)> {
    let store =
        backup.spec.store.clone().or_else(|| config.backup_store.clone()).ok_or_else(|| {
            Error::Config("no backup store: set spec.store, or the operator's --backup-store".to_owned())
        })?;
    let names = Names::new(&instance.name_any(), instance.spec.secret_name.as_deref())?;
    let labels = BTreeMap::from([
        (LABEL_NAME.to_owned(), BACKUP_NAME.to_owned()),
        // The instance's NetworkPolicy admits the pods that carry its label.
        (LABEL_INSTANCE.to_owned(), names.instance.clone()),
        (LABEL_MANAGED_BY.to_owned(), MANAGER.to_owned()),
    ]);
    let mut env = vec![
        plain_env("REDISGATE_BACKUP_ADDRESS", source(instance, &names, config)),
        secret_env("REDISGATE_BACKUP_PASSWORD", &names.admin_secret),
        plain_env("REDISGATE_BACKUP_STORE", store.clone()),
        plain_env("REDISGATE_BACKUP_KEY", object_key(backup)),
        plain_env("REDISGATE_BACKUP_RESULT", "/dev/termination-log".to_owned()),
    ];
    let (mut volumes, mut mounts) = (Vec::new(), Vec::new());
    if instance.spec.tls.enabled {
        env.push(plain_env("REDISGATE_BACKUP_TLS_DIR", TLS_DIR.to_owned()));
        volumes.push(Volume {
            name: "tls".to_owned(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(GATEWAY_SECRET.to_owned()),
                ..SecretVolumeSource::default()
            }),
            ..Volume::default()
        });
        mounts.push(VolumeMount {
            name: "tls".to_owned(),
            mount_path: TLS_DIR.to_owned(),
            read_only: Some(true),
            ..VolumeMount::default()
        });
    }
    // The scratch file: the root file system is read-only.
    volumes.push(Volume { name: "scratch".to_owned(), empty_dir: Some(Default::default()), ..Volume::default() });
    mounts.push(VolumeMount { name: "scratch".to_owned(), mount_path: "/tmp".to_owned(), ..VolumeMount::default() });
    let store_secret = backup.spec.store_secret.clone().or_else(|| config.backup_store_secret.clone());
    let env_from = store_secret.map(|name| {
        vec![EnvFromSource {
            secret_ref: Some(SecretEnvSource { name, optional: Some(false) }),
            ..EnvFromSource::default()
        }]
    });
    let memory = Quantity("128Mi".to_owned());
    let container = Container {
        name: "backup".to_owned(),
        image: Some(config.backup_image.clone()),
        command: Some(vec!["/usr/local/bin/redisgate-backup".to_owned()]),
        env: Some(env),
        env_from,
        resources: Some(ResourceRequirements {
            limits: Some(BTreeMap::from([("memory".to_owned(), memory.clone())])),
            requests: Some(BTreeMap::from([
                ("memory".to_owned(), memory),
                ("cpu".to_owned(), Quantity("50m".to_owned())),
            ])),
            ..ResourceRequirements::default()
        }),
        security_context: Some(container_security()),
        volume_mounts: Some(mounts),
        ..Container::default()
    };
    let owner = backup.controller_owner_ref(&()).ok_or(Error::MissingField("metadata.uid"))?;
    let metadata = ObjectMeta {
        name: Some(job_name(backup)),
        namespace: backup.namespace(),
        labels: Some(labels.clone()),
        owner_references: Some(vec![owner]),
        ..ObjectMeta::default()
    };
    let job = Job {
        metadata,
        spec: Some(JobSpec {
            backoff_limit: Some(2),
            active_deadline_seconds: Some(DEADLINE_SECONDS),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(labels), ..ObjectMeta::default() }),
                spec: Some(PodSpec {
                    containers: vec![container],
                    restart_policy: Some("Never".to_owned()),
                    volumes: Some(volumes),
                    automount_service_account_token: Some(false),
                    enable_service_links: Some(false),
                    security_context: Some(k8s_openapi::api::core::v1::PodSecurityContext {
                        run_as_non_root: Some(true),
                        run_as_user: Some(65532),
                        run_as_group: Some(65532),
                        seccomp_profile: Some(k8s_openapi::api::core::v1::SeccompProfile {
                            type_: "RuntimeDefault".to_owned(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                    ..PodSpec::default()
                }),
            },
            ..JobSpec::default()
        }),
        status: None,
    };
    Ok((job, store))
}

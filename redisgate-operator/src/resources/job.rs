//! The bootstrap Job of a cluster instance: `redis-cli --cluster` in the Redis image, running
//! [`cluster::bootstrap_script`] against every data pod. Its name carries the size it makes
//! (`<instance>-cluster-<shards>x<replicas per shard>`), so growing the spec gives a new Job, and a Job that
//! exists is never changed (a Job's pod template is immutable). It logs in as the admin user, whose password
//! reaches it only from the Secret, and reaches the data pods through the instance's NetworkPolicy, which
//! admits every pod with the instance's label.

use std::collections::BTreeMap;

use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{Container, PodSpec, PodTemplateSpec, ResourceRequirements, VolumeMount};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::statefulset::{container_security, plain_env, pod_security, secret_env, tls_mount, tls_volume};
use super::Desired;
use crate::config::REDIS_PORT;
use crate::naming::{LABEL_INSTANCE, LABEL_MANAGED_BY, LABEL_NAME, MANAGER};
use crate::redis_conf::cluster::CLUSTER_BOOTSTRAP;
use crate::redis_conf::CONF_DIR;

/// `app.kubernetes.io/name` of the Job and its pod (not `redis`: no data Service or budget selects it).
pub const BOOTSTRAP_NAME: &str = "redis-cluster-bootstrap";
/// How long one bootstrap may run, waiting for the pods and moving slots with their keys.
pub const DEADLINE_SECONDS: i64 = 3600;

/// The Job that makes the cluster the spec asks for.
#[must_use]
pub fn name(desired: &Desired) -> String {
    let topology = &desired.instance.spec.topology;
    format!("{}-cluster-{}x{}", desired.names.instance, topology.shards, topology.replicas_per_shard)
}

/// Every data pod's `host:port`, in order.
#[must_use]
pub fn nodes(desired: &Desired) -> Vec<String> {
    (0..desired.instance.spec.topology.data_pods())
        .map(|i| format!("{}:{REDIS_PORT}", desired.config.data_pod_host(&desired.names, i, &desired.namespace)))
        .collect()
}

/// The bootstrap Job for the current spec.
#[must_use]
pub fn bootstrap(desired: &Desired) -> Job {
    let topology = &desired.instance.spec.topology;
    let labels = BTreeMap::from([
        (LABEL_NAME.to_owned(), BOOTSTRAP_NAME.to_owned()),
        (LABEL_INSTANCE.to_owned(), desired.names.instance.clone()),
        (LABEL_MANAGED_BY.to_owned(), MANAGER.to_owned()),
    ]);
    let mut metadata = desired.meta(&name(desired));
    metadata.labels = Some(labels.clone());
    let memory = Quantity("64Mi".to_owned());
    let tls = desired.instance.spec.tls.enabled;
    let mut volume_mounts = vec![VolumeMount {
        name: "config".to_owned(),
        mount_path: CONF_DIR.to_owned(),
        read_only: Some(true),
        ..VolumeMount::default()
    }];
    let mut volumes = vec![super::config_volume(desired)];
    // A TLS instance's nodes let in only holders of a certificate from its CA: the Job presents the instance's.
    if tls {
        volume_mounts.push(tls_mount());
        volumes.push(tls_volume(desired));
    }
    let container = Container {
        name: "bootstrap".to_owned(),
        image: Some(desired.image.clone()),
        command: Some(vec!["sh".to_owned(), format!("{CONF_DIR}/{CLUSTER_BOOTSTRAP}")]),
        env: Some(vec![
            secret_env("ADMIN_PASSWORD", &desired.names.admin_secret),
            plain_env("NODES", nodes(desired).join(" ")),
            plain_env("SHARDS", topology.shards.to_string()),
            plain_env("REPLICAS_PER_SHARD", topology.replicas_per_shard.to_string()),
        ]),
        resources: Some(ResourceRequirements {
            limits: Some(BTreeMap::from([("memory".to_owned(), memory.clone())])),
            requests: Some(BTreeMap::from([
                ("memory".to_owned(), memory),
                ("cpu".to_owned(), Quantity("10m".to_owned())),
            ])),
            ..ResourceRequirements::default()
        }),
        security_context: Some(container_security()),
        volume_mounts: Some(volume_mounts),
        ..Container::default()
    };
    Job {
        metadata,
        spec: Some(JobSpec {
            backoff_limit: Some(6),
            active_deadline_seconds: Some(DEADLINE_SECONDS),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(labels), ..ObjectMeta::default() }),
                spec: Some(PodSpec {
                    containers: vec![container],
                    restart_policy: Some("OnFailure".to_owned()),
                    volumes: Some(volumes),
                    automount_service_account_token: Some(false),
                    enable_service_links: Some(false),
                    security_context: Some(pod_security()),
                    ..PodSpec::default()
                }),
            },
            ..JobSpec::default()
        }),
        status: None,
    }
}

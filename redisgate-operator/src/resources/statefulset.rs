//! The StatefulSet running an instance's data pods: one for a standalone instance; a master and its replicas
//! for a replicated one, each started by `start-data.sh` ([`redis_conf::start_data_script`]) in the role the
//! Sentinels give it; every shard's master and replicas for a cluster, each started by `start-cluster.sh`
//! ([`crate::redis_conf::cluster::start_cluster_script`]) and joined by the bootstrap Job ([`super::job`]). Data pods of a
//! replicated or cluster instance are spread over nodes by pod anti-affinity.
//!
//! The password only through `secretKeyRef`, memory request = limit, authenticated exec
//! probes, a non-root security context, and a checksum annotation on the pod template so that a new
//! config or password rolls the pod. `volumeClaimTemplates` are immutable on a real API server, so an
//! existing StatefulSet's templates are kept as they are (growth is applied to the PVC itself).

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec};
use k8s_openapi::api::core::v1::{
    Affinity, Capabilities, Container, ContainerPort, EmptyDirVolumeSource, EnvVar, EnvVarSource, ExecAction,
    ObjectFieldSelector, PersistentVolumeClaim, PersistentVolumeClaimSpec, PodAffinityTerm, PodAntiAffinity,
    PodSecurityContext, PodSpec, PodTemplateSpec, Probe, ResourceRequirements, SeccompProfile, SecretKeySelector,
    SecretVolumeSource, SecurityContext, Volume, VolumeMount, VolumeResourceRequirements, WeightedPodAffinityTerm,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::secret::PASSWORD_KEY;
use super::{Desired, CHECKSUM_ANNOTATION};
use crate::config::{REDIS_PORT, SENTINEL_PORT};
use crate::crd::AntiAffinity;
use crate::naming::{labels, selector_labels, DATA_VOLUME};
use crate::redis_conf::cluster::{BUS_PORT, START_CLUSTER};
use crate::redis_conf::{self, CONF_DIR, DATA_DIR, ENV_CLI_AUTH, START_DATA, TLS_DIR};

/// The uid and gid of the `redis` user in the official images.
pub const REDIS_UID: i64 = 999;

/// The StatefulSet; `existing_claims` are the templates of the StatefulSet already on the server, if any.
#[must_use]
pub fn build(desired: &Desired, checksum: &str, existing_claims: Option<Vec<PersistentVolumeClaim>>) -> StatefulSet {
    let persistent = desired.instance.spec.persistence.enabled;
    let claims = persistent.then(|| existing_claims.filter(|c| !c.is_empty()).unwrap_or_else(|| vec![claim(desired)]));
    let mut volumes = vec![super::config_volume(desired)];
    if !persistent {
        volumes.push(Volume {
            name: DATA_VOLUME.to_owned(),
            empty_dir: Some(EmptyDirVolumeSource::default()),
            ..Volume::default()
        });
    }
    if desired.instance.spec.tls.enabled {
        volumes.push(tls_volume(desired));
    }
    let pod_labels = labels(&desired.names.instance);
    let topology = &desired.instance.spec.topology;
    let affinity = (!topology.is_standalone())
        .then(|| anti_affinity(&selector_labels(&desired.names.instance), topology.anti_affinity));
    StatefulSet {
        metadata: desired.meta(&desired.names.instance),
        spec: Some(StatefulSetSpec {
            replicas: Some(topology.data_pods()),
            // A cluster's nodes are peers: they start together, and the bootstrap Job waits for all of them.
            pod_management_policy: topology.is_cluster().then(|| "Parallel".to_owned()),
            service_name: Some(desired.names.headless.clone()),
            selector: LabelSelector {
                match_labels: Some(selector_labels(&desired.names.instance)),
                ..LabelSelector::default()
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels),
                    annotations: Some(BTreeMap::from([(CHECKSUM_ANNOTATION.to_owned(), checksum.to_owned())])),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![container(desired)],
                    affinity,
                    volumes: Some(volumes),
                    automount_service_account_token: Some(false),
                    enable_service_links: Some(false),
                    termination_grace_period_seconds: Some(30),
                    security_context: Some(pod_security()),
                    ..PodSpec::default()
                }),
            },
            // Deleting the instance deletes its data (the provisioner's contract); scaling never does.
            persistent_volume_claim_retention_policy: persistent.then(|| {
                StatefulSetPersistentVolumeClaimRetentionPolicy {
                    when_deleted: Some("Delete".to_owned()),
                    when_scaled: Some("Retain".to_owned()),
                }
            }),
            volume_claim_templates: claims,
            ..StatefulSetSpec::default()
        }),
        status: None,
    }
}

fn container(desired: &Desired) -> Container {
    let memory = Quantity(desired.instance.spec.memory.clone());
    let mut requests = BTreeMap::from([("memory".to_owned(), memory.clone())]);
    if let Some(cpu) = &desired.instance.spec.cpu {
        requests.insert("cpu".to_owned(), Quantity(cpu.clone()));
    }
    let topology = &desired.instance.spec.topology;
    let mut env = vec![password_env(desired, ENV_CLI_AUTH)];
    let (command, args) = if topology.is_standalone() {
        (redis_conf::command(), redis_conf::args())
    } else {
        let script = if topology.is_cluster() {
            env.extend(cluster_env(desired));
            START_CLUSTER
        } else {
            env.extend(replication_env(desired, &desired.names.headless));
            START_DATA
        };
        (vec!["sh".to_owned()], vec![format!("{CONF_DIR}/{script}"), format!("{CONF_DIR}/redis.conf")])
    };
    let tls = desired.instance.spec.tls.enabled;
    let probe = if tls { redis_conf::tls_probe_command(REDIS_PORT) } else { redis_conf::probe_command(REDIS_PORT) };
    let mut base = container_base(desired, ("redis", REDIS_PORT), &probe, DATA_VOLUME);
    if tls {
        base.volume_mounts.get_or_insert_with(Vec::new).push(tls_mount());
    }
    let mut ports = base.ports.clone().unwrap_or_default();
    if topology.is_cluster() {
        ports.push(ContainerPort {
            name: Some("cluster-bus".to_owned()),
            container_port: i32::from(BUS_PORT),
            protocol: Some("TCP".to_owned()),
            ..ContainerPort::default()
        });
    }
    Container {
        ports: Some(ports),
        name: "redis".to_owned(),
        command: Some(command),
        args: Some(args),
        env: Some(env),
        resources: Some(ResourceRequirements {
            limits: Some(BTreeMap::from([("memory".to_owned(), memory)])),
            requests: Some(requests),
            ..ResourceRequirements::default()
        }),
        ..base
    }
}

/// What the data and the Sentinel containers share: the image, one TCP port, readiness and liveness probes
/// that run `probe_command`, the non-root security context, and the configuration (read-only, at
/// [`CONF_DIR`]) and `data_volume` (at [`DATA_DIR`]) mounts. Callers add their name, command, arguments,
/// environment and resources.
#[must_use]
pub fn container_base(desired: &Desired, port: (&str, u16), probe_command: &[String], data_volume: &str) -> Container {
    let probe = |initial_delay, period, failures| Probe {
        exec: Some(ExecAction { command: Some(probe_command.to_vec()) }),
        initial_delay_seconds: Some(initial_delay),
        period_seconds: Some(period),
        timeout_seconds: Some(3),
        failure_threshold: Some(failures),
        ..Probe::default()
    };
    Container {
        image: Some(desired.image.clone()),
        ports: Some(vec![ContainerPort {
            name: Some(port.0.to_owned()),
            container_port: i32::from(port.1),
            protocol: Some("TCP".to_owned()),
            ..ContainerPort::default()
        }]),
        readiness_probe: Some(probe(2, 5, 3)),
        liveness_probe: Some(probe(15, 10, 6)),
        security_context: Some(container_security()),
        volume_mounts: Some(vec![
            VolumeMount {
                name: "config".to_owned(),
                mount_path: CONF_DIR.to_owned(),
                read_only: Some(true),
                ..VolumeMount::default()
            },
            VolumeMount { name: data_volume.to_owned(), mount_path: DATA_DIR.to_owned(), ..VolumeMount::default() },
        ]),
        ..Container::default()
    }
}

/// A TLS instance's certificate Secret (`<name>-tls`) as a volume: readable by the `redis` group only.
#[must_use]
pub fn tls_volume(desired: &Desired) -> Volume {
    Volume {
        name: "tls".to_owned(),
        secret: Some(SecretVolumeSource {
            secret_name: Some(desired.names.tls.clone()),
            default_mode: Some(0o440),
            ..SecretVolumeSource::default()
        }),
        ..Volume::default()
    }
}

/// Where a container mounts [`tls_volume`]: [`TLS_DIR`], read-only.
#[must_use]
pub fn tls_mount() -> VolumeMount {
    VolumeMount {
        name: "tls".to_owned(),
        mount_path: TLS_DIR.to_owned(),
        read_only: Some(true),
        ..VolumeMount::default()
    }
}

/// Every pod of an instance runs as the image's `redis` user, never root, with the runtime's seccomp profile.
#[must_use]
pub fn pod_security() -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(REDIS_UID),
        run_as_group: Some(REDIS_UID),
        fs_group: Some(REDIS_UID),
        seccomp_profile: Some(SeccompProfile { type_: "RuntimeDefault".to_owned(), ..SeccompProfile::default() }),
        ..PodSecurityContext::default()
    }
}

/// Every container: no privilege escalation, a read-only root, no capability.
#[must_use]
pub fn container_security() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        read_only_root_filesystem: Some(true),
        capabilities: Some(Capabilities { drop: Some(vec!["ALL".to_owned()]), ..Capabilities::default() }),
        ..SecurityContext::default()
    }
}

fn password_env(desired: &Desired, name: &str) -> EnvVar {
    secret_env(name, &desired.names.secret)
}

/// `name` from the `password` key of Secret `secret`.
#[must_use]
pub fn secret_env(name: &str, secret: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: None,
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.to_owned(),
                key: PASSWORD_KEY.to_owned(),
                optional: Some(false),
            }),
            ..EnvVarSource::default()
        }),
    }
}

/// `name=value`.
#[must_use]
pub fn plain_env(name: &str, value: String) -> EnvVar {
    EnvVar { name: name.to_owned(), value: Some(value), value_from: None }
}

/// What the start scripts of a replicated instance read ([`redis_conf::start_data_script`]): the admin
/// password, the master's name, this pod's DNS name under `headless`, the first data pod's, and the
/// Sentinels'.
#[must_use]
pub fn replication_env(desired: &Desired, headless: &str) -> Vec<EnvVar> {
    let (ns, config, names) = (&desired.namespace, &desired.config, &desired.names);
    let sentinels: Vec<String> = (0..redisgate_core::provisioning::topology::SENTINELS)
        .map(|i| {
            let host = config.service_host(&format!("{}-{i}.{}", names.sentinel, names.sentinel_headless), ns);
            format!("{host}:{SENTINEL_PORT}")
        })
        .collect();
    vec![
        secret_env("ADMIN_PASSWORD", &names.admin_secret),
        field_env("POD_NAME", "metadata.name"),
        plain_env("SELF_HOST", config.service_host(&format!("$(POD_NAME).{headless}"), ns)),
        plain_env("FIRST_HOST", config.data_pod_host(names, 0, ns)),
        plain_env("REDIS_PORT", REDIS_PORT.to_string()),
        plain_env("FIRST_PORT", REDIS_PORT.to_string()),
        plain_env("MASTER_NAME", names.instance.clone()),
        plain_env("SENTINELS", sentinels.join(" ")),
    ]
}

/// What a cluster node's start script reads ([`crate::redis_conf::cluster::start_cluster_script`]): the admin password, the
/// ports, the pod's IP (for the cluster bus) and its DNS name under the headless Service (for clients).
#[must_use]
pub fn cluster_env(desired: &Desired) -> Vec<EnvVar> {
    let self_host = desired.config.service_host(&format!("$(POD_NAME).{}", desired.names.headless), &desired.namespace);
    vec![
        secret_env("ADMIN_PASSWORD", &desired.names.admin_secret),
        field_env("POD_NAME", "metadata.name"),
        field_env("POD_IP", "status.podIP"),
        plain_env("SELF_HOST", self_host),
        plain_env("REDIS_PORT", REDIS_PORT.to_string()),
        plain_env("BUS_PORT", BUS_PORT.to_string()),
    ]
}

/// `name` from the pod's own field `path` (the downward API).
fn field_env(name: &str, path: &str) -> EnvVar {
    EnvVar {
        name: name.to_owned(),
        value: None,
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector { field_path: path.to_owned(), api_version: None }),
            ..EnvVarSource::default()
        }),
    }
}

/// Keeps pods matching `selector` on different nodes: when possible (`preferred`), or always (`required`).
#[must_use]
pub fn anti_affinity(selector: &BTreeMap<String, String>, strictness: AntiAffinity) -> Affinity {
    let term = PodAffinityTerm {
        label_selector: Some(LabelSelector { match_labels: Some(selector.clone()), ..LabelSelector::default() }),
        topology_key: "kubernetes.io/hostname".to_owned(),
        ..PodAffinityTerm::default()
    };
    let rule = match strictness {
        AntiAffinity::Preferred => PodAntiAffinity {
            preferred_during_scheduling_ignored_during_execution: Some(vec![WeightedPodAffinityTerm {
                weight: 100,
                pod_affinity_term: term,
            }]),
            ..PodAntiAffinity::default()
        },
        AntiAffinity::Required => PodAntiAffinity {
            required_during_scheduling_ignored_during_execution: Some(vec![term]),
            ..PodAntiAffinity::default()
        },
    };
    Affinity { pod_anti_affinity: Some(rule), ..Affinity::default() }
}

/// The volume claim template of a persistent instance.
#[must_use]
pub fn claim(desired: &Desired) -> PersistentVolumeClaim {
    let persistence = &desired.instance.spec.persistence;
    PersistentVolumeClaim {
        metadata: ObjectMeta { name: Some(DATA_VOLUME.to_owned()), ..ObjectMeta::default() },
        spec: Some(PersistentVolumeClaimSpec {
            access_modes: Some(vec!["ReadWriteOnce".to_owned()]),
            storage_class_name: persistence.storage_class_name.clone(),
            resources: Some(VolumeResourceRequirements {
                requests: Some(BTreeMap::from([("storage".to_owned(), Quantity(persistence.size.clone()))])),
                ..VolumeResourceRequirements::default()
            }),
            ..PersistentVolumeClaimSpec::default()
        }),
        ..PersistentVolumeClaim::default()
    }
}

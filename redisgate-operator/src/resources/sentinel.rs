//! A replicated instance's three Sentinels: a StatefulSet (each pod runs `start-sentinel.sh`,
//! [`redis_conf::start_sentinel_script`], with its file in an `emptyDir` because Sentinel rewrites it), a
//! headless Service that gives each its DNS name, and the client Service the gateway asks where the master is.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{
    Container, EmptyDirVolumeSource, PodSpec, PodTemplateSpec, ResourceRequirements, Service, Volume,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use super::service::{client_for, headless_for, Exposed};
use super::statefulset::{
    anti_affinity, container_base, plain_env, pod_security, replication_env, tls_mount, tls_volume,
};
use super::{Desired, CHECKSUM_ANNOTATION};
use crate::config::SENTINEL_PORT;
use crate::naming::{labels, sentinel_selector_labels};
use crate::redis_conf::{self, CONF_DIR, DATA_DIR, SENTINEL_CONF, START_SENTINEL};

/// Memory of a Sentinel container (requested and its limit): Sentinel keeps a few kilobytes of state.
const SENTINEL_MEMORY: &str = "64Mi";

fn pod_labels(desired: &Desired) -> BTreeMap<String, String> {
    let mut labels = labels(&desired.names.instance);
    labels.extend(sentinel_selector_labels(&desired.names.instance));
    labels
}

/// The Sentinels' StatefulSet; `checksum` covers the ConfigMap, so a change restarts them. A TLS instance's
/// Sentinels mount its certificate; Sentinel has no `CONFIG SET`, so `checksum` covers the certificate too
/// and a renewal restarts them, one at a time (the data pods keep running).
#[must_use]
pub fn statefulset(desired: &Desired, checksum: &str) -> StatefulSet {
    let selector = sentinel_selector_labels(&desired.names.instance);
    let tls = desired.instance.spec.tls.enabled;
    let cli = if tls { format!(" {}", redis_conf::cli_tls()) } else { String::new() };
    let probe = [
        "sh".to_owned(),
        "-c".to_owned(),
        format!(
            "REDISCLI_AUTH=\"$ADMIN_PASSWORD\" redis-cli{cli} --user redisgate-admin -p {SENTINEL_PORT} ping | grep -q PONG"
        ),
    ];
    let mut env = replication_env(desired, &desired.names.sentinel_headless);
    env.push(plain_env("SENTINEL_PORT", SENTINEL_PORT.to_string()));
    env.push(plain_env("SENTINEL_DIR", DATA_DIR.to_owned()));
    let memory = Quantity(SENTINEL_MEMORY.to_owned());
    let container = Container {
        name: "sentinel".to_owned(),
        command: Some(vec!["sh".to_owned()]),
        args: Some(vec![format!("{CONF_DIR}/{START_SENTINEL}"), format!("{CONF_DIR}/{SENTINEL_CONF}")]),
        env: Some(env),
        resources: Some(ResourceRequirements {
            limits: Some(BTreeMap::from([("memory".to_owned(), memory.clone())])),
            requests: Some(BTreeMap::from([("memory".to_owned(), memory)])),
            ..ResourceRequirements::default()
        }),
        ..container_base(desired, ("sentinel", SENTINEL_PORT), &probe, "state")
    };
    let mut container = container;
    let mut volumes = vec![
        super::config_volume(desired),
        Volume { name: "state".to_owned(), empty_dir: Some(EmptyDirVolumeSource::default()), ..Volume::default() },
    ];
    if tls {
        container.volume_mounts.get_or_insert_with(Vec::new).push(tls_mount());
        volumes.push(tls_volume(desired));
    }
    StatefulSet {
        metadata: desired.meta(&desired.names.sentinel),
        spec: Some(StatefulSetSpec {
            replicas: Some(i32::try_from(redisgate_core::provisioning::topology::SENTINELS).unwrap_or(3)),
            service_name: Some(desired.names.sentinel_headless.clone()),
            // Sentinels do not depend on each other's start: all three come up at once.
            pod_management_policy: Some("Parallel".to_owned()),
            selector: LabelSelector { match_labels: Some(selector.clone()), ..LabelSelector::default() },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels(desired)),
                    annotations: Some(BTreeMap::from([(CHECKSUM_ANNOTATION.to_owned(), checksum.to_owned())])),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    containers: vec![container],
                    affinity: Some(anti_affinity(&selector, desired.instance.spec.topology.anti_affinity)),
                    volumes: Some(volumes),
                    automount_service_account_token: Some(false),
                    enable_service_links: Some(false),
                    security_context: Some(pod_security()),
                    ..PodSpec::default()
                }),
            },
            ..StatefulSetSpec::default()
        }),
        status: None,
    }
}

fn exposed<'a>(desired: &Desired, name: &'a str) -> Exposed<'a> {
    Exposed { name, selector: sentinel_selector_labels(&desired.names.instance), port: ("sentinel", SENTINEL_PORT) }
}

/// The headless Service named in the Sentinels' `serviceName` (their DNS names exist before they are ready,
/// so that they find each other while starting).
#[must_use]
pub fn headless(desired: &Desired) -> Service {
    headless_for(desired, exposed(desired, &desired.names.sentinel_headless))
}

/// The ClusterIP Service the gateway asks (`redis+sentinel://…`).
#[must_use]
pub fn client(desired: &Desired) -> Service {
    client_for(desired, exposed(desired, &desired.names.sentinel))
}

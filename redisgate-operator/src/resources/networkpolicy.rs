//! The NetworkPolicy of an instance: its pods accept connections on the Redis port only from the gateway's
//! pods (namespace and pod labels from the operator's configuration), and nothing else. A replicated
//! instance's pods (data and Sentinels) also accept each other, and the gateway, on the Sentinel port too. A
//! cluster's pods (nodes and the bootstrap Job) accept each other on the Redis and cluster bus ports. The
//! operator's own pod is admitted where it talks to the servers: a TLS instance's Redis port (to make them load
//! a renewed certificate) and a replicated instance's Sentinel port (to ask which node is the master).
//! Enforcement needs a policy-capable CNI (Calico, Cilium); without one the policy is stored but has no
//! effect.

use std::collections::BTreeMap;

use k8s_openapi::api::networking::v1::{
    NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::Desired;
use crate::config::{REDIS_PORT, SENTINEL_PORT};
use crate::naming::{selector_labels, LABEL_INSTANCE};
use crate::redis_conf::cluster::BUS_PORT;

/// Label every namespace carries with its own name (Kubernetes ≥ 1.21).
const NAMESPACE_NAME_LABEL: &str = "kubernetes.io/metadata.name";

/// The pods labelled `labels` in `namespace`.
fn pods_in(namespace: &str, labels: &BTreeMap<String, String>) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(LabelSelector {
            match_labels: Some(BTreeMap::from([(NAMESPACE_NAME_LABEL.to_owned(), namespace.to_owned())])),
            ..LabelSelector::default()
        }),
        pod_selector: Some(LabelSelector { match_labels: Some(labels.clone()), ..LabelSelector::default() }),
        ..NetworkPolicyPeer::default()
    }
}

/// Admit the gateway's pods on the Redis port; deny all other ingress to the instance's pods.
#[must_use]
pub fn build(desired: &Desired) -> NetworkPolicy {
    let config = &desired.config;
    let gateway = pods_in(&config.gateway_namespace, &config.gateway_pod_labels);
    let port = |port: u16| NetworkPolicyPort {
        port: Some(IntOrString::Int(i32::from(port))),
        protocol: Some("TCP".to_owned()),
        ..NetworkPolicyPort::default()
    };
    let (pods, ingress) = if desired.instance.spec.topology.is_standalone() {
        let only_gateway = NetworkPolicyIngressRule { from: Some(vec![gateway]), ports: Some(vec![port(REDIS_PORT)]) };
        (selector_labels(&desired.names.instance), vec![only_gateway])
    } else {
        // Every pod of the instance: data nodes and Sentinels (the instance label alone).
        let instance = BTreeMap::from([(LABEL_INSTANCE.to_owned(), desired.names.instance.clone())]);
        let siblings = NetworkPolicyPeer {
            pod_selector: Some(LabelSelector { match_labels: Some(instance.clone()), ..LabelSelector::default() }),
            ..NetworkPolicyPeer::default()
        };
        let rules = if desired.instance.spec.topology.is_cluster() {
            // The gateway talks to every node; the nodes (and the bootstrap Job) also on the cluster bus.
            vec![
                NetworkPolicyIngressRule { from: Some(vec![gateway]), ports: Some(vec![port(REDIS_PORT)]) },
                NetworkPolicyIngressRule {
                    from: Some(vec![siblings]),
                    ports: Some(vec![port(REDIS_PORT), port(BUS_PORT)]),
                },
            ]
        } else {
            vec![NetworkPolicyIngressRule {
                from: Some(vec![gateway, siblings]),
                ports: Some(vec![port(REDIS_PORT), port(SENTINEL_PORT)]),
            }]
        };
        (instance, rules)
    };
    // The operator itself: it makes a TLS instance's servers load a renewed certificate, and asks a replicated
    // instance's Sentinels which node is the master.
    let mut ingress = ingress;
    let mut operator_ports = Vec::new();
    if desired.instance.spec.tls.enabled {
        operator_ports.push(port(REDIS_PORT));
    }
    if desired.instance.spec.topology.is_replicated() {
        operator_ports.push(port(SENTINEL_PORT));
    }
    if !operator_ports.is_empty() {
        let operator = pods_in(&config.operator_namespace, &config.operator_pod_labels);
        ingress.push(NetworkPolicyIngressRule { from: Some(vec![operator]), ports: Some(operator_ports) });
    }
    NetworkPolicy {
        metadata: desired.meta(&desired.names.instance),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector { match_labels: Some(pods), ..LabelSelector::default() }),
            policy_types: Some(vec!["Ingress".to_owned()]),
            ingress: Some(ingress),
            ..NetworkPolicySpec::default()
        }),
    }
}

//! Two Services: a headless one that gives the StatefulSet's pod its stable DNS name, and the client
//! Service whose DNS name the status reports as the endpoint.

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::Desired;
use crate::config::REDIS_PORT;
use crate::naming::selector_labels;

fn ports() -> Vec<ServicePort> {
    vec![ServicePort {
        name: Some("redis".to_owned()),
        port: i32::from(REDIS_PORT),
        target_port: Some(IntOrString::String("redis".to_owned())),
        protocol: Some("TCP".to_owned()),
        ..ServicePort::default()
    }]
}

/// The headless Service named in the StatefulSet's `serviceName`.
#[must_use]
pub fn headless(desired: &Desired) -> Service {
    Service {
        metadata: desired.meta(&desired.names.headless),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".to_owned()),
            selector: Some(selector_labels(&desired.names.instance)),
            ports: Some(ports()),
            publish_not_ready_addresses: Some(true),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// The ClusterIP Service clients (the gateway) connect to.
#[must_use]
pub fn client(desired: &Desired) -> Service {
    Service {
        metadata: desired.meta(&desired.names.instance),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_owned()),
            selector: Some(selector_labels(&desired.names.instance)),
            ports: Some(ports()),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

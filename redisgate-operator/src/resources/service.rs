//! Two Services: a headless one that gives the StatefulSet's pod its stable DNS name, and the client
//! Service whose DNS name the status reports as the endpoint.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Service, ServicePort, ServiceSpec};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::Desired;
use crate::config::REDIS_PORT;
use crate::naming::selector_labels;

/// What a Service exposes: the pods it selects and their named port.
pub struct Exposed<'a> {
    /// The Service's name.
    pub name: &'a str,
    /// The pods' labels.
    pub selector: BTreeMap<String, String>,
    /// The container port's name (the target) and number.
    pub port: (&'static str, u16),
}

fn ports((name, port): (&'static str, u16)) -> Vec<ServicePort> {
    vec![ServicePort {
        name: Some(name.to_owned()),
        port: i32::from(port),
        target_port: Some(IntOrString::String(name.to_owned())),
        protocol: Some("TCP".to_owned()),
        ..ServicePort::default()
    }]
}

/// A headless Service (a StatefulSet's `serviceName`): every pod gets its DNS name, before it is ready too.
#[must_use]
pub fn headless_for(desired: &Desired, exposed: Exposed<'_>) -> Service {
    Service {
        metadata: desired.meta(exposed.name),
        spec: Some(ServiceSpec {
            cluster_ip: Some("None".to_owned()),
            selector: Some(exposed.selector),
            ports: Some(ports(exposed.port)),
            publish_not_ready_addresses: Some(true),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

/// A ClusterIP Service clients connect to.
#[must_use]
pub fn client_for(desired: &Desired, exposed: Exposed<'_>) -> Service {
    Service {
        metadata: desired.meta(exposed.name),
        spec: Some(ServiceSpec {
            type_: Some("ClusterIP".to_owned()),
            selector: Some(exposed.selector),
            ports: Some(ports(exposed.port)),
            ..ServiceSpec::default()
        }),
        ..Service::default()
    }
}

fn data<'a>(desired: &Desired, name: &'a str) -> Exposed<'a> {
    Exposed { name, selector: selector_labels(&desired.names.instance), port: ("redis", REDIS_PORT) }
}

/// The headless Service named in the data StatefulSet's `serviceName`.
#[must_use]
pub fn headless(desired: &Desired) -> Service {
    headless_for(desired, data(desired, &desired.names.headless))
}

/// The ClusterIP Service clients (the gateway) connect to.
#[must_use]
pub fn client(desired: &Desired) -> Service {
    client_for(desired, data(desired, &desired.names.instance))
}

//! The resource an instance becomes and where the provisioner writes it (no API server needed; the
//! in-process test in `tests/operator/platform.rs` runs the rest under the RBAC of deploy/).

use std::sync::Mutex;

use redisgate_core::provisioning::{InstanceSpec, Target, Topology};
use uuid::Uuid;

use super::*;

/// A client whose API answers every request with `code` and records `METHOD path`.
fn recording_client(code: u16) -> (Client, Arc<Mutex<Vec<String>>>) {
    let requests = Arc::new(Mutex::new(Vec::new()));
    let seen = requests.clone();
    let service = tower::service_fn(move |request: http::Request<kube::client::Body>| {
        seen.lock().unwrap().push(format!("{} {}", request.method(), request.uri().path()));
        async move {
            let status = serde_json::json!({
                "kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code,
                "reason": "NotFound", "message": "namespaces \"x\" not found",
            });
            let mut response = http::Response::new(kube::client::Body::from(status.to_string().into_bytes()));
            *response.status_mut() = http::StatusCode::from_u16(code).unwrap();
            response.headers_mut().insert("content-type", "application/json".parse().unwrap());
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    (Client::new(service, "default"), requests)
}

fn target() -> Target {
    Target { id: Uuid::new_v4(), organization_id: Uuid::new_v4() }
}

#[tokio::test]
async fn an_instance_becomes_a_labelled_resource_in_the_tenant_namespace() {
    let (client, _) = recording_client(404);
    let provisioner = KubernetesProvisioner::new(client, ProvisionerConfig::default());
    let target = target();
    let spec = InstanceSpec::new("7cache", None, 768 * 1024 * 1024, "7.2", Topology::Standalone).unwrap();
    let resource = provisioner.resource(target, &spec);
    assert_eq!(resource.name_any(), "i-7cache");
    // One namespace for every organization; the organization is a label, not a namespace.
    assert_eq!(resource.namespace().unwrap(), "redisgate-instances");
    assert_eq!(provisioner.namespace(), "redisgate-instances");
    assert_eq!(resource.labels().get(LABEL_ORGANIZATION_ID), Some(&target.organization_id.to_string()));
    assert_eq!(resource.labels().get(LABEL_INSTANCE_ID), Some(&target.id.to_string()));
    assert_eq!(resource.labels().get(LABEL_MANAGED_BY).map(String::as_str), Some(PROVISIONER_MANAGER));
    assert_eq!(resource.spec.memory, "1024Mi");
    assert!(resource.spec.persistence.enabled);
    let limit = sizing::parse_binary_quantity(&resource.spec.memory).unwrap();
    assert!(sizing::max_memory_from_limit(limit) >= spec.max_memory);
    assert!(provisioner.endpoint(target.id).is_none());
    provisioner.shutdown().await;
}

#[tokio::test]
async fn a_cluster_instance_becomes_a_cluster_resource() {
    let (client, _) = recording_client(404);
    let provisioner = KubernetesProvisioner::new(client, ProvisionerConfig::default());
    let topology = Topology::Cluster { shards: 4, replicas_per_shard: 1 };
    let spec = InstanceSpec::new("shop", None, 64 * 1024 * 1024, "7.2", topology).unwrap();
    let resource = provisioner.resource(target(), &spec);
    assert!(resource.spec.topology.is_cluster());
    assert_eq!((resource.spec.topology.shards, resource.spec.topology.replicas_per_shard), (4, 1));
    assert_eq!(resource.spec.topology.topology(), topology);
    provisioner.shutdown().await;
}

#[tokio::test]
async fn instances_of_every_organization_go_to_the_configured_namespace() {
    let (client, _) = recording_client(404);
    let config = ProvisionerConfig { namespace: "tenants".into(), ..ProvisionerConfig::default() };
    let provisioner = KubernetesProvisioner::new(client, config);
    let spec = InstanceSpec::new("cache", None, 64 * 1024 * 1024, "7.2", Topology::Standalone).unwrap();
    for _ in 0..3 {
        assert_eq!(provisioner.resource(target(), &spec).namespace().unwrap(), "tenants");
    }
    provisioner.shutdown().await;
}

/// The provisioner creates no namespace (its Role has no right to): a missing tenant namespace fails the
/// creation with a message naming it, after a single request, into the tenant namespace.
#[tokio::test]
async fn create_never_creates_a_namespace() {
    let (client, requests) = recording_client(404);
    let config = ProvisionerConfig { namespace: "tenants".into(), ..ProvisionerConfig::default() };
    let provisioner = KubernetesProvisioner::new(client, config);
    let spec = InstanceSpec::new("cache", None, 64 * 1024 * 1024, "7.2", Topology::Standalone).unwrap();
    let error = provisioner.create_inner(target(), &spec).await.unwrap_err();
    assert!(
        matches!(&error, Error::Config(m) if m.contains("namespace tenants") && m.contains("must exist") && m.contains(TENANT_NAMESPACE_ENV)),
        "{error}"
    );
    let requests = requests.lock().unwrap().clone();
    assert_eq!(requests, ["POST /apis/redisgate.io/v1alpha1/namespaces/tenants/redishttpinstances"]);
    provisioner.shutdown().await;
}

/// Every call (create, adopt, resize, delete) stays inside the tenant namespace.
#[tokio::test]
async fn every_call_stays_in_the_tenant_namespace() {
    let (client, requests) = recording_client(403);
    let provisioner = KubernetesProvisioner::new(client, ProvisionerConfig::default());
    let (target, spec) =
        (target(), InstanceSpec::new("cache", None, 64 * 1024 * 1024, "7.2", Topology::Standalone).unwrap());
    assert!(provisioner.create_inner(target, &spec).await.is_err());
    assert!(provisioner.adopt_inner(target, &spec).await.is_err());
    assert!(provisioner.resize_inner(target, &spec).await.is_err());
    assert!(provisioner.delete_inner(target).await.is_err());
    let requests = requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 4, "{requests:?}");
    for request in &requests {
        assert!(request.contains("/namespaces/redisgate-instances/redishttpinstances"), "{request}");
    }
    provisioner.shutdown().await;
}

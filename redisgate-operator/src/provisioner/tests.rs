//! The resource an instance becomes (no API needed; the in-process test in `tests/operator` runs the rest).

use redisgate_core::provisioning::{InstanceSpec, Target};
use uuid::Uuid;

use super::*;

#[tokio::test]
async fn an_instance_becomes_a_labelled_resource_in_its_organization_namespace() {
    let client = Client::new(
        tower::service_fn(|_: http::Request<kube::client::Body>| async {
            Err::<http::Response<kube::client::Body>, _>(std::io::Error::other("no API in this test"))
        }),
        "default",
    );
    let provisioner = KubernetesProvisioner::new(client, ProvisionerConfig::default());
    let target = Target { id: Uuid::new_v4(), organization_id: Uuid::new_v4() };
    let spec = InstanceSpec::new("7cache", None, 768 * 1024 * 1024, "7.2").unwrap();
    let resource = provisioner.resource(target, &spec);
    assert_eq!(resource.name_any(), "i-7cache");
    assert_eq!(resource.namespace().unwrap(), format!("rg-{}", target.organization_id));
    assert_eq!(resource.labels().get(LABEL_INSTANCE_ID), Some(&target.id.to_string()));
    assert_eq!(resource.spec.memory, "1024Mi");
    assert!(resource.spec.persistence.enabled);
    let limit = sizing::parse_binary_quantity(&resource.spec.memory).unwrap();
    assert!(sizing::max_memory_from_limit(limit) >= spec.max_memory);
    assert!(provisioner.endpoint(target.id).is_none());
    provisioner.shutdown().await;
}

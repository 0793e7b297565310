//! The whole platform with the Kubernetes provisioner, in process (kubernetes.md §3, L4): the management
//! API creates an instance → the provisioner writes a `RedisHttpInstance` into the in-memory API → the
//! real controller reconciles it → a stand-in kubelet runs the StatefulSet's container as a real
//! `redis-server` and marks it ready → the status reaches the store → the data plane serves commands
//! through the endpoint and Secret the operator reported → deletion removes the resource and its children.
//! A creation that never gets ready ends `failed` and leaves no resource.
//!
//! The operator and the provisioner run with exactly the rights deploy/ gives their service accounts (the
//! fake API enforces the Roles), the operator watching only the tenant namespace: a request those rights do
//! not allow (a namespace created, a Secret read elsewhere, a watch across namespaces) fails the test.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use k8s_openapi::api::apps::v1::StatefulSet;
use redisgate_operator::config::OperatorConfig;
use redisgate_operator::controller::{self, Context};
use redisgate_operator::metrics::Metrics;
use redisgate_operator::naming::DEFAULT_TENANT_NAMESPACE;
use redisgate_operator::provisioner::{KubernetesProvisioner, ProvisionerConfig};
use redisgate_test_support::TestPlatform;
use serde_json::json;
use tokio_util::sync::CancellationToken;

use crate::fake_api::{deploy_documents, FakeApi, Rbac};
use crate::fixtures::{base64_decode, CONFIGMAPS, CRS, NAMESPACES, SECRETS, STATEFULSETS};
use crate::pod::{redis_container, Pod};

type Ports = Arc<Mutex<HashMap<String, u16>>>;

/// Plays the kubelet: runs each StatefulSet's container (except those named `stuck*`) and reports the
/// pod ready; forgets (kills) it when the StatefulSet goes.
fn kubelet(fake: FakeApi, ports: Ports) -> tokio::task::JoinHandle<()> {
    let mut changes = fake.subscribe();
    tokio::spawn(async move {
        let mut pods: HashMap<(String, String), Pod> = HashMap::new();
        while let Ok(change) = changes.recv().await {
            if change.key.collection != STATEFULSETS || change.key.name.starts_with("stuck") {
                continue;
            }
            let (ns, name) = (change.key.namespace.clone(), change.key.name.clone());
            if change.kind == "DELETED" {
                pods.remove(&(ns, name));
                continue;
            }
            let object = &change.object;
            let current = object["status"]["observedGeneration"] == object["metadata"]["generation"];
            if current && object["status"]["readyReplicas"] == json!(1) {
                continue;
            }
            let statefulset: StatefulSet = serde_json::from_value(object.clone()).unwrap();
            let conf = fake.get(CONFIGMAPS, &ns, &format!("{name}-config")).unwrap()["data"]["redis.conf"].clone();
            let secret = fake.get(SECRETS, &ns, &format!("{name}-auth")).unwrap();
            let password = base64_decode(secret["data"]["password"].as_str().unwrap());
            let pod = Pod::start(&redis_container(&statefulset), conf.as_str().unwrap(), &password).await;
            ports.lock().unwrap().insert(format!("{name}.{ns}.svc.cluster.local:6379"), pod.port);
            pods.insert((ns.clone(), name.clone()), pod);
            fake.mark_statefulset_ready(&ns, &name);
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_management_api_provisions_through_the_operator() {
    // The cluster as deploy/namespace.yaml leaves it: the tenant namespace exists, and nothing else.
    let namespace = DEFAULT_TENANT_NAMESPACE;
    let fake = FakeApi::new(&[namespace]);
    let documents = deploy_documents();
    let operator_rights = Rbac::of_service_account(&documents, "redisgate-system", "redisgate-operator");
    let gateway_rights = Rbac::of_service_account(&documents, "redisgate-system", "redisgate-gateway");
    let ports = Ports::default();
    let kubelet = kubelet(fake.clone(), ports.clone());
    let stop = CancellationToken::new();
    let ctx = Arc::new(Context::new(fake.client_as(operator_rights), OperatorConfig::default(), Metrics::default()));
    let operator = tokio::spawn(controller::run(ctx, Some(namespace), stop.clone().cancelled_owned()));
    let dial = ports.clone();
    let config = ProvisionerConfig {
        ready_timeout: Duration::from_secs(5),
        connect_address: Some(Arc::new(move |address: &str| {
            let port = dial.lock().unwrap().get(address).copied().unwrap_or(1);
            format!("127.0.0.1:{port}")
        })),
        ..ProvisionerConfig::default()
    };
    let provisioner = KubernetesProvisioner::new(fake.client_as(gateway_rights), config);
    let platform = TestPlatform::start_with_provisioner(Arc::new(provisioner)).await;
    let jwt = platform.user("kube@example.com").await;
    let org = platform.organization(&jwt, "kube-org").await;

    // Create: the resource in the tenant namespace, labelled with its organization; status running with
    // the Service's address. No namespace was made for the organization.
    let created = platform.running_instance(&jwt, &org, "kcache").await;
    let id = created["instance"]["id"].as_str().unwrap().to_owned();
    let resource = fake.get(CRS, namespace, "kcache").expect("no RedisHttpInstance");
    assert_eq!(resource["metadata"]["labels"]["redisgate.io/instance-id"], json!(id));
    assert_eq!(resource["metadata"]["labels"]["redisgate.io/organization-id"], json!(org));
    assert_eq!(fake.names(NAMESPACES, ""), [namespace], "the provisioner made a namespace");
    // Its tokens are the control plane's (in PostgreSQL): the operator mints none for it.
    assert!(
        fake.get(SECRETS, namespace, "kcache-tokens").is_none()
            && fake.get(SECRETS, namespace, "kcache-gateway").is_none()
    );
    assert_eq!(resource["status"]["phase"], json!("Ready"));
    let base = format!("/api/organizations/{org}/redis-instances/{id}");
    let (_, status) = platform.api("GET", &format!("{base}/status"), Some(&jwt), None).await;
    assert_eq!(status["endpoint"], json!(format!("kcache.{namespace}.svc.cluster.local:6379")));

    // The data plane reaches the pod's Redis through the reported endpoint and Secret.
    let token = created["credentials"]["token"].as_str().unwrap();
    let call = |path: String| {
        let request = platform.http().post(format!("{}/db/kcache{path}", platform.url())).bearer_auth(token);
        async move { request.send().await.unwrap().json::<serde_json::Value>().await.unwrap() }
    };
    assert_eq!(call("/set/k/v".into()).await, json!({"result": "OK"}));
    assert_eq!(call("/get/k".into()).await, json!({"result": "v"}));

    // Resize: the resource's memory follows, so the operator rolls the pod with the new limit.
    let before = fake.get(CRS, namespace, "kcache").unwrap()["spec"]["memory"].clone();
    let (code, resized) = platform.api("PATCH", &base, Some(&jwt), Some(json!({"max_memory": 64 << 20}))).await;
    assert_eq!((code, resized["max_memory"].as_i64()), (200, Some(64 << 20)), "{resized}");
    let after = fake.get(CRS, namespace, "kcache").unwrap()["spec"]["memory"].clone();
    assert_ne!(before, after, "the resource was not resized");

    // Delete: the row, the resource and (through owner references) its children go.
    let (code, _) = platform.api("DELETE", &base, Some(&jwt), None).await;
    assert_eq!(code, 202);
    assert_eq!(platform.wait_status(&jwt, &org, &id, "gone").await, "gone");
    assert!(fake.get(CRS, namespace, "kcache").is_none());
    assert!(fake.names(STATEFULSETS, namespace).is_empty());
    assert!(fake.names(SECRETS, namespace).is_empty());

    // A creation that never becomes ready fails and leaves nothing behind.
    let body = json!({"name": "stuck-one", "max_memory": 16 * 1024 * 1024, "redis_version": "7.2"});
    let path = format!("/api/organizations/{org}/redis-instances");
    let (code, stuck) = platform.api("POST", &path, Some(&jwt), Some(body)).await;
    assert_eq!(code, 201, "{stuck}");
    let stuck_id = stuck["instance"]["id"].as_str().unwrap();
    assert_eq!(platform.wait_status(&jwt, &org, stuck_id, "running").await, "failed");
    assert!(fake.get(CRS, namespace, "stuck-one").is_none(), "a failed creation left its resource");

    assert_eq!(fake.forbidden(), Vec::<String>::new(), "a request the Roles under deploy/ do not allow");
    assert_eq!(fake.names(NAMESPACES, ""), [namespace]);
    stop.cancel();
    operator.await.unwrap();
    kubelet.abort();
}

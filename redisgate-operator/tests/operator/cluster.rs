//! Against a real cluster (kind or k3d; see docs/kubernetes.md): opt-in, never the only test of a
//! behaviour. Needs the CRD applied, the operator running, and `kubectl` pointing at the cluster.

use std::time::Duration;

use kube::api::{DeleteParams, PostParams};
use kube::runtime::wait::await_condition;
use kube::Api;
use redisgate_operator::crd::RedisHttpInstance;

#[tokio::test]
#[ignore = "needs a Kubernetes cluster"]
async fn an_instance_becomes_ready_on_a_real_cluster() {
    let client = kube::Client::try_default().await.unwrap();
    let api: Api<RedisHttpInstance> = Api::namespaced(client, "default");
    let spec = serde_json::from_value(serde_json::json!({"memory": "64Mi"})).unwrap();
    let instance = RedisHttpInstance::new("redisgate-cluster-test", spec);
    api.create(&PostParams::default(), &instance).await.unwrap();
    let ready = await_condition(api.clone(), "redisgate-cluster-test", |o: Option<&RedisHttpInstance>| {
        o.is_some_and(RedisHttpInstance::is_ready)
    });
    let result = tokio::time::timeout(Duration::from_secs(180), ready).await;
    api.delete("redisgate-cluster-test", &DeleteParams::default()).await.unwrap();
    assert!(result.is_ok(), "not Ready within 3 minutes");
}

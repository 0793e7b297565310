//! Shared helpers: an instance created through the fake API (so it has a uid and a generation), a
//! controller context on the same API, and typed reads of what reconcile wrote.

use std::sync::Arc;

use kube::api::PostParams;
use kube::Api;
use redisgate_operator::config::OperatorConfig;
use redisgate_operator::controller::Context;
use redisgate_operator::crd::{RedisHttpInstance, RedisHttpInstanceSpec};
use redisgate_operator::metrics::Metrics;
use serde_json::{json, Value};

use crate::fake_api::FakeApi;

pub const NS: &str = "tenant";
pub const CRS: &str = "apis/redisgate.io/v1alpha1/redishttpinstances";
pub const STATEFULSETS: &str = "apis/apps/v1/statefulsets";
pub const SECRETS: &str = "api/v1/secrets";
pub const CONFIGMAPS: &str = "api/v1/configmaps";
pub const SERVICES: &str = "api/v1/services";
pub const NETWORKPOLICIES: &str = "apis/networking.k8s.io/v1/networkpolicies";
pub const PDBS: &str = "apis/policy/v1/poddisruptionbudgets";
pub const JOBS: &str = "apis/batch/v1/jobs";
pub const NAMESPACES: &str = "api/v1/namespaces";
pub const EVENTS: &str = "apis/events.k8s.io/v1/events";

/// A fake API with the tenant namespace, and a context on it.
pub fn setup() -> (FakeApi, Arc<Context>) {
    let fake = FakeApi::new(&[NS]);
    let ctx = Arc::new(Context::new(fake.client(), OperatorConfig::default(), Metrics::default()));
    (fake, ctx)
}

/// Creates `name` with `spec` (JSON) and returns it as stored.
pub async fn create(fake: &FakeApi, name: &str, spec: Value) -> Arc<RedisHttpInstance> {
    let spec: RedisHttpInstanceSpec = serde_json::from_value(spec).unwrap();
    let mut instance = RedisHttpInstance::new(name, spec);
    instance.metadata.namespace = Some(NS.into());
    let api: Api<RedisHttpInstance> = Api::namespaced(fake.client(), NS);
    Arc::new(api.create(&PostParams::default(), &instance).await.unwrap())
}

/// The instance as currently stored (with its status).
pub async fn fetch(fake: &FakeApi, name: &str) -> Arc<RedisHttpInstance> {
    let api: Api<RedisHttpInstance> = Api::namespaced(fake.client(), NS);
    Arc::new(api.get(name).await.unwrap())
}

/// A small spec.
pub fn small() -> Value {
    json!({"memory": "64Mi"})
}

/// The first container of a stored StatefulSet.
pub fn container(fake: &FakeApi, name: &str) -> Value {
    fake.get(STATEFULSETS, NS, name).unwrap()["spec"]["template"]["spec"]["containers"][0].clone()
}

/// A condition of a stored instance.
pub fn condition(instance: &RedisHttpInstance, type_: &str) -> (String, String, Option<i64>) {
    let status = instance.status.as_ref().unwrap();
    let c = status.conditions.iter().find(|c| c.type_ == type_).unwrap();
    (c.status.clone(), c.reason.clone(), c.observed_generation)
}

/// Creates Secret `name` in `namespace` holding `password` under `password`, as a user or the operator would.
pub async fn password_secret(fake: &FakeApi, namespace: &str, name: &str, password: &str) {
    let mut secret = k8s_openapi::api::core::v1::Secret::default();
    secret.metadata.name = Some(name.to_owned());
    secret.metadata.namespace = Some(namespace.to_owned());
    let password = k8s_openapi::ByteString(password.as_bytes().to_vec());
    secret.data = Some(std::collections::BTreeMap::from([("password".to_owned(), password)]));
    let api = Api::<k8s_openapi::api::core::v1::Secret>::namespaced(fake.client(), namespace);
    api.create(&PostParams::default(), &secret).await.unwrap();
}

/// Standard base64 (what Secret `data` holds), decoded without another dependency.
pub fn base64_decode(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::new();
    for byte in text.bytes().filter(|b| *b != b'=') {
        bits = (bits << 6) | u32::try_from(ALPHABET.iter().position(|a| *a == byte).unwrap()).unwrap();
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push(u8::try_from(bits >> count).unwrap());
            bits &= (1 << count) - 1;
        }
    }
    String::from_utf8(out).unwrap()
}

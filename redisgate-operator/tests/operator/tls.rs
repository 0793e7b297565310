//! TLS instances through reconcile (issue 12, item 4), against the in-memory API server, with a real
//! `redis-server` standing in for the pod: it runs the ConfigMap's redis.conf with the files of the Secrets
//! the reconcile wrote, and the operator reaches it through the context's dial. The kubelet is played by
//! hand: marking the StatefulSet ready, and writing a Secret's files into the pod's directory.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::jiff::ToSpan as _;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::Api;
use redisgate_operator::config::OperatorConfig;
use redisgate_operator::controller::{reconcile, Context};
use redisgate_operator::metrics::Metrics;
use redisgate_operator::redis_conf::TLS_DIR;
use redisgate_operator::tls_reload::{der, fingerprint};
use serde_json::{json, Value};

use crate::fake_api::FakeApi;
use crate::fixtures::*;

/// A context whose every connection to a server goes to `127.0.0.1:port`.
fn context(fake: &FakeApi, port: u16) -> Arc<Context> {
    let dial: redisgate_operator::provisioner::ConnectAddress = Arc::new(move |_: &str| format!("127.0.0.1:{port}"));
    Arc::new(Context::new(fake.client(), OperatorConfig::default(), Metrics::default()).with_dial(dial))
}

fn secret_text(fake: &FakeApi, name: &str, key: &str) -> String {
    base64_decode(fake.get(SECRETS, NS, name).unwrap()["data"][key].as_str().unwrap())
}

/// Plays the kubelet updating the mounted `<name>-tls`: each file replaced at once.
fn project(fake: &FakeApi, secret: &str, tls_dir: &Path) {
    std::fs::create_dir_all(tls_dir).unwrap();
    for key in ["ca.crt", "tls.crt", "tls.key"] {
        let new = tls_dir.join(format!("{key}.new"));
        std::fs::write(&new, secret_text(fake, secret, key)).unwrap();
        std::fs::rename(new, tls_dir.join(key)).unwrap();
    }
}

/// Starts the pod of TLS instance `name` on `port`: the ConfigMap's redis.conf, the Secret's files.
fn start_pod(fake: &FakeApi, name: &str, dir: &Path, port: u16) -> tokio::process::Child {
    let tls_dir = dir.join("tls");
    project(fake, &format!("{name}-tls"), &tls_dir);
    let map = fake.get(CONFIGMAPS, NS, &format!("{name}-config")).unwrap();
    let conf = map["data"]["redis.conf"]
        .as_str()
        .unwrap()
        .replace(TLS_DIR, &tls_dir.display().to_string())
        .replace("dir /data", &format!("dir {}", dir.display()));
    std::fs::write(dir.join("redis.conf"), conf).unwrap();
    crate::pod::tls_server_on(dir, port)
}

fn certificate_status(instance: &redisgate_operator::crd::RedisHttpInstance) -> Value {
    serde_json::to_value(instance.status.as_ref().unwrap().certificate.as_ref().unwrap()).unwrap()
}

/// A renewal rolls no pod: the StatefulSet is not written. The running server is made to load the renewed
/// certificate once its files are updated; until then the status says which server lags, and reconcile
/// comes back within 10 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewed_certificate_rolls_no_pod_and_the_running_server_loads_it() {
    let fake = FakeApi::new(&[NS]);
    let port = crate::pod::free_port();
    let ctx = context(&fake, port);
    let spec = json!({"memory": "64Mi", "tls": {"enabled": true}});
    reconcile(create(&fake, "cache", spec).await, ctx.clone()).await.unwrap();
    let waiting = certificate_status(&*fetch(&fake, "cache").await);
    assert_eq!(waiting["loaded"], json!(false), "{waiting}");

    let dir = tempfile::tempdir().unwrap();
    let mut pod = start_pod(&fake, "cache", dir.path(), port);
    fake.mark_statefulset_ready(NS, "cache");
    let up = redisgate_test_support::eventually(Duration::from_secs(10), || async {
        reconcile(fetch(&fake, "cache").await, ctx.clone()).await.unwrap();
        certificate_status(&*fetch(&fake, "cache").await)["loaded"] == json!(true)
    });
    assert!(up.await, "the running server's certificate is not reported loaded");
    let first = secret_text(&fake, "cache-tls", "tls.crt");
    let loaded = certificate_status(&*fetch(&fake, "cache").await);
    assert_eq!(loaded["sha256"], json!(fingerprint(&der(&first).unwrap())));
    let statefulset = fake.get(STATEFULSETS, NS, "cache").unwrap();

    // The certificate nears its expiry: the next reconcile issues another.
    let soon = k8s_openapi::jiff::Timestamp::now().checked_add(24.hours()).unwrap().to_string();
    let patch = json!({"metadata": {"annotations": {"redisgate.io/not-after": soon}}});
    let secrets: Api<Secret> = Api::namespaced(fake.client(), NS);
    secrets.patch("cache-tls", &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    let action = reconcile(fetch(&fake, "cache").await, ctx.clone()).await.unwrap();
    let renewed = secret_text(&fake, "cache-tls", "tls.crt");
    assert_ne!(renewed, first, "the certificate was not issued again");
    assert_eq!(fake.get(STATEFULSETS, NS, "cache").unwrap(), statefulset, "a renewal changed the StatefulSet");
    let lagging = certificate_status(&*fetch(&fake, "cache").await);
    assert_eq!(lagging["sha256"], json!(fingerprint(&der(&renewed).unwrap())));
    assert_eq!(lagging["loaded"], json!(false));
    assert!(lagging["message"].as_str().unwrap().contains("cache-0 still presents an older certificate"), "{lagging}");
    assert_eq!(action, Action::requeue(Duration::from_secs(10)));

    // The kubelet updates the files: the next reconcile makes the server load them, without a restart.
    project(&fake, "cache-tls", &dir.path().join("tls"));
    let action = reconcile(fetch(&fake, "cache").await, ctx.clone()).await.unwrap();
    let done = certificate_status(&*fetch(&fake, "cache").await);
    assert_eq!(done["loaded"], json!(true), "{done}");
    assert_eq!(action, Action::requeue(Duration::from_secs(300)));
    assert!(pod.try_wait().unwrap().is_none(), "the server restarted");
    assert_eq!(fake.get(STATEFULSETS, NS, "cache").unwrap(), statefulset);
    let events: Vec<Value> = fake.names(EVENTS, NS).iter().map(|n| fake.get(EVENTS, NS, n).unwrap()).collect();
    let loaded_events: Vec<&Value> = events.iter().filter(|e| e["reason"] == json!("CertificateLoaded")).collect();
    // One event, seen twice (the recorder counts repeats in its series): at start, and after the renewal.
    assert_eq!(loaded_events.len(), 1, "{events:#?}");
    assert_eq!(loaded_events[0]["series"]["count"], json!(2), "{events:#?}");

    // Loaded: the next reconcile asks the server nothing.
    pod.start_kill().unwrap();
    pod.wait().await.unwrap();
    reconcile(fetch(&fake, "cache").await, ctx).await.unwrap();
    assert_eq!(certificate_status(&*fetch(&fake, "cache").await)["loaded"], json!(true));
}

/// A replicated TLS instance: the Sentinels mount the same certificate, which covers their names too. A
/// renewal restarts the Sentinels (they cannot load a certificate while running: no `CONFIG SET` in
/// Sentinel mode) and leaves the data pods alone (they load it as a standalone server does).
#[tokio::test]
async fn a_renewal_restarts_a_replicated_instances_sentinels_and_not_its_data_pods() {
    let (fake, ctx) = setup();
    let spec = json!({"memory": "64Mi", "tls": {"enabled": true}, "topology": {"mode": "replicated", "replicas": 1}});
    reconcile(create(&fake, "ha", spec).await, ctx.clone()).await.unwrap();
    let sentinels = fake.get(STATEFULSETS, NS, "ha-sentinel").unwrap();
    let pod = &sentinels["spec"]["template"]["spec"];
    let volume = pod["volumes"].as_array().unwrap().iter().find(|v| v["name"] == "tls").unwrap().clone();
    assert_eq!(volume["secret"]["secretName"], json!("ha-tls"));
    assert!(pod["containers"][0]["readinessProbe"]["exec"]["command"][2].as_str().unwrap().contains("--tls"));
    let conf = fake.get(CONFIGMAPS, NS, "ha-config").unwrap()["data"]["sentinel.conf"].as_str().unwrap().to_owned();
    assert!(conf.lines().any(|l| l == "port 0") && conf.lines().any(|l| l == "tls-port 26379"), "{conf}");
    let status = fetch(&fake, "ha").await.status.clone().unwrap();
    assert_eq!(status.endpoint.unwrap().port, 26379);

    let data = fake.get(STATEFULSETS, NS, "ha").unwrap();
    let soon = k8s_openapi::jiff::Timestamp::now().checked_add(24.hours()).unwrap().to_string();
    let patch = json!({"metadata": {"annotations": {"redisgate.io/not-after": soon}}});
    let secrets: Api<Secret> = Api::namespaced(fake.client(), NS);
    secrets.patch("ha-tls", &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    reconcile(fetch(&fake, "ha").await, ctx).await.unwrap();
    assert_eq!(fake.get(STATEFULSETS, NS, "ha").unwrap(), data, "a renewal changed the data pods' StatefulSet");
    let checksum =
        |sts: &Value| sts["spec"]["template"]["metadata"]["annotations"]["redisgate.io/config-checksum"].clone();
    assert_ne!(checksum(&fake.get(STATEFULSETS, NS, "ha-sentinel").unwrap()), checksum(&sentinels));
}

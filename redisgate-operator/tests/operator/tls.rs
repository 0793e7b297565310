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

const ISSUERS: &str = "apis/cert-manager.io/v1/issuers";
const CERTIFICATES: &str = "apis/cert-manager.io/v1/certificates";

/// cert-manager (issue 12, item 4), under the operator's Role from deploy/: where the API serves
/// `cert-manager.io/v1`, the operator makes a CA Issuer on its CA's Secret and a `Certificate` for the
/// instance and for the gateway, and issues nothing itself; the server certificate cert-manager writes is
/// the one the status reports. Where it is not served, the operator issues with rcgen and makes no
/// `Certificate`.
#[tokio::test]
async fn where_cert_manager_is_installed_it_issues_the_certificates_from_the_operators_ca() {
    use redisgate_operator::naming::DEFAULT_TENANT_NAMESPACE as TENANT;
    use redisgate_operator::resources::tls::Ca;

    let rights = || {
        crate::fake_api::Rbac::of_service_account(
            &crate::fake_api::deploy_documents(),
            "redisgate-system",
            "redisgate-operator",
        )
    };
    let instance = |fake: &FakeApi| {
        let spec = serde_json::from_value(json!({"memory": "64Mi", "tls": {"enabled": true}})).unwrap();
        let mut instance = redisgate_operator::crd::RedisHttpInstance::new("cache", spec);
        instance.metadata.namespace = Some(TENANT.into());
        let api: Api<redisgate_operator::crd::RedisHttpInstance> = Api::namespaced(fake.client(), TENANT);
        async move { Arc::new(api.create(&Default::default(), &instance).await.unwrap()) }
    };
    let fetched = |fake: &FakeApi| {
        let api: Api<redisgate_operator::crd::RedisHttpInstance> = Api::namespaced(fake.client(), TENANT);
        async move { Arc::new(api.get("cache").await.unwrap()) }
    };

    let fake = FakeApi::new(&[TENANT]);
    fake.serve_group("cert-manager.io/v1", &[("certificates", "Certificate"), ("issuers", "Issuer")]);
    let ctx = Arc::new(Context::new(fake.client_as(rights()), OperatorConfig::default(), Metrics::default()));
    reconcile(instance(&fake).await, ctx.clone()).await.unwrap();
    let ca_secret = fake.get(SECRETS, TENANT, "redisgate-ca").unwrap();
    assert_eq!(ca_secret["data"]["tls.crt"], ca_secret["data"]["ca.crt"], "cert-manager reads the CA as tls.crt");
    assert!(ca_secret["data"]["tls.key"].is_string());
    let issuer = fake.get(ISSUERS, TENANT, "redisgate-ca").expect("no Issuer");
    assert_eq!(issuer["spec"]["ca"]["secretName"], json!("redisgate-ca"));
    let server = fake.get(CERTIFICATES, TENANT, "cache-tls").expect("no Certificate for the instance");
    assert_eq!(server["spec"]["secretName"], json!("cache-tls"));
    assert_eq!(server["spec"]["issuerRef"]["name"], json!("redisgate-ca"));
    assert_eq!(server["metadata"]["ownerReferences"][0]["name"], json!("cache"));
    let names = server["spec"]["dnsNames"].as_array().unwrap();
    assert!(names.contains(&json!("cache.redisgate-instances.svc.cluster.local")), "{names:?}");
    assert!(names.contains(&json!("*.cache-headless.redisgate-instances.svc.cluster.local")), "{names:?}");
    assert!(server["spec"]["usages"].as_array().unwrap().contains(&json!("client auth")));
    let gateway = fake.get(CERTIFICATES, TENANT, "redisgate-gateway-tls").expect("no Certificate for the gateway");
    assert_eq!(gateway["spec"]["commonName"], json!("redisgate"));
    assert!(gateway["metadata"]["ownerReferences"].is_null(), "the gateway's certificate is shared");
    assert!(fake.get(SECRETS, TENANT, "cache-tls").is_none(), "the operator issued what cert-manager issues");
    let waiting = certificate_status(&*fetched(&fake).await);
    assert!(waiting["message"].as_str().unwrap().contains("not issued yet"), "{waiting}");

    // Play cert-manager: it issues from the CA's Secret and reports the expiry.
    let ca_pem = base64_decode(ca_secret["data"]["ca.crt"].as_str().unwrap());
    let ca = Ca::from_secret(&serde_json::from_value(ca_secret).unwrap()).unwrap();
    let names: Vec<String> = names.iter().map(|n| n.as_str().unwrap().to_owned()).collect();
    let issued = ca.server(&names, k8s_openapi::jiff::Timestamp::now()).unwrap();
    let mut written = ca.issued_secret(TENANT, "cache-tls", &issued);
    written.metadata.annotations = None;
    let secrets: Api<Secret> = Api::namespaced(fake.client(), TENANT);
    secrets.create(&Default::default(), &written).await.unwrap();
    let certificates: Api<kube::api::DynamicObject> = Api::namespaced_with(
        fake.client(),
        TENANT,
        &redisgate_operator::resources::cert_manager::certificate_resource(),
    );
    let status = json!({"status": {"notAfter": "2027-12-07T00:00:00Z"}});
    certificates.patch_status("cache-tls", &PatchParams::default(), &Patch::Merge(&status)).await.unwrap();
    reconcile(fetched(&fake).await, ctx).await.unwrap();
    let reported = certificate_status(&*fetched(&fake).await);
    assert_eq!(reported["sha256"], json!(fingerprint(&der(&issued.cert).unwrap())));
    assert_eq!(reported["notAfter"], json!("2027-12-07T00:00:00Z"));
    assert!(ca_pem.contains("BEGIN CERTIFICATE"));
    assert_eq!(fake.forbidden(), Vec::<String>::new(), "a request the operator's Role does not allow");

    // Without cert-manager: the operator issues, and makes no Certificate.
    let fake = FakeApi::new(&[TENANT]);
    let ctx = Arc::new(Context::new(fake.client_as(rights()), OperatorConfig::default(), Metrics::default()));
    reconcile(instance(&fake).await, ctx).await.unwrap();
    assert!(fake.get(SECRETS, TENANT, "cache-tls").is_some());
    assert!(fake.names(CERTIFICATES, TENANT).is_empty() && fake.names(ISSUERS, TENANT).is_empty());
    assert_eq!(fake.forbidden(), Vec::<String>::new());
}

//! A gateway that reads its instances from Kubernetes (issue 32), against the in-memory API server under
//! the Role of deploy/kubernetes-directory: an instance applied as a resource (no PostgreSQL) is served once
//! the operator reports it ready, by the token the operator minted; a rotation refuses the old token within
//! 2 s; an outage of the API server leaves it serving; a deletion makes it unknown within 2 s; and the only
//! Secret the gateway asks for is the password Secret, by name.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kube::api::{Patch, PatchParams, PostParams};
use kube::Api;
use redisgate_core::provisioning::Credentials;
use redisgate_gateway::directory::watched::WatchedDirectory;
use redisgate_gateway::quota::Meters;
use redisgate_gateway::upstream::UpstreamOptions;
use redisgate_operator::catalog;
use redisgate_operator::config::OperatorConfig;
use redisgate_operator::controller::{reconcile, Context};
use redisgate_operator::crd::RedisHttpInstance;
use redisgate_operator::metrics::Metrics;
use redisgate_operator::naming::DEFAULT_TENANT_NAMESPACE as NS;
use redisgate_test_support::{eventually, TestGateway, TestRedis};
use serde_json::json;

use crate::fake_api::{deploy_documents, Access, FakeApi, Rbac};
use crate::fixtures::{base64_decode, password_secret, CRS, SECRETS};

/// The bound for a rotation or a deletion to take effect.
const WITHIN: Duration = Duration::from_secs(2);

fn gateway_rights() -> Rbac {
    Rbac::of_service_account(&deploy_documents(), "redisgate-system", "redisgate-directory-gateway")
}

/// A gateway serving the catalog of `fake`, read under the overlay's Role, every Service dialled at `dial`
/// (the local server standing in for the pod).
async fn gateway(fake: &FakeApi, dial: String) -> TestGateway {
    let connect: redisgate_operator::provisioner::ConnectAddress = Arc::new(move |_: &str| dial.clone());
    let (feed, source) = catalog::watch(fake.client_as(gateway_rights()), &[NS.to_owned()], Some(connect));
    tokio::spawn(source);
    let directory = Arc::new(WatchedDirectory::new(None, UpstreamOptions::default(), Arc::new(Meters::default())));
    tokio::spawn(Arc::clone(&directory).follow(feed));
    TestGateway::with_directory(directory).await
}

/// The operator's part: reconcile until the instance is ready.
async fn reconciled(fake: &FakeApi, ctx: &Arc<Context>) {
    let api: Api<RedisHttpInstance> = Api::namespaced(fake.client(), NS);
    reconcile(Arc::new(api.get("shop").await.unwrap()), ctx.clone()).await.unwrap();
    fake.mark_statefulset_ready(NS, "shop");
    reconcile(Arc::new(api.get("shop").await.unwrap()), ctx.clone()).await.unwrap();
    assert!(api.get("shop").await.unwrap().is_ready());
}

fn token(fake: &FakeApi) -> String {
    base64_decode(fake.get(SECRETS, NS, "shop-tokens").unwrap()["data"]["token"].as_str().unwrap())
}

async fn rotate(fake: &FakeApi, ctx: &Arc<Context>, value: &str) {
    let api: Api<RedisHttpInstance> = Api::namespaced(fake.client(), NS);
    let patch = json!({"metadata": {"annotations": {"redisgate.io/rotate-tokens": value}}});
    api.patch("shop", &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    reconcile(Arc::new(api.get("shop").await.unwrap()), ctx.clone()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_applied_instance_is_served_rotated_kept_through_an_outage_and_forgotten() {
    let fake = FakeApi::new(&[NS]);
    let ctx = Arc::new(Context::new(fake.client(), OperatorConfig::default(), Metrics::default()));
    // The instance's Redis, with the passwords its Secrets will hold.
    let credentials = Credentials::generate();
    let redis = TestRedis::start_with_users(credentials.clone());
    password_secret(&fake, NS, "shop-auth", &credentials.gateway).await;
    password_secret(&fake, NS, "shop-admin", &credentials.admin).await;
    let spec = serde_json::from_value(json!({"memory": "64Mi", "limits": {"maxKeySize": 16}})).unwrap();
    let mut instance = RedisHttpInstance::new("shop", spec);
    instance.metadata.namespace = Some(NS.into());
    Api::<RedisHttpInstance>::namespaced(fake.client(), NS).create(&PostParams::default(), &instance).await.unwrap();
    reconciled(&fake, &ctx).await;

    let gw = gateway(&fake, format!("127.0.0.1:{}", redis.port())).await;

    let first = token(&fake);
    let served =
        eventually(Duration::from_secs(5), || async { gw.post("/db/shop/set/k/v", "", &first).await.0 == 200 });
    assert!(served.await, "the applied instance is not served");
    assert_eq!(gw.post("/db/shop.redisgate-instances/get/k", "", &first).await, (200, json!({"result": "v"})));
    // The spec's limits hold: keys of at most 16 bytes.
    assert_eq!(gw.post("/db/shop/get/a-key-longer-than-16", "", &first).await.0, 400);

    // Another instance whose password Secret is missing: it alone is left out, the others stay current (the
    // rotation below is followed).
    let mut broken = RedisHttpInstance::new("broken", serde_json::from_value(json!({"memory": "64Mi"})).unwrap());
    broken.metadata.namespace = Some(NS.into());
    let instances: Api<RedisHttpInstance> = Api::namespaced(fake.client(), NS);
    instances.create(&PostParams::default(), &broken).await.unwrap();
    let ready = json!({"type": "Ready", "status": "True", "reason": "Available", "message": "",
                       "lastTransitionTime": "2026-12-06T00:00:00Z", "observedGeneration": 1});
    let status = json!({"status": {"observedGeneration": 1, "conditions": [ready],
        "endpoint": {"host": "broken.redisgate-instances.svc.cluster.local", "port": 6379},
        "secretRef": {"name": "broken-missing", "key": "password"},
        "tokenDigests": {"full": "00".repeat(32), "readonly": "11".repeat(32)}}});
    instances.patch_status("broken", &PatchParams::default(), &Patch::Merge(&status)).await.unwrap();
    assert!(instances.get("broken").await.unwrap().is_ready());

    // A change of the spec rolls the pod (the instance is not Ready meanwhile): it stays served.
    let api: Api<RedisHttpInstance> = Api::namespaced(fake.client(), NS);
    let patch = json!({"spec": {"memory": "128Mi"}});
    api.patch("shop", &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    reconcile(Arc::new(api.get("shop").await.unwrap()), ctx.clone()).await.unwrap();
    assert!(!api.get("shop").await.unwrap().is_ready(), "the rollout is not visible");
    for _ in 0..5 {
        assert_eq!(
            gw.post("/db/shop/get/k", "", &first).await,
            (200, json!({"result": "v"})),
            "dropped while rolling out"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    reconciled(&fake, &ctx).await;

    // Rotation: the old token is refused within 2 s, the new one opens it.
    rotate(&fake, &ctx, "1").await;
    let started = Instant::now();
    let refused = eventually(WITHIN, || async { gw.post("/db/shop/get/k", "", &first).await.0 == 401 }).await;
    assert!(refused, "the old token still works after {:?}", started.elapsed());
    let second = token(&fake);
    assert_eq!(gw.post("/db/shop/get/k", "", &second).await, (200, json!({"result": "v"})));

    // An outage of the API server: the gateway keeps serving; afterwards it follows changes again.
    fake.set_down(true);
    for _ in 0..5 {
        assert_eq!(gw.post("/db/shop/get/k", "", &second).await, (200, json!({"result": "v"})));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    fake.set_down(false);
    rotate(&fake, &ctx, "2").await;
    let followed =
        eventually(Duration::from_secs(20), || async { gw.post("/db/shop/get/k", "", &second).await.0 == 401 });
    assert!(followed.await, "a rotation after the outage was not followed");
    let third = token(&fake);
    assert_eq!(gw.post("/db/shop/get/k", "", &third).await.0, 200);

    // Deletion: unknown within 2 s.
    fake.delete(CRS, NS, "shop");
    let gone = eventually(WITHIN, || async { gw.post("/db/shop/get/k", "", &third).await.0 == 401 }).await;
    assert!(gone, "a deleted instance is still served");

    assert_eq!(fake.forbidden(), Vec::<String>::new(), "a request the overlay's Role does not allow");
    // The only Secrets the gateway asked for are the password Secrets the statuses name, by name.
    let asked: Vec<String> = fake.requests_as().into_iter().filter(|r| r.contains("/secrets")).collect();
    assert!(!asked.is_empty(), "the gateway read no password");
    for request in &asked {
        let named = ["shop-auth?", "broken-missing?"]
            .iter()
            .any(|name| request.starts_with(&format!("GET /api/v1/namespaces/redisgate-instances/secrets/{name}")));
        assert!(named, "{request}");
    }
    // It may read a Secret only by name: it cannot list or watch them, so it cannot find the tokens.
    let rights = gateway_rights();
    for watch in [false, true] {
        let listing = Access::of_request("GET", "api/v1/secrets", Some(NS), None, false, watch);
        assert!(!rights.allows(&listing), "the gateway may list or watch Secrets");
    }
}

#[tokio::test]
async fn a_gateway_started_while_the_api_server_is_down_is_not_ready_until_it_answers() {
    let fake = FakeApi::new(&[NS]);
    fake.set_down(true);
    let (mut feed, source) = catalog::watch(fake.client_as(gateway_rights()), &[NS.to_owned()], None);
    tokio::spawn(source);
    let directory = Arc::new(WatchedDirectory::new(None, UpstreamOptions::default(), Arc::new(Meters::default())));
    tokio::spawn(Arc::clone(&directory).follow(feed.clone()));
    let gw = TestGateway::with_directory(directory).await;
    let ready = || async { gw.http().get(format!("{}/-/ready", gw.url())).send().await.unwrap().status().as_u16() };
    assert!(tokio::time::timeout(Duration::from_secs(1), feed.changed()).await.is_err(), "a catalog from nowhere");
    assert_eq!(ready().await, 503);
    fake.set_down(false);
    assert!(eventually(Duration::from_secs(20), || async { ready().await == 200 }).await, "never became ready");
}

/// A TLS instance (issue 12): the gateway reaches it over TLS with the operator's certificates, from the
/// Secrets only: the CA and its client certificate from `redisgate-gateway-tls`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_instance_is_served_over_tls_with_the_operators_certificates() {
    let fake = FakeApi::new(&[NS]);
    let ctx = Arc::new(Context::new(fake.client(), OperatorConfig::default(), Metrics::default()));
    let credentials = Credentials::generate();
    password_secret(&fake, NS, "shop-auth", &credentials.gateway).await;
    password_secret(&fake, NS, "shop-admin", &credentials.admin).await;
    let spec = serde_json::from_value(json!({"memory": "64Mi", "tls": {"enabled": true}})).unwrap();
    let mut instance = RedisHttpInstance::new("shop", spec);
    instance.metadata.namespace = Some(NS.into());
    Api::<RedisHttpInstance>::namespaced(fake.client(), NS).create(&PostParams::default(), &instance).await.unwrap();
    reconciled(&fake, &ctx).await;

    // The pod, as its StatefulSet mounts it: the ConfigMap's redis.conf and the instance's certificate Secret.
    let dir = tempfile::tempdir().unwrap();
    let tls_dir = dir.path().join("tls");
    std::fs::create_dir_all(&tls_dir).unwrap();
    let server = fake.get(SECRETS, NS, "shop-tls").unwrap();
    for key in ["ca.crt", "tls.crt", "tls.key"] {
        std::fs::write(tls_dir.join(key), base64_decode(server["data"][key].as_str().unwrap())).unwrap();
    }
    let conf = fake.get(crate::fixtures::CONFIGMAPS, NS, "shop-config").unwrap()["data"]["redis.conf"]
        .as_str()
        .unwrap()
        .replace(redisgate_operator::redis_conf::TLS_DIR, &tls_dir.display().to_string())
        .replace("dir /data", &format!("dir {}", dir.path().display()));
    std::fs::write(dir.path().join("redis.conf"), conf).unwrap();
    let (_redis, port) = crate::pod::tls_server(dir.path());

    // The certificate names `localhost` besides the Service's names.
    let gw = gateway(&fake, format!("localhost:{port}")).await;
    let token = token(&fake);
    let served =
        eventually(Duration::from_secs(10), || async { gw.post("/db/shop/set/k/tls", "", &token).await.0 == 200 });
    assert!(served.await, "the TLS instance is not served");
    assert_eq!(gw.post("/db/shop/get/k", "", &token).await, (200, json!({"result": "tls"})));
    assert_eq!(fake.forbidden(), Vec::<String>::new());
}

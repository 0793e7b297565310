//! Reconcile against the in-memory API: what the first run creates, that a second run writes nothing,
//! spec changes, readiness, deletion through owner references, invalid specs and injected API errors.

use std::time::Duration;

use std::sync::Arc;

use kube::api::{Patch, PatchParams, PostParams};
use kube::runtime::controller::Action;
use kube::Api;
use redisgate_operator::config::OperatorConfig;
use redisgate_operator::controller::{error_policy, reconcile, Context};
use redisgate_operator::crd::{Phase, RedisHttpInstance};
use redisgate_operator::metrics::Metrics;
use redisgate_operator::naming::DEFAULT_TENANT_NAMESPACE;
use redisgate_operator::redis_conf::checksum;
use redisgate_operator::resources::CHECKSUM_ANNOTATION;
use redisgate_operator::Error;
use serde_json::{json, Value};

use crate::fake_api::{deploy_documents, Rbac};
use crate::fixtures::*;

fn version(object: &Value) -> String {
    object["metadata"]["resourceVersion"].as_str().unwrap().to_owned()
}

fn password(fake: &crate::fake_api::FakeApi, secret: &str) -> String {
    base64_decode(fake.get(SECRETS, NS, secret).unwrap()["data"]["password"].as_str().unwrap())
}

#[tokio::test]
async fn the_first_reconcile_creates_every_child_in_order_and_reports_progressing() {
    let (fake, ctx) = setup();
    let instance = create(&fake, "cache", small()).await;
    let uid = instance.metadata.uid.clone().unwrap();
    reconcile(instance, ctx).await.unwrap();

    let children = [
        (SECRETS, "cache-auth"),
        (SECRETS, "cache-admin"),
        (CONFIGMAPS, "cache-config"),
        (STATEFULSETS, "cache"),
        (SERVICES, "cache"),
        (SERVICES, "cache-headless"),
        (NETWORKPOLICIES, "cache"),
    ];
    for (collection, name) in children {
        let object = fake.get(collection, NS, name).unwrap_or_else(|| panic!("{collection}/{name} missing"));
        let owners = object["metadata"]["ownerReferences"].as_array().unwrap();
        assert_eq!(owners.len(), 1, "{name}");
        assert_eq!(owners[0]["uid"], json!(uid), "{name}");
        assert_eq!(owners[0]["controller"], json!(true), "{name}");
        assert_eq!(owners[0]["kind"], json!("RedisHttpInstance"), "{name}");
    }
    assert_eq!(password(&fake, "cache-auth").len(), 64);
    // The ConfigMap defines the Redis users by the digests of both Secrets' passwords, never the passwords.
    let (gateway, admin) = (password(&fake, "cache-auth"), password(&fake, "cache-admin"));
    assert_ne!(gateway, admin);
    let conf = fake.get(CONFIGMAPS, NS, "cache-config").unwrap()["data"]["redis.conf"].as_str().unwrap().to_owned();
    let credentials = redisgate_core::provisioning::Credentials { gateway, admin };
    assert!(conf.ends_with(&credentials.conf()), "{conf}");
    assert!(!conf.contains(&credentials.gateway) && !conf.contains(&credentials.admin));

    // The Secret and the ConfigMap are written before the StatefulSet.
    let requests = fake.requests();
    let position =
        |needle: &str| requests.iter().position(|r| r.contains(needle)).unwrap_or_else(|| panic!("{needle}"));
    assert!(
        position("POST /api/v1/namespaces/tenant/secrets")
            < position("PATCH /apis/apps/v1/namespaces/tenant/statefulsets/cache")
    );
    assert!(
        position("PATCH /api/v1/namespaces/tenant/configmaps/cache-config")
            < position("PATCH /apis/apps/v1/namespaces/tenant/statefulsets/cache")
    );
    assert!(requests.iter().any(|r| r.starts_with("PATCH") && r.contains("fieldManager=redisgate-operator")));

    let stored = fetch(&fake, "cache").await;
    let status = stored.status.as_ref().unwrap();
    assert_eq!(status.phase, Some(Phase::Progressing));
    assert_eq!(condition(&stored, "Progressing"), ("True".into(), "RollingOut".into(), Some(1)));
    assert_eq!(condition(&stored, "Ready").0, "False");
    assert_eq!(condition(&stored, "Degraded").0, "False");
    assert_eq!(status.observed_generation, Some(1));
    assert_eq!(status.endpoint.as_ref().unwrap().host, "cache.tenant.svc.cluster.local");
    assert_eq!(status.secret_ref.as_ref().unwrap().name, "cache-auth");
    let reasons: Vec<Value> =
        fake.names(EVENTS, NS).iter().map(|n| fake.get(EVENTS, NS, n).unwrap()["reason"].clone()).collect();
    assert_eq!(reasons, [json!("Provisioning")]);
}

#[tokio::test]
async fn a_second_reconcile_writes_nothing_and_keeps_the_password() {
    let (fake, ctx) = setup();
    reconcile(create(&fake, "cache", small()).await, ctx.clone()).await.unwrap();
    let collections = [SECRETS, CONFIGMAPS, STATEFULSETS, SERVICES, NETWORKPOLICIES, CRS];
    let snapshot = |fake: &crate::fake_api::FakeApi| -> Vec<(String, String)> {
        collections
            .iter()
            .flat_map(|c| fake.names(c, NS).into_iter().map(move |n| (c.to_string(), n)))
            .map(|(c, n)| (format!("{c}/{n}"), version(&fake.get(&c, NS, &n).unwrap())))
            .collect()
    };
    let before = snapshot(&fake);
    let password_before = password(&fake, "cache-auth");

    reconcile(fetch(&fake, "cache").await, ctx).await.unwrap();
    assert_eq!(snapshot(&fake), before, "the second reconcile wrote something");
    assert_eq!(password(&fake, "cache-auth"), password_before);
    assert_eq!(fake.names(EVENTS, NS).len(), 1, "no new event without a transition");
}

#[tokio::test]
async fn a_spec_change_updates_the_statefulset_and_rolls_the_pod_but_not_the_password() {
    let (fake, ctx) = setup();
    reconcile(create(&fake, "cache", small()).await, ctx.clone()).await.unwrap();
    let before = fake.get(STATEFULSETS, NS, "cache").unwrap();
    let password_before = password(&fake, "cache-auth");

    let api: Api<RedisHttpInstance> = Api::namespaced(fake.client(), NS);
    let patch = json!({"spec": {"memory": "128Mi", "evictionPolicy": "allkeys-lru"}});
    api.patch("cache", &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    reconcile(fetch(&fake, "cache").await, ctx).await.unwrap();

    let after = fake.get(STATEFULSETS, NS, "cache").unwrap();
    assert_eq!(after["metadata"]["generation"], json!(2));
    assert_eq!(container(&fake, "cache")["resources"]["limits"]["memory"], json!("128Mi"));
    let conf = fake.get(CONFIGMAPS, NS, "cache-config").unwrap()["data"]["redis.conf"].as_str().unwrap().to_owned();
    assert!(conf.lines().any(|l| l == format!("maxmemory {}", 96 * 1024 * 1024)), "{conf}");
    assert!(conf.lines().any(|l| l == "maxmemory-policy allkeys-lru"));
    let annotation = |sts: &Value| sts["spec"]["template"]["metadata"]["annotations"][CHECKSUM_ANNOTATION].clone();
    assert_ne!(annotation(&before), annotation(&after));
    assert_eq!(annotation(&after), json!(checksum(&conf, &password_before)));
    assert_eq!(password(&fake, "cache-auth"), password_before);
    let stored = fetch(&fake, "cache").await;
    assert_eq!(stored.status.as_ref().unwrap().observed_generation, Some(2));
    assert_eq!(condition(&stored, "Progressing").2, Some(2));
}

#[tokio::test]
async fn the_instance_turns_ready_when_its_pod_is_ready() {
    let (fake, ctx) = setup();
    reconcile(create(&fake, "cache", small()).await, ctx.clone()).await.unwrap();
    fake.mark_statefulset_ready(NS, "cache");
    let action = reconcile(fetch(&fake, "cache").await, ctx).await.unwrap();
    assert_eq!(action, Action::requeue(Duration::from_secs(300)));
    let stored = fetch(&fake, "cache").await;
    assert!(stored.is_ready());
    assert_eq!(condition(&stored, "Ready"), ("True".into(), "Available".into(), Some(1)));
    assert_eq!(condition(&stored, "Progressing").0, "False");
    let reasons: Vec<Value> =
        fake.names(EVENTS, NS).iter().map(|n| fake.get(EVENTS, NS, n).unwrap()["reason"].clone()).collect();
    assert!(reasons.contains(&json!("Ready")), "{reasons:?}");
}

#[tokio::test]
async fn deletion_relies_on_owner_references_and_a_terminating_instance_is_left_alone() {
    let (fake, ctx) = setup();
    reconcile(create(&fake, "cache", small()).await, ctx.clone()).await.unwrap();
    assert!(fetch(&fake, "cache").await.metadata.finalizers.is_none(), "no finalizer: nothing outside Kubernetes");
    fake.delete(CRS, NS, "cache");
    for collection in [SECRETS, CONFIGMAPS, STATEFULSETS, SERVICES, NETWORKPOLICIES] {
        assert!(fake.names(collection, NS).is_empty(), "{collection} left behind");
    }

    // Held by someone else's finalizer: reconcile must not recreate children it would lose anyway.
    let held = create(&fake, "held", small()).await;
    let api: Api<RedisHttpInstance> = Api::namespaced(fake.client(), NS);
    let patch = json!({"metadata": {"finalizers": ["example.com/hold"]}});
    api.patch("held", &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    fake.delete(CRS, NS, "held");
    let terminating = fetch(&fake, "held").await;
    assert!(terminating.metadata.deletion_timestamp.is_some());
    assert_eq!(reconcile(terminating, ctx).await.unwrap(), Action::await_change());
    assert!(fake.names(STATEFULSETS, NS).is_empty());
    assert_eq!(held.metadata.name.as_deref(), Some("held"));
}

#[tokio::test]
async fn an_api_error_requeues_with_growing_backoff_and_is_counted() {
    let (fake, ctx) = setup();
    let instance = create(&fake, "cache", small()).await;
    fake.fail_next("PATCH", "statefulsets", 500);
    let error = reconcile(instance.clone(), ctx.clone()).await.unwrap_err();
    assert!(matches!(error, Error::Kube(_)), "{error}");
    assert_eq!(error_policy(instance.clone(), &error, ctx.clone()), Action::requeue(Duration::from_secs(5)));
    fake.fail_next("PATCH", "statefulsets", 500);
    let error = reconcile(instance.clone(), ctx.clone()).await.unwrap_err();
    assert_eq!(error_policy(instance.clone(), &error, ctx.clone()), Action::requeue(Duration::from_secs(10)));
    assert_eq!(ctx.metrics.failures("kube"), 2);
    assert!(ctx.metrics.encode().contains(r#"reconcile_failures_total{error="kube"} 2"#));

    // Success resets the backoff.
    reconcile(instance.clone(), ctx.clone()).await.unwrap();
    fake.fail_next("PATCH", "statefulsets", 500);
    let error = reconcile(fetch(&fake, "cache").await, ctx.clone()).await.unwrap_err();
    assert_eq!(error_policy(instance, &error, ctx), Action::requeue(Duration::from_secs(5)));
}

#[tokio::test]
async fn an_invalid_spec_is_reported_degraded_and_creates_no_workload() {
    let (fake, ctx) = setup();
    let instance = create(&fake, "cache", json!({"memory": "16Mi"})).await;
    let error = reconcile(instance.clone(), ctx.clone()).await.unwrap_err();
    assert!(matches!(error, Error::InvalidSpec(_)));
    error_policy(instance, &error, ctx.clone());
    assert_eq!(ctx.metrics.failures("invalid_spec"), 1);
    let stored = fetch(&fake, "cache").await;
    assert_eq!(stored.status.as_ref().unwrap().phase, Some(Phase::Degraded));
    assert_eq!(condition(&stored, "Degraded"), ("True".into(), "InvalidSpec".into(), Some(1)));
    assert!(fake.names(STATEFULSETS, NS).is_empty());
}

#[tokio::test]
async fn a_users_secret_is_used_as_is_and_never_overwritten() {
    let (fake, ctx) = setup();
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(fake.client(), NS);
    let secret = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "mine"}, "stringData": {}, "data": {"password": "cHJlc2V0"}
    }))
    .unwrap();
    secrets.create(&Default::default(), &secret).await.unwrap();
    let version_before = version(&fake.get(SECRETS, NS, "mine").unwrap());
    reconcile(create(&fake, "cache", json!({"memory": "64Mi", "secretName": "mine"})).await, ctx.clone())
        .await
        .unwrap();
    let stored = fake.get(SECRETS, NS, "mine").unwrap();
    assert_eq!(version(&stored), version_before);
    assert!(stored["metadata"]["ownerReferences"].is_null(), "the operator took ownership of a user's Secret");
    let conf = fake.get(CONFIGMAPS, NS, "cache-config").unwrap()["data"]["redis.conf"].as_str().unwrap().to_owned();
    let sts = fake.get(STATEFULSETS, NS, "cache").unwrap();
    assert_eq!(
        sts["spec"]["template"]["metadata"]["annotations"][CHECKSUM_ANNOTATION],
        json!(checksum(&conf, "preset"))
    );
    assert_eq!(container(&fake, "cache")["env"][0]["valueFrom"]["secretKeyRef"]["name"], json!("mine"));

    // A Secret without a password is reported, not replaced.
    let empty =
        serde_json::from_value(json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "empty"}})).unwrap();
    secrets.create(&Default::default(), &empty).await.unwrap();
    let broken = create(&fake, "broken", json!({"memory": "64Mi", "secretName": "empty"})).await;
    assert!(matches!(reconcile(broken, ctx).await, Err(Error::SecretInvalid(_))));
    assert_eq!(condition(&*fetch(&fake, "broken").await, "Degraded").1, "SecretInvalid");
}

#[tokio::test]
async fn persistent_storage_keeps_its_claim_template_and_grows_the_claim() {
    let (fake, ctx) = setup();
    let spec = json!({"memory": "64Mi", "persistence": {"enabled": true, "size": "1Gi"}});
    reconcile(create(&fake, "cache", spec).await, ctx.clone()).await.unwrap();
    let claims = |fake: &crate::fake_api::FakeApi| {
        fake.get(STATEFULSETS, NS, "cache").unwrap()["spec"]["volumeClaimTemplates"].clone()
    };
    assert_eq!(claims(&fake)[0]["spec"]["resources"]["requests"]["storage"], json!("1Gi"));

    // The StatefulSet controller created the pod's claim.
    let pvcs: Api<k8s_openapi::api::core::v1::PersistentVolumeClaim> = Api::namespaced(fake.client(), NS);
    let pvc = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data-cache-0"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    }))
    .unwrap();
    pvcs.create(&Default::default(), &pvc).await.unwrap();

    let api: Api<RedisHttpInstance> = Api::namespaced(fake.client(), NS);
    let patch = json!({"spec": {"persistence": {"size": "2Gi"}}});
    api.patch("cache", &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    reconcile(fetch(&fake, "cache").await, ctx).await.unwrap();
    assert_eq!(claims(&fake)[0]["spec"]["resources"]["requests"]["storage"], json!("1Gi"), "templates are immutable");
    let grown = fake.get("api/v1/persistentvolumeclaims", NS, "data-cache-0").unwrap();
    assert_eq!(grown["spec"]["resources"]["requests"]["storage"], json!("2Gi"));
}

#[tokio::test]
async fn the_controller_reconciles_from_watches() {
    let (fake, ctx) = setup();
    let stop = tokio_util::sync::CancellationToken::new();
    let controller = tokio::spawn(redisgate_operator::controller::run(ctx, None, stop.clone().cancelled_owned()));
    let mut changes = fake.subscribe();
    create(&fake, "cache", small()).await;
    // Play the kubelet as soon as the StatefulSet appears; the status must then turn Ready by itself.
    let ready = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let change = changes.recv().await.unwrap();
            if change.key.collection == STATEFULSETS && change.kind == "ADDED" {
                fake.mark_statefulset_ready(NS, "cache");
            }
            if change.key.collection == CRS && change.object["status"]["phase"] == json!("Ready") {
                return;
            }
        }
    });
    ready.await.expect("the controller did not report Ready");
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(10), controller).await.unwrap().unwrap();
}

#[tokio::test]
async fn a_replicated_instance_gets_sentinels_and_budgets_and_is_ready_when_all_are() {
    let (fake, ctx) = setup();
    let spec = json!({"memory": "64Mi", "topology": {"mode": "replicated", "replicas": 2}});
    reconcile(create(&fake, "ha", spec).await, ctx.clone()).await.unwrap();
    for (collection, name) in [
        (STATEFULSETS, "ha"),
        (STATEFULSETS, "ha-sentinel"),
        (SERVICES, "ha-sentinel"),
        (SERVICES, "ha-sentinel-headless"),
        (PDBS, "ha"),
        (PDBS, "ha-sentinel"),
    ] {
        assert!(fake.get(collection, NS, name).is_some(), "{collection}/{name} missing");
    }
    assert_eq!(fake.get(STATEFULSETS, NS, "ha").unwrap()["spec"]["replicas"], json!(3));
    let status = fetch(&fake, "ha").await.status.clone().unwrap();
    let endpoint = status.endpoint.unwrap();
    assert_eq!((endpoint.host.as_str(), endpoint.port), ("ha-sentinel.tenant.svc.cluster.local", 26379));
    assert_eq!(status.master, None, "no Sentinel answers here");

    // Ready only once the data pods and the Sentinels all are.
    fake.mark_statefulset_ready(NS, "ha");
    reconcile(fetch(&fake, "ha").await, ctx.clone()).await.unwrap();
    let stored = fetch(&fake, "ha").await;
    assert!(!stored.is_ready());
    assert!(condition(&stored, "Ready").0 == "False");
    fake.mark_statefulset_ready(NS, "ha-sentinel");
    reconcile(fetch(&fake, "ha").await, ctx).await.unwrap();
    assert!(fetch(&fake, "ha").await.is_ready());
}

/// Under the operator's Role from deploy/ (so the Job's rights are checked too).
#[tokio::test]
async fn a_cluster_is_formed_by_a_job_per_size_and_ready_once_its_pods_and_that_job_are() {
    let ns = DEFAULT_TENANT_NAMESPACE;
    let fake = crate::fake_api::FakeApi::new(&[ns]);
    let rights = Rbac::of_service_account(&deploy_documents(), "redisgate-system", "redisgate-operator");
    let ctx = Arc::new(Context::new(fake.client_as(rights), OperatorConfig::default(), Metrics::default()));
    let api: Api<RedisHttpInstance> = Api::namespaced(fake.client(), ns);
    let spec = json!({"memory": "64Mi", "topology": {"mode": "cluster", "shards": 3}});
    let mut instance = RedisHttpInstance::new("shop", serde_json::from_value(spec).unwrap());
    instance.metadata.namespace = Some(ns.into());
    api.create(&PostParams::default(), &instance).await.unwrap();
    let current = || async { Arc::new(api.get("shop").await.unwrap()) };
    reconcile(current().await, ctx.clone()).await.unwrap();

    assert_eq!(fake.get(STATEFULSETS, ns, "shop").unwrap()["spec"]["replicas"], json!(3));
    assert!(fake.get(PDBS, ns, "shop").is_some());
    let job = fake.get(JOBS, ns, "shop-cluster-3x0").expect("no bootstrap Job");
    assert_eq!(job["metadata"]["ownerReferences"][0]["name"], json!("shop"));
    let status = current().await.status.clone().unwrap();
    let endpoint = status.endpoint.unwrap();
    assert_eq!((endpoint.host.as_str(), endpoint.port), ("shop.redisgate-instances.svc.cluster.local", 6379));

    // Ready once the pods are and the Job has formed the cluster.
    fake.mark_statefulset_ready(ns, "shop");
    reconcile(current().await, ctx.clone()).await.unwrap();
    let stored = current().await;
    assert!(!stored.is_ready());
    let message = &stored.status.as_ref().unwrap().conditions.iter().find(|c| c.type_ == "Ready").unwrap().message;
    assert!(message.contains("shop-cluster-3x0"), "{message}");
    fake.mark_job_succeeded(ns, "shop-cluster-3x0");
    reconcile(current().await, ctx.clone()).await.unwrap();
    assert!(current().await.is_ready());

    // A fourth shard: more pods and a Job of the new size; Ready again only once it has run.
    let patch = json!({"spec": {"topology": {"mode": "cluster", "shards": 4}}});
    api.patch("shop", &PatchParams::default(), &Patch::Merge(&patch)).await.unwrap();
    reconcile(current().await, ctx.clone()).await.unwrap();
    assert_eq!(fake.get(STATEFULSETS, ns, "shop").unwrap()["spec"]["replicas"], json!(4));
    assert!(fake.get(JOBS, ns, "shop-cluster-4x0").is_some(), "no Job for the new size");
    fake.mark_statefulset_ready(ns, "shop");
    reconcile(current().await, ctx.clone()).await.unwrap();
    assert!(!current().await.is_ready(), "ready before the new shard got its slots");
    fake.mark_job_succeeded(ns, "shop-cluster-4x0");
    reconcile(current().await, ctx).await.unwrap();
    assert!(current().await.is_ready());
    assert_eq!(fake.forbidden(), Vec::<String>::new(), "a request the operator's Role does not allow");
}

/// The REST tokens for a gateway that reads Kubernetes: minted once, kept, and minted again exactly once
/// per new value of the rotation annotation; only their digests are in the status.
#[tokio::test]
async fn tokens_are_minted_once_and_rotated_when_the_annotation_asks() {
    let (fake, ctx) = setup();
    reconcile(create(&fake, "cache", small()).await, ctx.clone()).await.unwrap();
    let token =
        |key: &str| base64_decode(fake.get(SECRETS, NS, "cache-tokens").unwrap()["data"][key].as_str().unwrap());
    let sha = |text: &str| -> String {
        redisgate_core::auth::TokenHash::of(text.as_bytes()).as_bytes().iter().map(|b| format!("{b:02x}")).collect()
    };
    let digests = || async { fetch(&fake, "cache").await.status.clone().unwrap().token_digests.unwrap() };
    let (full, readonly) = (token("token"), token("readonly-token"));
    assert!(full.starts_with("rgt_") && readonly.starts_with("rgr_"));
    let reported = digests().await;
    assert_eq!((reported.full, reported.readonly), (sha(&full), sha(&readonly)));
    let status = serde_json::to_string(&fetch(&fake, "cache").await.status).unwrap();
    assert!(!status.contains(&full) && !status.contains(&readonly), "a token in the status");

    // Kept across reconciles.
    reconcile(fetch(&fake, "cache").await, ctx.clone()).await.unwrap();
    assert_eq!(token("token"), full);

    // A new annotation value: new tokens and digests, once.
    let api: Api<RedisHttpInstance> = Api::namespaced(fake.client(), NS);
    let rotate = json!({"metadata": {"annotations": {"redisgate.io/rotate-tokens": "2026-12-06T20:00:00Z"}}});
    api.patch("cache", &PatchParams::default(), &Patch::Merge(&rotate)).await.unwrap();
    reconcile(fetch(&fake, "cache").await, ctx.clone()).await.unwrap();
    let rotated = token("token");
    assert_ne!(rotated, full);
    assert_ne!(token("readonly-token"), readonly);
    assert_eq!(digests().await.full, sha(&rotated));
    reconcile(fetch(&fake, "cache").await, ctx).await.unwrap();
    assert_eq!(token("token"), rotated, "the same annotation rotated twice");
}

/// TLS (issue 12, item 4): the namespace's CA made once, the gateway's client certificate, and a server
/// certificate per instance, mounted; nothing issued again while valid.
#[tokio::test]
async fn a_tls_instance_gets_its_certificates_from_the_namespaces_ca() {
    let (fake, ctx) = setup();
    let tls = json!({"memory": "64Mi", "tls": {"enabled": true}});
    reconcile(create(&fake, "cache", tls.clone()).await, ctx.clone()).await.unwrap();
    for name in ["redisgate-ca", "redisgate-gateway-tls", "cache-tls"] {
        assert!(fake.get(SECRETS, NS, name).is_some(), "{name} missing");
    }
    let server = fake.get(SECRETS, NS, "cache-tls").unwrap();
    assert_eq!(server["metadata"]["ownerReferences"][0]["name"], json!("cache"));
    assert!(
        fake.get(SECRETS, NS, "redisgate-ca").unwrap()["metadata"]["ownerReferences"].is_null(),
        "the CA is shared"
    );
    let pod = &fake.get(STATEFULSETS, NS, "cache").unwrap()["spec"]["template"]["spec"];
    assert_eq!(
        pod["volumes"].as_array().unwrap().iter().find(|v| v["name"] == "tls").unwrap()["secret"]["secretName"],
        json!("cache-tls")
    );
    let conf = fake.get(CONFIGMAPS, NS, "cache-config").unwrap()["data"]["redis.conf"].as_str().unwrap().to_owned();
    assert!(conf.contains("tls-auth-clients yes") && conf.lines().any(|l| l == "port 0"));

    // Valid certificates are kept; a second instance shares the CA.
    let (ca, cert) = (version(&fake.get(SECRETS, NS, "redisgate-ca").unwrap()), version(&server));
    reconcile(fetch(&fake, "cache").await, ctx.clone()).await.unwrap();
    reconcile(create(&fake, "other", tls).await, ctx.clone()).await.unwrap();
    assert_eq!(version(&fake.get(SECRETS, NS, "redisgate-ca").unwrap()), ca);
    assert_eq!(version(&fake.get(SECRETS, NS, "cache-tls").unwrap()), cert, "a valid certificate was issued again");
    let (a, b) = (fake.get(SECRETS, NS, "cache-tls").unwrap(), fake.get(SECRETS, NS, "other-tls").unwrap());
    assert_eq!(a["data"]["ca.crt"], b["data"]["ca.crt"]);

    // A cluster too: its nodes and the bootstrap Job mount its certificate.
    let cluster = json!({"memory": "64Mi", "tls": {"enabled": true}, "topology": {"mode": "cluster"}});
    reconcile(create(&fake, "shop", cluster).await, ctx).await.unwrap();
    let job = &fake.get(JOBS, NS, "shop-cluster-3x0").unwrap()["spec"]["template"]["spec"];
    let volume = job["volumes"].as_array().unwrap().iter().find(|v| v["name"] == "tls").unwrap().clone();
    assert_eq!(volume["secret"]["secretName"], json!("shop-tls"));
}

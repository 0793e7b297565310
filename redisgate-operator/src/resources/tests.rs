//! Builder properties: selectors match pod labels, every child has the controller owner reference, the
//! password only travels through `secretKeyRef`, maxmemory follows the limit, PVC only when persistent.

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::Resource as _;
use serde_json::{json, Value};

use super::*;
use crate::config::REDIS_PORT;
use crate::crd::RedisHttpInstanceSpec;
use redisgate_core::provisioning::Credentials;

use crate::redis_conf::{checksum, probe_command, with_users};

fn instance(spec: Value) -> RedisHttpInstance {
    let spec: RedisHttpInstanceSpec = serde_json::from_value(spec).unwrap();
    let mut instance = RedisHttpInstance::new("cache", spec);
    instance.metadata.namespace = Some("tenant".into());
    instance.metadata.uid = Some("0b4c5c1e-0000-4000-8000-000000000001".into());
    instance
}

fn desired(spec: Value) -> Desired {
    Desired::new(&instance(spec), &OperatorConfig::default()).unwrap()
}

fn statefulset(desired: &Desired) -> StatefulSet {
    statefulset::build(desired, "sum", None)
}

#[test]
fn every_child_is_owned_labelled_and_named_within_63_characters() {
    let d = desired(json!({"memory": "64Mi"}));
    let children: Vec<ObjectMeta> = vec![
        secret::build(&d, &d.names.secret, "pw").metadata,
        secret::build(&d, &d.names.admin_secret, "pw").metadata,
        configmap::build(&d, &d.conf).metadata,
        statefulset(&d).metadata,
        service::headless(&d).metadata,
        service::client(&d).metadata,
        networkpolicy::build(&d).metadata,
    ];
    for meta in children {
        let owners = meta.owner_references.unwrap();
        assert_eq!(owners.len(), 1);
        assert_eq!(owners[0].controller, Some(true));
        assert_eq!(owners[0].uid, "0b4c5c1e-0000-4000-8000-000000000001");
        assert_eq!(meta.namespace.as_deref(), Some("tenant"));
        assert!(meta.name.unwrap().len() <= 63);
        assert_eq!(
            meta.labels.unwrap().get("app.kubernetes.io/managed-by").map(String::as_str),
            Some("redisgate-operator")
        );
    }
}

#[test]
fn selectors_match_the_pod_labels() {
    let d = desired(json!({"memory": "64Mi"}));
    let sts = statefulset(&d);
    let spec = sts.spec.unwrap();
    let pod_labels = spec.template.metadata.unwrap().labels.unwrap();
    let selector = spec.selector.match_labels.unwrap();
    assert!(selector.iter().all(|(k, v)| pod_labels.get(k) == Some(v)));
    assert_eq!(spec.service_name.as_deref(), Some("cache-headless"));
    for svc in [service::headless(&d), service::client(&d)] {
        let svc_selector = svc.spec.unwrap().selector.unwrap();
        assert!(svc_selector.iter().all(|(k, v)| pod_labels.get(k) == Some(v)));
    }
    let policy = networkpolicy::build(&d).spec.unwrap();
    let policed = policy.pod_selector.unwrap().match_labels.unwrap();
    assert!(policed.iter().all(|(k, v)| pod_labels.get(k) == Some(v)));
    let from = &policy.ingress.as_ref().unwrap()[0];
    let peer = &from.from.as_ref().unwrap()[0];
    assert_eq!(peer.pod_selector.as_ref().unwrap().match_labels, Some(OperatorConfig::default().gateway_pod_labels));
    assert_eq!(
        peer.namespace_selector.as_ref().unwrap().match_labels.as_ref().unwrap()["kubernetes.io/metadata.name"],
        "redisgate-system"
    );
    assert_eq!(policy.policy_types, Some(vec!["Ingress".to_owned()]));
    assert_eq!(policy.ingress.as_ref().map(Vec::len), Some(1), "only the gateway reaches a plain standalone instance");
}

/// The operator reaches a TLS instance's servers (to load a renewed certificate) and a replicated instance's
/// Sentinels (to read the master), and nothing else.
#[test]
fn the_operator_is_admitted_where_it_talks_to_the_servers() {
    let operator_rule = |spec: Value| {
        let policy = serde_json::to_value(networkpolicy::build(&desired(spec)).spec.unwrap()).unwrap();
        let rules = policy["ingress"].as_array().unwrap().clone();
        rules
            .into_iter()
            .find(|r| r["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "redisgate-operator")
    };
    let tls = operator_rule(json!({"memory": "64Mi", "tls": {"enabled": true}})).unwrap();
    assert_eq!(tls["ports"], json!([{"port": 6379, "protocol": "TCP"}]));
    assert_eq!(tls["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], "redisgate-system");
    let replicated = operator_rule(json!({"memory": "64Mi", "topology": {"mode": "replicated"}})).unwrap();
    assert_eq!(replicated["ports"], json!([{"port": 26379, "protocol": "TCP"}]));
    assert!(operator_rule(json!({"memory": "64Mi"})).is_none());
    assert!(operator_rule(json!({"memory": "64Mi", "topology": {"mode": "cluster"}})).is_none());
}

#[test]
fn passwords_only_travel_through_secret_key_refs() {
    let d = desired(json!({"memory": "64Mi"}));
    let credentials = Credentials::generate();
    let conf = with_users(&d.conf, &credentials);
    let sts = statefulset::build(&d, &checksum(&conf, &credentials.gateway), None);
    let text = serde_json::to_string(&sts).unwrap() + &serde_json::to_string(&configmap::build(&d, &conf)).unwrap();
    assert!(!text.contains(&credentials.gateway) && !text.contains(&credentials.admin));
    assert!(conf.lines().any(|l| l.starts_with("user default off")), "{conf}");
    let container = sts.spec.unwrap().template.spec.unwrap().containers.remove(0);
    let env = container.env.unwrap();
    assert_eq!(env.len(), 1);
    for var in env {
        assert!(var.value.is_none(), "{}", var.name);
        let key_ref = var.value_from.unwrap().secret_key_ref.unwrap();
        assert_eq!((key_ref.name.as_str(), key_ref.key.as_str()), ("cache-auth", "password"));
    }
    assert_eq!(container.args.unwrap(), ["/etc/redis/redis.conf"]);
    let probe = container.readiness_probe.unwrap().exec.unwrap().command.unwrap();
    assert_eq!(probe, probe_command(REDIS_PORT));
    assert_eq!(container.liveness_probe.unwrap().exec.unwrap().command.unwrap(), probe);
    let secret = secret::build(&d, &d.names.admin_secret, &credentials.admin);
    assert_eq!(secret.metadata.name.as_deref(), Some("cache-admin"));
    assert_eq!(secret::password_of(&secret).unwrap(), credentials.admin);
}

#[test]
fn maxmemory_follows_the_limit_and_requests_equal_limits() {
    let d = desired(json!({"memory": "1Gi", "cpu": "250m", "evictionPolicy": "allkeys-lfu"}));
    assert!(d.conf.lines().any(|l| l == format!("maxmemory {}", 768 * 1024 * 1024)));
    assert!(d.conf.lines().any(|l| l == "maxmemory-policy allkeys-lfu"));
    let resources = statefulset(&d).spec.unwrap().template.spec.unwrap().containers[0].resources.clone().unwrap();
    let (limits, requests) = (resources.limits.unwrap(), resources.requests.unwrap());
    assert_eq!(limits["memory"].0, "1Gi");
    assert_eq!(requests["memory"], limits["memory"]);
    assert_eq!(requests["cpu"].0, "250m");
    assert!(!limits.contains_key("cpu"));
    assert!(Desired::new(&instance(json!({"memory": "1Mi"})), &OperatorConfig::default()).is_err());
}

#[test]
fn a_claim_template_only_when_persistent() {
    let ephemeral = statefulset(&desired(json!({"memory": "64Mi"}))).spec.unwrap();
    assert!(ephemeral.volume_claim_templates.is_none());
    let volumes = ephemeral.template.spec.unwrap().volumes.unwrap();
    assert!(volumes.iter().any(|v| v.name == "data" && v.empty_dir.is_some()));

    let spec = json!({"memory": "64Mi", "persistence": {"enabled": true, "size": "5Gi", "storageClassName": "fast"}});
    let d = desired(spec);
    assert!(d.conf.contains("appendonly yes"));
    let persistent = statefulset(&d).spec.unwrap();
    let retention = persistent.persistent_volume_claim_retention_policy.clone().unwrap();
    assert_eq!(retention.when_deleted.as_deref(), Some("Delete"));
    let claims = persistent.volume_claim_templates.unwrap();
    assert_eq!(claims.len(), 1);
    let claim = claims[0].spec.clone().unwrap();
    assert_eq!(claim.storage_class_name.as_deref(), Some("fast"));
    assert_eq!(claim.resources.unwrap().requests.unwrap()["storage"].0, "5Gi");
    let volumes = persistent.template.spec.unwrap().volumes.unwrap();
    assert!(!volumes.iter().any(|v| v.name == "data"), "the claim provides the data volume");

    // An existing StatefulSet's templates are kept (they are immutable on the server).
    let old =
        vec![statefulset::claim(&desired(json!({"memory": "64Mi", "persistence": {"enabled": true, "size": "1Gi"}})))];
    let kept = statefulset::build(&d, "sum", Some(old.clone())).spec.unwrap().volume_claim_templates.unwrap();
    assert_eq!(kept, old);
}

#[test]
fn the_pod_runs_as_non_root_with_a_checksum_annotation() {
    let d = desired(json!({"memory": "64Mi", "redisVersion": "7.4"}));
    let template = statefulset::build(&d, "abc", None).spec.unwrap().template;
    assert_eq!(template.metadata.unwrap().annotations.unwrap()[CHECKSUM_ANNOTATION], "abc");
    let pod = template.spec.unwrap();
    let security = pod.security_context.unwrap();
    assert_eq!(security.run_as_non_root, Some(true));
    assert_eq!(security.run_as_user, Some(statefulset::REDIS_UID));
    let container = &pod.containers[0];
    assert_eq!(container.image.as_deref(), Some("redis:7.4"));
    let context = container.security_context.clone().unwrap();
    assert_eq!(context.allow_privilege_escalation, Some(false));
    assert_eq!(context.read_only_root_filesystem, Some(true));
    assert_eq!(RedisHttpInstance::kind(&()), "RedisHttpInstance");
}

#[test]
fn names_and_missing_fields_are_refused() {
    let mut nameless = instance(json!({"memory": "64Mi"}));
    nameless.metadata.uid = None;
    assert!(matches!(Desired::new(&nameless, &OperatorConfig::default()), Err(Error::MissingField(_))));
    let mut bad = instance(json!({"memory": "64Mi"}));
    bad.metadata.name = Some("9lives".into());
    assert!(matches!(Desired::new(&bad, &OperatorConfig::default()), Err(Error::InvalidSpec(_))));
}

#[test]
fn a_replicated_instance_gets_replicas_sentinels_budgets_and_spread() {
    let d =
        desired(json!({"memory": "64Mi", "topology": {"mode": "replicated", "replicas": 2, "minReplicasToWrite": 1}}));
    let data = statefulset(&d).spec.unwrap();
    assert_eq!(data.replicas, Some(3), "a master and two replicas");
    let pod = data.template.spec.unwrap();
    let container = &pod.containers[0];
    assert_eq!(container.command.as_deref(), Some(&["sh".to_owned()][..]));
    assert_eq!(container.args.as_ref().unwrap()[0], "/etc/redis/start-data.sh");
    let env = serde_json::to_value(&container.env).unwrap();
    let admin = env.as_array().unwrap().iter().find(|e| e["name"] == "ADMIN_PASSWORD").unwrap();
    assert_eq!(admin["valueFrom"]["secretKeyRef"]["name"], "cache-admin", "the admin password comes from its Secret");
    let spread = serde_json::to_value(&pod.affinity).unwrap();
    let preferred = &spread["podAntiAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0];
    assert_eq!(preferred["podAffinityTerm"]["topologyKey"], "kubernetes.io/hostname");
    assert!(d.conf.contains("min-replicas-to-write 1") && d.conf.contains("masteruser redisgate-admin"));
    assert!(!d.conf.contains("masterauth"), "no password in the ConfigMap");

    let sentinels = sentinel::statefulset(&d, "sum").spec.unwrap();
    assert_eq!(sentinels.replicas, Some(3));
    assert_eq!(sentinels.pod_management_policy.as_deref(), Some("Parallel"));
    let (data_selector, sentinel_selector) =
        (data.selector.match_labels.unwrap(), sentinels.selector.match_labels.clone().unwrap());
    assert_ne!(data_selector, sentinel_selector, "the two StatefulSets never select each other's pods");
    let sentinel_labels = sentinels.template.metadata.unwrap().labels.unwrap();
    assert!(sentinel_selector.iter().all(|(k, v)| sentinel_labels.get(k) == Some(v)));
    assert!(data_selector.iter().any(|(k, v)| sentinel_labels.get(k) != Some(v)));
    assert_eq!(sentinel::client(&d).spec.unwrap().ports.unwrap()[0].port, 26379);

    for (budget, selector) in [(pdb::data(&d), &data_selector), (pdb::sentinels(&d), &sentinel_selector)] {
        let spec = budget.spec.unwrap();
        assert_eq!(spec.max_unavailable, Some(IntOrString::Int(1)));
        assert_eq!(spec.selector.unwrap().match_labels.as_ref(), Some(selector));
    }

    let credentials = Credentials::generate();
    let map = configmap::build_for(&d, &with_users(&d.conf, &credentials), &credentials);
    let files = map.data.unwrap();
    assert!(files.contains_key("start-data.sh") && files.contains_key("start-sentinel.sh"));
    assert!(files.values().all(|f| !f.contains(&credentials.admin) && !f.contains(&credentials.gateway)));

    let policy = serde_json::to_value(networkpolicy::build(&d).spec.unwrap()).unwrap();
    assert_eq!(policy["podSelector"]["matchLabels"], json!({"app.kubernetes.io/instance": "cache"}));
    assert_eq!(policy["ingress"][0]["from"].as_array().unwrap().len(), 2, "the gateway and the instance's own pods");
    assert_eq!(policy["ingress"][0]["ports"][1]["port"], 26379);
}

#[test]
fn required_anti_affinity_and_bounds() {
    let d = desired(
        json!({"memory": "64Mi", "topology": {"mode": "replicated", "replicas": 1, "antiAffinity": "required"}}),
    );
    let spread = serde_json::to_value(statefulset(&d).spec.unwrap().template.spec.unwrap().affinity).unwrap();
    assert!(spread["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]["labelSelector"].is_object());
    for bad in [
        json!({"mode": "replicated", "replicas": 0}),
        json!({"mode": "replicated", "replicas": 1, "minReplicasToWrite": 2}),
    ] {
        assert!(
            Desired::new(&instance(json!({"memory": "64Mi", "topology": bad})), &OperatorConfig::default()).is_err()
        );
    }
    // A standalone instance keeps its one pod, its command and no Sentinel objects in its ConfigMap.
    let single = desired(json!({"memory": "64Mi"}));
    assert_eq!(statefulset(&single).spec.unwrap().replicas, Some(1));
    let credentials = Credentials::generate();
    let map = configmap::build_for(&single, &single.conf, &credentials);
    assert_eq!(map.data.unwrap().len(), 1);
}

#[test]
fn a_cluster_gets_every_shards_pods_its_scripts_a_budget_and_a_bootstrap_job() {
    let d = desired(json!({"memory": "64Mi", "topology": {"mode": "cluster", "shards": 4, "replicasPerShard": 1}}));
    let data = statefulset(&d).spec.unwrap();
    assert_eq!(data.replicas, Some(8), "four masters and a replica of each");
    assert_eq!(data.pod_management_policy.as_deref(), Some("Parallel"));
    let pod = data.template.spec.unwrap();
    let container = &pod.containers[0];
    assert_eq!(container.args.as_ref().unwrap()[0], "/etc/redis/start-cluster.sh");
    let ports: Vec<i32> = container.ports.iter().flatten().map(|p| p.container_port).collect();
    assert_eq!(ports, [6379, 16379]);
    assert!(pod.affinity.is_some(), "a cluster's pods are spread over nodes");
    for line in ["cluster-enabled yes", "cluster-config-file nodes.conf", "masteruser redisgate-admin"] {
        assert!(d.conf.lines().any(|l| l == line), "{line}");
    }
    assert!(!d.conf.contains("masterauth"), "no password in the ConfigMap");

    let credentials = Credentials::generate();
    let files = configmap::build_for(&d, &with_users(&d.conf, &credentials), &credentials).data.unwrap();
    assert!(files.contains_key("start-cluster.sh") && files.contains_key("cluster-bootstrap.sh"));
    assert!(!files.contains_key("start-sentinel.sh"));
    assert!(files.values().all(|f| !f.contains(&credentials.admin) && !f.contains(&credentials.gateway)));

    let bootstrap = job::bootstrap(&d);
    assert_eq!(bootstrap.metadata.name.as_deref(), Some("cache-cluster-4x1"));
    assert!(bootstrap.metadata.name.as_ref().unwrap().len() + 6 <= 63, "its pods' names fit");
    assert_eq!(bootstrap.metadata.owner_references.as_ref().unwrap()[0].uid, d.owner.uid);
    let labels = bootstrap.metadata.labels.clone().unwrap();
    let data_selector = data.selector.match_labels.unwrap();
    assert!(data_selector.iter().any(|(k, v)| labels.get(k) != Some(v)), "the data Services never select it");
    let env = serde_json::to_value(&bootstrap.spec.as_ref().unwrap().template.spec.as_ref().unwrap().containers[0].env)
        .unwrap();
    let var = |name: &str| env.as_array().unwrap().iter().find(|e| e["name"] == name).unwrap().clone();
    assert_eq!(var("ADMIN_PASSWORD")["valueFrom"]["secretKeyRef"]["name"], "cache-admin");
    let nodes: Vec<String> = var("NODES")["value"].as_str().unwrap().split(' ').map(str::to_owned).collect();
    assert_eq!(nodes.len(), 8);
    assert_eq!(nodes[7], "cache-7.cache-headless.tenant.svc.cluster.local:6379");
    assert_eq!((var("SHARDS")["value"].clone(), var("REPLICAS_PER_SHARD")["value"].clone()), (json!("4"), json!("1")));
    assert_eq!(pdb::data(&d).spec.unwrap().max_unavailable, Some(IntOrString::Int(1)));

    // The gateway on the Redis port only; the instance's own pods (nodes, the Job) on the bus port too.
    let policy = serde_json::to_value(networkpolicy::build(&d).spec.unwrap()).unwrap();
    assert_eq!(policy["podSelector"]["matchLabels"], json!({"app.kubernetes.io/instance": "cache"}));
    assert_eq!(policy["ingress"][0]["ports"], json!([{"port": 6379, "protocol": "TCP"}]));
    assert_eq!(
        policy["ingress"][1]["from"][0]["podSelector"]["matchLabels"],
        json!({"app.kubernetes.io/instance": "cache"})
    );
    assert_eq!(policy["ingress"][1]["ports"][1]["port"], 16379);

    for bad in [json!({"mode": "cluster", "shards": 2}), json!({"mode": "cluster", "shards": 3, "replicasPerShard": 3})]
    {
        let refused = Desired::new(&instance(json!({"memory": "64Mi", "topology": bad})), &OperatorConfig::default());
        assert!(matches!(refused, Err(Error::InvalidSpec(_))));
    }
}

#[test]
fn the_tokens_are_prefixed_and_only_their_digests_go_to_the_status() {
    let d = desired(json!({"memory": "64Mi"}));
    let minted = tokens::Tokens::generate();
    assert!(minted.full.starts_with("rgt_") && minted.readonly.starts_with("rgr_"));
    assert_eq!(format!("{minted:?}"), "Tokens(<redacted>)");
    let users = tokens::secret(&d, &minted, "2026-12-06");
    assert_eq!(users.metadata.name.as_deref(), Some("cache-tokens"));
    assert_eq!(tokens::Tokens::of(&users), Some(minted.clone()));
    assert!(tokens::current(&users, "2026-12-06") && !tokens::current(&users, ""));

    let digests = tokens::digests(&minted);
    let hex: String = redisgate_core::auth::TokenHash::of(minted.full.as_bytes())
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(digests.full, hex);
    assert_ne!(digests.readonly, digests.full);
}

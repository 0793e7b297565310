//! The rights deploy/ gives RedisGate (issue 27, item 11): the internet-facing gateway and the operator hold
//! rights only in the tenant namespace, through Roles. No ClusterRole or ClusterRoleBinding; nothing on
//! namespaces; the gateway only gets Secrets by name; the namespace the Roles are in is the one the
//! deployments configure. The same rules, enforced by the fake API, refuse what they should (the platform
//! test in `platform.rs` runs everything under them and checks nothing was refused).

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{ListParams, PostParams};
use kube::Api;
use redisgate_operator::crd::RedisHttpInstance;
use redisgate_operator::naming::{DEFAULT_TENANT_NAMESPACE, TENANT_NAMESPACE_ENV};
use serde_json::{json, Value};

use crate::fake_api::{deploy_documents, Access, FakeApi, Rbac};

const SYSTEM: &str = "redisgate-system";
const ACCOUNTS: [&str; 2] = ["redisgate-gateway", "redisgate-operator"];

fn documents_of_kind(kind: &str) -> Vec<Value> {
    deploy_documents().into_iter().filter(|(_, d)| d["kind"] == kind).map(|(_, d)| d).collect()
}

fn env_of(deployment: &str, variable: &str) -> Option<String> {
    let deployment = documents_of_kind("Deployment").into_iter().find(|d| d["metadata"]["name"] == deployment)?;
    let env = deployment["spec"]["template"]["spec"]["containers"][0]["env"].as_array()?.clone();
    env.iter().find(|e| e["name"] == variable).and_then(|e| e["value"].as_str().map(str::to_owned))
}

#[test]
fn deploy_has_no_cluster_wide_rights() {
    for kind in ["ClusterRole", "ClusterRoleBinding"] {
        let found: Vec<Value> = documents_of_kind(kind).iter().map(|d| d["metadata"]["name"].clone()).collect();
        assert!(found.is_empty(), "deploy/ has a {kind} again: {found:?} (issue 27, item 11: Roles only)");
    }
    for binding in documents_of_kind("RoleBinding") {
        assert_eq!(binding["roleRef"]["kind"], "Role", "a RoleBinding to a ClusterRole: {binding}");
    }
    let documents = deploy_documents();
    for account in ACCOUNTS {
        let rights = Rbac::of_service_account(&documents, SYSTEM, account);
        assert!(!rights.grants.is_empty(), "{account} has no rights at all");
        for grant in &rights.grants {
            assert_eq!(grant.namespace.as_deref(), Some(DEFAULT_TENANT_NAMESPACE), "{account}: {grant:?}");
            assert!(!grant.resources.iter().any(|r| r == "*" || r.starts_with("namespaces")), "{account}: {grant:?}");
            assert!(!grant.verbs.iter().any(|v| matches!(v.as_str(), "*" | "escalate" | "bind" | "impersonate")));
            assert!(!grant.groups.iter().any(|g| g == "*" || g.contains("rbac")), "{account}: {grant:?}");
        }
    }
}

#[test]
fn the_gateway_only_gets_secrets_by_name() {
    let rights = Rbac::of_service_account(&deploy_documents(), SYSTEM, "redisgate-gateway");
    let on_secrets: Vec<&String> = rights
        .grants
        .iter()
        .filter(|g| g.resources.iter().any(|r| r.starts_with("secrets")))
        .flat_map(|g| g.verbs.iter())
        .collect();
    assert_eq!(on_secrets, ["get"]);
}

#[test]
fn the_roles_are_in_the_namespace_the_deployments_use() {
    let namespaces: Vec<Value> = documents_of_kind("Namespace").iter().map(|d| d["metadata"]["name"].clone()).collect();
    assert!(namespaces.contains(&json!(DEFAULT_TENANT_NAMESPACE)), "deploy/namespace.yaml: {namespaces:?}");
    for kind in ["Role", "RoleBinding"] {
        for document in documents_of_kind(kind) {
            assert_eq!(document["metadata"]["namespace"], DEFAULT_TENANT_NAMESPACE, "{document}");
        }
    }
    assert_eq!(
        env_of("redisgate-operator", "REDISGATE_OPERATOR_NAMESPACE").as_deref(),
        Some(DEFAULT_TENANT_NAMESPACE),
        "the operator must watch only the tenant namespace"
    );
    assert_eq!(env_of("redisgate-gateway", TENANT_NAMESPACE_ENV).as_deref(), Some(DEFAULT_TENANT_NAMESPACE));
}

/// The model itself: a ClusterRoleBinding grants everywhere, a RoleBinding only in its namespace.
#[test]
fn the_rbac_model_scopes_bindings() {
    let yaml = r"
kind: ClusterRole
metadata: { name: reader }
rules: [{ apiGroups: [''], resources: [secrets], verbs: [get] }]
---
kind: RoleBinding
metadata: { name: a, namespace: one }
roleRef: { kind: ClusterRole, name: reader }
subjects: [{ kind: ServiceAccount, name: sa, namespace: sys }]
";
    let documents: Vec<_> = serde_yaml::Deserializer::from_str(yaml)
        .map(|d| (std::path::PathBuf::new(), <Value as serde::Deserialize>::deserialize(d).unwrap()))
        .collect();
    let get = |ns: Option<&str>| Access::of_request("GET", "api/v1/secrets", ns, Some("x"), false, false);
    let rights = Rbac::of_service_account(&documents, "sys", "sa");
    assert!(rights.allows(&get(Some("one"))));
    assert!(!rights.allows(&get(Some("two"))));
    assert!(!rights.allows(&Access::of_request("GET", "api/v1/secrets", Some("one"), None, false, false)));
    assert!(Rbac::of_service_account(&documents, "sys", "other").grants.is_empty());
    let mut cluster = documents;
    cluster[1].1["kind"] = json!("ClusterRoleBinding");
    let rights = Rbac::of_service_account(&cluster, "sys", "sa");
    assert!(rights.allows(&get(Some("two"))) && rights.allows(&get(None)));
}

fn secret(name: &str, namespace: &str) -> Secret {
    serde_json::from_value(json!({"metadata": {"name": name, "namespace": namespace}, "stringData": {"password": "p"}}))
        .unwrap()
}

#[tokio::test]
async fn the_gateway_cannot_create_namespaces_nor_read_secrets_elsewhere() {
    let fake = FakeApi::new(&[DEFAULT_TENANT_NAMESPACE, "elsewhere"]);
    for ns in [DEFAULT_TENANT_NAMESPACE, "elsewhere"] {
        Api::<Secret>::namespaced(fake.client(), ns).create(&PostParams::default(), &secret("s", ns)).await.unwrap();
    }
    let gateway = fake.client_as(Rbac::of_service_account(&deploy_documents(), SYSTEM, "redisgate-gateway"));
    let forbidden = |e: kube::Error| matches!(e, kube::Error::Api(s) if s.code == 403);

    let mut namespace = Namespace::default();
    namespace.metadata.name = Some("rg-someone".into());
    let created = Api::<Namespace>::all(gateway.clone()).create(&PostParams::default(), &namespace).await;
    assert!(created.is_err_and(forbidden), "the gateway created a namespace");
    let elsewhere = Api::<Secret>::namespaced(gateway.clone(), "elsewhere").get("s").await;
    assert!(elsewhere.is_err_and(forbidden), "the gateway read a Secret outside the tenant namespace");
    let listed = Api::<Secret>::all(gateway.clone()).list(&ListParams::default()).await;
    assert!(listed.is_err_and(forbidden));
    let tenant: Api<Secret> = Api::namespaced(gateway.clone(), DEFAULT_TENANT_NAMESPACE);
    assert!(tenant.list(&ListParams::default()).await.is_err_and(forbidden), "the gateway listed Secrets");
    assert!(Api::<RedisHttpInstance>::all(gateway).list(&ListParams::default()).await.is_err_and(forbidden));
    // What it needs, it has.
    assert!(tenant.get("s").await.is_ok());
    assert_eq!(fake.forbidden().len(), 5, "{:?}", fake.forbidden());
}

#[tokio::test]
async fn the_operator_cannot_watch_outside_the_tenant_namespace() {
    let fake = FakeApi::new(&[DEFAULT_TENANT_NAMESPACE, "elsewhere"]);
    let operator = fake.client_as(Rbac::of_service_account(&deploy_documents(), SYSTEM, "redisgate-operator"));
    let forbidden = |e: kube::Error| matches!(e, kube::Error::Api(s) if s.code == 403);
    let all = ListParams::default();
    assert!(Api::<Secret>::all(operator.clone()).list(&all).await.is_err_and(forbidden));
    assert!(Api::<Secret>::namespaced(operator.clone(), "elsewhere").list(&all).await.is_err_and(forbidden));
    assert!(Api::<RedisHttpInstance>::all(operator.clone()).list(&all).await.is_err_and(forbidden));
    let elsewhere: Api<Secret> = Api::namespaced(operator.clone(), "elsewhere");
    let created = elsewhere.create(&PostParams::default(), &secret("s", "elsewhere")).await;
    assert!(created.is_err_and(forbidden));
    assert!(Api::<Secret>::namespaced(operator.clone(), DEFAULT_TENANT_NAMESPACE).list(&all).await.is_ok());
    assert!(Api::<RedisHttpInstance>::namespaced(operator, DEFAULT_TENANT_NAMESPACE).list(&all).await.is_ok());
}

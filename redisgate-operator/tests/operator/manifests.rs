//! Offline validation of what a user applies (kubernetes.md §3, L1): every manifest under `deploy/` and
//! every object the builders produce pass `kubernetes-validate --strict` for Kubernetes 1.33 (its bundled
//! schemas), and the example `RedisHttpInstance`, which kubernetes-validate has no schema for, is checked
//! against the CRD's own openAPIV3Schema (unknown fields refused) and its CEL rules.
//!
//! Needs the PyPI package: `python3 -m pip install kubernetes-validate==1.37.0`. Without it these tests
//! fail, saying so.

use std::path::{Path, PathBuf};
use std::process::Command;

use redisgate_operator::config::OperatorConfig;
use redisgate_operator::crd::RedisHttpInstance;
use redisgate_operator::resources::{
    configmap, job, networkpolicy, pdb, secret, sentinel, service, statefulset, Desired,
};
use serde_json::json;

const KUBERNETES: &str = "1.33.0";

fn deploy() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            yaml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
}

/// Runs kubernetes-validate; fails on errors and on any kind it has no schema for (except ours).
fn validate(files: &[PathBuf]) {
    let output =
        Command::new("kubernetes-validate").args(["--strict", "-k", KUBERNETES]).args(files).output().unwrap_or_else(
            |e| panic!("cannot run kubernetes-validate ({e}): python3 -m pip install kubernetes-validate==1.37.0"),
        );
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{text}");
    for line in text.lines().filter(|l| l.contains("Couldn't find schema")) {
        assert!(line.contains("kind RedisHttpInstance"), "unvalidated: {line}");
    }
    let passed = text.lines().filter(|l| l.contains(" passed ")).count();
    assert!(passed >= files.len(), "fewer documents validated than files:\n{text}");
}

#[test]
fn every_manifest_under_deploy_validates() {
    let mut files = Vec::new();
    yaml_files(&deploy(), &mut files);
    assert!(files.len() >= 5, "{files:?}");
    validate(&files);
}

#[test]
fn every_built_child_validates() {
    let spec = json!({"memory": "256Mi", "cpu": "100m", "persistence": {"enabled": true, "size": "1Gi"},
                      "topology": {"mode": "replicated", "replicas": 2, "antiAffinity": "required"}});
    let mut instance = RedisHttpInstance::new("cache", serde_json::from_value(spec).unwrap());
    instance.metadata.namespace = Some("tenant".into());
    instance.metadata.uid = Some("0b4c5c1e-0000-4000-8000-000000000001".into());
    let d = Desired::new(&instance, &OperatorConfig::default()).unwrap();
    let documents = [
        serde_yaml::to_string(&secret::build(&d, &d.names.secret, "pw")).unwrap(),
        serde_yaml::to_string(&configmap::build(&d, &d.conf)).unwrap(),
        serde_yaml::to_string(&statefulset::build(&d, "sum", None)).unwrap(),
        serde_yaml::to_string(&service::headless(&d)).unwrap(),
        serde_yaml::to_string(&service::client(&d)).unwrap(),
        serde_yaml::to_string(&networkpolicy::build(&d)).unwrap(),
        serde_yaml::to_string(&sentinel::statefulset(&d, "sum")).unwrap(),
        serde_yaml::to_string(&sentinel::headless(&d)).unwrap(),
        serde_yaml::to_string(&sentinel::client(&d)).unwrap(),
        serde_yaml::to_string(&pdb::data(&d)).unwrap(),
        serde_yaml::to_string(&pdb::sentinels(&d)).unwrap(),
    ];
    // A cluster's own objects: its StatefulSet, NetworkPolicy and bootstrap Job.
    let spec = json!({"memory": "256Mi", "persistence": {"enabled": true, "size": "1Gi"},
                      "topology": {"mode": "cluster", "shards": 3, "replicasPerShard": 1}});
    let mut cluster = RedisHttpInstance::new("shop", serde_json::from_value(spec).unwrap());
    cluster.metadata = instance.metadata;
    let c = Desired::new(&cluster, &OperatorConfig::default()).unwrap();
    let documents = documents.into_iter().chain([
        serde_yaml::to_string(&statefulset::build(&c, "sum", None)).unwrap(),
        serde_yaml::to_string(&networkpolicy::build(&c)).unwrap(),
        serde_yaml::to_string(&job::bootstrap(&c)).unwrap(),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = documents
        .enumerate()
        .map(|(i, doc)| {
            let path = dir.path().join(format!("{i}.yaml"));
            std::fs::write(&path, doc).unwrap();
            path
        })
        .collect();
    validate(&files);
}

/// Validates `document` against the CRD's schema with Python's jsonschema (a kubernetes-validate
/// dependency), refusing unknown fields.
fn matches_crd_schema(document: &serde_json::Value) -> Result<(), String> {
    let crd = std::fs::read_to_string(deploy().join("crds/redishttpinstance.yaml")).unwrap();
    let crd: serde_json::Value = serde_yaml::from_str(&crd).unwrap();
    let schema = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"];
    let script = r#"
import json, sys, jsonschema
schema, doc = json.load(sys.stdin)
def strict(node):
    if isinstance(node, dict):
        if "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        for value in node.values():
            strict(value)
    elif isinstance(node, list):
        for value in node:
            strict(value)
strict(schema)
schema["properties"]["apiVersion"] = {"type": "string"}
schema["properties"]["kind"] = {"type": "string"}
schema["properties"]["metadata"] = {"type": "object"}
jsonschema.validate(doc, schema)
"#;
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child.stdin.take().unwrap().write_all(json!([schema, document]).to_string().as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

#[test]
fn the_example_instances_match_the_crd() {
    let cluster = std::fs::read_to_string(deploy().join("examples/redishttpcluster.yaml")).unwrap();
    let cluster: serde_json::Value = serde_yaml::from_str(&cluster).unwrap();
    matches_crd_schema(&cluster).unwrap();
    let typed: RedisHttpInstance = serde_json::from_value(cluster).unwrap();
    kube::core::cel::validate_cel(&typed).unwrap();
    assert!(typed.spec.topology.is_cluster());

    let text = std::fs::read_to_string(deploy().join("examples/redishttpinstance.yaml")).unwrap();
    let document: serde_json::Value = serde_yaml::from_str(&text).unwrap();
    matches_crd_schema(&document).unwrap();
    let typed: RedisHttpInstance = serde_json::from_value(document.clone()).unwrap();
    kube::core::cel::validate_cel(&typed).unwrap();

    // The check can fail: an unknown field and a bad quantity are refused.
    let mut unknown = document.clone();
    unknown["spec"]["memroy"] = json!("64Mi");
    assert!(matches_crd_schema(&unknown).is_err());
    let mut zero = document.clone();
    zero["spec"]["limits"]["maxRequestsPerSecond"] = json!(0);
    assert!(matches_crd_schema(&zero).is_err(), "a limit of 0 was accepted");
    assert_eq!(typed.spec.limits.limits().max_request_size.map(std::num::NonZeroU64::get), Some(1 << 20));
    let mut bad = document;
    bad["spec"]["memory"] = json!("64MB");
    assert!(matches_crd_schema(&bad).unwrap_err().contains("does not match"));
}

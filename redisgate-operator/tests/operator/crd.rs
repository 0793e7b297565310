//! The CRD: the checked-in YAML matches the Rust types, and its CEL rules (memory bounds, no storage
//! shrink, no persistence toggle, the name rule) hold, evaluated client-side with kube's CEL support.

use std::path::PathBuf;

use kube::core::cel::{validate_cel, validate_cel_update};
use redisgate_operator::crd::{backup_crd_yaml, crd_yaml, RedisHttpBackup, RedisHttpInstance};
use serde_json::json;

fn deploy() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../deploy")
}

fn instance(name: &str, spec: serde_json::Value) -> RedisHttpInstance {
    RedisHttpInstance::new(name, serde_json::from_value(spec).unwrap())
}

#[test]
fn the_checked_in_crd_matches_the_rust_types() {
    let path = deploy().join("crds/redishttpinstance.yaml");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == crd_yaml(),
        "{} is stale: run `cargo run -p redisgate-operator --bin crdgen`",
        path.display()
    );
}

#[test]
fn the_checked_in_backup_crd_matches_the_rust_types_and_a_backup_never_changes() {
    let path = deploy().join("crds/redishttpbackup.yaml");
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == backup_crd_yaml(),
        "{} is stale: run `cargo run -p redisgate-operator --bin crdgen`",
        path.display()
    );
    let backup = |name: &str, instance: &str| {
        RedisHttpBackup::new(name, serde_json::from_value(json!({"instance": instance})).unwrap())
    };
    assert!(validate_cel(&backup("nightly", "cache")).is_ok());
    assert!(validate_cel(&backup(&"b".repeat(51), "cache")).is_err());
    assert!(validate_cel_update(&backup("nightly", "other"), &backup("nightly", "cache")).is_err());
    assert!(validate_cel_update(&backup("nightly", "cache"), &backup("nightly", "cache")).is_ok());
}

#[test]
fn memory_and_names_are_bounded_by_the_schema() {
    assert!(validate_cel(&instance("cache", json!({"memory": "64Mi"}))).is_ok());
    assert!(validate_cel(&instance("cache", json!({"memory": "16Mi"}))).is_err());
    assert!(validate_cel(&instance("cache", json!({"memory": "200Gi"}))).is_err());
    assert!(validate_cel(&instance("9lives", json!({"memory": "64Mi"}))).is_err());
    // 42: the control plane's 40 with the `i-` of a name that starts with a digit.
    assert!(validate_cel(&instance(&format!("i-1{}", "a".repeat(39)), json!({"memory": "64Mi"}))).is_ok());
    assert!(validate_cel(&instance(&"a".repeat(43), json!({"memory": "64Mi"}))).is_err());
}

#[test]
fn storage_never_shrinks_and_persistence_never_toggles() {
    let with =
        |persistence: serde_json::Value| instance("cache", json!({"memory": "64Mi", "persistence": persistence}));
    let old = with(json!({"enabled": true, "size": "2Gi"}));
    assert!(validate_cel_update(&with(json!({"enabled": true, "size": "3Gi"})), &old).is_ok());
    assert!(validate_cel_update(&with(json!({"enabled": true, "size": "1Gi"})), &old).is_err());
    assert!(validate_cel_update(&with(json!({"enabled": true, "size": "2048Mi"})), &old).is_ok());
    assert!(validate_cel_update(&with(json!({"enabled": false, "size": "2Gi"})), &old).is_err());
    let classed = with(json!({"enabled": true, "size": "2Gi", "storageClassName": "fast"}));
    assert!(validate_cel_update(&with(json!({"enabled": true, "size": "2Gi", "storageClassName": "slow"})), &classed)
        .is_err());
    assert!(validate_cel_update(&classed, &classed).is_ok());
}

#[test]
fn the_topology_mode_never_changes_and_replicas_may() {
    let with = |topology: serde_json::Value| instance("cache", json!({"memory": "64Mi", "topology": topology}));
    let single = instance("cache", json!({"memory": "64Mi"}));
    let two = with(json!({"mode": "replicated", "replicas": 2}));
    assert!(validate_cel(&two).is_ok());
    assert!(validate_cel_update(&with(json!({"mode": "replicated", "replicas": 3})), &two).is_ok());
    assert!(validate_cel_update(&two, &single).is_err(), "standalone cannot become replicated");
    assert!(validate_cel_update(&single, &two).is_err(), "replicated cannot become standalone");
    assert!(validate_cel(&with(json!({"mode": "replicated", "replicas": 1, "minReplicasToWrite": 2}))).is_err());
}

#[test]
fn a_clusters_shards_and_replicas_only_grow() {
    let with = |topology: serde_json::Value| instance("cache", json!({"memory": "64Mi", "topology": topology}));
    let three = with(json!({"mode": "cluster", "shards": 3}));
    assert!(validate_cel(&three).is_ok());
    assert!(validate_cel_update(&with(json!({"mode": "cluster", "shards": 4})), &three).is_ok());
    assert!(validate_cel_update(&with(json!({"mode": "cluster", "shards": 4, "replicasPerShard": 1})), &three).is_ok());
    assert!(validate_cel_update(&three, &with(json!({"mode": "cluster", "shards": 4}))).is_err(), "shards shrank");
    let replicated = with(json!({"mode": "cluster", "shards": 3, "replicasPerShard": 1}));
    assert!(validate_cel_update(&three, &replicated).is_err(), "replicas per shard shrank");
    assert!(validate_cel_update(&three, &with(json!({"mode": "replicated", "replicas": 1}))).is_err());
}

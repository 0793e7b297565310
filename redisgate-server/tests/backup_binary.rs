//! The `redisgate-backup` binary that the operator's backup Jobs run: it refuses a missing variable with exit
//! code 64, and against a real `redis-server` it stores the snapshot and prints the result as JSON.
#![allow(missing_docs)]

use std::process::Command;

use redisgate_core::provisioning::Credentials;
use redisgate_test_support::TestRedis;

const BIN: &str = env!("CARGO_BIN_EXE_redisgate-backup");

fn backup() -> Command {
    let mut command = Command::new(BIN);
    for (name, _) in std::env::vars().filter(|(name, _)| name.starts_with("REDISGATE_BACKUP_")) {
        command.env_remove(name);
    }
    command
}

#[test]
fn a_missing_variable_is_exit_code_64_naming_it() {
    let output = backup().env("REDISGATE_BACKUP_ADDRESS", "127.0.0.1:1").output().unwrap();
    assert_eq!(output.status.code(), Some(64));
    assert!(String::from_utf8_lossy(&output.stderr).contains("REDISGATE_BACKUP_PASSWORD is not set"));
}

#[test]
fn it_stores_the_snapshot_and_prints_what_it_stored() {
    let credentials = Credentials::generate();
    let redis = TestRedis::start_with_users(credentials.clone());
    let store = tempfile::tempdir().unwrap();
    let result = tempfile::NamedTempFile::new().unwrap();
    let output = backup()
        .env("REDISGATE_BACKUP_ADDRESS", format!("127.0.0.1:{}", redis.port()))
        .env("REDISGATE_BACKUP_PASSWORD", &credentials.admin)
        .env("REDISGATE_BACKUP_STORE", store.path())
        .env("REDISGATE_BACKUP_KEY", "ns/shop/first.rdb")
        .env("REDISGATE_BACKUP_RESULT", result.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let file = std::fs::read(store.path().join("ns/shop/first.rdb")).unwrap();
    assert_eq!(printed["size_bytes"], file.len());
    assert_eq!(printed["object_key"], "ns/shop/first.rdb");
    assert_eq!(std::fs::read_to_string(result.path()).unwrap(), printed.to_string());

    // A wrong password: exit 1, and the reason in the result for the operator to report.
    let output = backup()
        .env("REDISGATE_BACKUP_ADDRESS", format!("127.0.0.1:{}", redis.port()))
        .env("REDISGATE_BACKUP_PASSWORD", "wrong")
        .env("REDISGATE_BACKUP_STORE", store.path())
        .env("REDISGATE_BACKUP_KEY", "ns/shop/second.rdb")
        .env("REDISGATE_BACKUP_RESULT", result.path())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let written: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(result.path()).unwrap()).unwrap();
    assert!(written["error"].as_str().unwrap().contains("cannot count the keys"), "{written}");
    assert!(!store.path().join("ns/shop/second.rdb").exists());
}

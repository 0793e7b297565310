//! The config and command line the builders render, run in a real `redis-server` (kubernetes.md §3, L5):
//! the generated password is required, a wrong one fails, the authenticated probe passes only with the
//! right password, and maxmemory and the eviction policy are in force.

use redis::AsyncCommands as _;
use redisgate_operator::config::OperatorConfig;
use redisgate_operator::crd::RedisHttpInstance;
use redisgate_operator::redis_conf::{checksum, probe_command, ENV_CLI_AUTH};
use redisgate_operator::resources::{secret, statefulset, Desired};
use serde_json::json;

use crate::pod::{redis_container, Pod};

fn desired(spec: serde_json::Value) -> Desired {
    let mut instance = RedisHttpInstance::new("cache", serde_json::from_value(spec).unwrap());
    instance.metadata.namespace = Some("tenant".into());
    instance.metadata.uid = Some("0b4c5c1e-0000-4000-8000-000000000001".into());
    Desired::new(&instance, &OperatorConfig::default()).unwrap()
}

/// Starts the pod `spec` describes; returns it with its password.
async fn start(spec: serde_json::Value) -> (Desired, Pod, String) {
    let d = desired(spec);
    let password = secret::generate_password();
    let sts = statefulset::build(&d, &checksum(&d.conf, &password), None);
    let pod = Pod::start(&redis_container(&sts), &d.conf, &password).await;
    (d, pod, password)
}

async fn connect(pod: &Pod, password: Option<&str>) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
    let auth = password.map_or_else(String::new, |p| format!(":{p}@"));
    redis::Client::open(format!("redis://{auth}127.0.0.1:{}", pod.port))?.get_multiplexed_async_connection().await
}

#[tokio::test]
async fn the_generated_password_is_required_and_a_wrong_one_fails() {
    let (_, pod, password) = start(json!({"memory": "64Mi"})).await;
    let mut anonymous = connect(&pod, None).await.unwrap();
    let refused: redis::RedisResult<String> = redis::cmd("PING").query_async(&mut anonymous).await;
    assert!(refused.unwrap_err().to_string().contains("NOAUTH"));
    assert!(connect(&pod, Some("wrong-password")).await.is_err());
    let mut authenticated = connect(&pod, Some(&password)).await.unwrap();
    let pong: String = redis::cmd("PING").query_async(&mut authenticated).await.unwrap();
    assert_eq!(pong, "PONG");
}

#[tokio::test]
async fn the_probe_passes_only_with_the_password_from_the_secret() {
    let (_, pod, password) = start(json!({"memory": "64Mi"})).await;
    let probe = |auth: &str| {
        let command = probe_command(pod.port);
        std::process::Command::new(&command[0]).args(&command[1..]).env(ENV_CLI_AUTH, auth).status().unwrap()
    };
    assert!(probe(&password).success(), "redis-cli (apt-get install redis-tools) must pass the probe");
    assert!(!probe("wrong-password").success());
}

#[tokio::test]
async fn maxmemory_and_the_eviction_policy_are_in_force() {
    let (d, pod, password) = start(json!({"memory": "32Mi", "evictionPolicy": "allkeys-lru"})).await;
    let mut conn = connect(&pod, Some(&password)).await.unwrap();
    let config: Vec<String> = redis::cmd("CONFIG").arg("GET").arg("maxmemory*").query_async(&mut conn).await.unwrap();
    let value = |key: &str| config.chunks(2).find(|kv| kv[0] == key).map(|kv| kv[1].clone()).unwrap();
    assert_eq!(value("maxmemory"), d.max_memory.to_string());
    assert_eq!(value("maxmemory-policy"), "allkeys-lru");
    let appendonly: Vec<String> =
        redis::cmd("CONFIG").arg("GET").arg("appendonly").query_async(&mut conn).await.unwrap();
    assert_eq!(appendonly[1], "no");
    // 40 MiB of writes into 16 MiB: everything is accepted and old keys are evicted.
    let blob = vec![b'x'; 1024 * 1024];
    for i in 0..40 {
        let () = conn.set(format!("k{i}"), &blob).await.unwrap();
    }
    let keys: usize = redis::cmd("DBSIZE").query_async(&mut conn).await.unwrap();
    assert!(keys < 40, "nothing was evicted ({keys} keys)");

    // With noeviction the same writes are refused once full.
    let (_, pod, password) = start(json!({"memory": "32Mi"})).await;
    let mut conn = connect(&pod, Some(&password)).await.unwrap();
    let mut refused = None;
    for i in 0..40 {
        if let Err(e) = conn.set::<_, _, ()>(format!("k{i}"), &blob).await {
            refused = Some(e.to_string());
            break;
        }
    }
    assert!(refused.unwrap_or_default().contains("OOM"), "noeviction did not refuse writes beyond maxmemory");
}

//! `RedisHttpBackup` against the in-memory API server, under the operator's Role from deploy/: a backup
//! waits for its instance, then runs as a Job; that Job's environment, run here against a real
//! `redis-server` (the very code `redisgate-backup` runs), stores the snapshot; and its termination message
//! becomes the backup's status. A Cluster instance's backup fails at once, saying why.

use std::collections::HashMap;
use std::sync::Arc;

use kube::api::PostParams;
use kube::Api;
use redis::AsyncCommands as _;
use redisgate_core::provisioning::Credentials;
use redisgate_operator::backups;
use redisgate_operator::config::OperatorConfig;
use redisgate_operator::controller::{reconcile, Context};
use redisgate_operator::crd::{BackupPhase, RedisHttpBackup, RedisHttpInstance};
use redisgate_operator::metrics::Metrics;
use redisgate_operator::naming::DEFAULT_TENANT_NAMESPACE as NS;
use redisgate_platform::backup::one_shot::OneBackup;
use redisgate_test_support::TestRedis;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use crate::fake_api::{deploy_documents, FakeApi, Rbac};
use crate::fixtures::{base64_decode, password_secret, JOBS, SECRETS};

async fn backup(fake: &FakeApi, name: &str, instance: &str) -> Arc<RedisHttpBackup> {
    let spec = serde_json::from_value(json!({"instance": instance})).unwrap();
    let mut backup = RedisHttpBackup::new(name, spec);
    backup.metadata.namespace = Some(NS.into());
    let api: Api<RedisHttpBackup> = Api::namespaced(fake.client(), NS);
    api.create(&PostParams::default(), &backup).await.unwrap();
    Arc::new(api.get(name).await.unwrap())
}

async fn fetch(fake: &FakeApi, name: &str) -> Arc<RedisHttpBackup> {
    Arc::new(Api::<RedisHttpBackup>::namespaced(fake.client(), NS).get(name).await.unwrap())
}

/// The Job's container environment as the kubelet would give it: values, and Secret keys resolved.
fn job_env(fake: &FakeApi, job: &Value) -> HashMap<String, String> {
    let container = &job["spec"]["template"]["spec"]["containers"][0];
    container["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|var| {
            let value = match var["value"].as_str() {
                Some(value) => value.to_owned(),
                None => {
                    let reference = &var["valueFrom"]["secretKeyRef"];
                    let secret = fake.get(SECRETS, NS, reference["name"].as_str().unwrap()).unwrap();
                    base64_decode(secret["data"][reference["key"].as_str().unwrap()].as_str().unwrap())
                }
            };
            (var["name"].as_str().unwrap().to_owned(), value)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_waits_for_its_instance_runs_as_a_job_and_records_what_it_stored() {
    let fake = FakeApi::new(&[NS]);
    let rights = Rbac::of_service_account(&deploy_documents(), "redisgate-system", "redisgate-operator");
    let store = tempfile::tempdir().unwrap();
    let config =
        OperatorConfig { backup_store: Some(store.path().to_string_lossy().into_owned()), ..OperatorConfig::default() };
    let ctx = Arc::new(Context::new(fake.client_as(rights), config, Metrics::default()));

    // A backup of an instance that does not exist yet waits.
    let early = backup(&fake, "early", "shop").await;
    backups::reconcile(early, ctx.clone()).await.unwrap();
    let early = fetch(&fake, "early").await;
    let status = early.status.clone().unwrap();
    assert_eq!(status.phase, Some(BackupPhase::Pending));
    assert_eq!(status.conditions[0].reason, "InstanceNotFound");

    // The instance, its Secrets holding the passwords of a real server standing in for its pod.
    let credentials = Credentials::generate();
    let redis = TestRedis::start_with_users(credentials.clone());
    password_secret(&fake, NS, "shop-auth", &credentials.gateway).await;
    password_secret(&fake, NS, "shop-admin", &credentials.admin).await;
    let spec = serde_json::from_value(json!({"memory": "64Mi"})).unwrap();
    let mut instance = RedisHttpInstance::new("shop", spec);
    instance.metadata.namespace = Some(NS.into());
    let instances: Api<RedisHttpInstance> = Api::namespaced(fake.client(), NS);
    instances.create(&PostParams::default(), &instance).await.unwrap();
    reconcile(Arc::new(instances.get("shop").await.unwrap()), ctx.clone()).await.unwrap();
    // Not Ready yet: still pending, no Job.
    backups::reconcile(fetch(&fake, "early").await, ctx.clone()).await.unwrap();
    assert_eq!(fetch(&fake, "early").await.status.as_ref().unwrap().conditions[0].reason, "InstanceNotReady");
    assert!(fake.get(JOBS, NS, "early-backup").is_none());
    fake.mark_statefulset_ready(NS, "shop");
    reconcile(Arc::new(instances.get("shop").await.unwrap()), ctx.clone()).await.unwrap();
    assert!(instances.get("shop").await.unwrap().is_ready());

    let admin = credentials.admin_url(&format!("127.0.0.1:{}", redis.port()));
    let mut conn = redis::Client::open(admin).unwrap().get_multiplexed_async_connection().await.unwrap();
    for i in 0..50 {
        conn.set::<_, _, ()>(format!("k{i}"), i).await.unwrap();
    }

    backups::reconcile(fetch(&fake, "early").await, ctx.clone()).await.unwrap();
    let job = fake.get(JOBS, NS, "early-backup").expect("no backup Job");
    assert_eq!(job["metadata"]["ownerReferences"][0]["kind"], "RedisHttpBackup");
    assert_eq!(job["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/instance"], "shop");
    assert_eq!(job["spec"]["template"]["spec"]["containers"][0]["command"][0], "/usr/local/bin/redisgate-backup");
    let running = fetch(&fake, "early").await.status.clone().unwrap();
    assert_eq!(running.phase, Some(BackupPhase::Running));
    assert_eq!(running.object_key.as_deref(), Some("redisgate-instances/shop/early.rdb"));

    // The Job's container, run here with its environment (the Service dialled at the local server).
    let mut env = job_env(&fake, &job);
    assert_eq!(env["REDISGATE_BACKUP_ADDRESS"], "shop.redisgate-instances.svc.cluster.local:6379");
    env.insert("REDISGATE_BACKUP_ADDRESS".into(), format!("127.0.0.1:{}", redis.port()));
    let termination = tempfile::NamedTempFile::new().unwrap();
    env.insert("REDISGATE_BACKUP_RESULT".into(), termination.path().to_string_lossy().into_owned());
    let result = OneBackup::from_env(|name| env.get(name).cloned()).unwrap().run().await.unwrap();
    assert_eq!(result["keys"], 50);
    let stored = std::fs::read(store.path().join("redisgate-instances/shop/early.rdb")).unwrap();
    assert!(stored.starts_with(b"REDIS"));
    assert_eq!(result["sha256"], format!("{:x}", Sha256::digest(&stored)));

    // Kubernetes keeps the termination message; the operator reads it back.
    let message = std::fs::read_to_string(termination.path()).unwrap();
    fake.finish_job(NS, "early-backup", true, &message);
    backups::reconcile(fetch(&fake, "early").await, ctx.clone()).await.unwrap();
    let done = fetch(&fake, "early").await.status.clone().unwrap();
    assert_eq!(done.phase, Some(BackupPhase::Completed), "{done:?}");
    assert_eq!((done.keys, done.size_bytes), (Some(50), Some(stored.len() as u64)));
    assert_eq!(done.sha256.as_deref(), result["sha256"].as_str());
    assert_eq!(done.conditions[0].status, "True");

    // A failed Job: its error is the backup's message.
    let broken = backup(&fake, "broken", "shop").await;
    backups::reconcile(broken, ctx.clone()).await.unwrap();
    fake.finish_job(NS, "broken-backup", false, r#"{"error": "backup storage failed: uploading: denied"}"#);
    backups::reconcile(fetch(&fake, "broken").await, ctx.clone()).await.unwrap();
    let failed = fetch(&fake, "broken").await.status.clone().unwrap();
    assert_eq!(failed.phase, Some(BackupPhase::Failed));
    assert!(failed.message.unwrap().contains("denied"));

    // A Cluster instance's backup fails at once.
    let spec = serde_json::from_value(json!({"memory": "64Mi", "topology": {"mode": "cluster"}})).unwrap();
    let mut cluster = RedisHttpInstance::new("sharded", spec);
    cluster.metadata.namespace = Some(NS.into());
    instances.create(&PostParams::default(), &cluster).await.unwrap();
    backups::reconcile(backup(&fake, "sharded-1", "sharded").await, ctx.clone()).await.unwrap();
    let refused = fetch(&fake, "sharded-1").await.status.clone().unwrap();
    assert_eq!(refused.phase, Some(BackupPhase::Failed));
    assert!(refused.message.unwrap().contains("Cluster"));
    assert!(fake.forbidden().is_empty(), "{:?}", fake.forbidden());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_creates_a_backup_when_due_and_keeps_the_newest() {
    use k8s_openapi::jiff::{SignedDuration, Timestamp};
    use kube::api::{Patch, PatchParams};
    use redisgate_operator::backups::schedule::{self, LABEL_SCHEDULED_FOR};

    let fake = FakeApi::new(&[NS]);
    let rights = Rbac::of_service_account(&deploy_documents(), "redisgate-system", "redisgate-operator");
    let config = OperatorConfig { backup_store: Some("s3://backups/redisgate".into()), ..OperatorConfig::default() };
    let ctx = Arc::new(Context::new(fake.client_as(rights), config, Metrics::default()));
    let spec = json!({"memory": "64Mi", "backup": {"everyHours": 6, "keepLast": 2}});
    let mut instance = RedisHttpInstance::new("nightly", serde_json::from_value(spec).unwrap());
    instance.metadata.namespace = Some(NS.into());
    let instances: Api<RedisHttpInstance> = Api::namespaced(fake.client(), NS);
    instances.create(&PostParams::default(), &instance).await.unwrap();
    let current = || async { Arc::new(instances.get("nightly").await.unwrap()) };
    let backups: Api<RedisHttpBackup> = Api::namespaced(fake.client(), NS);
    let scheduled = || async {
        let params = kube::api::ListParams::default().labels(&format!("{LABEL_SCHEDULED_FOR}=nightly"));
        let listed = backups.list(&params).await.unwrap();
        let mut names: Vec<String> = listed.items.iter().map(|b| b.metadata.name.clone().unwrap()).collect();
        names.sort();
        names
    };

    // Not Ready: no backup yet. Ready: the first one, and not a second one at the next reconcile.
    reconcile(current().await, ctx.clone()).await.unwrap();
    assert!(scheduled().await.is_empty());
    fake.mark_statefulset_ready(NS, "nightly");
    reconcile(current().await, ctx.clone()).await.unwrap();
    reconcile(current().await, ctx.clone()).await.unwrap();
    let first = scheduled().await;
    assert_eq!(first.len(), 1, "{first:?}");
    let made = backups.get(&first[0]).await.unwrap();
    assert_eq!(made.spec.instance, "nightly");
    assert_eq!(made.metadata.owner_references.as_ref().unwrap()[0].name, "nightly");

    // Six hours on, the next; and so on. The oldest finished ones beyond the newest two go.
    let now = Timestamp::now();
    let later = |hours: i64| now.checked_add(SignedDuration::from_hours(hours)).unwrap();
    let due_in = schedule::run(&*current().await, &ctx, later(1)).await.unwrap();
    let due_in = due_in.expect("a schedule").as_secs();
    assert!((5 * 3600 - 60..=5 * 3600).contains(&due_in), "the next one is due in {due_in} s, not 5 h");
    assert_eq!(scheduled().await.len(), 1, "not due after an hour");
    schedule::run(&*current().await, &ctx, later(7)).await.unwrap();
    schedule::run(&*current().await, &ctx, later(14)).await.unwrap();
    let three = scheduled().await;
    assert_eq!(three.len(), 3, "{three:?}");
    let completed = json!({"status": {"phase": "Completed"}});
    for name in &three {
        backups.patch_status(name, &PatchParams::default(), &Patch::Merge(&completed)).await.unwrap();
    }
    schedule::run(&*current().await, &ctx, later(21)).await.unwrap();
    let kept = scheduled().await;
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(!kept.contains(&three[0]) && !kept.contains(&three[1]) && kept.contains(&three[2]), "{kept:?}");
    assert!(fake.forbidden().is_empty(), "{:?}", fake.forbidden());
}

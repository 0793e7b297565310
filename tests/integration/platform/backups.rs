//! Backups and restores through the management API, on real `redis-server`s and PostgreSQL: a backup
//! brings back every key and expiry after `FLUSHALL`; bad RDB files are refused and the data stays; the
//! files can go to S3-compatible storage (moto); the schedule and the retention work; only admins and
//! owners restore; every step is audited.

use std::time::Duration;

use redis::AsyncCommands as _;
use redisgate_platform::provisioner::local::node_admin_urls;
use redisgate_test_support::{eventually, TestPlatform, TestS3};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

struct Tenant {
    token: String,
    org: String,
    id: String,
}

impl Tenant {
    async fn new(platform: &TestPlatform, name: &str) -> Self {
        let token = platform.user(&format!("{name}@example.com")).await;
        let org = platform.organization(&token, name).await;
        let body = json!({"name": name, "max_memory": 128 * 1024 * 1024, "redis_version": "7"});
        let created = platform.create_running(&token, &org, body).await;
        let id = created["instance"]["id"].as_str().unwrap().to_owned();
        Self { token, org, id }
    }

    fn path(&self, rest: &str) -> String {
        format!("/api/organizations/{}/redis-instances/{}{rest}", self.org, self.id)
    }

    /// Takes a backup and waits until it is done; returns it.
    async fn backup(&self, platform: &TestPlatform) -> Value {
        let (status, backup) = platform.api("POST", &self.path("/backups"), Some(&self.token), None).await;
        assert_eq!(status, 202, "{backup}");
        assert_eq!(backup["state"], "running");
        self.wait_done(platform, backup["id"].as_str().unwrap()).await
    }

    async fn wait_done(&self, platform: &TestPlatform, backup: &str) -> Value {
        let path = self.path(&format!("/backups/{backup}"));
        let mut last = Value::Null;
        for _ in 0..600 {
            let (_, body) = platform.api("GET", &path, Some(&self.token), None).await;
            if body["state"] != "running" {
                last = body;
                break;
            }
            // The backup runs in the background: its record is the only thing to watch.
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(last["state"], "done", "{last}");
        last
    }

    async fn audit_actions(&self, platform: &TestPlatform) -> Vec<String> {
        let path = format!("/api/organizations/{}/audit-log", self.org);
        let (_, log) = platform.api("GET", &path, Some(&self.token), None).await;
        log["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
    }
}

async fn dbsize(redis: &mut redis::aio::MultiplexedConnection) -> u64 {
    redis::cmd("DBSIZE").query_async(redis).await.unwrap()
}

/// `count` keys, each with a time to live of 1,000 to 10,999 s but every hundredth (none).
async fn fill(redis: &mut redis::aio::MultiplexedConnection, count: u32) {
    for start in (0..count).step_by(10_000) {
        let mut pipe = redis::pipe();
        for i in start..(start + 10_000).min(count) {
            if i % 100 == 0 {
                pipe.set(format!("key:{i}"), format!("value {i}")).ignore();
            } else {
                pipe.set_ex(format!("key:{i}"), format!("value {i}"), u64::from(1000 + i % 10_000)).ignore();
            }
        }
        pipe.query_async::<()>(redis).await.unwrap();
    }
}

/// Every key's absolute expiry in ms (`PEXPIRETIME`: -1 for none).
async fn expiries(redis: &mut redis::aio::MultiplexedConnection, count: u32) -> Vec<i64> {
    let mut all = Vec::new();
    for start in (0..count).step_by(10_000) {
        let mut pipe = redis::pipe();
        for i in start..(start + 10_000).min(count) {
            pipe.cmd("PEXPIRETIME").arg(format!("key:{i}"));
        }
        all.extend(pipe.query_async::<Vec<i64>>(redis).await.unwrap());
    }
    all
}

#[tokio::test]
async fn a_backup_brings_back_every_key_and_expiry_after_flushall_and_survives_a_restart() {
    let platform = TestPlatform::start().await;
    let tenant = Tenant::new(&platform, "backed").await;
    let mut redis = platform.admin_connection(&tenant.id).await;
    fill(&mut redis, 100_000).await;
    let before = expiries(&mut redis, 100_000).await;
    assert_eq!(before.iter().filter(|&&e| e == -1).count(), 1000);

    let backup = tenant.backup(&platform).await;
    assert_eq!(backup["keys"], 100_000, "{backup}");
    assert_eq!(backup["trigger"], "manual");
    assert!(backup["size_bytes"].as_i64().unwrap() > 1_000_000, "{backup}");
    assert_eq!(backup["sha256"].as_str().unwrap().len(), 64);

    redis::cmd("FLUSHALL").query_async::<()>(&mut redis).await.unwrap();
    assert_eq!(dbsize(&mut redis).await, 0);
    let restore = json!({"backup_id": backup["id"]});
    let (status, restored) = platform.api("POST", &tenant.path("/restore"), Some(&tenant.token), Some(restore)).await;
    assert_eq!(status, 200, "{restored}");
    assert_eq!(restored["keys"], 100_000);
    assert_eq!(restored["size_bytes"], backup["size_bytes"]);

    let mut redis = platform.admin_connection(&tenant.id).await;
    assert_eq!(dbsize(&mut redis).await, 100_000);
    let after = expiries(&mut redis, 100_000).await;
    let drift = before.iter().zip(&after).map(|(b, a)| (b - a).abs()).max().unwrap();
    assert!(drift <= 1000, "an expiry moved by {drift} ms");
    let value: String = redis.get("key:4242").await.unwrap();
    assert_eq!(value, "value 4242");
    // The data plane serves the restored data with the instance's tokens, as before.
    let actions = tenant.audit_actions(&platform).await;
    assert!(actions.contains(&"backup.create".to_owned()) && actions.contains(&"instance.restore".to_owned()));

    // The restored data is the instance's durable data now (its AOF), not only what the server loaded.
    let platform = platform.restart().await;
    let mut redis = platform.admin_connection(&tenant.id).await;
    assert_eq!(dbsize(&mut redis).await, 100_000);
}

#[tokio::test]
async fn truncated_corrupt_and_foreign_files_are_refused_and_the_data_stays() {
    let platform = TestPlatform::start().await;
    let tenant = Tenant::new(&platform, "guarded").await;
    let mut redis = platform.admin_connection(&tenant.id).await;
    fill(&mut redis, 2_000).await;
    let backup = tenant.backup(&platform).await;

    // The export is the stored file, byte for byte.
    let export = tenant.path(&format!("/backups/{}/rdb", backup["id"].as_str().unwrap()));
    let response =
        platform.http().get(format!("{}{export}", platform.url())).bearer_auth(&tenant.token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/octet-stream");
    let rdb = response.bytes().await.unwrap().to_vec();
    assert_eq!(format!("{:x}", Sha256::digest(&rdb)), backup["sha256"].as_str().unwrap());

    redis.set::<_, _, ()>("only-now", "kept").await.unwrap();
    // The last 8 bytes are the file's CRC64: changing one makes the checksum fail. Garbage in the middle
    // fails one way or another (a bad type, length or checksum).
    let mut corrupt = rdb.clone();
    let last = corrupt.len() - 1;
    corrupt[last] ^= 0xff;
    let mut garbled = rdb.clone();
    let middle = garbled.len() / 2;
    garbled[middle..middle + 16].copy_from_slice(b"XXXXXXXXXXXXXXXX");
    let newer = [b"REDIS0099".as_slice(), &rdb[9..]].concat();
    let cases: [(&str, Vec<u8>, &str); 5] = [
        ("truncated", rdb[..rdb.len() / 2].to_vec(), "Unexpected EOF"),
        ("corrupt", corrupt, "CRC"),
        ("garbled", garbled, ""),
        ("foreign", b"PK\x03\x04 a zip file, say".to_vec(), "Wrong signature"),
        ("newer", newer, "RDB format version 99"),
    ];
    for (what, body, reason) in cases {
        let (status, answer) = import(&platform, &tenant, body).await;
        assert_eq!(status, 422, "{what}: {answer}");
        let error = answer["error"].as_str().unwrap();
        assert!(error.contains("cannot be loaded") && error.contains(reason), "{what}: {error}");
        let mut redis = platform.admin_connection(&tenant.id).await;
        assert_eq!(dbsize(&mut redis).await, 2_001, "{what}");
        assert_eq!(redis.get::<_, String>("only-now").await.unwrap(), "kept", "{what}");
    }

    // The good file imports: the data is the backup's again.
    let (status, answer) = import(&platform, &tenant, rdb).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["keys"], 2_000);
    let mut redis = platform.admin_connection(&tenant.id).await;
    assert_eq!(dbsize(&mut redis).await, 2_000);
    assert!(!redis.exists::<_, bool>("only-now").await.unwrap());
    let actions = tenant.audit_actions(&platform).await;
    assert_eq!(actions.iter().filter(|a| *a == "instance.import").count(), 6);
    assert!(actions.contains(&"backup.export".to_owned()));
}

async fn import(platform: &TestPlatform, tenant: &Tenant, body: Vec<u8>) -> (u16, Value) {
    let url = format!("{}{}", platform.url(), tenant.path("/rdb"));
    let response = platform
        .http()
        .put(url)
        .bearer_auth(&tenant.token)
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

#[tokio::test]
async fn members_see_backups_but_only_admins_and_owners_restore_import_and_export() {
    let platform = TestPlatform::start().await;
    let tenant = Tenant::new(&platform, "roles").await;
    let backup = tenant.backup(&platform).await;
    let member = platform.user("viewer@example.com").await;
    platform.join(&tenant.token, &tenant.org, &member, "viewer@example.com", "member").await;

    let (status, list) = platform.api("GET", &tenant.path("/backups"), Some(&member), None).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["items"][0]["id"], backup["id"]);
    let restore = json!({"backup_id": backup["id"]});
    let id = backup["id"].as_str().unwrap();
    for (method, path, body) in [
        ("POST", tenant.path("/restore"), Some(restore)),
        ("PUT", tenant.path("/rdb"), None),
        ("GET", tenant.path(&format!("/backups/{id}/rdb")), None),
        ("POST", tenant.path("/backups"), None),
        ("DELETE", tenant.path(&format!("/backups/{id}")), None),
    ] {
        let (status, answer) = platform.api(method, &path, Some(&member), body).await;
        assert_eq!(status, 403, "{method} {path}: {answer}");
    }
    // Another organization learns nothing.
    let stranger = platform.user("stranger@example.com").await;
    let (status, _) = platform.api("GET", &tenant.path("/backups"), Some(&stranger), None).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_schedule_takes_backups_when_due_and_the_retention_keeps_the_newest() {
    let platform = TestPlatform::start().await;
    let tenant = Tenant::new(&platform, "scheduled").await;
    let policy = json!({"every_hours": 24, "keep_last": 2});
    let (status, answer) =
        platform.api("PUT", &tenant.path("/backup-policy"), Some(&tenant.token), Some(policy.clone())).await;
    assert_eq!(status, 200, "{answer}");
    let (status, answer) =
        platform.api("PUT", &tenant.path("/backup-policy"), Some(&tenant.token), Some(json!({"keep_last": 0}))).await;
    assert_eq!(status, 422, "{answer}");
    assert!(answer["fields"]["keep_last"].is_string(), "{answer}");

    assert_eq!(platform.control().backups().start_due().await.unwrap(), 1);
    let (_, list) = platform.api("GET", &tenant.path("/backups"), Some(&tenant.token), None).await;
    let scheduled = tenant.wait_done(&platform, list["items"][0]["id"].as_str().unwrap()).await;
    assert_eq!(scheduled["trigger"], "scheduled");
    // Not due again for 24 hours.
    assert_eq!(platform.control().backups().start_due().await.unwrap(), 0);

    let second = tenant.backup(&platform).await;
    let third = tenant.backup(&platform).await;
    let kept = eventually(Duration::from_secs(10), || async {
        let (_, list) = platform.api("GET", &tenant.path("/backups"), Some(&tenant.token), None).await;
        let ids: Vec<&Value> = list["items"].as_array().unwrap().iter().map(|b| &b["id"]).collect();
        ids == [&third["id"], &second["id"]]
    })
    .await;
    assert!(kept, "the oldest backup was not pruned");
    let path = tenant.path(&format!("/backups/{}", scheduled["id"].as_str().unwrap()));
    assert_eq!(platform.api("GET", &path, Some(&tenant.token), None).await.0, 404);
    let files = walk(&platform.state_dir().join("backups"));
    assert_eq!(files.len(), 2, "{files:?}");
    let actions = tenant.audit_actions(&platform).await;
    assert!(actions.contains(&"backup.policy".to_owned()));
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[tokio::test]
async fn backups_go_to_s3_compatible_storage_and_come_back_into_any_instance_of_the_organization() {
    let s3 = TestS3::start().await;
    for (name, value) in s3.env() {
        // SAFETY-free on edition 2021; each test runs in its own process under nextest.
        std::env::set_var(name, value);
    }
    let platform = TestPlatform::start_with_backup_store("s3://backups/redisgate").await;
    let tenant = Tenant::new(&platform, "in-s3").await;
    let mut redis = platform.admin_connection(&tenant.id).await;
    fill(&mut redis, 5_000).await;
    let backup = tenant.backup(&platform).await;
    let id = backup["id"].as_str().unwrap();
    let keys = s3.keys().await;
    assert_eq!(keys, [format!("redisgate/{}/{}/{id}.rdb", tenant.org, tenant.id)]);
    assert!(!platform.state_dir().join("backups").exists());

    redis::cmd("FLUSHALL").query_async::<()>(&mut redis).await.unwrap();
    let restore = json!({"backup_id": id});
    let (status, restored) = platform.api("POST", &tenant.path("/restore"), Some(&tenant.token), Some(restore)).await;
    assert_eq!(status, 200, "{restored}");
    let mut redis = platform.admin_connection(&tenant.id).await;
    assert_eq!(dbsize(&mut redis).await, 5_000);

    // Restored into another instance of the organization: it gets the same data.
    let body = json!({"name": "in-s3-copy", "max_memory": 128 * 1024 * 1024, "redis_version": "7"});
    let created = platform.create_running(&tenant.token, &tenant.org, body).await;
    let copy = Tenant {
        token: tenant.token.clone(),
        org: tenant.org.clone(),
        id: created["instance"]["id"].as_str().unwrap().to_owned(),
    };
    let restore = json!({"backup_id": id});
    let (status, restored) = platform.api("POST", &copy.path("/restore"), Some(&copy.token), Some(restore)).await;
    assert_eq!(status, 200, "{restored}");
    assert_eq!(dbsize(&mut platform.admin_connection(&copy.id).await).await, 5_000);
    // A backup of another organization is not found.
    let stranger = Tenant::new(&platform, "stranger").await;
    let restore = json!({"backup_id": id});
    let (status, _) = platform.api("POST", &stranger.path("/restore"), Some(&stranger.token), Some(restore)).await;
    assert_eq!(status, 404);

    // Deleting the instance deletes its backups' files.
    let path = format!("/api/organizations/{}/redis-instances/{}", tenant.org, tenant.id);
    assert_eq!(platform.api("DELETE", &path, Some(&tenant.token), None).await.0, 202);
    assert!(s3.keys().await.is_empty());
}

/// `(role, full syncs it served)` of a data node.
async fn sync_stats(url: &str) -> (String, u64) {
    let mut conn = redis::Client::open(url).unwrap().get_multiplexed_async_connection().await.unwrap();
    let info: String = redis::cmd("INFO").arg("everything").query_async(&mut conn).await.unwrap();
    let field =
        |name: &str| info.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(':')).unwrap().trim().to_owned();
    (field("role"), field("sync_full").parse().unwrap())
}

#[tokio::test]
async fn a_replicated_instance_is_backed_up_from_its_replica_and_restored_on_its_master_and_replicas() {
    let platform = TestPlatform::start().await;
    let token = platform.user("ha-backup@example.com").await;
    let org = platform.organization(&token, "ha-backup").await;
    let topology = json!({"mode": "replicated", "replicas": 1, "min_replicas_to_write": 0});
    let body = json!({"name": "ha-backup", "max_memory": 16 << 20, "redis_version": "7", "topology": topology});
    let created = platform.create_running(&token, &org, body).await;
    let tenant = Tenant { token, org, id: created["instance"]["id"].as_str().unwrap().to_owned() };
    let urls: Vec<String> =
        node_admin_urls(&platform.state_dir().join("instances").join(&tenant.id)).into_iter().map(|(_, u)| u).collect();
    let mut before = Vec::new();
    for url in &urls {
        before.push(sync_stats(url).await);
    }
    let master = &urls[before.iter().position(|(role, _)| role == "master").unwrap()];
    let replica = &urls[before.iter().position(|(role, _)| role == "slave").unwrap()];
    let mut conn = redis::Client::open(master.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();
    fill(&mut conn, 300).await;
    let on_replica = redis::Client::open(replica.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let synced = eventually(Duration::from_secs(10), || {
        let mut c = on_replica.clone();
        async move { dbsize(&mut c).await == 300 }
    })
    .await;
    assert!(synced, "the replica did not get the keys");

    let backup = tenant.backup(&platform).await;
    assert_eq!(backup["keys"], 300, "{backup}");
    // The replica served the snapshot (one more full sync); the master served none.
    assert_eq!(sync_stats(replica).await.1, before[urls.iter().position(|u| u == replica).unwrap()].1 + 1);
    assert_eq!(sync_stats(master).await.1, before[urls.iter().position(|u| u == master).unwrap()].1);

    // FLUSHALL reaches the replica too; the restore brings the data back on both, the same master serving.
    redis::cmd("FLUSHALL").query_async::<()>(&mut conn).await.unwrap();
    let restore = json!({"backup_id": backup["id"]});
    let (status, answer) = platform.api("POST", &tenant.path("/restore"), Some(&tenant.token), Some(restore)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["keys"], 300);
    let mut conn = redis::Client::open(master.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();
    assert_eq!(sync_stats(master).await.0, "master");
    assert_eq!(dbsize(&mut conn).await, 300);
    let on_replica = redis::Client::open(replica.as_str()).unwrap().get_multiplexed_async_connection().await.unwrap();
    let synced = eventually(Duration::from_secs(10), || {
        let mut c = on_replica.clone();
        async move { dbsize(&mut c).await == 300 }
    })
    .await;
    assert!(synced, "the replica did not copy the restored data");
    // Writes go on after the restore.
    conn.set::<_, _, ()>("after", "restore").await.unwrap();
}

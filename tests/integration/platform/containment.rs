//! Tenant containment (docs/security.md): a token can do only what a managed Redis allows, directly, in a
//! pipeline or transaction, and inside scripts and functions, whose commands run with the gateway's Redis
//! user's permissions. Each attempt is checked against the server's configuration and users, read over the
//! admin connection that no token reaches.

use redis::aio::MultiplexedConnection;
use redisgate_core::protocol::table::{self, Class};
use redisgate_test_support::{TestPlatform, TestRedis};
use serde_json::{json, Value};

/// What an attacker with a token tries (each reproduced against the first version, where it worked).
fn attacks(migrate_port: u16) -> Vec<Vec<String>> {
    let port = migrate_port.to_string();
    [
        &["CONFIG", "SET", "maxmemory", "0"][..],
        &["CONFIG", "SET", "requirepass", "x"],
        &["CONFIG", "SET", "save", "1 1"],
        &["CONFIG", "GET", "*"],
        &["CONFIG", "REWRITE"],
        &["CONFIG", "RESETSTAT"],
        &["ACL", "SETUSER", "evil", "on", ">pw", "+@all", "~*"],
        &["ACL", "LIST"],
        &["ACL", "GETUSER", "redisgate-admin"],
        &["ACL", "DELUSER", "redisgate-admin"],
        &["ACL", "LOG"],
        &["MIGRATE", "127.0.0.1", &port, "canary", "0", "1000", "COPY"],
        &["SAVE"],
        &["BGSAVE"],
        &["BGREWRITEAOF"],
        &["LASTSAVE"],
        &["DEBUG", "SLEEP", "0"],
        &["MODULE", "LIST"],
        &["REPLICAOF", "127.0.0.1", &port],
        &["SLAVEOF", "127.0.0.1", &port],
        &["FAILOVER"],
        &["CLUSTER", "RESET"],
        &["SWAPDB", "0", "1"],
        &["MOVE", "canary", "1"],
        &["CLIENT", "KILL", "TYPE", "normal"],
        &["CLIENT", "LIST"],
        &["SLOWLOG", "RESET"],
        &["LATENCY", "RESET"],
        &["PFDEBUG", "GETREG", "canary"],
        &["ROLE"],
        &["SCRIPT", "DEBUG", "YES"],
        &["SHUTDOWN", "NOSAVE"],
    ]
    .iter()
    .map(|args| args.iter().map(|a| (*a).to_owned()).collect())
    .collect()
}

const LIBRARY: &str = "#!lua name=contain\n\
    redis.register_function('run', function(keys, args) return redis.call(unpack(args)) end)\n\
    redis.register_function{function_name='run_ro', callback=function(keys, args) return redis.call(unpack(args)) end, flags={'no-writes'}}";
const SCRIPT: &str = "return redis.call(unpack(ARGV))";

/// Everything an attack could change: the configuration, the users, where the data lives and the canary.
async fn server_state(admin: &mut MultiplexedConnection) -> Vec<Value> {
    let mut state = Vec::new();
    for command in [&["CONFIG", "GET", "*"][..], &["ACL", "LIST"], &["ROLE"], &["DBSIZE"], &["GET", "canary"]] {
        let mut cmd = redis::cmd(command[0]);
        cmd.arg(&command[1..]);
        let value: redis::Value = cmd.query_async(admin).await.unwrap();
        state.push(json!(format!("{value:?}")));
    }
    state
}

/// A data-plane call with a JSON body against the instance `contained`.
async fn post(platform: &TestPlatform, path: &str, token: &str, body: &Value) -> (u16, Value) {
    super::post(platform, &format!("/db/contained{path}"), token, &body.to_string()).await
}

fn prefixed(prefix: &[&str], args: &[String]) -> Value {
    json!(prefix.iter().map(|p| (*p).to_owned()).chain(args.iter().cloned()).collect::<Vec<_>>())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_commands_fail_directly_in_batches_and_inside_scripts_and_change_nothing() {
    let platform = TestPlatform::start().await;
    let jwt = platform.user("c@example.com").await;
    let org = platform.organization(&jwt, "containment").await;
    let created = platform.running_instance(&jwt, &org, "contained").await;
    let id = created["instance"]["id"].as_str().unwrap();
    let full = created["credentials"]["token"].as_str().unwrap().to_owned();
    let readonly = created["credentials"]["readonly_token"].as_str().unwrap().to_owned();
    assert_eq!(post(&platform, "", &full, &json!(["SET", "canary", "alive"])).await, (200, json!({"result": "OK"})));
    let (status, loaded) = post(&platform, "", &full, &json!(["FUNCTION", "LOAD", LIBRARY])).await;
    assert_eq!((status, &loaded), (200, &json!({"result": "contain"})));

    let mut admin = platform.admin_connection(id).await;
    let before = server_state(&mut admin).await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    for attack in attacks(listener.local_addr().unwrap().port()) {
        let tries = [
            ("direct", "", &full, json!(attack)),
            ("direct, read-only", "", &readonly, json!(attack)),
            ("EVAL", "", &full, prefixed(&["EVAL", SCRIPT, "0"], &attack)),
            ("EVAL_RO, read-only", "", &readonly, prefixed(&["EVAL_RO", SCRIPT, "0"], &attack)),
            ("FCALL", "", &full, prefixed(&["FCALL", "run", "0"], &attack)),
            ("FCALL_RO, read-only", "", &readonly, prefixed(&["FCALL_RO", "run_ro", "0"], &attack)),
            ("multi-exec", "/multi-exec", &full, json!([attack])),
        ];
        for (how, path, token, body) in tries {
            let (status, reply) = post(&platform, path, token, &body).await;
            assert_eq!(status, 400, "{attack:?} {how}: {reply}");
            assert!(reply["error"].is_string(), "{attack:?} {how}: {reply}");
        }
        // In a batch a refused command gets its error in place; a script's error inside a transaction too
        // (the transaction was queued; the script failed when it ran).
        for (how, path, token, body) in [
            ("pipeline", "/pipeline", &full, json!([attack, ["PING"]])),
            ("pipeline FCALL", "/pipeline", &full, json!([prefixed(&["FCALL", "run", "0"], &attack), ["PING"]])),
            ("pipeline, read-only", "/pipeline", &readonly, json!([attack, ["PING"]])),
            ("multi-exec EVAL", "/multi-exec", &full, json!([prefixed(&["EVAL", SCRIPT, "0"], &attack), ["PING"]])),
        ] {
            let (status, reply) = post(&platform, path, token, &body).await;
            assert_eq!(status, 200, "{attack:?} {how}: {reply}");
            assert!(reply[0]["error"].is_string(), "{attack:?} {how}: {reply}");
            assert_eq!(reply[1], json!({"result": "PONG"}), "{attack:?} {how}");
        }
        assert_eq!(server_state(&mut admin).await, before, "{attack:?} changed the server");
    }
    // The instance still serves, with its data, and the scripts that tenants do run still work.
    assert_eq!(post(&platform, "", &full, &json!(["GET", "canary"])).await, (200, json!({"result": "alive"})));
    let (status, reply) = post(&platform, "", &full, &json!(["FCALL", "run", "0", "INCR", "counter"])).await;
    assert_eq!((status, reply), (200, json!({"result": 1})));
    let (status, reply) = post(&platform, "", &full, &json!(["EVAL_RO", SCRIPT, "0", "GET", "canary"])).await;
    assert_eq!((status, reply), (200, json!({"result": "alive"})));
    // A read-only token runs no script: inside one, Redis allows KEYS and SCAN, which the token may not run.
    for script in [json!(["EVAL_RO", SCRIPT, "0", "KEYS", "*"]), json!(["FCALL_RO", "run_ro", "0", "SCAN", "0"])] {
        let (status, reply) = post(&platform, "", &readonly, &script).await;
        assert_eq!(status, 400, "{script}: {reply}");
        assert!(reply["error"].as_str().unwrap().starts_with("NOPERM"), "{script}: {reply}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_made_before_users_existed_is_migrated_when_adopted() {
    let platform = TestPlatform::start().await;
    let jwt = platform.user("m@example.com").await;
    let org = platform.organization(&jwt, "migration").await;
    let created = platform.running_instance(&jwt, &org, "contained").await;
    let id = created["instance"]["id"].as_str().unwrap().to_owned();
    let token = created["credentials"]["token"].as_str().unwrap().to_owned();
    assert_eq!(post(&platform, "", &token, &json!(["SET", "canary", "old"])).await.0, 200);

    // Rewrite the instance as the first version left it: `requirepass`, no users, no credentials file.
    let dir = platform.state_dir().join("instances").join(&id);
    let platform = platform
        .restart_with(|| {
            let credentials = redisgate_platform::provisioner::local::read_credentials(&dir).unwrap();
            let conf = std::fs::read_to_string(dir.join("redis.conf")).unwrap();
            let mut legacy: Vec<String> = conf
                .lines()
                .filter(|l| !l.starts_with("user ") && !l.starts_with("sanitize") && !l.starts_with("enable-"))
                .map(str::to_owned)
                .collect();
            legacy.push(format!("requirepass {}", credentials.gateway));
            std::fs::write(dir.join("redis.conf"), legacy.join("\n") + "\n").unwrap();
            std::fs::remove_file(dir.join("credentials.json")).unwrap();
        })
        .await;
    let jwt = {
        let login = json!({"email": "m@example.com", "password": "correct horse 1"});
        platform.api("POST", "/api/auth/login", None, Some(login)).await.1["token"].as_str().unwrap().to_owned()
    };
    assert_eq!(platform.wait_status(&jwt, &org, &id, "running").await, "running");
    // The token still works, the data is there, and the server now has its users.
    assert_eq!(post(&platform, "", &token, &json!(["GET", "canary"])).await, (200, json!({"result": "old"})));
    let (status, _) = post(&platform, "", &token, &json!(["EVAL", SCRIPT, "0", "SWAPDB", "0", "1"])).await;
    assert_eq!(status, 400, "the migrated gateway user can still swap databases");
    let conf = std::fs::read_to_string(dir.join("redis.conf")).unwrap();
    assert!(conf.contains("user default off") && !conf.contains("requirepass"), "{conf}");
    let mut admin = platform.admin_connection(&id).await;
    let users: Vec<String> = redis::cmd("ACL").arg("USERS").query_async(&mut admin).await.unwrap();
    assert_eq!(users, ["default", "redisgate", "redisgate-admin"]);
}

/// Every command and subcommand of the Redis this runs against (7.0, and 8.2 with RedisJSON) has a row in the
/// command table (allowed or refused); a command a new version adds fails here until someone gives it one.
#[test]
fn every_command_of_this_redis_is_classified() {
    let redis = TestRedis::start();
    let mut conn = redis.connection();
    let commands: redis::Value = redis::cmd("COMMAND").query(&mut conn).unwrap();
    let mut names = Vec::new();
    collect_names(&commands, &mut names);
    assert!(names.len() > 200, "COMMAND listed only {} commands", names.len());
    let unclassified: Vec<&String> = names
        .iter()
        .filter(|name| {
            let (name, sub) = name.split_once('|').map_or((name.as_str(), None), |(n, s)| (n, Some(s)));
            table::find(name, sub).is_none()
        })
        .collect();
    assert!(unclassified.is_empty(), "give these a row in redisgate-core/src/protocol/table/rows.rs: {unclassified:?}");
    // A container command is classified per subcommand.
    assert!(names.iter().any(|n| n == "config|set"), "COMMAND lists no subcommands");
    assert!(matches!(table::find("config", Some("set")).map(|row| row.class), Some(Class::Refused(_))));
}

/// The names in `COMMAND`'s reply: each entry is `[name, arity, flags, first, last, step, categories, tips,
/// key specs, subcommands]`, and subcommands (`config|set`) are entries of the same shape; a container's
/// own name is left out.
fn collect_names(entries: &redis::Value, out: &mut Vec<String>) {
    let redis::Value::Array(entries) = entries else { return };
    for entry in entries {
        let redis::Value::Array(fields) = entry else { continue };
        // A container (CONFIG, ACL…) is classified by its subcommands.
        if let Some(subcommands @ redis::Value::Array(list)) = fields.get(9) {
            if !list.is_empty() {
                collect_names(subcommands, out);
                continue;
            }
        }
        match fields.first() {
            Some(redis::Value::BulkString(name)) => out.push(String::from_utf8_lossy(name).to_ascii_lowercase()),
            Some(redis::Value::SimpleString(name)) => out.push(name.to_ascii_lowercase()),
            _ => {}
        }
    }
}

/// The soft address-space limit of process `pid`, from `/proc/<pid>/limits`.
fn address_space_limit(pid: u32) -> u64 {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits.lines().find(|l| l.starts_with("Max address space")).unwrap();
    line.split_whitespace().nth(3).unwrap().parse().unwrap()
}

async fn server_pid(admin: &mut MultiplexedConnection) -> u32 {
    let info: String = redis::cmd("INFO").arg("server").query_async(admin).await.unwrap();
    info.lines().find_map(|l| l.strip_prefix("process_id:")?.trim().parse().ok()).unwrap()
}

/// Work is bounded on the instances the local provisioner runs (issue 27, item 10): a script past 1 s is
/// stopped by the gateway (`busy-reply-threshold`), and the server's address space is bounded by its size,
/// also after a resize, so Lua strings or buffers (which `maxmemory` does not count) cannot take the host.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_server_is_bounded_in_time_and_memory() {
    const MIB: i64 = 1024 * 1024;
    let platform = TestPlatform::start().await;
    let jwt = platform.user("bounded@example.com").await;
    let org = platform.organization(&jwt, "bounded").await;
    let created = platform.running_instance(&jwt, &org, "bounded-db").await;
    let id = created["instance"]["id"].as_str().unwrap().to_owned();
    let token = created["credentials"]["token"].as_str().unwrap().to_owned();
    let mut admin = platform.admin_connection(&id).await;
    let threshold: Vec<String> =
        redis::cmd("CONFIG").arg("GET").arg("busy-reply-threshold").query_async(&mut admin).await.unwrap();
    assert_eq!(threshold[1], "1000");
    let memory = created["instance"]["max_memory"].as_i64().unwrap();
    let pid = server_pid(&mut admin).await;
    assert_eq!(address_space_limit(pid), u64::try_from(2 * memory + 512 * MIB).unwrap());
    let path = format!("/api/organizations/{org}/redis-instances/{id}");
    let (status, _) = platform.api("PATCH", &path, Some(&jwt), Some(json!({"max_memory": 32 * MIB}))).await;
    assert_eq!(status, 200);
    assert_eq!(
        address_space_limit(pid),
        u64::try_from(2 * 32 * MIB + 512 * MIB).unwrap(),
        "the bound follows a resize"
    );

    // A script that never ends is stopped once another request finds the instance busy.
    let looping = super::post(&platform, "/db/bounded-db", &token, r#"["eval","while true do end","0"]"#);
    let pinging = async {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let (status, body) = super::post(&platform, "/db/bounded-db", &token, r#"["ping"]"#).await;
            if status == 200 {
                return body;
            }
            assert!(std::time::Instant::now() < deadline, "the instance stayed busy: {body}");
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    };
    let ((status, stopped), pong) = tokio::join!(looping, pinging);
    assert_eq!(pong, json!({"result": "PONG"}));
    assert_eq!(status, 400);
    assert!(stopped["error"].as_str().unwrap().contains("killed"), "{stopped}");
}

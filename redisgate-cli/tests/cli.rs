//! The built `redisgate` binary against a running platform: the whole journey in both output modes,
//! wrong credentials, an unreachable server, bad arguments.
#![allow(missing_docs)]

use std::process::{Command, Output, Stdio};

use redisgate_test_support::TestPlatform;

const BIN: &str = env!("CARGO_BIN_EXE_redisgate");

struct Cli {
    config: tempfile::TempDir,
    url: String,
}

impl Cli {
    fn new(url: &str) -> Self {
        Self { config: tempfile::tempdir().unwrap(), url: url.to_owned() }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .args(args)
            .env("REDISGATE_CONFIG_DIR", self.config.path())
            .env("REDISGATE_URL", &self.url)
            .env_remove("REDISGATE_API_TOKEN")
            .env_remove("REDISGATE_PROFILE")
            .stdin(Stdio::null());
        command
    }

    async fn run(&self, args: &[&str]) -> Output {
        let mut command = self.command(args);
        tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap()
    }

    async fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args).await;
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(output.status.success(), "{args:?}: {stdout}{}", String::from_utf8_lossy(&output.stderr));
        stdout
    }

    async fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let stdout = self.ok(&all).await;
        serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {stdout}"))
    }

    async fn fails(&self, args: &[&str], code: i32, needle: &str) {
        let output = self.run(args).await;
        let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert_eq!(output.status.code(), Some(code), "{args:?}: {text}");
        assert!(text.contains(needle), "{args:?} should mention {needle:?}: {text}");
        assert!(!text.contains("panicked"), "{args:?} panicked: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_journey_in_tables() {
    let platform = TestPlatform::start().await;
    let cli = Cli::new(&platform.url());
    let out = cli.ok(&["register", "--email", "ada@example.com", "--password", "correct horse 1"]).await;
    assert!(out.contains("registered and logged in as ada@example.com"), "{out}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let profile = cli.config.path().join("profiles/default");
        assert_eq!(std::fs::metadata(profile.join("token")).unwrap().permissions().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(&profile).unwrap().permissions().mode() & 0o777, 0o700);
    }
    assert!(cli.ok(&["org", "create", "acme"]).await.contains("created organization acme"));
    let out = cli.ok(&["instance", "create", "table-db", "--memory", "16mb"]).await;
    assert!(out.contains("running") && out.contains("rgt_"), "{out}");
    assert_eq!(cli.ok(&["exec", "table-db", "SET", "k", "v w"]).await.trim(), "OK");
    assert_eq!(cli.ok(&["exec", "table-db", "GET", "k"]).await.trim(), "\"v w\"");
    assert_eq!(cli.ok(&["exec", "table-db", "LRANGE", "none", "0", "-1"]).await.trim(), "(empty array)");
    let out = cli.ok(&["instance", "list"]).await;
    assert!(out.contains("table-db") && out.contains("running") && out.contains("16mb"), "{out}");
    let out = cli.ok(&["key", "create", "ci", "--scope", "data:read,instances:manage"]).await;
    let id = out.lines().find_map(|l| l.strip_prefix("id")).unwrap().trim().to_owned();
    assert!(cli.ok(&["key", "list"]).await.contains(&id));
    assert!(cli.ok(&["key", "revoke", &id]).await.contains("revoked"));
    assert!(!cli.ok(&["key", "list"]).await.contains(&id));
    // subscribe prints messages as they are published, and Ctrl-C ends it cleanly.
    let mut subscriber = cli.command(&["subscribe", "table-db", "news", "alerts.*"]);
    subscriber.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = subscriber.spawn().unwrap();
    let mut ready = String::new();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    std::io::BufRead::read_line(&mut stderr, &mut ready).unwrap();
    assert!(ready.contains("subscribed to news, alerts.*"), "{ready}");
    assert_eq!(cli.ok(&["exec", "table-db", "PUBLISH", "news", "hello there"]).await.trim(), "(integer) 1");
    assert_eq!(cli.ok(&["exec", "table-db", "PUBLISH", "alerts.disk", "full"]).await.trim(), "(integer) 1");
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut lines = Vec::new();
    for _ in 0..2 {
        let mut line = String::new();
        std::io::BufRead::read_line(&mut stdout, &mut line).unwrap();
        lines.push(line.trim().to_owned());
    }
    lines.sort();
    assert_eq!(lines, ["alerts.disk: full", "news: hello there"]);
    assert!(Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap().success());
    let status = tokio::task::spawn_blocking(move || child.wait().unwrap()).await.unwrap();
    assert!(status.success(), "{status:?}");

    assert!(cli.ok(&["instance", "delete", "table-db"]).await.contains("deleting instance table-db"));
    cli.fails(&["exec", "table-db", "PING"], 4, "no saved token").await;
    assert!(cli.ok(&["logout"]).await.contains("logged out"));
    cli.fails(&["instance", "list"], 3, "not logged in").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_journey_in_json() {
    let platform = TestPlatform::start().await;
    let cli = Cli::new(&platform.url());
    let session = cli.json(&["register", "--email", "bob@example.com", "--password", "correct horse 1"]).await;
    assert_eq!(session["email"], "bob@example.com");
    let org = cli.json(&["org", "create", "bobs"]).await;
    assert_eq!(org["slug"], "bobs");
    let created = cli.json(&["instance", "create", "json-db", "--memory", "16mb"]).await;
    assert_eq!(created["instance"]["status"], "running");
    assert!(created["credentials"]["token"].as_str().unwrap().starts_with("rgt_"));
    assert_eq!(cli.json(&["exec", "json-db", "SET", "n", "1"]).await, "OK");
    assert_eq!(cli.json(&["exec", "json-db", "INCR", "n"]).await, 2);
    assert_eq!(cli.json(&["exec", "json-db", "MGET", "n", "none"]).await, serde_json::json!(["2", null]));
    let mut pipe = cli.command(&["--json", "pipe", "json-db"]);
    pipe.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = pipe.spawn().unwrap();
    use std::io::Write as _;
    child.stdin.take().unwrap().write_all(b"INCR n\nSET 'quoted key' \"a b\"\nGET 'quoted key'\n").unwrap();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()).await.unwrap();
    assert!(output.status.success());
    assert_eq!(String::from_utf8_lossy(&output.stdout).lines().collect::<Vec<_>>(), ["3", "\"OK\"", "\"a b\""]);
    let instances = cli.json(&["instance", "list"]).await;
    assert_eq!(instances[0]["name"], "json-db");
    let key = cli.json(&["key", "create", "reader", "--scope", "data:read", "--instance", "json-db"]).await;
    assert!(key["secret"].as_str().unwrap().starts_with("rgk_"));
    let id = key["id"].as_str().unwrap();
    assert_eq!(cli.json(&["key", "list"]).await.as_array().unwrap().len(), 1);
    assert_eq!(cli.json(&["key", "revoke", id]).await["revoked"], id);
    let rotated = cli.json(&["instance", "rotate", "json-db"]).await;
    assert_ne!(rotated["token"], created["credentials"]["token"]);
    assert_eq!(cli.json(&["exec", "json-db", "GET", "n"]).await, "3", "the rotated token was saved and works");
    cli.json(&["instance", "delete", "json-db"]).await;
    let error = cli.run(&["--json", "exec", "json-db", "PING"]).await;
    assert_eq!(error.status.code(), Some(4));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_unreachable_servers_and_bad_arguments() {
    let platform = TestPlatform::start().await;
    let cli = Cli::new(&platform.url());
    cli.ok(&["register", "--email", "eve@example.com", "--password", "correct horse 1"]).await;
    cli.fails(&["login", "--email", "eve@example.com", "--password", "wrong horse 1"], 3, "authentication failed")
        .await;
    cli.fails(&["register", "--email", "not-an-email", "--password", "x"], 2, "email").await;
    cli.fails(&["instance", "create", "no-org-yet"], 4, "redisgate org create").await;
    cli.ok(&["org", "create", "eves"]).await;
    cli.fails(&["instance", "create", "Bad_Name"], 2, "name").await;
    cli.fails(&["instance", "create", "x1", "--memory", "lots"], 2, "--memory").await;
    cli.fails(&["instance", "get", "nothing"], 4, "no instance 'nothing'").await;
    cli.fails(&["org", "nope"], 2, "unrecognized subcommand").await;
    cli.fails(&["key", "revoke", "not-a-uuid"], 2, "invalid value").await;
    cli.fails(&["exec", "nothing"], 4, "no saved token").await;

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let nowhere = Cli::new(&format!("http://{closed}"));
    nowhere
        .fails(&["login", "--email", "eve@example.com", "--password", "correct horse 1"], 5, "is the platform running")
        .await;
    let no_url = Cli::new("");
    let mut command = no_url.command(&["org", "list"]);
    command.env_remove("REDISGATE_URL");
    let output = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no server URL"));
    let help = cli.ok(&["--help"]).await;
    assert!(help.contains("Examples:") && help.contains("redisgate dev"));
    assert!(cli.ok(&["completions", "bash"]).await.contains("redisgate"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_and_daily_usage() {
    use serde_json::json;

    let platform = TestPlatform::start().await;
    let cli = Cli::new(&platform.url());
    cli.ok(&["register", "--email", "lim@example.com", "--password", "correct horse 1"]).await;
    cli.ok(&["org", "create", "limited"]).await;
    let limit_flags = ["--max-requests-per-second", "1000", "--max-daily-requests", "100000", "--max-key-size", "1kb"];
    let mut create = vec!["instance", "create", "limited-db", "--memory", "16mb"];
    create.extend_from_slice(&limit_flags);
    let created = cli.json(&create).await;
    assert_eq!(created["instance"]["status"], "running");
    assert_eq!(
        created["instance"]["limits"],
        json!({"max_requests_per_second": 1000, "max_daily_requests": 100_000, "max_key_size": 1024})
    );

    let out = cli.ok(&["instance", "limits", "limited-db"]).await;
    for needle in ["max-requests-per-second", "1000", "max-daily-requests", "100000", "max-key-size", "1kb"] {
        assert!(out.contains(needle), "{needle}: {out}");
    }
    assert!(out.lines().any(|l| l.starts_with("max-record-size") && l.ends_with("unlimited")), "{out}");
    let out = cli.ok(&["instance", "show", "limited-db"]).await;
    assert!(out.contains("1000 requests/s, 100000 requests/day, 1kb per key"), "{out}");
    let out = cli.ok(&["instance", "list"]).await;
    assert!(out.contains("LIMITS") && out.contains("1kb per key"), "{out}");

    // Commands through the data plane: 3 with exec, 5 in one pipeline; a key over 1kb is refused.
    assert_eq!(cli.ok(&["exec", "limited-db", "SET", "n", "1"]).await.trim(), "OK");
    assert_eq!(cli.ok(&["exec", "limited-db", "INCR", "n"]).await.trim(), "(integer) 2");
    assert_eq!(cli.ok(&["exec", "limited-db", "GET", "n"]).await.trim(), "\"2\"");
    let mut pipe = cli.command(&["pipe", "limited-db"]);
    pipe.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut child = pipe.spawn().unwrap();
    use std::io::Write as _;
    child.stdin.take().unwrap().write_all(b"INCR n\nINCR n\nINCR n\nGET n\nDEL n\n").unwrap();
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap()).await.unwrap();
    assert!(output.status.success(), "{output:?}");
    let sent = 8;
    let long_key = "k".repeat(2000);
    let refused = cli.run(&["exec", "limited-db", "SET", &long_key, "v"]).await;
    assert!(!refused.status.success(), "a 2000-byte key passed a 1kb limit: {refused:?}");

    // Gateways flush their counts every few seconds: poll until they arrive.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let usage = loop {
        let usage = cli.json(&["instance", "usage", "limited-db"]).await;
        if usage["total"].as_u64().unwrap() >= sent {
            break usage;
        }
        assert!(std::time::Instant::now() < deadline, "usage never reached {sent} commands: {usage}");
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    };
    assert_eq!(usage["instance_id"], created["instance"]["id"]);
    let days = usage["days"].as_array().unwrap();
    assert_eq!(days.len(), 30, "30 days by default");
    let sum: u64 = days.iter().map(|d| d["commands"].as_u64().unwrap()).sum();
    assert_eq!(sum, usage["total"].as_u64().unwrap());
    assert!(days.windows(2).all(|w| w[0]["day"].as_str() < w[1]["day"].as_str()), "oldest first: {usage}");

    let three = cli.json(&["instance", "usage", "limited-db", "--days", "3"]).await;
    let three_days: Vec<&str> = three["days"].as_array().unwrap().iter().map(|d| d["day"].as_str().unwrap()).collect();
    assert_eq!(three_days.len(), 3);
    let out = cli.ok(&["instance", "usage", "limited-db", "--days", "3"]).await;
    assert!(out.contains("DAY") && out.contains("COMMANDS"), "{out}");
    for day in &three_days {
        assert!(out.contains(day), "{day}: {out}");
    }
    let total_line = out.lines().find(|l| l.starts_with("total: ")).unwrap_or_else(|| panic!("no total: {out}"));
    assert!(total_line.ends_with("commands in the last 3 days"), "{total_line}");
    let total: u64 = total_line["total: ".len()..].split(' ').next().unwrap().parse().unwrap();
    assert!(total >= sent, "{out}");
    cli.fails(&["instance", "usage", "limited-db", "--days", "91"], 2, "91").await;
    cli.fails(&["instance", "usage", "nothing"], 4, "no instance 'nothing'").await;

    // Flags change what they name and keep the rest; `none` removes one; --clear removes all.
    let limits =
        cli.json(&["instance", "limits", "limited-db", "--max-request-size", "64kb", "--max-key-size", "none"]).await;
    assert_eq!(
        limits,
        json!({"max_requests_per_second": 1000, "max_daily_requests": 100_000, "max_request_size": 65536})
    );
    assert_eq!(cli.json(&["instance", "get", "limited-db"]).await["limits"], limits, "the server kept them");
    assert!(cli.ok(&["exec", "limited-db", "SET", &long_key, "v"]).await.contains("OK"), "no key limit any more");
    cli.fails(&["instance", "limits", "limited-db", "--max-key-size", "0"], 2, "at least 1").await;
    cli.fails(&["instance", "limits", "limited-db", "--max-requests-per-second", "lots"], 2, "whole number").await;
    let limits = cli.json(&["instance", "limits", "limited-db", "--clear", "--max-concurrent-connections", "20"]).await;
    assert_eq!(limits, json!({"max_concurrent_connections": 20}));
    assert_eq!(cli.json(&["instance", "limits", "limited-db", "--clear"]).await, json!({}));
    let out = cli.ok(&["instance", "show", "limited-db"]).await;
    assert!(out.lines().any(|l| l.starts_with("limits") && l.ends_with("unlimited")), "{out}");
    assert!(!cli.ok(&["instance", "list"]).await.contains("LIMITS"));

    // Keys take the same limits, except the daily one.
    let key = cli
        .json(&[
            "key",
            "create",
            "slow",
            "--scope",
            "data:read",
            "--instance",
            "limited-db",
            "--max-requests-per-second",
            "5",
        ])
        .await;
    assert_eq!(key["limits"], json!({"max_requests_per_second": 5}));
    let out = cli.ok(&["key", "list"]).await;
    assert!(out.contains("LIMITS") && out.contains("5 requests/s"), "{out}");
    cli.fails(
        &["key", "create", "daily", "--scope", "data:read", "--max-daily-requests", "5"],
        2,
        "--max-daily-requests",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_a_private_ca_needs_ca_cert() {
    use redisgate_gateway::tls::TlsFiles;
    use redisgate_test_support::{Purpose, TestCa};

    let ca = TestCa::new("platform-ca");
    let issued = ca.issue("platform", Purpose::Server);
    let platform = TestPlatform::start_https(&TlsFiles { cert: issued.cert, key: issued.key }).await;
    assert!(platform.url().starts_with("https://"));
    let cli = Cli::new(&platform.url());
    let register = ["register", "--email", "tls@example.com", "--password", "correct horse 1"];
    cli.fails(&register, 5, "certificate").await;
    let ca_cert = ca.cert().display().to_string();
    let with_ca = |args: &[&'static str]| [&["--ca-cert", ca_cert.as_str()][..], args].concat();
    assert!(cli.ok(&with_ca(&register)).await.contains("registered and logged in"));
    assert!(cli.ok(&with_ca(&["org", "create", "tls-org"])).await.contains("created organization"));
    let out = cli.ok(&with_ca(&["instance", "create", "tls-db", "--memory", "16mb"])).await;
    assert!(out.contains("https://"), "the REST URL is https: {out}");
    assert_eq!(cli.ok(&with_ca(&["exec", "tls-db", "SET", "k", "v"])).await.trim(), "OK");
    assert_eq!(cli.ok(&with_ca(&["exec", "tls-db", "GET", "k"])).await.trim(), "\"v\"");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_sets_plans_and_logout_ends_every_session() {
    let platform = TestPlatform::start().await;
    let cli = Cli::new(&platform.url());
    cli.ok(&["register", "--email", "plan@example.com", "--password", "correct horse 1"]).await;
    cli.ok(&["org", "create", "planned"]).await;
    let admin = |args: &[&str]| {
        let mut command = cli.command(args);
        command.env("REDISGATE_DATABASE_URL", platform.database().url());
        async move { tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap() }
    };
    let text = |output: &Output| {
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
    };

    let set = [
        "--json",
        "admin",
        "plan",
        "set",
        "small",
        "--instances",
        "1",
        "--memory",
        "32mb",
        "--max-requests-per-second",
        "50",
    ];
    let output = admin(&set).await;
    assert!(output.status.success(), "{}", text(&output));
    let plans: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        plans,
        serde_json::json!([{"name": "small", "max_instances": 1, "max_memory": 32 << 20, "limits": {"max_requests_per_second": 50}}])
    );
    let output = admin(&["admin", "plan", "set", "bigger", "--memory", "1gb"]).await;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(text(&output).contains("needs --instances and --memory"), "{}", text(&output));
    let output = admin(&["admin", "plan", "assign", "planned", "nonexistent"]).await;
    assert_eq!(output.status.code(), Some(4), "{}", text(&output));
    let output = admin(&["admin", "plan", "assign", "planned", "small"]).await;
    assert!(output.status.success(), "{}", text(&output));
    let output = admin(&["admin", "plan", "list"]).await;
    let listed = text(&output);
    assert!(listed.contains("small") && listed.contains("default") && listed.contains("50 requests/s"), "{listed}");

    // The tenant meets the plan: one instance of its memory, and no more.
    let created = cli.json(&["instance", "create", "planned-a", "--memory", "16mb"]).await;
    assert_eq!(created["instance"]["limits"], serde_json::json!({"max_requests_per_second": 50}));
    cli.fails(&["instance", "create", "planned-b", "--memory", "16mb"], 1, "plan 'small' allows 1 instances").await;

    // Logging out ends the session on the server, not only in the profile.
    let out = cli.json(&["logout"]).await;
    assert_eq!((out["logged_out"].as_bool(), out["sessions_ended"].as_bool()), (Some(true), Some(true)), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replicated_instance_lists_its_nodes_and_scales() {
    let platform = TestPlatform::start().await;
    let cli = Cli::new(&platform.url());
    cli.ok(&["register", "--email", "rep@example.com", "--password", "correct horse 1"]).await;
    cli.ok(&["org", "create", "reps"]).await;
    let out = cli.ok(&["instance", "create", "ha-cli", "--memory", "16mb", "--replicas", "1"]).await;
    assert!(out.contains("replicated: 1 replica"), "{out}");
    assert_eq!(cli.ok(&["exec", "ha-cli", "SET", "k", "v"]).await.trim(), "OK");
    let out = cli.ok(&["instance", "show", "ha-cli"]).await;
    let nodes: Vec<&str> = out.lines().filter(|l| l.starts_with("node")).collect();
    assert_eq!(nodes.len(), 5, "a master, a replica and three Sentinels: {out}");
    assert!(nodes.iter().any(|l| l.contains("master 127.0.0.1:") && l.ends_with("healthy")), "{out}");
    assert!(nodes.iter().any(|l| l.contains("replica 127.0.0.1:") && l.contains("behind")), "{out}");
    assert_eq!(nodes.iter().filter(|l| l.contains("sentinel")).count(), 3, "{out}");
    let scaled = cli.json(&["instance", "scale", "ha-cli", "--replicas", "2"]).await;
    assert_eq!(scaled["topology"]["replicas"], 2);
    cli.fails(&["instance", "create", "bad-ha", "--replicas", "9"], 2, "topology").await;
    cli.fails(&["instance", "create", "bad-min", "--min-replicas-to-write", "1"], 2, "--replicas").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_lists_its_shards_and_grows() {
    let platform = TestPlatform::start().await;
    let cli = Cli::new(&platform.url());
    cli.ok(&["register", "--email", "shards@example.com", "--password", "correct horse 1"]).await;
    cli.ok(&["org", "create", "shards"]).await;
    let out = cli.ok(&["instance", "create", "big-cli", "--memory", "16mb", "--shards", "3"]).await;
    assert!(out.contains("cluster: 3 shards, 0 replicas each"), "{out}");
    assert_eq!(cli.ok(&["exec", "big-cli", "SET", "k", "v"]).await.trim(), "OK");
    let out = cli.ok(&["instance", "show", "big-cli"]).await;
    let nodes: Vec<&str> = out.lines().filter(|l| l.starts_with("node")).collect();
    assert_eq!(nodes.len(), 3, "{out}");
    assert!(nodes.iter().any(|l| l.contains("master 127.0.0.1:") && l.ends_with("shard 0, slots 0-5460")), "{out}");
    let grown = cli.json(&["instance", "scale", "big-cli", "--shards", "4"]).await;
    assert_eq!(grown["topology"]["shards"], 4);
    assert_eq!(cli.ok(&["exec", "big-cli", "GET", "k"]).await.trim(), "\"v\"", "the key survived the move");
    cli.fails(&["instance", "create", "two-cli", "--shards", "2"], 2, "topology").await;
    cli.fails(&["instance", "create", "both-cli", "--shards", "3", "--replicas", "1"], 2, "--replicas").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backups_exports_imports_and_restores_from_the_command_line() {
    let platform = TestPlatform::start().await;
    let cli = Cli::new(&platform.url());
    cli.ok(&["register", "--email", "bk@example.com", "--password", "correct horse 1"]).await;
    cli.ok(&["org", "create", "bk-org"]).await;
    cli.ok(&["instance", "create", "bk-db", "--memory", "16mb"]).await;
    cli.ok(&["exec", "bk-db", "SET", "k", "before"]).await;

    let backup = cli.json(&["instance", "backup", "bk-db"]).await;
    assert_eq!((backup["state"].as_str(), backup["keys"].as_i64()), (Some("done"), Some(1)), "{backup}");
    let id = backup["id"].as_str().unwrap();
    let list = cli.json(&["instance", "backups", "bk-db"]).await;
    assert_eq!(list[0]["id"], backup["id"]);
    assert!(cli.ok(&["instance", "backups", "bk-db"]).await.contains(id));

    let file = cli.config.path().join("bk.rdb");
    let path = file.to_str().unwrap();
    let exported = cli.json(&["instance", "export", "bk-db", "--backup", id, "-o", path]).await;
    assert_eq!(exported["size_bytes"], backup["size_bytes"]);
    assert_eq!(std::fs::metadata(&file).unwrap().len(), backup["size_bytes"].as_u64().unwrap());

    cli.ok(&["exec", "bk-db", "SET", "k", "after"]).await;
    let restored = cli.json(&["instance", "restore", "bk-db", "--backup", id]).await;
    assert_eq!(restored["keys"], 1);
    assert_eq!(cli.ok(&["exec", "bk-db", "GET", "k"]).await.trim(), "\"before\"");

    cli.ok(&["exec", "bk-db", "SET", "k", "again"]).await;
    let out = cli.ok(&["instance", "import", "bk-db", path]).await;
    assert!(out.contains("imported") && out.contains("1 keys"), "{out}");
    assert_eq!(cli.ok(&["exec", "bk-db", "GET", "k"]).await.trim(), "\"before\"");

    let bytes = std::fs::read(&file).unwrap();
    let truncated = cli.config.path().join("truncated.rdb");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    cli.fails(&["instance", "import", "bk-db", truncated.to_str().unwrap()], 1, "cannot be loaded").await;
    assert_eq!(cli.ok(&["exec", "bk-db", "GET", "k"]).await.trim(), "\"before\"");

    let policy = cli.json(&["instance", "backup-policy", "bk-db", "--every-hours", "12", "--keep-last", "3"]).await;
    assert_eq!(policy, serde_json::json!({"every_hours": 12, "keep_last": 3, "keep_days": null}));
    let policy = cli.json(&["instance", "backup-policy", "bk-db", "--keep-days", "7"]).await;
    assert_eq!(policy, serde_json::json!({"every_hours": 12, "keep_last": 3, "keep_days": 7}));
    cli.fails(&["instance", "backup-policy", "bk-db", "--keep-last", "0"], 2, "keep_last").await;
    cli.fails(&["instance", "restore", "bk-db", "--backup", "nope"], 2, "not a backup id").await;
}

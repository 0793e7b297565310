//! `TestSentinels`: a master, a replica and three Sentinels watching them (quorum 2,
//! `down-after-milliseconds` 1000), all on free loopback ports, ready to fail over.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::redis_server::{binary, free_port};
use crate::TestRedis;

/// The master's name in the sentinels' configuration.
pub const MASTER: &str = "mymaster";

/// A replicated pair under three Sentinels; everything is killed on drop.
pub struct TestSentinels {
    /// The master at start.
    pub master: TestRedis,
    /// Its replica.
    pub replica: TestRedis,
    sentinels: Vec<(Child, u16, tempfile::TempDir)>,
}

impl TestSentinels {
    /// Starts them all and waits until every sentinel knows the replica and the other two sentinels (so a
    /// failover can be agreed on). The waiting runs on a blocking thread, never on the test's runtime.
    ///
    /// # Panics
    /// When a server does not start or the sentinels do not find each other within 30 s.
    pub async fn start() -> Self {
        tokio::task::spawn_blocking(Self::start_blocking)
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }

    fn start_blocking() -> Self {
        let master = TestRedis::start();
        let replica = TestRedis::start_replica_of(master.port());
        let sentinels = (0..3).map(|_| spawn_sentinel(master.port())).collect();
        let this = Self { master, replica, sentinels };
        let deadline = Instant::now() + Duration::from_secs(30);
        // The first sync waits for repl-diskless-sync-delay (5 s): a failover before it promotes an empty
        // replica.
        let mut replica = this.replica.connection();
        while !redis::cmd("INFO")
            .arg("replication")
            .query::<String>(&mut replica)
            .unwrap()
            .contains("master_link_status:up")
        {
            assert!(Instant::now() < deadline, "the replica did not sync");
            std::thread::sleep(Duration::from_millis(50));
        }
        for (_, port, _) in &this.sentinels {
            let mut connection =
                redis::Client::open(format!("redis://127.0.0.1:{port}")).unwrap().get_connection().unwrap();
            loop {
                let replicas: Vec<std::collections::HashMap<String, String>> =
                    redis::cmd("SENTINEL").arg("REPLICAS").arg(MASTER).query(&mut connection).unwrap_or_default();
                let others: Vec<std::collections::HashMap<String, String>> =
                    redis::cmd("SENTINEL").arg("SENTINELS").arg(MASTER).query(&mut connection).unwrap_or_default();
                let replica_up = replicas.iter().any(|r| r.get("flags").is_some_and(|f| f == "slave"));
                if replica_up && others.len() == 2 {
                    break;
                }
                assert!(Instant::now() < deadline, "the sentinels did not find the replica and each other");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        this
    }

    /// `redis+sentinel://127.0.0.1:<p1>,…/mymaster`.
    #[must_use]
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self.sentinels.iter().map(|(_, port, _)| format!("127.0.0.1:{port}")).collect();
        format!("redis+sentinel://{}/{MASTER}", hosts.join(","))
    }
}

impl Drop for TestSentinels {
    fn drop(&mut self) {
        for (child, _, _) in &mut self.sentinels {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A sentinel watching the master on `master_port`, once it says it monitors it.
fn spawn_sentinel(master_port: u16) -> (Child, u16, tempfile::TempDir) {
    for _ in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        // Sentinel rewrites its file, so it lives in a directory of its own.
        let conf = dir.path().join("sentinel.conf");
        std::fs::write(
            &conf,
            format!(
                "port {port}\nbind 127.0.0.1\ndir {dir}\nsentinel monitor {MASTER} 127.0.0.1 {master_port} 2\n\
                 sentinel down-after-milliseconds {MASTER} 1000\nsentinel failover-timeout {MASTER} 5000\n\
                 sentinel parallel-syncs {MASTER} 1\n",
                dir = dir.path().display()
            ),
        )
        .unwrap();
        let mut child = Command::new(binary())
            .arg(&conf)
            .arg("--sentinel")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {} --sentinel: {e}", binary().display()));
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let monitoring = lines.by_ref().map_while(Result::ok).any(|line| line.contains("+monitor master"));
        if monitoring {
            // Keep reading so the sentinel never blocks on a full pipe.
            std::thread::spawn(move || lines.for_each(drop));
            return (child, port, dir);
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("redis-server --sentinel did not start after 20 attempts");
}

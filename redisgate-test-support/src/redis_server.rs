//! `TestRedis`: a private `redis-server` on a free loopback port.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// A running `redis-server`, killed when dropped.
pub struct TestRedis {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    password: Option<String>,
}

impl TestRedis {
    /// Starts a server on a free port.
    ///
    /// # Panics
    /// When `redis-server` cannot be found or does not start: the message says what to install.
    #[must_use]
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// Starts a server that requires `password`.
    ///
    /// # Panics
    /// As [`TestRedis::start`].
    #[must_use]
    pub fn start_with_password(password: &str) -> Self {
        Self::start_with(Some(password.to_owned()))
    }

    fn start_with(password: Option<String>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut server = Self { child: None, port: 0, dir, password };
        for _ in 0..20 {
            server.port = free_port();
            if server.spawn() {
                return server;
            }
        }
        panic!("redis-server did not start after 20 attempts");
    }

    /// Spawns the process on `self.port` and waits for "Ready to accept connections"; `false` when the
    /// port was taken in the meantime.
    fn spawn(&mut self) -> bool {
        let binary = binary();
        let mut command = Command::new(&binary);
        command
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--logfile", "", "--dir"])
            .arg(self.dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Some(password) = &self.password {
            command.args(["--requirepass", password]);
        }
        if let Ok(modules) = std::env::var("REDISGATE_REDIS_MODULES") {
            for module in modules.split(':').filter(|m| !m.is_empty()) {
                command.args(["--loadmodule", module]);
            }
        }
        let mut child = command.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot run {}: {e}. Install Redis (apt-get install -y redis-server) or set REDISGATE_REDIS_SERVER_BIN",
                binary.display()
            )
        });
        let stdout = child.stdout.take().unwrap();
        let mut ready = false;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.contains("Ready to accept connections") {
                ready = true;
                break;
            }
        }
        if ready {
            self.child = Some(child);
        } else {
            let _ = child.kill();
            let _ = child.wait();
        }
        ready
    }

    /// `redis://127.0.0.1:<port>` (with the password, if any).
    #[must_use]
    pub fn url(&self) -> String {
        match &self.password {
            Some(password) => format!("redis://:{password}@127.0.0.1:{}", self.port),
            None => format!("redis://127.0.0.1:{}", self.port),
        }
    }

    /// The port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A direct connection, to check what the gateway did.
    ///
    /// # Panics
    /// When the server does not answer.
    #[must_use]
    pub fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url()).unwrap().get_connection().unwrap()
    }

    /// Kills the server (SIGKILL), as a crash would.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port.
    ///
    /// # Panics
    /// When it does not come back.
    pub fn restart(&mut self) {
        self.kill();
        assert!(self.spawn(), "redis-server did not restart on port {}", self.port);
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

fn binary() -> PathBuf {
    std::env::var_os("REDISGATE_REDIS_SERVER_BIN").map_or_else(|| PathBuf::from("redis-server"), PathBuf::from)
}

/// A loopback port nothing listens on right now (another process may take it before it is used).
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

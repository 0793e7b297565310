//! `TestRedis`: a private `redis-server` on a free loopback port.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use redisgate_core::provisioning::Credentials;

/// A running `redis-server`, killed when dropped.
pub struct TestRedis {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    auth: Auth,
    tls: Option<TlsServer>,
    /// More arguments (`--replicaof`).
    extra: Vec<String>,
}

/// How a TLS-only server is set up: its certificate, the CA that signs client certificates, and whether it
/// requires one (`tls-auth-clients`).
#[derive(Debug, Clone)]
pub struct TlsServer {
    /// The server's certificate and key.
    pub server: crate::Issued,
    /// The CA clients' certificates must come from.
    pub client_ca: PathBuf,
    /// `tls-auth-clients yes`.
    pub require_client_cert: bool,
}

/// How clients log in.
enum Auth {
    /// The `default` user, no password.
    None,
    /// The `default` user with `requirepass`.
    Password(String),
    /// The users of a provisioned instance (the gateway's and the admin's; `default` disabled).
    Users(Credentials),
}

impl TestRedis {
    /// Starts a server on a free port.
    ///
    /// # Panics
    /// When `redis-server` cannot be found or does not start: the message says what to install.
    #[must_use]
    pub fn start() -> Self {
        Self::start_with(Auth::None)
    }

    /// Starts a server with the users RedisGate provisions instances with: [`TestRedis::url`] logs in as the
    /// gateway's user, [`TestRedis::admin_url`] and [`TestRedis::connection`] as the admin.
    ///
    /// # Panics
    /// As [`TestRedis::start`].
    #[must_use]
    pub fn start_contained() -> Self {
        Self::start_with_users(Credentials::generate())
    }

    /// As [`TestRedis::start_contained`], with the users' passwords of `credentials` (an operator's Secrets).
    ///
    /// # Panics
    /// As [`TestRedis::start`].
    #[must_use]
    pub fn start_with_users(credentials: Credentials) -> Self {
        Self::start_with(Auth::Users(credentials))
    }

    /// Starts a server that requires `password`.
    ///
    /// # Panics
    /// As [`TestRedis::start`].
    #[must_use]
    pub fn start_with_password(password: &str) -> Self {
        Self::start_with(Auth::Password(password.to_owned()))
    }

    /// Starts a server that speaks only TLS (`port 0`, `tls-port`), with `tls`; [`TestRedis::url`] is
    /// `rediss://`. Its binary is `REDISGATE_REDIS_TLS_SERVER_BIN`, else `redis-server` from `PATH` (Debian's is
    /// built with TLS).
    ///
    /// # Panics
    /// As [`TestRedis::start`].
    #[must_use]
    pub fn start_tls(tls: TlsServer) -> Self {
        Self::start_inner(Auth::None, Some(tls), Vec::new())
    }

    /// Starts a replica of the server on `master_port` (no password).
    ///
    /// # Panics
    /// As [`TestRedis::start`].
    #[must_use]
    pub fn start_replica_of(master_port: u16) -> Self {
        Self::start_inner(Auth::None, None, vec!["--replicaof".into(), "127.0.0.1".into(), master_port.to_string()])
    }

    /// Starts a server with `cluster-enabled yes`, its cluster bus on `bus_port`, in no cluster yet. Its peers
    /// call it failed after 1 s of silence (`cluster-node-timeout`), so a test sees a failover within seconds.
    ///
    /// # Panics
    /// As [`TestRedis::start`].
    #[must_use]
    pub fn start_cluster_node(bus_port: u16) -> Self {
        Self::start_inner(Auth::None, None, cluster_args(bus_port))
    }

    /// As [`TestRedis::start_cluster_node`], speaking only TLS with `tls`, to clients and on the cluster
    /// bus (`tls-cluster yes`, `tls-replication yes`).
    ///
    /// # Panics
    /// As [`TestRedis::start`].
    #[must_use]
    pub fn start_tls_cluster_node(tls: TlsServer, bus_port: u16) -> Self {
        let mut args = cluster_args(bus_port);
        args.extend(["--tls-cluster", "yes", "--tls-replication", "yes"].map(str::to_owned));
        Self::start_inner(Auth::None, Some(tls), args)
    }

    fn start_with(auth: Auth) -> Self {
        Self::start_inner(auth, None, Vec::new())
    }

    fn start_inner(auth: Auth, tls: Option<TlsServer>, extra: Vec<String>) -> Self {
        let dir = tempfile::tempdir().unwrap();
        if let Auth::Users(credentials) = &auth {
            std::fs::write(dir.path().join("users.conf"), credentials.conf()).unwrap();
        }
        let mut server = Self { child: None, port: 0, dir, auth, tls, extra };
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
        let binary = if self.tls.is_some() { tls_binary() } else { binary() };
        let mut command = Command::new(&binary);
        if matches!(self.auth, Auth::Users(_)) {
            command.arg(self.dir.path().join("users.conf"));
        }
        match &self.tls {
            None => command.args(["--port", &self.port.to_string()]),
            Some(tls) => command
                .args(["--port", "0", "--tls-port", &self.port.to_string()])
                .arg("--tls-cert-file")
                .arg(&tls.server.cert)
                .arg("--tls-key-file")
                .arg(&tls.server.key)
                .arg("--tls-ca-cert-file")
                .arg(&tls.client_ca)
                .args(["--tls-auth-clients", if tls.require_client_cert { "yes" } else { "no" }]),
        };
        command
            .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--logfile", "", "--dir"])
            .arg(self.dir.path())
            .args(&self.extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if let Auth::Password(password) = &self.auth {
            command.args(["--requirepass", password]);
        }
        if let (Ok(modules), None) = (std::env::var("REDISGATE_REDIS_MODULES"), &self.tls) {
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

    /// `redis://127.0.0.1:<port>` (with the password or the gateway's user, if any); `rediss://` for a TLS
    /// server.
    #[must_use]
    pub fn url(&self) -> String {
        let address = format!("127.0.0.1:{}", self.port);
        match &self.auth {
            Auth::None if self.tls.is_some() => format!("rediss://{address}"),
            Auth::None => format!("redis://{address}"),
            Auth::Password(password) => format!("redis://:{password}@{address}"),
            Auth::Users(credentials) => credentials.gateway_url(&address),
        }
    }

    /// A URL with every permission: the admin user's of a contained server, else [`TestRedis::url`].
    #[must_use]
    pub fn admin_url(&self) -> String {
        match &self.auth {
            Auth::Users(credentials) => credentials.admin_url(&format!("127.0.0.1:{}", self.port)),
            _ => self.url(),
        }
    }

    /// The port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// A direct connection with every permission, to check what the gateway did.
    ///
    /// # Panics
    /// When the server does not answer.
    #[must_use]
    pub fn connection(&self) -> redis::Connection {
        self.try_connection().unwrap()
    }

    /// As [`TestRedis::connection`], for a server that may drop its clients just now (Sentinel kills every
    /// client of the nodes it reconfigures during a failover).
    ///
    /// # Errors
    /// When the server does not answer, or dropped the connection.
    pub fn try_connection(&self) -> redis::RedisResult<redis::Connection> {
        redis::Client::open(self.admin_url())?.get_connection()
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

/// The arguments of a server with `cluster-enabled yes`, its bus on `bus_port`, its state in `nodes.conf` of
/// its directory, failed over after 1 s of silence.
fn cluster_args(bus_port: u16) -> Vec<String> {
    let args = ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "1000"];
    let mut args: Vec<String> = args.map(str::to_owned).to_vec();
    args.extend(["--cluster-port".to_owned(), bus_port.to_string()]);
    args
}

/// The `redis-server` for TLS servers: `REDISGATE_REDIS_TLS_SERVER_BIN`, else `redis-server` from `PATH`
/// (Debian's is built with TLS; the Redis 8 build of the second phase is not).
#[must_use]
pub fn tls_binary() -> PathBuf {
    std::env::var_os("REDISGATE_REDIS_TLS_SERVER_BIN").map_or_else(|| PathBuf::from("redis-server"), PathBuf::from)
}

/// The `redis-server` of the tests: `REDISGATE_REDIS_SERVER_BIN`, else `redis-server` from `PATH`.
pub fn binary() -> PathBuf {
    std::env::var_os("REDISGATE_REDIS_SERVER_BIN").map_or_else(|| PathBuf::from("redis-server"), PathBuf::from)
}

/// A loopback port nothing listens on right now (another process may take it before it is used).
///
/// Drawn at random below the kernel's ephemeral range (32768–60999 on Linux), which the local provisioner
/// draws its servers' ports from: the servers a test harness starts never take the port a provisioner of
/// another test has chosen and not yet bound.
pub(crate) fn free_port() -> u16 {
    const FIRST: u16 = 20_000;
    const COUNT: u16 = 12_000;
    for _ in 0..1_000 {
        let port = FIRST + (uuid::Uuid::new_v4().as_u128() % u128::from(COUNT)) as u16;
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port between {FIRST} and {}", FIRST + COUNT);
}

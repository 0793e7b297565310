//! `TestDatabase`: a private PostgreSQL for one test, or a fresh database on `REDISGATE_TEST_DATABASE_URL`.
//!
//! Without the variable, each test process runs its own server: `initdb` into a temporary directory and
//! `pg_ctl start -w` (which returns once the server accepts connections), about half a second. PostgreSQL
//! refuses to run as root, so as root the server runs as the `postgres` user (`runuser`). The server is
//! stopped (`pg_ctl stop -m immediate`) on drop.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A database nobody else uses.
pub struct TestDatabase {
    url: String,
    server: Option<PgServer>,
}

struct PgServer {
    dir: tempfile::TempDir,
    bin: PathBuf,
    as_postgres: bool,
    port: u16,
}

impl TestDatabase {
    /// A fresh, empty database.
    ///
    /// # Panics
    /// When PostgreSQL cannot be found or started: the message says what to install.
    #[must_use]
    pub fn start() -> Self {
        if let Ok(base) = std::env::var("REDISGATE_TEST_DATABASE_URL") {
            let name = unique_name();
            psql(&base, &format!("CREATE DATABASE {name}"));
            let root = base.rsplit_once('/').map_or(base.as_str(), |(root, _)| root);
            return Self { url: format!("{root}/{name}"), server: None };
        }
        let server = PgServer::start();
        let admin = format!("postgres://redisgate@127.0.0.1:{}/postgres", server.port);
        let name = unique_name();
        psql(&admin, &format!("CREATE DATABASE {name}"));
        Self { url: format!("postgres://redisgate@127.0.0.1:{}/{name}", server.port), server: Some(server) }
    }

    /// A placeholder owning nothing (used while moving a database between platforms).
    #[must_use]
    pub fn detached() -> Self {
        Self { url: String::new(), server: None }
    }

    /// `postgres://…/<database>`.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Stops the server (only for a private server), as an outage would.
    pub fn stop(&self) {
        if let Some(server) = &self.server {
            server.pg_ctl(&["stop", "-m", "immediate"]);
        }
    }

    /// Starts a stopped private server again on the same port.
    pub fn resume(&self) {
        if let Some(server) = &self.server {
            server.start_server();
        }
    }
}

impl PgServer {
    fn start() -> Self {
        let bin = pg_bin();
        let as_postgres = is_root();
        let dir = tempfile::Builder::new().prefix("redisgate-pg-").tempdir().unwrap();
        if as_postgres {
            run(Command::new("chown").arg("-R").arg("postgres:").arg(dir.path()));
        }
        let data = dir.path().join("data");
        let mut initdb = pg_command(as_postgres, &bin.join("initdb"));
        initdb.arg("-D").arg(&data).args(["-A", "trust", "-U", "redisgate", "--no-sync", "-E", "UTF8"]);
        run(&mut initdb);
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let server = Self { dir, bin, as_postgres, port };
        server.start_server();
        server
    }

    fn start_server(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c synchronous_commit=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("postgres.log");
        let log = log.to_string_lossy();
        self.pg_ctl(&["start", "-w", "-l", &log, "-o", &options]);
    }

    fn pg_ctl(&self, args: &[&str]) {
        let mut command = pg_command(self.as_postgres, &self.bin.join("pg_ctl"));
        command.arg("-D").arg(self.dir.path().join("data")).args(args);
        run(&mut command);
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        let mut command = pg_command(self.as_postgres, &self.bin.join("pg_ctl"));
        let _ = command.arg("-D").arg(self.dir.path().join("data")).args(["stop", "-m", "immediate"]).output();
    }
}

fn pg_command(as_postgres: bool, program: &Path) -> Command {
    if as_postgres {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

fn run(command: &mut Command) {
    let output = command.output().unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn psql(url: &str, sql: &str) {
    run(Command::new("psql").arg(url).args(["-v", "ON_ERROR_STOP=1", "-q", "-c", sql]));
}

/// PostgreSQL's server binaries: `REDISGATE_PG_BIN`, else the newest `/usr/lib/postgresql/<v>/bin`.
fn pg_bin() -> PathBuf {
    if let Some(dir) = std::env::var_os("REDISGATE_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries.filter_map(Result::ok).map(|e| e.path().join("bin")).filter(|p| p.join("initdb").exists()).collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions.pop().unwrap_or_else(|| {
        panic!("PostgreSQL is not installed: apt-get install -y postgresql (or set REDISGATE_PG_BIN / REDISGATE_TEST_DATABASE_URL)")
    })
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn unique_name() -> String {
    format!("rg_test_{}", uuid::Uuid::new_v4().simple())
}

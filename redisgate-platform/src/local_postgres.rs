//! A private PostgreSQL server in a directory of ours: what `redisgate dev` runs the platform on, and what
//! the tests start for themselves.
//!
//! `initdb` once (user `redisgate` with a generated password kept in `<dir>/password`, mode 0600;
//! scram-sha-256 for every connection, loopback and socket, so another local user cannot walk in), then
//! `pg_ctl start -w`, which returns once the server accepts connections. PostgreSQL refuses to run as root, so as root the server
//! runs as the `postgres` user (`runuser`), and the directory is handed to that user.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Error, Result};

/// A PostgreSQL server whose data lives in `<dir>/data`.
#[derive(Debug)]
pub struct LocalPostgres {
    dir: PathBuf,
    bin: PathBuf,
    as_postgres: bool,
    port: u16,
    /// The `redisgate` user's password (empty for a cluster made before passwords, which trusts loopback).
    password: String,
}

impl LocalPostgres {
    /// Prepares `dir` (running `initdb` unless it already holds a cluster) for a server on `port`.
    ///
    /// # Errors
    /// PostgreSQL is not installed, or `initdb` fails.
    pub fn init(dir: &Path, port: u16) -> Result<Self> {
        Self::prepare(dir, port).map_err(Error::LocalPostgres)
    }

    fn prepare(dir: &Path, port: u16) -> Result<Self, String> {
        let as_postgres = is_root();
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let dir = if as_postgres && !reachable_by_postgres(dir) { relocated(dir)? } else { dir.to_owned() };
        let dir = dir.as_path();
        let password_file = dir.join("password");
        let fresh = !dir.join("data").join("PG_VERSION").exists();
        if fresh {
            let password = redisgate_core::auth::token::redis_password();
            crate::os::write_private(&password_file, password.as_bytes())
                .map_err(|e| format!("cannot write {}: {e}", password_file.display()))?;
        }
        let password = std::fs::read_to_string(&password_file).unwrap_or_default().trim().to_owned();
        let server = Self { dir: dir.to_owned(), bin: bin_dir()?, as_postgres, port, password };
        if fresh {
            if as_postgres {
                run(Command::new("chown").arg("-R").arg("postgres:").arg(dir))?;
            }
            let mut initdb = server.command("initdb");
            initdb.arg("-D").arg(dir.join("data")).args(["-A", "scram-sha-256", "-U", "redisgate"]);
            initdb.arg(format!("--pwfile={}", password_file.display())).args(["--no-sync", "-E", "UTF8"]);
            run(&mut initdb)?;
        }
        Ok(server)
    }

    /// Starts the server and waits until it accepts connections. `fast` trades durability for speed
    /// (tests).
    ///
    /// # Errors
    /// The server does not start (its log is in `<dir>/postgres.log`).
    pub fn start(&self, fast: bool) -> Result<()> {
        let mut options = format!("-p {} -k {} -c listen_addresses=127.0.0.1", self.port, self.dir.display());
        if fast {
            options.push_str(" -c fsync=off -c full_page_writes=off -c synchronous_commit=off");
        }
        let log = self.dir.join("postgres.log");
        let mut pg_ctl = self.command("pg_ctl");
        pg_ctl.arg("-D").arg(self.dir.join("data")).args(["start", "-w", "-l"]).arg(&log).args(["-o", &options]);
        run(&mut pg_ctl).map_err(|e| {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(5).collect();
            let tail = tail.into_iter().rev().collect::<Vec<_>>().join("\n");
            Error::LocalPostgres(format!("{e}\npostgres.log ends with:\n{tail}"))
        })
    }

    /// The same server on another port (before [`LocalPostgres::start`]; e.g. when the port was taken).
    #[must_use]
    pub fn with_port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Stops the server (`immediate`: no checkpoint, for tests that simulate an outage; else `fast`).
    pub fn stop(&self, immediate: bool) {
        let mut pg_ctl = self.command("pg_ctl");
        pg_ctl.arg("-D").arg(self.dir.join("data")).args(["stop", "-m", if immediate { "immediate" } else { "fast" }]);
        let _ = pg_ctl.output();
    }

    /// Creates database `name` unless it exists.
    ///
    /// # Errors
    /// `psql` fails.
    pub fn ensure_database(&self, name: &str) -> Result<()> {
        // The password goes by environment, not on a command line other users can read.
        let admin = format!("postgres://redisgate@127.0.0.1:{}/postgres", self.port);
        let psql = || {
            let mut psql = Command::new("psql");
            psql.env("PGPASSWORD", &self.password).arg(&admin);
            psql
        };
        let exists = psql()
            .args(["-tAc", &format!("SELECT 1 FROM pg_database WHERE datname = '{name}'")])
            .output()
            .map_err(|e| Error::LocalPostgres(format!("cannot run psql: {e}")))?;
        if String::from_utf8_lossy(&exists.stdout).trim() == "1" {
            return Ok(());
        }
        run(psql().args(["-v", "ON_ERROR_STOP=1", "-q", "-c", &format!("CREATE DATABASE {name}")]))
            .map_err(Error::LocalPostgres)
    }

    /// `postgres://redisgate:<password>@127.0.0.1:<port>/<database>`: a secret, never to log or print.
    #[must_use]
    pub fn url(&self, database: &str) -> String {
        match self.password.as_str() {
            "" => format!("postgres://redisgate@127.0.0.1:{}/{database}", self.port),
            password => format!("postgres://redisgate:{password}@127.0.0.1:{}/{database}", self.port),
        }
    }

    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        if self.as_postgres {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(path);
            command
        } else {
            Command::new(path)
        }
    }
}

fn run(command: &mut Command) -> Result<(), String> {
    let output = command.output().map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// PostgreSQL's server binaries: `REDISGATE_PG_BIN`, else the newest `/usr/lib/postgresql/<v>/bin`.
fn bin_dir() -> Result<PathBuf, String> {
    if let Some(dir) = std::env::var_os("REDISGATE_PG_BIN") {
        return Ok(PathBuf::from(dir));
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| {
            entries.filter_map(Result::ok).map(|e| e.path().join("bin")).filter(|p| p.join("initdb").exists()).collect()
        })
        .unwrap_or_default();
    // By version number (`9.6` < `15`), not by text.
    let version = |dir: &PathBuf| -> Vec<u32> {
        let name = dir.parent().and_then(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned());
        name.unwrap_or_default().split('.').filter_map(|part| part.parse().ok()).collect()
    };
    versions.sort_by_key(version);
    versions.pop().ok_or_else(|| {
        "PostgreSQL is not installed: apt-get install -y postgresql (or set REDISGATE_PG_BIN)".to_owned()
    })
}

/// Whether the `postgres` user can enter `dir` (as root, a state directory under `/root` is not).
fn reachable_by_postgres(dir: &Path) -> bool {
    Command::new("runuser").args(["-u", "postgres", "--", "test", "-x"]).arg(dir).status().is_ok_and(|s| s.success())
}

/// Where a cluster meant for `dir` lives when the `postgres` user cannot reach `dir`:
/// `/var/lib/redisgate/postgres-<hash of dir>`, owned by `postgres`, so nothing of the user's home changes.
fn relocated(dir: &Path) -> Result<PathBuf, String> {
    // FNV-1a: stable across builds, so the same state directory always finds its cluster again.
    let hash = dir
        .as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3));
    let target = PathBuf::from(format!("/var/lib/redisgate/postgres-{hash:016x}"));
    std::fs::create_dir_all(&target).map_err(|e| format!("cannot create {}: {e}", target.display()))?;
    run(Command::new("chown").arg("postgres:").arg(&target))?;
    let note = dir.join("LOCATION");
    let _ = std::fs::write(
        &note,
        format!(
            "PostgreSQL keeps this cluster in {} (the postgres user cannot enter this directory)\n",
            target.display()
        ),
    );
    Ok(target)
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

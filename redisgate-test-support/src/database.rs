//! `TestDatabase`: a private PostgreSQL for one test, or a fresh database on `REDISGATE_TEST_DATABASE_URL`.
//!
//! Without the variable, each test process runs its own server in a temporary directory (the platform's
//! `LocalPostgres`, `pg_ctl start -w`) and stops it on drop. Its cluster is a copy of a template made once
//! per machine and set of migrations: `initdb`, then every migration, into a database `redisgate`
//! (crates.io's way, at the level of the cluster). A copy takes about 0.2 s where `initdb` and the
//! migrations took about a second, for every test.

use redisgate_platform::local_postgres::LocalPostgres;

use crate::redis_server::free_port;

/// The migrated database in the template cluster, and so in every copy.
const TEMPLATE_DATABASE: &str = "redisgate";

/// The template cluster (stopped): made by the first test that needs it, under a name that changes with
/// the migrations, so a new migration makes a new template.
fn template() -> std::path::PathBuf {
    let names = redisgate_platform::db::migration_names();
    let key = {
        use std::hash::{Hash as _, Hasher as _};
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        names.hash(&mut hasher);
        hasher.finish()
    };
    let dir = std::env::temp_dir().join(format!("redisgate-pg-template-{key:016x}"));
    if dir.join("ready").exists() {
        return dir;
    }
    // Built aside and renamed into place: test processes that race each build one, and one wins.
    let building = tempfile::Builder::new().prefix("redisgate-pg-template-building-").tempdir().unwrap();
    let server = LocalPostgres::init(building.path(), free_port()).unwrap_or_else(|e| panic!("{e}"));
    server.start(true).unwrap_or_else(|e| panic!("{e}"));
    server.ensure_database(TEMPLATE_DATABASE).unwrap_or_else(|e| panic!("{e}"));
    let url = server.url(TEMPLATE_DATABASE);
    // Off the test's runtime: the migration's connection runs a runtime of its own.
    let migrated = std::thread::spawn(move || redisgate_platform::db::migrate_blocking(&url)).join().unwrap();
    server.stop(false);
    migrated.unwrap_or_else(|e| panic!("cannot migrate the template database: {e}"));
    std::fs::write(building.path().join("ready"), names.join("\n")).unwrap();
    let built = building.keep();
    if std::fs::rename(&built, &dir).is_err() {
        // Another process was first.
        let _ = std::fs::remove_dir_all(&built);
    }
    dir
}

/// `cp -a from/. to`: the cluster's files with their owner (the `postgres` user when tests run as root).
fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    let status = std::process::Command::new("cp").arg("-a").arg(from.join(".")).arg(to).status().unwrap();
    assert!(status.success(), "cannot copy the template cluster {}", from.display());
}

/// A database nobody else uses.
pub struct TestDatabase {
    url: String,
    server: Option<(LocalPostgres, tempfile::TempDir)>,
}

impl TestDatabase {
    /// A fresh, empty database.
    ///
    /// # Panics
    /// When PostgreSQL cannot be found or started: the message says what to install.
    #[must_use]
    pub fn start() -> Self {
        let name = format!("rg_test_{}", uuid::Uuid::new_v4().simple());
        if let Ok(base) = std::env::var("REDISGATE_TEST_DATABASE_URL") {
            let status = std::process::Command::new("psql")
                .arg(&base)
                .args(["-v", "ON_ERROR_STOP=1", "-q", "-c", &format!("CREATE DATABASE {name}")])
                .status()
                .expect("psql is needed: apt-get install -y postgresql-client");
            assert!(status.success(), "cannot create a database on REDISGATE_TEST_DATABASE_URL");
            let root = base.rsplit_once('/').map_or(base.as_str(), |(root, _)| root);
            return Self { url: format!("{root}/{name}"), server: None };
        }
        let dir = tempfile::Builder::new().prefix("redisgate-pg-").tempdir().unwrap();
        copy_dir(&template(), dir.path());
        let mut server = LocalPostgres::init(dir.path(), free_port()).unwrap_or_else(|e| panic!("{e}"));
        // A free port can be taken between choosing it and the server binding it: try a few.
        let mut attempts = 0;
        while let Err(e) = server.start(true) {
            attempts += 1;
            assert!(attempts < 3, "{e}");
            server = server.with_port(free_port());
        }
        Self { url: server.url(TEMPLATE_DATABASE), server: Some((server, dir)) }
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

    /// Stops the private server, as an outage would (a clean stop: the tests run PostgreSQL without fsync,
    /// so a simulated crash could lose data that a real one would not).
    pub fn stop(&self) {
        if let Some((server, _)) = &self.server {
            server.stop(false);
        }
    }

    /// Starts a stopped private server again on the same port.
    ///
    /// # Panics
    /// When it does not come back.
    pub fn resume(&self) {
        if let Some((server, _)) = &self.server {
            server.start(true).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Some((server, _)) = &self.server {
            server.stop(true);
        }
    }
}

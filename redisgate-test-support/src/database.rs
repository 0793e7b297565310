//! `TestDatabase`: a private PostgreSQL for one test, or a fresh database on `REDISGATE_TEST_DATABASE_URL`.
//!
//! Without the variable, each test process runs its own server in a temporary directory (the gateway's
//! `LocalPostgres`: `initdb`, then `pg_ctl start -w`, about half a second) and stops it on drop.

use redisgate_platform::local_postgres::LocalPostgres;

use crate::redis_server::free_port;

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
        let mut server = LocalPostgres::init(dir.path(), free_port()).unwrap_or_else(|e| panic!("{e}"));
        // A free port can be taken between choosing it and the server binding it: try a few.
        let mut attempts = 0;
        while let Err(e) = server.start(true) {
            attempts += 1;
            assert!(attempts < 3, "{e}");
            server = server.with_port(free_port());
        }
        server.ensure_database(&name).unwrap_or_else(|e| panic!("{e}"));
        Self { url: server.url(&name), server: Some((server, dir)) }
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

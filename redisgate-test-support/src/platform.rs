//! `TestPlatform`: the whole platform in-process — migrations, the local provisioner with real
//! `redis-server` processes, the management API and the data plane — on a private database.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use redisgate_gateway::upstream::UpstreamOptions;
use redisgate_gateway::ServerLimits;
use redisgate_platform::provisioner::local::admin_url;
use redisgate_platform::provisioner::Provisioner;
use redisgate_platform::{ControlPlane, PlatformConfig, PublicUrls};
use serde_json::Value;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::TestDatabase;

/// The JWT secret of test platforms.
pub const JWT_SECRET: &str = "test-jwt-secret-test-jwt-secret-0123456789";

/// A running platform; its Redis servers are stopped when it is shut down or dropped.
pub struct TestPlatform {
    database: TestDatabase,
    state_dir: tempfile::TempDir,
    redis_server: PathBuf,
    address: SocketAddr,
    control: ControlPlane,
    shutdown: CancellationToken,
    task: Option<JoinHandle<std::io::Result<()>>>,
    http: reqwest::Client,
    tls: Option<Arc<rustls::ServerConfig>>,
    local_tls: bool,
    backup_store: Option<String>,
}

impl TestPlatform {
    /// A platform on a fresh database and state directory.
    pub async fn start() -> Self {
        let redis_server = crate::redis_server::binary();
        Self::start_with(TestDatabase::start(), tempfile::tempdir().unwrap(), redis_server).await
    }

    /// A platform whose provisioner runs `redis_server` (e.g. a binary that fails, to test failures).
    pub async fn start_with_redis_server(redis_server: PathBuf) -> Self {
        Self::start_with(TestDatabase::start(), tempfile::tempdir().unwrap(), redis_server).await
    }

    /// A platform whose instances are provisioned by `provisioner` (e.g. the Kubernetes provisioner on an
    /// in-memory API).
    pub async fn start_with_provisioner(provisioner: Arc<dyn Provisioner>) -> Self {
        let redis_server = PathBuf::from("redis-server");
        Self::start_inner(
            TestDatabase::start(),
            tempfile::tempdir().unwrap(),
            redis_server,
            Some(provisioner),
            None,
            false,
            None,
        )
        .await
    }

    /// A platform serving HTTPS with the certificate in `files` (its URLs are `https://`).
    ///
    /// # Panics
    /// When the files do not make a certificate.
    pub async fn start_https(files: &redisgate_gateway::tls::TlsFiles) -> Self {
        let tls = redisgate_gateway::tls::server_config(files).unwrap();
        let redis_server = crate::redis_server::binary();
        let (database, state_dir) = (TestDatabase::start(), tempfile::tempdir().unwrap());
        Self::start_inner(database, state_dir, redis_server, None, Some(tls), false, None).await
    }

    /// A platform whose local provisioner makes new instances TLS-only (`port 0`, `tls-auth-clients yes`)
    /// with a CA in its state directory. Runs `REDISGATE_REDIS_TLS_SERVER_BIN`, else `redis-server` from
    /// `PATH` (Debian's is built with TLS).
    pub async fn start_local_tls() -> Self {
        let redis_server = crate::redis_server::tls_binary();
        Self::start_inner(TestDatabase::start(), tempfile::tempdir().unwrap(), redis_server, None, None, true, None)
            .await
    }

    /// A platform keeping its backups in `location` (`s3://bucket/prefix`, with the `AWS_*` environment).
    pub async fn start_with_backup_store(location: &str) -> Self {
        let (database, state_dir) = (TestDatabase::start(), tempfile::tempdir().unwrap());
        let redis_server = crate::redis_server::binary();
        Self::start_inner(database, state_dir, redis_server, None, None, false, Some(location.to_owned())).await
    }

    async fn start_with(database: TestDatabase, state_dir: tempfile::TempDir, redis_server: PathBuf) -> Self {
        Self::start_inner(database, state_dir, redis_server, None, None, false, None).await
    }

    async fn start_inner(
        database: TestDatabase,
        state_dir: tempfile::TempDir,
        redis_server: PathBuf,
        provisioner: Option<Arc<dyn Provisioner>>,
        tls: Option<Arc<rustls::ServerConfig>>,
        local_tls: bool,
        backup_store: Option<String>,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let config = PlatformConfig {
            database_url: database.url().to_owned(),
            jwt_secret: JWT_SECRET.as_bytes().to_vec(),
            jwt_ttl_secs: 3600,
            state_dir: state_dir.path().to_owned(),
            redis_server_bin: redis_server.clone(),
            urls: PublicUrls { base: format!("{scheme}://{address}"), domain: Some("redis.test".into()) },
            upstream: UpstreamOptions::default(),
            limits: ServerLimits::default(),
            usage_flush: std::time::Duration::from_millis(100),
            local_tls,
            max_organizations_per_user: redisgate_platform::MAX_ORGANIZATIONS_PER_USER,
            backup_store: backup_store.clone(),
        };
        let control = match provisioner {
            Some(provisioner) => ControlPlane::start_with(config, provisioner).await.unwrap(),
            None => ControlPlane::start(config).await.unwrap(),
        };
        // Tests start from a known state: every recorded instance back (as after a restart).
        control.resumed().await;
        let shutdown = CancellationToken::new();
        let (app, state) = control.app(shutdown.clone()).await.unwrap();
        let state = state.with_tls(tls.clone());
        let stop = shutdown.clone();
        let task = tokio::spawn(async move {
            redisgate_gateway::serve_router(listener, app, &state, async move { stop.cancelled().await }).await
        });
        Self {
            database,
            state_dir,
            redis_server,
            address,
            control,
            shutdown,
            task: Some(task),
            http: reqwest::Client::new(),
            tls,
            local_tls,
            backup_store,
        }
    }

    /// Writes the usage counted so far to the database now (instead of waiting for the flusher).
    ///
    /// # Panics
    /// When the database refuses the counts.
    pub async fn flush_usage(&self) {
        self.control.flush_usage().await.unwrap();
    }

    /// Stops everything (servers keep their data) and starts again on the same database and state.
    pub async fn restart(self) -> Self {
        self.restart_with(|| {}).await
    }

    /// As [`TestPlatform::restart`], running `between` while nothing runs (to change the state directory
    /// as an older version would have left it).
    pub async fn restart_with(mut self, between: impl FnOnce()) -> Self {
        self.stop().await;
        between();
        let database = std::mem::replace(&mut self.database, TestDatabase::detached());
        let state_dir = std::mem::replace(&mut self.state_dir, tempfile::tempdir().unwrap());
        let redis_server = self.redis_server.clone();
        let (tls, local_tls, backup_store) = (self.tls.take(), self.local_tls, self.backup_store.take());
        drop(self);
        Self::start_inner(database, state_dir, redis_server, None, tls, local_tls, backup_store).await
    }

    /// As [`TestPlatform::restart`], with the provisioner `make` builds from the state directory and the
    /// `redis-server` binary (to wrap the local provisioner in one that fails on purpose).
    pub async fn restart_with_provisioner(
        mut self,
        make: impl FnOnce(&std::path::Path, &std::path::Path) -> Arc<dyn Provisioner>,
    ) -> Self {
        self.stop().await;
        let database = std::mem::replace(&mut self.database, TestDatabase::detached());
        let state_dir = std::mem::replace(&mut self.state_dir, tempfile::tempdir().unwrap());
        let redis_server = self.redis_server.clone();
        let self_tls = self.tls.take();
        drop(self);
        let provisioner = make(state_dir.path(), &redis_server);
        let tls = self_tls;
        Self::start_inner(database, state_dir, redis_server, Some(provisioner), tls, false, None).await
    }

    async fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.control.shutdown().await;
    }

    /// `http://127.0.0.1:<port>`.
    #[must_use]
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.address)
    }

    /// The control plane (to run its background work now: the backup schedule).
    #[must_use]
    pub fn control(&self) -> &ControlPlane {
        &self.control
    }

    /// The database (to stop it in outage tests).
    #[must_use]
    pub fn database(&self) -> &TestDatabase {
        &self.database
    }

    /// The state directory of the local provisioner.
    #[must_use]
    pub fn state_dir(&self) -> &std::path::Path {
        self.state_dir.path()
    }

    /// A direct connection to an instance's server as its admin user (no token maps to it), to check what
    /// the data plane did.
    ///
    /// # Panics
    /// When the instance has no configuration in the state directory or its server does not answer.
    pub async fn admin_connection(&self, id: &str) -> redis::aio::MultiplexedConnection {
        let url = admin_url(&self.state_dir().join("instances").join(id)).expect("the instance has no redis.conf");
        redis::Client::open(url).unwrap().get_multiplexed_async_connection().await.unwrap()
    }

    /// A reqwest client.
    #[must_use]
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Calls the management API: `method path` with an optional bearer token and JSON body.
    ///
    /// # Panics
    /// When the platform does not answer or the body is not JSON.
    pub async fn api(&self, method: &str, path: &str, token: Option<&str>, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = self.http.request(method, format!("{}{path}", self.url()));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.body(body.to_string());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let bytes = response.bytes().await.unwrap();
        let json = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&bytes)))
        };
        (status, json)
    }

    /// Registers `email` and logs in; returns the session token.
    ///
    /// # Panics
    /// When either step fails.
    pub async fn user(&self, email: &str) -> String {
        let credentials = serde_json::json!({"email": email, "password": "correct horse 1"});
        let (status, body) = self.api("POST", "/api/auth/register", None, Some(credentials.clone())).await;
        assert_eq!(status, 201, "{body}");
        let (status, body) = self.api("POST", "/api/auth/login", None, Some(credentials)).await;
        assert_eq!(status, 200, "{body}");
        body["token"].as_str().unwrap().to_owned()
    }

    /// Makes the user with session `member` (and `email`) a member of `org` with `role`: `admin` invites,
    /// the member accepts the code.
    ///
    /// # Panics
    /// When either step fails.
    pub async fn join(&self, admin: &str, org: &str, member: &str, email: &str, role: &str) {
        let path = format!("/api/organizations/{org}/invitations");
        let invite = serde_json::json!({"email": email, "role": role});
        let (status, invitation) = self.api("POST", &path, Some(admin), Some(invite)).await;
        assert_eq!(status, 201, "{invitation}");
        let code = serde_json::json!({"code": invitation["code"]});
        let (status, joined) = self.api("POST", "/api/invitations/accept", Some(member), Some(code)).await;
        assert_eq!(status, 201, "{joined}");
    }

    /// Creates an organization; returns its id.
    ///
    /// # Panics
    /// When creation fails.
    pub async fn organization(&self, token: &str, slug: &str) -> String {
        let (status, body) = self
            .api("POST", "/api/organizations", Some(token), Some(serde_json::json!({"name": slug, "slug": slug})))
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_owned()
    }

    /// Creates an instance and waits until it runs; returns the creation response.
    ///
    /// # Panics
    /// When creation fails or the instance is not running within 30 s.
    pub async fn running_instance(&self, token: &str, org: &str, name: &str) -> Value {
        let body = serde_json::json!({"name": name, "max_memory": 16 * 1024 * 1024, "redis_version": "7.2"});
        self.create_running(token, org, body).await
    }

    /// Creates an instance from `body` and waits until it runs; returns the creation response.
    ///
    /// # Panics
    /// When creation fails or the instance is not running within 30 s.
    pub async fn create_running(&self, token: &str, org: &str, body: Value) -> Value {
        let path = format!("/api/organizations/{org}/redis-instances");
        let (status, created) = self.api("POST", &path, Some(token), Some(body)).await;
        assert_eq!(status, 201, "{created}");
        let id = created["instance"]["id"].as_str().unwrap();
        let status = self.wait_status(token, org, id, "running").await;
        if status != "running" {
            let (_, body) = self.api("GET", &format!("{path}/{id}/status"), Some(token), None).await;
            panic!("the instance is {status}, not running: {body}");
        }
        created
    }

    /// Polls an instance's status until it is `want` (or 30 s pass: a replicated instance waits for its
    /// Sentinels to find each other); returns the last status.
    pub async fn wait_status(&self, token: &str, org: &str, id: &str, want: &str) -> String {
        let path = format!("/api/organizations/{org}/redis-instances/{id}/status");
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            let (code, body) = self.api("GET", &path, Some(token), None).await;
            let status =
                if code == 404 { "gone".to_owned() } else { body["status"].as_str().unwrap_or_default().to_owned() };
            if status == want || tokio::time::Instant::now() > deadline || status == "failed" {
                return status;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

impl Drop for TestPlatform {
    fn drop(&mut self) {
        self.shutdown.cancel();
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

//! Starting the platform: [`ControlPlane::start`] once per process (migrations, provisioner, re-adoption of
//! instances), then [`ControlPlane::app`] once per runtime that serves requests (its own database pool and
//! directory, kept fresh by notifications).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use redisgate_core::auth::jwt::JwtKeys;
use redisgate_gateway::quota::Meters;
use redisgate_gateway::upstream::UpstreamOptions;
use redisgate_gateway::{AppState, ServerLimits, Shared};
use tokio_util::sync::CancellationToken;

use crate::api::throttle::{AccountThrottle, LoginThrottle};
use crate::api::Platform;
use crate::backup::{BackupStore, Backups};
use crate::directory::PlatformDirectory;
use crate::provisioner::local::LocalProvisioner;
use crate::provisioner::local_ca::LocalCa;
use crate::provisioner::Provisioner;
use crate::{db, usage, Lifecycle, PublicUrls};
use crate::{Error, Result};

/// Everything platform mode needs to start.
#[derive(Clone)]
pub struct PlatformConfig {
    /// PostgreSQL URL.
    pub database_url: String,
    /// Secret that signs session tokens.
    pub jwt_secret: Vec<u8>,
    /// Session lifetime in seconds.
    pub jwt_ttl_secs: i64,
    /// Where the local provisioner keeps instances.
    pub state_dir: PathBuf,
    /// The `redis-server` binary.
    pub redis_server_bin: PathBuf,
    /// URLs handed out for instances.
    pub urls: PublicUrls,
    /// Timeouts toward instances.
    pub upstream: UpstreamOptions,
    /// Request limits.
    pub limits: ServerLimits,
    /// How often usage counts are written to PostgreSQL (and daily quotas learn other replicas' counts).
    pub usage_flush: Duration,
    /// Local provisioner: new instances listen on TLS only, with a CA in the state directory.
    pub local_tls: bool,
    /// Most organizations one user may own.
    pub max_organizations_per_user: i64,
    /// Where backups are kept: `s3://bucket[/prefix]` or an absolute directory (`None`:
    /// `<state_dir>/backups`).
    pub backup_store: Option<String>,
}

/// The default of [`PlatformConfig::max_organizations_per_user`].
pub const MAX_ORGANIZATIONS_PER_USER: i64 = 10;

impl std::fmt::Debug for PlatformConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlatformConfig")
            .field("database_url", &"<set>")
            .field("jwt_secret", &"<set>")
            .field("state_dir", &self.state_dir)
            .field("urls", &self.urls)
            .finish_non_exhaustive()
    }
}

/// The process-wide part of the platform.
#[derive(Clone)]
pub struct ControlPlane {
    config: PlatformConfig,
    jwt: Arc<JwtKeys>,
    lifecycle: Lifecycle,
    /// Limits and usage of every instance, shared by the workers' directories.
    meters: Arc<Meters>,
    /// Writes the usage counts to the database (every `usage_flush`, and on demand).
    usage: Arc<usage::Flusher>,
    /// Stops the usage flusher.
    stop: CancellationToken,
    /// Login attempts per email, shared by every worker.
    login_throttle: Arc<LoginThrottle>,
    /// Register and login per address and in all, and the argon2 permits.
    accounts: Arc<AccountThrottle>,
    /// Cancelled once every recorded instance has been brought back (or has failed to come back).
    resumed: CancellationToken,
    /// The metrics and script aliases every worker shares.
    shared: Shared,
    /// Backups, restores and their schedule.
    backups: Backups,
}

impl ControlPlane {
    /// Migrates the database, starts the local provisioner on the current runtime and starts bringing every
    /// recorded instance back (in the background: the API and the instances already back serve meanwhile;
    /// [`ControlPlane::resumed`] tells when it is done).
    ///
    /// # Errors
    /// An unreachable database, a failed migration, an unusable state directory or JWT secret.
    pub async fn start(mut config: PlatformConfig) -> Result<Self> {
        let unusable = |e: &dyn std::fmt::Display| {
            Error::Config(format!("cannot use the state directory {}: {e}", config.state_dir.display()))
        };
        // The CA exists once a TLS instance was made; instances made with it need it even when new ones
        // are plain.
        let ca = if config.local_tls {
            Some(LocalCa::open(&config.state_dir).map_err(|e| unusable(&e))?)
        } else {
            LocalCa::existing(&config.state_dir).map_err(|e| unusable(&e))?
        };
        let (dir, bin) = (&config.state_dir, config.redis_server_bin.clone());
        let local = match ca {
            Some(ca) => {
                // The gateway reaches TLS instances with the CA's client certificate.
                config.upstream.tls = ca.client_tls().map_err(|e| unusable(&e))?;
                LocalProvisioner::with_ca(dir, bin, ca, config.local_tls)
            }
            None => LocalProvisioner::new(dir, bin),
        }
        .map_err(|e| unusable(&e))?;
        Self::start_with(config, Arc::new(local)).await
    }

    /// As [`ControlPlane::start`], with another provisioner (Kubernetes, or a test's).
    ///
    /// # Errors
    /// An unreachable database, a failed migration or an unusable JWT secret.
    pub async fn start_with(config: PlatformConfig, provisioner: Arc<dyn Provisioner>) -> Result<Self> {
        let jwt = Arc::new(JwtKeys::new(&config.jwt_secret).map_err(|e| Error::Config(e.to_string()))?);
        let store = match &config.backup_store {
            Some(location) => BackupStore::open(location)?,
            None => BackupStore::local(&config.state_dir.join("backups"))?,
        };
        db::migrate(&config.database_url).await?;
        let pool = db::pool(&config.database_url, 4)?;
        let shared = Shared::default();
        let backups = Backups::new(
            pool.clone(),
            store,
            Arc::clone(&provisioner),
            config.redis_server_bin.clone(),
            config.state_dir.clone(),
        );
        backups.fail_interrupted().await?;
        let lifecycle = Lifecycle::new(pool.clone(), provisioner, Arc::clone(&shared.metrics));
        lifecycle.record_failovers();
        // A Kubernetes instance may take minutes to come back: the gateway does not wait for it to serve.
        let resumed = CancellationToken::new();
        let (resuming, done) = (lifecycle.clone(), resumed.clone());
        tokio::spawn(async move {
            resuming.resume().await;
            done.cancel();
        });
        let (meters, stop) = (Arc::new(Meters::default()), CancellationToken::new());
        let usage = Arc::new(usage::Flusher::new(pool, Arc::clone(&meters)));
        tokio::spawn(usage::run(Arc::clone(&usage), config.usage_flush, stop.clone()));
        tokio::spawn(backups.clone().run_schedule(stop.clone()));
        Ok(Self {
            backups,
            config,
            jwt,
            lifecycle,
            meters,
            usage,
            stop,
            login_throttle: Arc::default(),
            accounts: Arc::default(),
            resumed,
            shared,
        })
    }

    /// Resolves once every instance recorded at start has been brought back (or has failed to).
    pub async fn resumed(&self) {
        self.resumed.cancelled().await;
    }

    /// What every worker shares (the metrics for the admin listener among them).
    #[must_use]
    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// The router for one serving runtime, and its state (serve both with `redisgate_gateway::serve_router`).
    /// Call it on the runtime that will serve.
    ///
    /// # Errors
    /// An invalid pool configuration.
    pub async fn app(&self, shutdown: CancellationToken) -> Result<(Router, AppState)> {
        let pool = db::pool(&self.config.database_url, 8)?;
        let directory = Arc::new(PlatformDirectory::new(
            pool.clone(),
            self.config.urls.domain.clone(),
            Arc::clone(self.lifecycle.provisioner()),
            self.config.upstream.clone(),
            Arc::clone(&self.meters),
        ));
        if let Err(e) = directory.reload().await {
            tracing::warn!(error = %e, "initial directory load failed; retrying in the background");
        }
        tokio::spawn(Arc::clone(&directory).watch(self.config.database_url.clone()));
        let state = AppState::new(directory)
            .with_limits(self.config.limits.clone())
            .with_shutdown(shutdown)
            .with_shared(&self.shared);
        let platform = Platform {
            pool,
            jwt: Arc::clone(&self.jwt),
            lifecycle: self.lifecycle.clone(),
            urls: Arc::new(self.config.urls.clone()),
            jwt_ttl_secs: self.config.jwt_ttl_secs,
            login_throttle: Arc::clone(&self.login_throttle),
            accounts: Arc::clone(&self.accounts),
            max_organizations_per_user: self.config.max_organizations_per_user,
            backups: self.backups.clone(),
        };
        Ok((crate::platform_router(state.clone(), platform), state))
    }

    /// Writes the usage counted so far now, as the background flusher does every `usage_flush` (tests read
    /// the day's totals right after).
    ///
    /// # Errors
    /// Database errors: the counts are kept for the next flush.
    pub async fn flush_usage(&self) -> crate::Result<()> {
        self.usage.flush().await
    }

    /// Backups, restores and their schedule.
    #[must_use]
    pub fn backups(&self) -> &Backups {
        &self.backups
    }

    /// Records the last usage counts, then stops every instance's server (their data stays for the next
    /// start).
    pub async fn shutdown(&self) {
        self.stop.cancel();
        if let Err(e) = self.usage.flush().await {
            tracing::warn!(error = %e, "could not record the last usage counts");
        }
        self.lifecycle.provisioner().shutdown().await;
    }
}

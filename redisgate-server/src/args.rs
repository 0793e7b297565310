//! The binary's command line: flags, each also read from a `REDISGATE_*` variable (docs/configuration.md).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use redisgate_gateway::config::{secs, ConfigError, DirectoryConfig, InstanceConfig, DEFAULT_INSTANCE};
use redisgate_gateway::tls::{server_config, RedisTls, TlsFiles};
use redisgate_gateway::upstream::UpstreamOptions;
use redisgate_gateway::ServerLimits;

/// Command-line arguments of `redisgate-gateway`.
#[derive(clap::Parser, Clone)]
#[command(name = "redisgate-gateway", version, about = "Redis over HTTP, compatible with the Upstash REST API")]
pub struct Args {
    /// Address to listen on.
    #[arg(long, env = "REDISGATE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The Redis to serve (standalone mode).
    #[arg(long, env = "REDISGATE_REDIS_URL", conflicts_with = "config")]
    pub redis_url: Option<String>,
    /// Token with access to every command (standalone mode).
    #[arg(long, env = "REDISGATE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Token limited to read commands (standalone mode).
    #[arg(long, env = "REDISGATE_READONLY_TOKEN", hide_env_values = true)]
    pub readonly_token: Option<String>,
    /// TOML file describing several instances (see the configuration reference).
    #[arg(long, env = "REDISGATE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Largest request body in bytes.
    #[arg(long, env = "REDISGATE_MAX_BODY_BYTES", default_value_t = 10 * 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Seconds to wait for a Redis reply before answering 504.
    #[arg(long, env = "REDISGATE_REDIS_TIMEOUT_SECS", default_value_t = 10.0)]
    pub redis_timeout_secs: f64,
    /// Seconds a client may take to send its request body before a 408.
    #[arg(long, env = "REDISGATE_BODY_TIMEOUT_SECS", default_value_t = 30.0)]
    pub body_timeout_secs: f64,
    /// Seconds a client may take to send a request's headers (slow ones are disconnected).
    #[arg(long, env = "REDISGATE_HEADER_TIMEOUT_SECS", default_value_t = 10.0)]
    pub header_timeout_secs: f64,
    /// Most client connections open at once (default: the open-file limit less 256 kept for Redis,
    /// PostgreSQL and files); beyond, new connections are closed at once.
    #[arg(long, env = "REDISGATE_MAX_CONNECTIONS")]
    pub max_connections: Option<usize>,
    /// Most connections open at once from one IP address; 0 disables the limit (behind a proxy, every client
    /// shares the proxy's address).
    #[arg(long, env = "REDISGATE_MAX_CONNECTIONS_PER_ADDRESS", default_value_t = 512)]
    pub max_connections_per_address: usize,
    /// Largest answer to one request in bytes, as sent (instances may set a smaller `max_response_size`).
    #[arg(long, env = "REDISGATE_MAX_RESPONSE_BYTES", default_value_t = redisgate_core::limits::DEFAULT_MAX_RESPONSE_BYTES)]
    pub max_response_bytes: usize,
    /// Most bytes of replies held at once by the process, built or being written; beyond, 503.
    #[arg(long, env = "REDISGATE_MAX_REPLY_BYTES_IN_FLIGHT", default_value_t = 128 * 1024 * 1024)]
    pub max_reply_bytes_in_flight: usize,
    /// Seconds without a byte read or written, and no management request being handled, after which a connection is
    /// closed.
    #[arg(long, env = "REDISGATE_IDLE_TIMEOUT_SECS", default_value_t = 60.0)]
    pub idle_timeout_secs: f64,
    /// Seconds a write may wait for the client to read before the connection is closed.
    #[arg(long, env = "REDISGATE_WRITE_TIMEOUT_SECS", default_value_t = 30.0)]
    pub write_timeout_secs: f64,
    /// The record size of instances whose limits set none: the largest value a command may write or grow, in
    /// bytes (0: none).
    #[arg(long, env = "REDISGATE_MAX_RECORD_BYTES", default_value_t = 100 * 1024 * 1024)]
    pub max_record_bytes: u64,
    /// Most requests in progress at once on one HTTP/2 connection.
    #[arg(long, env = "REDISGATE_MAX_STREAMS_PER_CONNECTION", default_value_t = 32)]
    pub max_streams_per_connection: u32,
    /// Seconds between keepalive comments on SSE streams.
    #[arg(long, env = "REDISGATE_SSE_KEEPALIVE_SECS", default_value_t = 15.0)]
    pub sse_keepalive_secs: f64,
    /// Where the instances come from when it is not the flags, a config file or PostgreSQL: `kubernetes`
    /// serves the `RedisHttpInstance` resources of the watched namespaces (docs/kubernetes.md).
    #[arg(long, env = "REDISGATE_DIRECTORY", value_enum, conflicts_with_all = ["redis_url", "config", "database_url"])]
    pub directory: Option<DirectoryKind>,
    /// With `--directory kubernetes`: a namespace to watch (repeatable; default: every namespace).
    #[arg(long = "namespace", env = "REDISGATE_NAMESPACES", value_delimiter = ',', requires = "directory")]
    pub namespaces: Vec<String>,
    /// Benchmarks only: serve a fixed body without Redis (the floor `bench/` compares the gateway with).
    #[arg(long, hide = true)]
    pub bench_floor: bool,
    /// Worker threads (default: one per core).
    #[arg(long, env = "REDISGATE_WORKERS")]
    pub workers: Option<usize>,
    /// Seconds to let in-flight requests finish after SIGTERM or Ctrl-C.
    #[arg(long, env = "REDISGATE_DRAIN_SECS", default_value_t = 10.0)]
    pub drain_secs: f64,
    /// Platform mode: the PostgreSQL database of the control plane (`postgres://user:pass@host/db`).
    #[arg(long, env = "REDISGATE_DATABASE_URL", hide_env_values = true, conflicts_with_all = ["redis_url", "config"])]
    pub database_url: Option<String>,
    /// Platform mode: the secret that signs session tokens (at least 32 bytes; required unless --dev).
    #[arg(long, env = "REDISGATE_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Platform mode: lifetime of session tokens in seconds.
    #[arg(long, env = "REDISGATE_JWT_TTL_SECS", default_value_t = 12 * 3600)]
    pub jwt_ttl_secs: i64,
    /// Platform mode: where instances run.
    #[arg(long, env = "REDISGATE_PROVISIONER", value_enum, default_value = "local")]
    pub provisioner: ProvisionerKind,
    /// Platform mode, local provisioner: where instances keep their configuration and data (default:
    /// `$XDG_STATE_HOME/redisgate/platform`, `~/.local/state/redisgate/platform`, or `/var/lib/redisgate`
    /// when there is no home directory; never the current directory).
    #[arg(long, env = "REDISGATE_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
    /// Platform mode, local provisioner: new instances listen on TLS only (`tls-auth-clients yes`, no plain
    /// port), with a CA the provisioner makes in the state directory; the gateway connects with its client
    /// certificate. Existing instances keep how they were made.
    #[arg(long, env = "REDISGATE_LOCAL_TLS")]
    pub local_tls: bool,
    /// Platform mode: where backups are kept, `s3://bucket[/prefix]` (endpoint, region and credentials from
    /// `AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP`) or an
    /// absolute directory (default: `<state-dir>/backups`).
    #[arg(long, env = "REDISGATE_BACKUP_STORE")]
    pub backup_store: Option<String>,
    /// Platform mode, local provisioner: the redis-server binary.
    #[arg(long, env = "REDISGATE_REDIS_SERVER_BIN", default_value = "redis-server")]
    pub redis_server_bin: PathBuf,
    /// Platform mode: instances are also reachable as `<name>.<domain>`.
    #[arg(long, env = "REDISGATE_DOMAIN")]
    pub domain: Option<String>,
    /// Platform mode: the gateway's public base URL, used in the REST URLs the API hands out
    /// (default: `http://<listen address>`).
    #[arg(long, env = "REDISGATE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Platform mode: most organizations one user may own (what each may have is its plan's, which
    /// `redisgate admin plan` sets).
    #[arg(long, env = "REDISGATE_MAX_ORGANIZATIONS_PER_USER", default_value_t = redisgate_platform::MAX_ORGANIZATIONS_PER_USER)]
    pub max_organizations_per_user: i64,
    /// Development mode: allows a generated JWT secret. Never in production.
    #[arg(long, env = "REDISGATE_DEV")]
    pub dev: bool,
    /// Platform mode: seconds between writes of usage counts to PostgreSQL (also how quickly a daily quota
    /// learns what other gateway replicas counted).
    #[arg(long, env = "REDISGATE_USAGE_FLUSH_SECS", default_value_t = 5.0)]
    pub usage_flush_secs: f64,
    /// Serve Prometheus metrics (`/metrics`) on this separate address, e.g. 127.0.0.1:9090.
    #[arg(long, env = "REDISGATE_ADMIN_LISTEN")]
    pub admin_listen: Option<SocketAddr>,
    /// Log format.
    #[arg(long, env = "REDISGATE_LOG_FORMAT", value_enum, default_value = "human")]
    pub log_format: LogFormat,
    /// Serve HTTPS with this certificate chain (PEM, leaf first); re-read when the file changes.
    #[arg(long, env = "REDISGATE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, env = "REDISGATE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// `rediss://` upstreams: verify servers with this CA (PEM) instead of the system's roots.
    #[arg(long, env = "REDISGATE_REDIS_CA_CERT")]
    pub redis_ca_cert: Option<PathBuf>,
    /// `rediss://` upstreams: present this client certificate (PEM) to servers that ask for one (mTLS).
    #[arg(long, env = "REDISGATE_REDIS_CLIENT_CERT", requires = "redis_client_key")]
    pub redis_client_cert: Option<PathBuf>,
    /// The private key of --redis-client-cert (PEM).
    #[arg(long, env = "REDISGATE_REDIS_CLIENT_KEY", requires = "redis_client_cert")]
    pub redis_client_key: Option<PathBuf>,
}

/// A directory fed from outside the gateway.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirectoryKind {
    /// The `RedisHttpInstance` resources of a Kubernetes cluster.
    Kubernetes,
}

/// Where platform instances run.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProvisionerKind {
    /// A supervised `redis-server` per instance on this machine.
    Local,
    /// `RedisHttpInstance` resources reconciled by the operator.
    Kubernetes,
}

/// How log lines are written.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// For people.
    Human,
    /// One JSON object per line.
    Json,
}

impl Args {
    /// Where the local provisioner keeps instances: `--state-dir`, else `<state home>/platform`, else
    /// `/var/lib/redisgate` (a service without a home).
    #[must_use]
    pub fn state_dir(&self) -> PathBuf {
        self.state_dir.clone().unwrap_or_else(|| {
            redisgate_platform::state_home()
                .map_or_else(|| PathBuf::from("/var/lib/redisgate"), |home| home.join("platform"))
        })
    }

    /// Request limits from the flags.
    ///
    /// # Errors
    /// Non-positive or non-finite durations.
    pub fn limits(&self) -> Result<ServerLimits, ConfigError> {
        let defaults = ServerLimits::default();
        let limits = ServerLimits {
            max_body_bytes: self.max_body_bytes,
            sse_keepalive: secs("sse-keepalive-secs", self.sse_keepalive_secs)?,
            body_timeout: secs("body-timeout-secs", self.body_timeout_secs)?,
            header_timeout: secs("header-timeout-secs", self.header_timeout_secs)?,
            max_connections: self.max_connections.unwrap_or(defaults.max_connections),
            max_connections_per_address: self.max_connections_per_address,
            max_response_bytes: self.max_response_bytes,
            max_reply_bytes_in_flight: self.max_reply_bytes_in_flight,
            idle_timeout: secs("idle-timeout-secs", self.idle_timeout_secs)?,
            write_timeout: secs("write-timeout-secs", self.write_timeout_secs)?,
            max_streams_per_connection: self.max_streams_per_connection.max(1),
            max_record_bytes: std::num::NonZeroU64::new(self.max_record_bytes),
        };
        if limits.max_reply_bytes_in_flight < limits.max_response_bytes {
            return Err(ConfigError::new("--max-reply-bytes-in-flight must be at least --max-response-bytes"));
        }
        if limits.idle_timeout <= limits.sse_keepalive {
            return Err(ConfigError::new("--idle-timeout-secs must be longer than --sse-keepalive-secs"));
        }
        Ok(limits)
    }

    /// Timeouts and TLS certificates for every upstream Redis.
    ///
    /// # Errors
    /// Non-positive or non-finite durations, unreadable certificate files.
    pub fn upstream_options(&self) -> Result<UpstreamOptions, ConfigError> {
        let tls = RedisTls::from_files(
            self.redis_ca_cert.as_deref(),
            self.redis_client_cert.as_deref(),
            self.redis_client_key.as_deref(),
        )
        .map_err(ConfigError::new)?;
        Ok(UpstreamOptions {
            response_timeout: secs("redis-timeout-secs", self.redis_timeout_secs)?,
            tls,
            ..UpstreamOptions::default()
        })
    }

    /// The HTTPS configuration of the listener, with --tls-cert and --tls-key.
    ///
    /// # Errors
    /// Unreadable files, or files that do not make a certificate.
    pub fn tls(&self) -> Result<Option<Arc<rustls::ServerConfig>>, ConfigError> {
        let (Some(cert), Some(key)) = (&self.tls_cert, &self.tls_key) else {
            return Ok(None);
        };
        let files = TlsFiles { cert: cert.clone(), key: key.clone() };
        server_config(&files).map(Some).map_err(|e| ConfigError::new(format!("--tls-cert/--tls-key: {e}")))
    }

    /// The JWT secret of platform mode: the configured one, or in `--dev` mode a generated one.
    ///
    /// # Errors
    /// No secret outside dev mode, or one shorter than 32 bytes.
    pub fn jwt_secret(&self) -> Result<Vec<u8>, ConfigError> {
        match (&self.jwt_secret, self.dev) {
            (Some(secret), _) if secret.len() >= redisgate_core::auth::jwt::MIN_SECRET_LEN => {
                Ok(secret.as_bytes().to_vec())
            }
            (Some(_), _) => Err(ConfigError::new("--jwt-secret must be at least 32 bytes")),
            (None, true) => Ok(redisgate_core::auth::token::redis_password().into_bytes()),
            (None, false) => Err(ConfigError::new(
                "platform mode needs --jwt-secret (or REDISGATE_JWT_SECRET); only --dev may generate one",
            )),
        }
    }

    /// Checks the platform-mode flags.
    ///
    /// # Errors
    /// A missing secret, an unavailable provisioner.
    pub fn check_platform(&self) -> Result<(), ConfigError> {
        self.jwt_secret()?;
        if self.provisioner == ProvisionerKind::Kubernetes && !cfg!(feature = "kubernetes") {
            return Err(ConfigError::new(
                "this build has no Kubernetes support (cargo feature `kubernetes`); use --provisioner local",
            ));
        }
        if self.jwt_ttl_secs < 60 {
            return Err(ConfigError::new("--jwt-ttl-secs must be at least 60"));
        }
        Ok(())
    }

    /// How often platform mode writes usage counts.
    ///
    /// # Errors
    /// A non-positive or non-finite duration.
    pub fn usage_flush(&self) -> Result<Duration, ConfigError> {
        secs("usage-flush-secs", self.usage_flush_secs)
    }

    /// The instances to serve, from the flags or the config file, checked.
    ///
    /// # Errors
    /// A missing token or URL, an unreadable or invalid file, duplicate names or tokens.
    pub fn directory(&self) -> Result<DirectoryConfig, ConfigError> {
        let options = self.upstream_options()?;
        if let Some(path) = &self.config {
            let text = std::fs::read_to_string(path)
                .map_err(|e| ConfigError::new(format!("cannot read config file {}: {e}", path.display())))?;
            return DirectoryConfig::from_toml(&text, &options);
        }
        let url = self.redis_url.as_deref().ok_or_else(|| {
            ConfigError::new(
                "no Redis to serve: pass --redis-url redis://HOST:PORT (or REDISGATE_REDIS_URL), or --config FILE",
            )
        })?;
        let token =
            self.token.as_deref().ok_or_else(|| ConfigError::new("--token (or REDISGATE_TOKEN) is required"))?;
        let instance = InstanceConfig::new(DEFAULT_INSTANCE, url, token, self.readonly_token.as_deref(), options)?;
        Ok(DirectoryConfig::single(instance))
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::Args;

    #[test]
    fn the_default_state_directory_is_never_the_current_directory() {
        let args = Args::parse_from(["redisgate-gateway"]);
        let dir = args.state_dir();
        assert!(dir.is_absolute(), "{}", dir.display());
        assert!(dir.ends_with("redisgate/platform") || dir == std::path::Path::new("/var/lib/redisgate"));
        let args = Args::parse_from(["redisgate-gateway", "--state-dir", "/srv/rg"]);
        assert_eq!(args.state_dir(), std::path::Path::new("/srv/rg"));
    }
}

//! [`Config`]: what the flags say, checked and built once by `main` before anything starts. It is plain
//! data (the instances to serve, limits, TLS, the platform's settings); each worker builds only its runtime
//! objects from it (its directory and connections). An invalid configuration stops the binary with exit
//! status 64 and the reason.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use redisgate_gateway::config::{ConfigError, DirectoryConfig};
use redisgate_gateway::ServerLimits;
use redisgate_platform::{PlatformConfig, PublicUrls};

use crate::args::{Args, DirectoryKind, ProvisionerKind};

/// The binary's configuration, checked.
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Worker threads, each with its own runtime.
    pub workers: usize,
    /// Where `/metrics` is served, if anywhere.
    pub admin_listen: Option<SocketAddr>,
    /// How long in-flight requests may take to finish at shutdown.
    pub drain: Duration,
    /// The server's request limits.
    pub limits: ServerLimits,
    /// The listener's HTTPS configuration (its certificate follows its files).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// What is served.
    pub mode: Mode,
}

/// Standalone (instances from the flags or a file), platform (instances from PostgreSQL), Kubernetes
/// (instances from the cluster's resources), or the benchmark floor.
pub enum Mode {
    /// The instances of the flags or the config file.
    Standalone(DirectoryConfig),
    /// The control plane. Its public URL is the listener's when none is configured, known once it is bound.
    Platform {
        /// The control plane's settings (`urls.base` empty until the listener is bound, unless configured).
        config: Box<PlatformConfig>,
        /// Where instances run.
        provisioner: ProvisionerKind,
    },
    /// `--directory kubernetes`: the `RedisHttpInstance` resources of `namespaces` (all when empty).
    Kubernetes {
        /// The namespaces watched.
        namespaces: Vec<String>,
        /// `<name>.<domain>` routing.
        domain: Option<String>,
        /// Timeouts and TLS of every upstream.
        upstream: redisgate_gateway::upstream::UpstreamOptions,
    },
    /// `--bench-floor`: the serve loop answering a fixed body (bench/).
    Floor,
}

impl TryFrom<&Args> for Config {
    type Error = ConfigError;

    fn try_from(args: &Args) -> Result<Self, ConfigError> {
        let limits = args.limits()?;
        let mode = if args.bench_floor {
            Mode::Floor
        } else if args.directory == Some(DirectoryKind::Kubernetes) {
            Mode::Kubernetes {
                namespaces: args.namespaces.clone(),
                domain: args.domain.clone(),
                upstream: args.upstream_options()?,
            }
        } else if let Some(database_url) = &args.database_url {
            args.check_platform()?;
            if args.dev && args.jwt_secret.is_none() {
                tracing::warn!("dev mode: using a generated JWT secret; sessions end when the process stops");
            }
            let config = PlatformConfig {
                database_url: database_url.clone(),
                jwt_secret: args.jwt_secret()?,
                jwt_ttl_secs: args.jwt_ttl_secs,
                state_dir: args.state_dir(),
                redis_server_bin: args.redis_server_bin.clone(),
                urls: PublicUrls { base: args.public_url.clone().unwrap_or_default(), domain: args.domain.clone() },
                upstream: args.upstream_options()?,
                limits: limits.clone(),
                usage_flush: args.usage_flush()?,
                local_tls: args.local_tls,
                max_organizations_per_user: args.max_organizations_per_user,
                backup_store: args.backup_store.clone(),
            };
            Mode::Platform { config: Box::new(config), provisioner: args.provisioner }
        } else {
            Mode::Standalone(args.directory()?)
        };
        Ok(Self {
            listen: args.listen,
            workers: args.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1),
            admin_listen: args.admin_listen,
            drain: Duration::try_from_secs_f64(args.drain_secs).unwrap_or(Duration::from_secs(10)),
            limits,
            tls: args.tls()?,
            mode,
        })
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    fn config(flags: &[&str]) -> Result<Config, ConfigError> {
        Config::try_from(&Args::parse_from(std::iter::once("redisgate-gateway").chain(flags.iter().copied())))
    }

    #[test]
    fn each_mode_is_checked_once_with_the_reason() {
        let standalone = config(&["--redis-url", "redis://127.0.0.1:6379", "--token", "t"]).unwrap();
        assert!(matches!(&standalone.mode, Mode::Standalone(d) if d.instances.len() == 1));
        let no_token = config(&["--redis-url", "redis://127.0.0.1:6379"]).err().unwrap();
        assert!(no_token.to_string().contains("--token"), "{no_token}");
        let bad_url = config(&["--redis-url", "http://nope", "--token", "t"]).err().unwrap();
        assert!(bad_url.to_string().contains("invalid Redis URL"), "{bad_url}");
        let no_secret = config(&["--database-url", "postgres://localhost/x"]).err().unwrap();
        assert!(no_secret.to_string().contains("--jwt-secret"), "{no_secret}");
        let dev = config(&["--database-url", "postgres://localhost/x", "--dev"]).unwrap();
        assert!(matches!(&dev.mode, Mode::Platform { config, .. } if config.jwt_secret.len() >= 32));
        let timeouts = config(&["--redis-url", "redis://h:1", "--token", "t", "--idle-timeout-secs", "1"]).err();
        assert!(timeouts.is_some_and(|e| e.to_string().contains("--idle-timeout-secs")));
    }
}

//! Configuration of a static directory: one instance, or many from a file (the binary's flags are in
//! `redisgate-server`).
//!
//! Standalone mode serves one Redis (`--redis-url`, `--token`, optional `--readonly-token`) as the instance
//! `default`. `--config FILE` serves many; the file is TOML:
//!
//! ```toml
//! domain = "redis.example.com"   # optional: <name>.redis.example.com reaches instance <name>
//!
//! [[instance]]
//! name = "cache"
//! redis_url = "redis://127.0.0.1:6379"
//! token = "a-long-random-token"
//! readonly_token = "another-one"   # optional
//!
//! [[instance]]
//! name = "managed"
//! redis_url = "rediss://redis.internal:6380"   # TLS; verified with the CA below or the system's roots
//! token = "a-third-token"
//! tls_ca_cert = "/etc/redisgate/redis-ca.pem"        # optional, per instance (else --redis-ca-cert)
//! tls_client_cert = "/etc/redisgate/client.pem"      # optional, mTLS (else --redis-client-cert)
//! tls_client_key = "/etc/redisgate/client-key.pem"
//!
//! [instance.limits]                # optional, every field optional (docs/configuration.md, "Limits")
//! max_requests_per_second = 1000
//! max_daily_requests = 1000000
//! max_concurrent_connections = 100
//! max_request_size = 1048576
//! max_record_size = 524288
//! max_key_size = 32768
//! ```
//!
//! Invalid configuration is reported at start with the reason; the binary exits with status 64.

use std::time::Duration;

use redisgate_core::auth::TokenHash;
use redisgate_core::limits::Limits;
use redisgate_core::protocol::Access;
use redisgate_core::provisioning::dns_label_problem;
use serde::Deserialize;

use crate::directory::{Instance, StaticDirectory};
use crate::quota::Meters;
use crate::tls::RedisTls;
use crate::upstream::{Upstream, UpstreamOptions};

/// The name of the instance served in standalone mode (also reachable as `/db/default`).
pub const DEFAULT_INSTANCE: &str = "default";

/// Why a configuration was refused.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

impl ConfigError {
    /// A refusal with `message`.
    #[must_use]
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    domain: Option<String>,
    #[serde(rename = "instance", default)]
    instances: Vec<FileInstance>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileInstance {
    name: String,
    redis_url: String,
    token: String,
    readonly_token: Option<String>,
    #[serde(default)]
    limits: Limits,
    tls_ca_cert: Option<std::path::PathBuf>,
    tls_client_cert: Option<std::path::PathBuf>,
    tls_client_key: Option<std::path::PathBuf>,
}

impl FileInstance {
    /// The server-wide options, with this instance's certificates where it names any.
    fn options(&self, server: &UpstreamOptions) -> Result<UpstreamOptions, ConfigError> {
        let mut options = server.clone();
        let ca = self.tls_ca_cert.as_deref();
        let (cert, key) = (self.tls_client_cert.as_deref(), self.tls_client_key.as_deref());
        if ca.is_some() || cert.is_some() || key.is_some() {
            let own = RedisTls::from_files(ca, cert, key)
                .map_err(|e| ConfigError::new(format!("instance '{}': {e}", self.name)))?;
            options.tls =
                RedisTls { ca_cert: own.ca_cert.or(options.tls.ca_cert), client: own.client.or(options.tls.client) };
        }
        Ok(options)
    }
}

/// The instances to serve, checked: plain data, from which each worker builds its own directory (its own
/// connections to Redis) with [`DirectoryConfig::build`].
#[derive(Debug, Clone)]
pub struct DirectoryConfig {
    /// Every instance.
    pub instances: Vec<InstanceConfig>,
    /// The instance a request that names none goes to (the only one, when there is one).
    pub default: Option<String>,
    /// `<name>.<domain>` reaches instance `<name>`.
    pub domain: Option<String>,
}

/// One instance, checked: its name, its Redis, its tokens' digests and its limits.
#[derive(Debug, Clone)]
pub struct InstanceConfig {
    name: String,
    url: String,
    credentials: Vec<(TokenHash, Access)>,
    limits: Option<Limits>,
    options: UpstreamOptions,
}

impl DirectoryConfig {
    /// Parses and checks the TOML config file.
    ///
    /// # Errors
    /// Syntax errors, unknown fields, invalid names, URLs, tokens or limits, duplicates.
    pub fn from_toml(text: &str, options: &UpstreamOptions) -> Result<Self, ConfigError> {
        let file: FileConfig =
            toml::from_str(text).map_err(|e| ConfigError::new(format!("invalid config file: {e}")))?;
        if file.instances.is_empty() {
            return Err(ConfigError::new("the config file declares no [[instance]]"));
        }
        let mut names = std::collections::HashSet::new();
        let mut tokens = std::collections::HashSet::new();
        let mut instances = Vec::new();
        for i in &file.instances {
            if !names.insert(i.name.as_str()) {
                return Err(ConfigError::new(format!("instance '{}' is declared twice", i.name)));
            }
            for token in std::iter::once(&i.token).chain(&i.readonly_token) {
                if !tokens.insert(token.as_str()) {
                    return Err(ConfigError::new(format!("instance '{}' reuses a token of another instance", i.name)));
                }
            }
            let instance =
                InstanceConfig::new(&i.name, &i.redis_url, &i.token, i.readonly_token.as_deref(), i.options(options)?)?;
            instances.push(InstanceConfig { limits: Some(i.limits), ..instance });
        }
        let default = (instances.len() == 1).then(|| file.instances[0].name.clone());
        Ok(Self { instances, default, domain: file.domain })
    }

    /// One instance, served as the default.
    #[must_use]
    pub fn single(instance: InstanceConfig) -> Self {
        Self { default: Some(instance.name.clone()), instances: vec![instance], domain: None }
    }

    /// The directory of one worker: its own upstreams, limits enforced through `meters` (share one registry
    /// between the workers of a process).
    ///
    /// # Errors
    /// A Redis URL redis-rs refuses (checked already, so not expected).
    pub fn build(&self, meters: &Meters) -> Result<StaticDirectory, ConfigError> {
        let instances = self
            .instances
            .iter()
            .map(|i| {
                let instance = i.build()?;
                Ok(match i.limits {
                    Some(limits) => instance.with_meter(meters.instance(&i.name, None, limits)),
                    None => instance,
                })
            })
            .collect::<Result<Vec<_>, ConfigError>>()?;
        Ok(StaticDirectory::new(instances, self.default.as_deref(), self.domain.clone()))
    }
}

impl InstanceConfig {
    /// An instance with its tokens (hashed here), checked as the config file's instances are.
    ///
    /// # Errors
    /// An invalid name, token pair or Redis URL.
    pub fn new(
        name: &str,
        url: &str,
        token: &str,
        readonly: Option<&str>,
        options: UpstreamOptions,
    ) -> Result<Self, ConfigError> {
        if let Some(problem) = dns_label_problem(name, 1, 63) {
            return Err(ConfigError::new(format!(
                "instance name '{name}' must be 1-63 characters of a-z, 0-9 and '-' ({problem})"
            )));
        }
        for t in std::iter::once(token).chain(readonly) {
            if t.trim().is_empty() || t.trim() != t {
                return Err(ConfigError::new(format!(
                    "instance '{name}': tokens must be non-empty, without surrounding spaces"
                )));
            }
        }
        if readonly == Some(token) {
            return Err(ConfigError::new(format!(
                "instance '{name}': the read-only token must differ from the standard token"
            )));
        }
        Upstream::check(url, &options)
            .map_err(|e| ConfigError::new(format!("instance '{name}': invalid Redis URL: {e}")))?;
        let mut credentials = vec![(TokenHash::of(token.as_bytes()), Access::Full)];
        credentials.extend(readonly.map(|t| (TokenHash::of(t.as_bytes()), Access::ReadOnly)));
        Ok(Self { name: name.to_owned(), url: url.to_owned(), credentials, limits: None, options })
    }

    /// The instance, with an upstream of its own (connected on first use).
    ///
    /// # Errors
    /// A Redis URL redis-rs refuses (checked already, so not expected).
    pub fn build(&self) -> Result<Instance, ConfigError> {
        let upstream = Upstream::new(&self.name, &self.url, self.options.clone())
            .map_err(|e| ConfigError::new(format!("instance '{}': invalid Redis URL: {e}", self.name)))?;
        Ok(Instance::new(&self.name, upstream, self.credentials.clone()))
    }
}

/// `value` seconds as a duration, for the flag named `flag`.
///
/// # Errors
/// A non-positive or non-finite value.
pub fn secs(flag: &str, value: f64) -> Result<Duration, ConfigError> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| ConfigError::new(format!("--{flag} must be a positive number of seconds")))
}

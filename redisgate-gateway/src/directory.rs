//! The directory seam: which instance a request addresses, and what its token may do.
//!
//! A request names its instance by Host header (`<name>.<domain>`) or by path prefix (`/db/<name>/...`);
//! with neither, it goes to the default instance, if the directory has one. [`StaticDirectory`] serves
//! instances from flags or a config file, [`watched::WatchedDirectory`] those of a catalog fed from outside
//! (Kubernetes); the platform (PostgreSQL) directory implements the same trait.
//! Lookups are synchronous on purpose: the hot path never waits on a database.

pub mod watched;

use std::collections::HashMap;
use std::sync::Arc;

use redisgate_core::auth::TokenHash;
use redisgate_core::protocol::Access;

use crate::metrics::InstanceMetrics;
use crate::quota::Meter;
use crate::upstream::Upstream;

/// One Redis reachable through the gateway, with the tokens that open it.
pub struct Instance {
    /// Its name (the metrics' label) and request counters.
    metrics: Arc<InstanceMetrics>,
    upstream: Upstream,
    meter: Arc<Meter>,
    credentials: Vec<Credential>,
}

/// A token's digest, what it may do, and its own limits (API keys may have some).
struct Credential {
    hash: TokenHash,
    access: Access,
    meter: Option<Arc<Meter>>,
}

impl Instance {
    /// An instance with its tokens, given as digests, and no limits.
    pub fn new(name: impl Into<String>, upstream: Upstream, credentials: Vec<(TokenHash, Access)>) -> Self {
        let credentials = credentials.into_iter().map(|(hash, access)| Credential { hash, access, meter: None });
        let metrics = Arc::new(InstanceMetrics::new(Arc::from(name.into())));
        Self { meter: Arc::new(Meter::unlimited()), metrics, upstream, credentials: credentials.collect() }
    }

    /// Enforces `meter`'s limits (from a [`crate::quota::Meters`] registry, shared by every worker).
    #[must_use]
    pub fn with_meter(mut self, meter: Arc<Meter>) -> Self {
        self.meter = meter;
        self
    }

    /// Adds a credential with limits of its own (an API key's).
    #[must_use]
    pub fn with_credential(mut self, hash: TokenHash, access: Access, meter: Option<Arc<Meter>>) -> Self {
        self.credentials.push(Credential { hash, access, meter });
        self
    }

    /// The instance's limits and usage.
    #[must_use]
    pub fn meter(&self) -> &Arc<Meter> {
        &self.meter
    }

    /// The instance's name.
    #[must_use]
    pub fn name(&self) -> &str {
        self.metrics.label()
    }

    /// Its label and request counters, for the metrics.
    #[must_use]
    pub fn metrics(&self) -> Arc<InstanceMetrics> {
        Arc::clone(&self.metrics)
    }

    /// The connection to its Redis.
    #[must_use]
    pub fn upstream(&self) -> &Upstream {
        &self.upstream
    }

    /// What `token` may do here and its own limits, or `None`. Every credential is compared (in constant
    /// time each), so the time taken does not tell which one matched.
    #[must_use]
    pub fn authorize(&self, token: &[u8]) -> Option<(Access, Option<&Arc<Meter>>)> {
        // One SHA-256 per request, however many credentials the instance has.
        let presented = TokenHash::of(token);
        self.credentials.iter().fold(None, |found, c| {
            if c.hash.equals(&presented) {
                found.or(Some((c.access, c.meter.as_ref())))
            } else {
                found
            }
        })
    }
}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance").field("name", &self.name()).field("tokens", &self.credentials.len()).finish()
    }
}

/// Resolves instance names.
pub trait Directory: Send + Sync + 'static {
    /// The instance called `name`.
    fn get(&self, name: &str) -> Option<Arc<Instance>>;
    /// The instance for requests that name none (standalone mode), if any.
    fn default_instance(&self) -> Option<Arc<Instance>>;
    /// The domain under which `<name>.<domain>` Host headers address instances, if any.
    fn domain(&self) -> Option<&str>;
    /// Called when a request names an unknown instance or presents an unknown token: a directory that
    /// caches a database may reload (rate-limited) so that a token issued a moment ago already works.
    /// Answers whether the lookup is worth repeating; the default (nothing to reload) answers `false`.
    fn refresh(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + '_>> {
        Box::pin(std::future::ready(false))
    }
    /// Whether it knows its instances yet (`/-/ready` answers 503 until it does); a directory whose source
    /// is read at start is always ready.
    fn ready(&self) -> bool {
        true
    }
}

/// Instances fixed at start: one from `--redis-url`, or many from `--config`.
pub struct StaticDirectory {
    instances: HashMap<String, Arc<Instance>>,
    default: Option<Arc<Instance>>,
    domain: Option<String>,
}

impl StaticDirectory {
    /// A directory of `instances`; `default` names the one used when a request names none.
    #[must_use]
    pub fn new(instances: Vec<Instance>, default: Option<&str>, domain: Option<String>) -> Self {
        let instances: HashMap<_, _> = instances.into_iter().map(|i| (i.name().to_owned(), Arc::new(i))).collect();
        let default = default.and_then(|name| instances.get(name).cloned());
        Self { instances, default, domain }
    }
}

impl Directory for StaticDirectory {
    fn get(&self, name: &str) -> Option<Arc<Instance>> {
        self.instances.get(name).cloned()
    }

    fn default_instance(&self) -> Option<Arc<Instance>> {
        self.default.clone()
    }

    fn domain(&self) -> Option<&str> {
        self.domain.as_deref()
    }
}

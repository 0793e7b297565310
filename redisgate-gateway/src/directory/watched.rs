//! A directory fed from outside the gateway: each new [`Catalog`] (from a `tokio::sync::watch` channel)
//! replaces the snapshot the hot path reads, keeping the connections of instances whose URL did not change.
//! The Kubernetes directory (`redisgate_operator::catalog`) feeds one per worker. Until the first catalog
//! arrives the directory is not ready (`/-/ready` answers 503), so a gateway that cannot read its source at
//! start never takes traffic; later, a source that goes away leaves the last catalog serving.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use redisgate_core::catalog::Catalog;
use tokio::sync::watch;

use super::{Directory, Instance};
use crate::quota::Meters;
use crate::upstream::{Made, Upstream, UpstreamOptions};

/// The latest catalog, or `None` before the first.
pub type Feed = watch::Receiver<Option<Arc<Catalog>>>;

/// Instances from the latest [`Catalog`].
pub struct WatchedDirectory {
    snapshot: RwLock<Arc<Snapshot>>,
    loaded: AtomicBool,
    domain: Option<String>,
    options: UpstreamOptions,
    meters: Arc<Meters>,
}

#[derive(Default)]
struct Snapshot {
    by_name: HashMap<String, Arc<Instance>>,
    /// Connections kept across catalogs, by name, URL and TLS material.
    upstreams: HashMap<String, (Made, Upstream)>,
}

impl WatchedDirectory {
    /// An empty directory (not ready) whose instances share `meters` with the other workers'.
    #[must_use]
    pub fn new(domain: Option<String>, options: UpstreamOptions, meters: Arc<Meters>) -> Self {
        Self { snapshot: RwLock::default(), loaded: AtomicBool::new(false), domain, options, meters }
    }

    /// Replaces the snapshot with `catalog`'s instances. An entry whose URL the gateway cannot use is left
    /// out (and logged).
    pub fn load(&self, catalog: &Catalog) {
        let previous = self.current();
        let mut next = Snapshot::default();
        for entry in catalog {
            let made = (entry.url.clone(), entry.tls.clone());
            let kept = previous.upstreams.get(&entry.name);
            let upstream = match Upstream::kept_or_new(kept, &entry.name, &made, &self.options) {
                Ok(upstream) => upstream,
                Err(e) => {
                    tracing::warn!(instance = %entry.name, error = %e, "invalid Redis URL; not served");
                    continue;
                }
            };
            let meter = self.meters.instance(&entry.name, None, entry.limits);
            let instance = Instance::new(entry.name.clone(), upstream.clone(), entry.credentials.clone());
            next.upstreams.insert(entry.name.clone(), (made, upstream));
            next.by_name.insert(entry.name.clone(), Arc::new(instance.with_meter(meter)));
        }
        self.meters.retain(&next.by_name.keys().map(String::as_str).collect(), &HashSet::new());
        *self.snapshot.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
        self.loaded.store(true, Ordering::Release);
    }

    /// Loads every catalog `feed` carries, until its sender is gone.
    pub async fn follow(self: Arc<Self>, mut feed: Feed) {
        loop {
            let latest = feed.borrow_and_update().clone();
            if let Some(catalog) = latest {
                self.load(&catalog);
            }
            if feed.changed().await.is_err() {
                return;
            }
        }
    }

    fn current(&self) -> Arc<Snapshot> {
        self.snapshot.read().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Directory for WatchedDirectory {
    fn get(&self, name: &str) -> Option<Arc<Instance>> {
        self.current().by_name.get(name).cloned()
    }

    fn default_instance(&self) -> Option<Arc<Instance>> {
        None
    }

    fn domain(&self) -> Option<&str> {
        self.domain.as_deref()
    }

    fn ready(&self) -> bool {
        self.loaded.load(Ordering::Acquire)
    }
}

//! The platform's instance directory: an in-memory snapshot of every running instance and the credentials
//! that open it, rebuilt from PostgreSQL whenever a change is announced on `redisgate_directory`.
//!
//! The data plane's hot path only reads the snapshot. A revoked token, a rotated token or a deleted
//! instance is gone from every gateway replica as soon as the notification arrives (milliseconds); a
//! periodic reload covers missed notifications, and if PostgreSQL is unreachable the last snapshot keeps
//! serving.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use futures_util::{FutureExt as _, StreamExt as _};
use redisgate_core::api::Scope;
use redisgate_core::auth::TokenHash;
use redisgate_core::protocol::Access;
use redisgate_core::store::{ApiKey, Instance as InstanceRow, InstanceToken};
use redisgate_gateway::directory::{Directory, Instance};
use redisgate_gateway::quota::{Meters, Owner};
use redisgate_gateway::upstream::{Made, Upstream, UpstreamOptions};
use uuid::Uuid;

use super::Pool;
use crate::provisioner::Provisioner;

/// How often the snapshot is rebuilt even without a notification.
const PERIODIC_RELOAD: Duration = Duration::from_secs(10);

/// Least time between two reloads caused by lookup misses (bounds what unknown tokens can cost).
const MISS_RELOAD_INTERVAL: Duration = Duration::from_millis(250);

/// Instances by name, from PostgreSQL.
pub struct PlatformDirectory {
    snapshot: RwLock<Arc<Snapshot>>,
    domain: Option<String>,
    provisioner: Arc<dyn Provisioner>,
    options: UpstreamOptions,
    pool: Pool,
    /// The process's meters (shared with the other workers' directories).
    meters: Arc<Meters>,
    /// When the last reload finished; held while a miss-triggered reload runs, so misses share it.
    last_reload: tokio::sync::Mutex<Option<tokio::time::Instant>>,
}

#[derive(Default)]
struct Snapshot {
    by_name: HashMap<String, Arc<Instance>>,
    /// Connections kept across reloads, by instance id, URL and TLS material.
    upstreams: HashMap<Uuid, (Made, Upstream)>,
    /// Each instance's `updated_at` when its connections were made: a change (a restore restarted its
    /// server, say) makes new ones, so no request meets a connection the old server closed.
    made_at: HashMap<Uuid, chrono::DateTime<chrono::Utc>>,
    /// When the first credential in it stops working (an API key's expiry, a token revoked ahead of time):
    /// the next reload is due then, not at the next periodic one.
    next_expiry: Option<chrono::DateTime<chrono::Utc>>,
}

impl Snapshot {
    /// How long until the next reload: the periodic interval, or less when a credential expires sooner (at
    /// least [`MIN_EXPIRY_WAIT`], so clocks that disagree with the database's cannot make it spin).
    fn next_reload(&self) -> Duration {
        let until_expiry = self.next_expiry.map(|at| (at - chrono::Utc::now()).to_std().unwrap_or_default());
        until_expiry.map_or(PERIODIC_RELOAD, |wait| wait.clamp(MIN_EXPIRY_WAIT, PERIODIC_RELOAD))
    }
}

/// The least time between two reloads caused by expiries.
const MIN_EXPIRY_WAIT: Duration = Duration::from_millis(100);

impl PlatformDirectory {
    /// An empty directory; call [`PlatformDirectory::reload`] or [`PlatformDirectory::watch`].
    pub fn new(
        pool: Pool,
        domain: Option<String>,
        provisioner: Arc<dyn Provisioner>,
        options: UpstreamOptions,
        meters: Arc<Meters>,
    ) -> Self {
        Self {
            snapshot: RwLock::default(),
            domain,
            provisioner,
            options,
            pool,
            meters,
            last_reload: tokio::sync::Mutex::new(None),
        }
    }

    /// Rebuilds the snapshot from the database.
    ///
    /// # Errors
    /// Database errors (the previous snapshot stays in place).
    pub async fn reload(&self) -> crate::Result<()> {
        let mut conn = self.pool.get().await?;
        let instances = InstanceRow::running(&mut conn).await?;
        let tokens = InstanceToken::all_active(&mut conn).await?;
        let keys = ApiKey::all_active(&mut conn).await?;
        drop(conn);

        let now = chrono::Utc::now();
        let expiries = tokens.iter().filter_map(|t| t.revoked_at).chain(keys.iter().filter_map(|k| k.expires_at));
        let next_expiry = expiries.filter(|at| *at > now).min();
        let mut credentials: HashMap<Uuid, Vec<(TokenHash, Access)>> = HashMap::new();
        for token in tokens {
            if let Some(hash) = TokenHash::from_bytes(&token.token_hash) {
                credentials.entry(token.instance_id).or_default().push((hash, token.access));
            }
        }
        let mut keys_by_org: HashMap<Uuid, Vec<&ApiKey>> = HashMap::new();
        for key in &keys {
            keys_by_org.entry(key.organization_id).or_default().push(key);
        }
        let previous = self.current();
        let mut next = Snapshot { next_expiry, ..Snapshot::default() };
        for row in instances {
            let Some(endpoint) = self.provisioner.endpoint(row.id) else {
                continue;
            };
            let made = (endpoint.url.clone(), endpoint.tls.clone());
            let unchanged = previous.made_at.get(&row.id) == Some(&row.updated_at);
            let kept = previous.upstreams.get(&row.id).filter(|_| unchanged);
            let upstream = match Upstream::kept_or_new(kept, &row.name, &made, &self.options) {
                Ok(upstream) => upstream,
                Err(e) => {
                    tracing::warn!(instance = %row.id, error = %e, "invalid endpoint");
                    continue;
                }
            };
            let owner = Owner { instance: row.id, organization: row.organization_id };
            let meter = self.meters.instance(&row.name, Some(owner), row.limits);
            let creds = credentials.remove(&row.id).unwrap_or_default();
            next.upstreams.insert(row.id, (made, upstream.clone()));
            next.made_at.insert(row.id, row.updated_at);
            let mut instance = Instance::new(row.name.clone(), upstream, creds).with_meter(meter);
            for key in keys_by_org.get(&row.organization_id).into_iter().flatten() {
                if key.instance_id.is_some_and(|only| only != row.id) {
                    continue;
                }
                let Some(access) = Scope::data_access(&key.scopes) else {
                    continue;
                };
                let Some(hash) = TokenHash::from_bytes(&key.key_hash) else {
                    continue;
                };
                let meter = (!key.limits.is_unlimited()).then(|| self.meters.key(key.id, key.limits));
                instance = instance.with_credential(hash, access, meter);
            }
            next.by_name.insert(row.name, Arc::new(instance));
        }
        let live_keys = keys.iter().map(|k| k.id).collect();
        self.meters.retain(&next.by_name.keys().map(String::as_str).collect(), &live_keys);
        *self.snapshot.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(next);
        Ok(())
    }

    /// A reload after a lookup miss, at most every 250 ms; concurrent misses wait for the same reload.
    /// `true` when the snapshot is fresh (reloaded now, or by another miss less than 250 ms ago).
    async fn reload_after_miss(&self) -> bool {
        let mut last = self.last_reload.lock().await;
        if last.is_some_and(|at| at.elapsed() < MISS_RELOAD_INTERVAL) {
            return true;
        }
        let reloaded = match self.reload().await {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "directory reload after a miss failed");
                false
            }
        };
        *last = Some(tokio::time::Instant::now());
        reloaded
    }

    /// Keeps the snapshot fresh until the runtime stops: LISTEN for change notifications (reconnecting when
    /// the database goes away), reload periodically, and when a credential in it expires.
    pub async fn watch(self: Arc<Self>, database_url: String) {
        loop {
            if let Err(e) = self.reload().await {
                tracing::warn!(error = %e, "directory reload failed; serving the last snapshot");
            }
            match AsyncPgConnection::establish(&database_url).await {
                Ok(mut conn) => {
                    if diesel::sql_query("LISTEN redisgate_directory").execute(&mut conn).await.is_err() {
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                    // Changes made between the first reload and LISTEN are picked up here.
                    let _ = self.reload().await;
                    let mut notifications = std::pin::pin!(conn.notifications_stream());
                    loop {
                        tokio::select! {
                            notification = notifications.next() => match notification {
                                Some(Ok(_)) => {
                                    // A transaction's notifications (one per statement) arrive together at
                                    // its commit: one reload serves all that are already here.
                                    while let Some(Some(Ok(_))) = notifications.next().now_or_never() {}
                                }
                                Some(Err(_)) | None => break,
                            },
                            () = tokio::time::sleep(self.current().next_reload()) => {}
                        }
                        if let Err(e) = self.reload().await {
                            tracing::warn!(error = %e, "directory reload failed; reconnecting");
                            break;
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for directory changes; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    fn current(&self) -> Arc<Snapshot> {
        self.snapshot.read().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

impl Directory for PlatformDirectory {
    fn get(&self, name: &str) -> Option<Arc<Instance>> {
        self.current().by_name.get(name).cloned()
    }

    fn default_instance(&self) -> Option<Arc<Instance>> {
        None
    }

    fn domain(&self) -> Option<&str> {
        self.domain.as_deref()
    }

    fn refresh(&self) -> std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + '_>> {
        Box::pin(self.reload_after_miss())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_next_reload_comes_with_the_first_expiry() {
        let expiring = |secs: i64| Snapshot {
            next_expiry: Some(chrono::Utc::now() + chrono::Duration::seconds(secs)),
            ..Snapshot::default()
        };
        assert_eq!(Snapshot::default().next_reload(), PERIODIC_RELOAD);
        assert_eq!(expiring(60).next_reload(), PERIODIC_RELOAD);
        let soon = expiring(2).next_reload();
        assert!(soon > Duration::from_secs(1) && soon <= Duration::from_secs(2), "{soon:?}");
        // Already past (the database's clock behind this one): not a spin.
        assert_eq!(expiring(-5).next_reload(), MIN_EXPIRY_WAIT);
    }
}

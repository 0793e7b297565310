//! The provisioner seam: creates, re-adopts and deletes the Redis servers behind instances.
//!
//! Implementations: [`local::LocalProvisioner`] (a supervised `redis-server` per instance on this machine)
//! and, with the operator, a Kubernetes provisioner. The control plane records status in PostgreSQL; the
//! provisioner knows where each server listens and its password, which never reaches the database.

pub mod local;

use std::future::Future;
use std::pin::Pin;

use redisgate_core::provisioning::InstanceSpec;
use uuid::Uuid;

/// A boxed future, so the trait stays object-safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Where a running instance listens.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// `host:port`, safe to show and store.
    pub address: String,
    /// `redis://:<password>@host:port`, for the gateway only.
    pub url: String,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("address", &self.address)
            .field("url", &"<redacted>")
            .finish()
    }
}

/// Creates and removes Redis servers.
pub trait Provisioner: Send + Sync + 'static {
    /// Starts a new server for instance `id`; on failure nothing is left behind.
    fn create(&self, id: Uuid, spec: InstanceSpec) -> BoxFuture<'_, Result<Endpoint, String>>;
    /// Makes sure the server of an existing instance runs again (after a platform restart).
    fn adopt(&self, id: Uuid, spec: InstanceSpec) -> BoxFuture<'_, Result<Endpoint, String>>;
    /// Stops the server and removes its data.
    fn delete(&self, id: Uuid) -> BoxFuture<'_, Result<(), String>>;
    /// The endpoint of a running instance (synchronous: the gateway's directory asks on its hot reload).
    fn endpoint(&self, id: Uuid) -> Option<Endpoint>;
    /// Stops every server without deleting data (platform shutdown).
    fn shutdown(&self) -> BoxFuture<'_, ()>;
}

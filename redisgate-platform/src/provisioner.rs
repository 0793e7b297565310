//! The provisioner seam: creates, re-adopts and deletes the Redis servers behind instances.
//!
//! Implementations: [`local::LocalProvisioner`] (a supervised `redis-server` per instance on this machine)
//! and, with the operator, a Kubernetes provisioner. The control plane records status in PostgreSQL; the
//! provisioner knows where each server listens and its password, which never reaches the database.

pub mod local;
pub mod local_ca;
pub mod memory_bound;
pub mod process;

pub use redisgate_core::provisioning::{BoxFuture, Endpoint, Provisioner, Target};

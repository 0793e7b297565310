//! RedisGate on Kubernetes: the `RedisHttpInstance` custom resource, the operator that reconciles it into
//! the objects running Redis, and the provisioner through which the control plane creates instances.
//!
//! The operator follows kube-rs's controller-rs: pure builders produce every child object, `reconcile`
//! applies them with server-side apply under one field manager and reports status with conditions, and
//! `error_policy` requeues failures with backoff while the metrics count them by cause. No finalizer is
//! used: every child carries a controller owner reference, so Kubernetes' garbage collector removes them
//! with the resource, and the operator keeps no state outside Kubernetes.
//!
//! # Layout
//! - [`crd`]: the resource's spec and status, and the generated CRD YAML.
//! - [`naming`], [`sizing`], [`redis_conf`]: pure rules (names and labels, memory, redis.conf and probes).
//! - [`resources`]: pure builders for the Secret, ConfigMap, StatefulSets, Services, NetworkPolicy and
//!   PodDisruptionBudgets (a replicated instance's Sentinels and budgets included).
//! - [`master`]: asks a replicated instance's Sentinels which node is the master.
//! - [`tls_reload`]: makes a TLS instance's running servers load a renewed certificate.
//! - [`controller`]: `reconcile`, `error_policy` and `run`; [`context`]: what every reconcile shares.
//! - [`backups`]: the `RedisHttpBackup` controller: one Job per backup, its result in the status.
//! - [`status`]: conditions and phase from what the cluster reports.
//! - [`metrics`]: Prometheus metrics of the reconciler; [`admin`] serves them with health endpoints.
//! - [`provisioner`]: the control plane's `Provisioner` implemented on `RedisHttpInstance` resources.
//! - [`config`]: cluster facts (gateway namespace and labels, DNS domain, image repository).
//! - [`error`]: the crate's one error type.

pub mod admin;
pub mod backups;
pub mod catalog;
pub mod config;
pub mod context;
pub mod controller;
pub mod crd;
pub mod error;
pub mod master;
pub mod metrics;
pub mod naming;
pub mod provisioner;
pub mod redis_conf;
pub mod resources;
pub mod shards;
pub mod sizing;
pub mod status;
pub mod tls_reload;

pub use error::{Error, Result};

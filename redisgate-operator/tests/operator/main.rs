//! Tests of the operator and the Kubernetes provisioner without a cluster (kubernetes.md §3): reconcile
//! against an in-memory API server, the rendered config in a real `redis-server`, the whole platform with
//! the Kubernetes provisioner under the RBAC of deploy/, the CRD and the manifests validated offline. Tests
//! that need a real cluster are ignored (with the reason "needs a Kubernetes cluster") and never the only
//! test of a behaviour.

mod backup;
mod cluster;
mod cluster_scripts;
mod crd;
mod directory;
mod fake_api;
mod fixtures;
mod manifests;
mod platform;
mod pod;
mod rbac;
mod reconcile;
mod redis_server;
mod replicated;
mod tls;

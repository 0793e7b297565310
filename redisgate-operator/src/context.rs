//! What every reconcile shares: the API client, the cluster facts, the metrics, the event recorder and the
//! per-object failure counts behind the backoff.

use std::collections::HashMap;
use std::sync::Mutex;

use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Client, Resource as _, ResourceExt as _};

use crate::config::OperatorConfig;
use crate::crd::RedisHttpInstance;
use crate::metrics::Metrics;
use crate::naming::MANAGER;

/// What every reconcile shares.
pub struct Context {
    /// The API client.
    pub client: Client,
    /// Cluster facts.
    pub config: OperatorConfig,
    /// Metrics.
    pub metrics: Metrics,
    recorder: Recorder,
    /// Consecutive failures per `(namespace, name)`, for the backoff.
    pub(crate) failures: Mutex<HashMap<(String, String), u32>>,
}

impl Context {
    /// A context; events are reported as `redisgate-operator`.
    #[must_use]
    pub fn new(client: Client, config: OperatorConfig, metrics: Metrics) -> Self {
        let reporter = Reporter { controller: MANAGER.to_owned(), instance: std::env::var("POD_NAME").ok() };
        let recorder = Recorder::new(client.clone(), reporter);
        Self { client, config, metrics, recorder, failures: Mutex::default() }
    }

    pub(crate) fn key(instance: &RedisHttpInstance) -> (String, String) {
        (instance.namespace().unwrap_or_default(), instance.name_any())
    }

    /// Publishes an event on `instance`; failures are logged, never fatal.
    pub(crate) async fn event(&self, instance: &RedisHttpInstance, type_: EventType, reason: &str, note: String) {
        let event =
            Event { type_, reason: reason.to_owned(), note: Some(note), action: "Reconcile".into(), secondary: None };
        if let Err(e) = self.recorder.publish(&event, &instance.object_ref(&())).await {
            tracing::warn!(error = %e, "cannot publish an event");
        }
    }
}

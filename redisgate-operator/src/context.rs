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
use crate::provisioner::ConnectAddress;

/// What every reconcile shares.
pub struct Context {
    /// The API client.
    pub client: Client,
    /// Cluster facts.
    pub config: OperatorConfig,
    /// Metrics.
    pub metrics: Metrics,
    /// Where the operator connects to reach an instance's server at `host:port` (its pod's DNS name): there
    /// itself unless set (tests map the names to local servers).
    dialer: Option<ConnectAddress>,
    /// Whether the API server serves cert-manager's `Certificate`s, once asked (installing cert-manager later
    /// takes effect at the operator's next start).
    cert_manager: tokio::sync::OnceCell<bool>,
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
        Self {
            client,
            config,
            metrics,
            dialer: None,
            cert_manager: tokio::sync::OnceCell::new(),
            recorder,
            failures: Mutex::default(),
        }
    }

    /// This context, connecting to an instance's server at `host:port` where `dial` maps it.
    #[must_use]
    pub fn with_dial(mut self, dial: ConnectAddress) -> Self {
        self.dialer = Some(dial);
        self
    }

    /// Whether cert-manager issues the certificates: its `cert-manager.io/v1` API serves `certificates` and
    /// `issuers` (discovery, asked once).
    ///
    /// # Errors
    /// The API server failing to answer (a missing group is an answer: `false`).
    pub async fn cert_manager(&self) -> crate::Result<bool> {
        let ask = || async {
            match self.client.list_api_group_resources(crate::resources::cert_manager::GROUP_VERSION).await {
                Ok(list) => {
                    let served = |plural: &str| list.resources.iter().any(|r| r.name == plural);
                    Ok(served("certificates") && served("issuers"))
                }
                Err(kube::Error::Api(status)) if status.code == 404 => Ok(false),
                Err(error) => Err(crate::Error::Kube(error)),
            }
        };
        self.cert_manager.get_or_try_init(ask).await.copied()
    }

    /// Where to connect to reach `address` (`host:port`).
    #[must_use]
    pub fn dial(&self, address: &str) -> String {
        self.dialer.as_ref().map_or_else(|| address.to_owned(), |dial| dial(address))
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

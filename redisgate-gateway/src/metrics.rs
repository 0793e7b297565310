//! Prometheus metrics of the gateway, served on the admin listener (`--admin-listen`), never on the
//! public port.
//!
//! One registry per process, held in the state ([`crate::AppState::metrics`]) and shared by every worker
//! runtime, which record into the same atomic counters. Request metrics are recorded by one middleware from
//! what the handlers leave in the response's extensions ([`Observed`], [`Incident`]), so handlers, limits and
//! upstreams stay free of bookkeeping.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, OnceLock};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use redisgate_core::protocol::Endpoint;

/// What a request was, for the metrics and the logs: decided here and nowhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One command.
    Command,
    /// `/pipeline`.
    Pipeline,
    /// `/multi-exec`.
    MultiExec,
    /// `/subscribe`, `/psubscribe`.
    Subscribe,
    /// `/monitor`.
    Monitor,
    /// Routes mounted beside the data plane, named by whoever mounts them (the platform's management API
    /// is `api`), and tagged by them with an [`Observed`].
    Mounted(&'static str),
    /// Health checks (`/-/...`).
    Health,
    /// A response that carries no [`Observed`]: a handler that panicked, or a route outside the data plane,
    /// the API and the health checks.
    Data,
}

impl Kind {
    /// Every kind but mounted routes': each has its place ([`Kind::slot`]) among the duration histograms made
    /// at start and an instance's request counters.
    const ALL: [Self; 7] =
        [Self::Command, Self::Pipeline, Self::MultiExec, Self::Subscribe, Self::Monitor, Self::Health, Self::Data];

    /// The label value.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Command => "command",
            Self::Pipeline => "pipeline",
            Self::MultiExec => "multi_exec",
            Self::Subscribe => "subscribe",
            Self::Monitor => "monitor",
            Self::Mounted(name) => name,
            Self::Health => "health",
            Self::Data => "data",
        }
    }

    /// Its place in [`Kind::ALL`]; `None` for a mounted route's.
    fn slot(self) -> Option<usize> {
        Self::ALL.iter().position(|&kind| kind == self)
    }

    /// The kind of a parsed data-plane request.
    #[must_use]
    pub fn of(endpoint: &Endpoint) -> Self {
        match endpoint {
            Endpoint::Pipeline(_) => Self::Pipeline,
            Endpoint::MultiExec(_) => Self::MultiExec,
            Endpoint::Subscribe(_) | Endpoint::PSubscribe(_) => Self::Subscribe,
            Endpoint::Monitor => Self::Monitor,
            _ => Self::Command,
        }
    }

    /// The kind of a request by its path alone, for routes that are not the data plane's.
    #[must_use]
    pub fn of_path(path: &str) -> Self {
        match path {
            p if p.starts_with(crate::HEALTH_PREFIX) => Self::Health,
            _ => Self::Data,
        }
    }
}

/// What a data-plane handler tells the metrics middleware about a request.
#[derive(Debug, Clone)]
pub struct Observed {
    /// What the request was.
    pub kind: Kind,
    /// The instance, when one was resolved.
    pub instance: Option<Arc<InstanceMetrics>>,
}

/// The status classes requests are counted by.
const STATUS_CLASSES: [&str; 4] = ["2xx", "4xx", "5xx", "other"];

/// The place of `status`'s class in [`STATUS_CLASSES`].
fn status_class(status: u16) -> usize {
    match status {
        200..=299 => 0,
        400..=499 => 1,
        500..=599 => 2,
        _ => 3,
    }
}

/// An instance's label, and its request counters once found: finding one in the family hashes the labels
/// (SipHash) under the family's lock, about 500 instructions, so each is found once per kind and status
/// class and kept. The counters belong to the first registry that records a request of the instance; any
/// other registry finds its own every time.
#[derive(Debug)]
pub struct InstanceMetrics {
    label: Arc<str>,
    /// The [`Metrics::id`] of the registry the counters are from.
    registry: OnceLock<u64>,
    /// By [`Kind::slot`], then by [`STATUS_CLASSES`].
    requests: [[OnceLock<Counter>; STATUS_CLASSES.len()]; Kind::ALL.len()],
}

impl InstanceMetrics {
    /// No counters yet.
    #[must_use]
    pub fn new(label: Arc<str>) -> Self {
        Self { label, registry: OnceLock::new(), requests: Default::default() }
    }

    /// The instance's name.
    #[must_use]
    pub fn label(&self) -> &str {
        &self.label
    }
}

/// Something worth counting about a failed request beyond its status, left in the response's extensions by
/// [`crate::ApiError`]'s response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incident {
    /// Refused by a limit: `rate`, `daily` or `concurrent`.
    Limited(&'static str),
    /// The connection to Redis was found broken (redis-rs replaces it in the background).
    BrokenConnection,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    kind: &'static str,
    status: &'static str,
    instance: Arc<str>,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabels {
    kind: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamLabels {
    instance: Arc<str>,
    error: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    instance: Arc<str>,
    limit: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InstanceLabels {
    instance: Arc<str>,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// Every metric.
pub struct Metrics {
    /// Tells registries apart (see [`InstanceMetrics`]).
    id: u64,
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    /// The duration histogram of each of [`Kind::ALL`], by [`Kind::slot`], looked up once at start (no
    /// hashing or locking per request).
    durations: [Histogram; Kind::ALL.len()],
    /// Every kind's duration histogram (mounted routes' are looked up here).
    duration: Family<KindLabels, Histogram>,
    upstream_errors: Family<UpstreamLabels, Counter>,
    reconnects: Family<InstanceLabels, Counter>,
    limited: Family<LimitLabels, Counter>,
    auth_failures: Counter,
    connections: Gauge,
    refused_connections: Family<ReasonLabels, Counter>,
    sse_streams: Gauge,
    provisioning: Family<OutcomeLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// A fresh registry with every metric at zero.
    #[must_use]
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("redisgate");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("requests", "Requests by endpoint kind, status class and instance", requests.clone());
        let duration = Family::<KindLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.000_05, 2.0, 18))
        });
        registry.register("request_duration_seconds", "Time to answer, by endpoint kind", duration.clone());
        let durations = Kind::ALL.map(|kind| duration.get_or_create(&KindLabels { kind: kind.as_str() }).clone());
        let upstream_errors = Family::<UpstreamLabels, Counter>::default();
        registry.register(
            "upstream_errors",
            "Redis unreachable (502) or too slow (504), by instance",
            upstream_errors.clone(),
        );
        let reconnects = Family::<InstanceLabels, Counter>::default();
        registry.register(
            "upstream_reconnects",
            "Connections to Redis found broken and replaced, by instance",
            reconnects.clone(),
        );
        let limited = Family::<LimitLabels, Counter>::default();
        registry.register(
            "limited_requests",
            "Requests refused by a limit (rate, daily, concurrent), by instance",
            limited.clone(),
        );
        let auth_failures = Counter::default();
        registry.register("auth_failures", "Requests refused for a missing or wrong token", auth_failures.clone());
        let connections = Gauge::default();
        registry.register("open_connections", "Client connections currently open", connections.clone());
        let refused_connections = Family::<ReasonLabels, Counter>::default();
        registry.register(
            "refused_connections",
            "Connections closed at once: too many in all (total) or from one address (address)",
            refused_connections.clone(),
        );
        let sse_streams = Gauge::default();
        registry.register("sse_streams", "Server-Sent Events streams currently open", sse_streams.clone());
        let provisioning = Family::<OutcomeLabels, Counter>::default();
        registry.register("provisioning", "Instance provisioning outcomes", provisioning.clone());
        static IDS: AtomicU64 = AtomicU64::new(0);
        Self {
            id: IDS.fetch_add(1, Ordering::Relaxed),
            registry,
            requests,
            durations,
            duration,
            upstream_errors,
            reconnects,
            limited,
            auth_failures,
            connections,
            refused_connections,
            sse_streams,
            provisioning,
        }
    }

    /// Records one answered request, and what went wrong with it (`incident`).
    pub fn request(&self, observed: &Observed, incident: Option<Incident>, status: u16, elapsed: Duration) {
        let kind = observed.kind;
        static NONE: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from(""));
        let instance = observed.instance.as_ref().map_or(&*NONE, |instance| &instance.label);
        match incident {
            Some(Incident::Limited(limit)) => {
                self.limited.get_or_create(&LimitLabels { instance: Arc::clone(instance), limit }).inc();
            }
            Some(Incident::BrokenConnection) => {
                self.reconnects.get_or_create(&InstanceLabels { instance: Arc::clone(instance) }).inc();
            }
            None => {}
        }
        let class = status_class(status);
        match status {
            401 => {
                self.auth_failures.inc();
            }
            502 | 504 => {
                let error = if status == 502 { "unavailable" } else { "timeout" };
                self.upstream_errors.get_or_create(&UpstreamLabels { instance: Arc::clone(instance), error }).inc();
            }
            _ => {}
        }
        let labels =
            || RequestLabels { kind: kind.as_str(), status: STATUS_CLASSES[class], instance: Arc::clone(instance) };
        let slot = kind.slot();
        let kept =
            observed.instance.as_ref().zip(slot).filter(|(kept, _)| *kept.registry.get_or_init(|| self.id) == self.id);
        match kept {
            Some((kept, slot)) => {
                kept.requests[slot][class].get_or_init(|| self.requests.get_or_create(&labels()).clone()).inc()
            }
            None => self.requests.get_or_create(&labels()).inc(),
        };
        match slot {
            Some(slot) => self.durations[slot].observe(elapsed.as_secs_f64()),
            None => self.duration.get_or_create(&KindLabels { kind: kind.as_str() }).observe(elapsed.as_secs_f64()),
        }
    }

    /// A client connection opened; the guard closes it.
    pub fn connection(&self) -> GaugeGuard {
        self.connections.inc();
        GaugeGuard(self.connections.clone())
    }

    /// A connection was closed at once: `total` or `address` limit.
    pub fn connection_refused(&self, reason: &'static str) {
        self.refused_connections.get_or_create(&ReasonLabels { reason }).inc();
    }

    /// An SSE stream opened; the guard closes it.
    pub fn sse_stream(&self) -> GaugeGuard {
        self.sse_streams.inc();
        GaugeGuard(self.sse_streams.clone())
    }

    /// A provisioning attempt ended (`running` or `failed`).
    pub fn provisioned(&self, outcome: &'static str) {
        self.provisioning.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// The OpenMetrics text.
    #[must_use]
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

/// Decrements its gauge when dropped.
pub struct GaugeGuard(Gauge);

impl Drop for GaugeGuard {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounted_routes_are_counted_under_their_own_name() {
        let metrics = Metrics::new();
        let api = Observed { kind: Kind::Mounted("api"), instance: None };
        metrics.request(&api, None, 201, Duration::from_millis(3));
        metrics.request(&Observed { kind: Kind::Command, instance: None }, None, 200, Duration::from_millis(1));
        let text = metrics.encode();
        assert!(text.contains(r#"redisgate_requests_total{kind="api",status="2xx",instance=""} 1"#), "{text}");
        assert!(text.contains(r#"redisgate_request_duration_seconds_count{kind="api"} 1"#), "{text}");
        assert!(text.contains(r#"redisgate_request_duration_seconds_count{kind="command"} 1"#), "{text}");
    }

    #[test]
    fn an_instance_counts_into_each_registry_it_is_recorded_in() {
        let (first, second) = (Metrics::new(), Metrics::new());
        let instance = Arc::new(InstanceMetrics::new(Arc::from("db1")));
        let observed = Observed { kind: Kind::Pipeline, instance: Some(Arc::clone(&instance)) };
        for _ in 0..2 {
            first.request(&observed, None, 200, Duration::from_millis(1));
            first.request(&observed, None, 404, Duration::from_millis(1));
            second.request(&observed, None, 200, Duration::from_millis(1));
        }
        let count = |metrics: &Metrics, status: &str| {
            let line = format!(r#"redisgate_requests_total{{kind="pipeline",status="{status}",instance="db1"}} "#);
            let text = metrics.encode();
            text.lines().find_map(|l| l.strip_prefix(line.as_str()).map(str::to_owned)).unwrap_or_default()
        };
        assert_eq!((count(&first, "2xx"), count(&first, "4xx")), ("2".to_owned(), "2".to_owned()));
        assert_eq!((count(&second, "2xx"), count(&second, "4xx")), ("2".to_owned(), String::new()));
    }
}

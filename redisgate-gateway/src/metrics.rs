//! Prometheus metrics of the gateway, served on the admin listener (`--admin-listen`), never on the
//! public port.
//!
//! One process-wide registry ([`METRICS`]): every worker runtime records into the same atomic counters.
//! Request metrics are recorded by one middleware from what the handlers leave in the response's
//! extensions ([`Observed`]), so handlers stay free of bookkeeping.

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

/// The process-wide metrics.
pub static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// Every endpoint kind of [`Observed::kind`], and `data` for responses that carry no [`Observed`] (a handler
/// that panicked, or a route outside the data plane, the API and the health checks).
const KINDS: [&str; 8] = ["command", "pipeline", "multi_exec", "subscribe", "monitor", "api", "health", "data"];

/// What a handler tells the metrics middleware about a request.
#[derive(Debug, Clone)]
pub struct Observed {
    /// `command`, `pipeline`, `multi_exec`, `subscribe`, `monitor`, `api`, `health`.
    pub kind: &'static str,
    /// The instance, when one was resolved.
    pub instance: Option<Arc<str>>,
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
struct OutcomeLabels {
    outcome: &'static str,
}

/// Every metric.
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    /// The duration histogram of each kind, looked up once at start (no hashing or locking per request).
    durations: Vec<(&'static str, Histogram)>,
    upstream_errors: Family<UpstreamLabels, Counter>,
    reconnects: Family<InstanceLabels, Counter>,
    limited: Family<LimitLabels, Counter>,
    auth_failures: Counter,
    connections: Gauge,
    sse_streams: Gauge,
    provisioning: Family<OutcomeLabels, Counter>,
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("redisgate");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("requests", "Requests by endpoint kind, status class and instance", requests.clone());
        let duration = Family::<KindLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.000_05, 2.0, 18))
        });
        registry.register("request_duration_seconds", "Time to answer, by endpoint kind", duration.clone());
        let durations =
            KINDS.iter().map(|&kind| (kind, duration.get_or_create(&KindLabels { kind }).clone())).collect();
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
        let sse_streams = Gauge::default();
        registry.register("sse_streams", "Server-Sent Events streams currently open", sse_streams.clone());
        let provisioning = Family::<OutcomeLabels, Counter>::default();
        registry.register("provisioning", "Instance provisioning outcomes", provisioning.clone());
        Self {
            registry,
            requests,
            durations,
            upstream_errors,
            reconnects,
            limited,
            auth_failures,
            connections,
            sse_streams,
            provisioning,
        }
    }

    /// Records one answered request.
    pub fn request(&self, observed: Option<&Observed>, status: u16, elapsed: Duration) {
        let kind = observed.map_or("data", |o| o.kind);
        static NONE: LazyLock<Arc<str>> = LazyLock::new(|| Arc::from(""));
        let instance = observed.and_then(|o| o.instance.clone()).unwrap_or_else(|| Arc::clone(&NONE));
        let class = match status {
            200..=299 => "2xx",
            400..=499 => "4xx",
            500..=599 => "5xx",
            _ => "other",
        };
        match status {
            401 => {
                self.auth_failures.inc();
            }
            502 | 504 => {
                let error = if status == 502 { "unavailable" } else { "timeout" };
                self.upstream_errors.get_or_create(&UpstreamLabels { instance: instance.clone(), error }).inc();
            }
            _ => {}
        }
        self.requests.get_or_create(&RequestLabels { kind, status: class, instance }).inc();
        if let Some((_, histogram)) = self.durations.iter().find(|(k, _)| *k == kind) {
            histogram.observe(elapsed.as_secs_f64());
        }
    }

    /// A connection to `instance`'s Redis broke; redis-rs replaces it.
    pub fn reconnect(&self, instance: &Arc<str>) {
        self.reconnects.get_or_create(&InstanceLabels { instance: Arc::clone(instance) }).inc();
    }

    /// A request was refused by `limit` (`rate`, `daily`, `concurrent`).
    pub fn limited(&self, instance: &Arc<str>, limit: &'static str) {
        self.limited.get_or_create(&LimitLabels { instance: Arc::clone(instance), limit }).inc();
    }

    /// A client connection opened; the guard closes it.
    pub fn connection(&self) -> GaugeGuard {
        self.connections.inc();
        GaugeGuard(self.connections.clone())
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

//! OpenTelemetry trace export (cargo feature `otel`): the gateway's `tracing` spans, sent over OTLP/HTTP.
//!
//! [`Telemetry::from_env`] exports only when `OTEL_EXPORTER_OTLP_ENDPOINT` (spans go to `<endpoint>/v1/traces`)
//! or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as is) is set. The service name is `OTEL_SERVICE_NAME`, else
//! `redisgate-gateway`; the exporter's other standard variables (`OTEL_EXPORTER_OTLP_HEADERS`, `..._TIMEOUT`,
//! `OTEL_BSP_*`, `OTEL_TRACES_SAMPLER`, `OTEL_RESOURCE_ATTRIBUTES`) apply as the OpenTelemetry SDK defines
//! them. Spans are batched on the SDK's own thread and posted as protobuf by a blocking reqwest client, so
//! export never runs on (or waits for) a worker's runtime.
//!
//! Every field of an exported span becomes a span attribute, and every event inside it a span event: like log
//! lines, spans must never record a token, a password or a request body.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{ExporterBuildError, Protocol, SpanExporter, WithExportConfig as _};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use tracing_opentelemetry::OpenTelemetryLayer;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

/// The variables that turn export on; the OTLP exporter reads them itself.
const ENDPOINT_VARS: [&str; 2] = ["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT"];

/// `service.name` when `OTEL_SERVICE_NAME` is not set.
pub const DEFAULT_SERVICE_NAME: &str = "redisgate-gateway";

/// Which spans are exported when `REDISGATE_OTEL_FILTER` is not set: RedisGate's own, down to `debug` (the
/// data plane's per-request `request` span and the `redis` spans around upstream calls, and the events the
/// platform records inside them), whatever `RUST_LOG` says.
pub const DEFAULT_FILTER: &str = "redisgate_gateway=debug,redisgate_platform=debug";

/// The variable that overrides [`DEFAULT_FILTER`] (`EnvFilter` syntax, like `RUST_LOG`).
pub const FILTER_VAR: &str = "REDISGATE_OTEL_FILTER";

/// The tracer provider behind the exported spans. Keep it alive while the process runs: dropping it (or
/// [`Telemetry::shutdown`]) exports the spans still batched and stops the exporter.
#[derive(Debug)]
pub struct Telemetry {
    provider: SdkTracerProvider,
}

impl Telemetry {
    /// A batch OTLP/HTTP (protobuf) exporter configured from the standard environment variables, or `None`
    /// when neither endpoint variable is set (then nothing is exported and nothing is started).
    pub fn from_env() -> Result<Option<Self>, ExporterBuildError> {
        if !ENDPOINT_VARS.iter().any(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty())) {
            return Ok(None);
        }
        let exporter = SpanExporter::builder().with_http().with_protocol(Protocol::HttpBinary).build()?;
        let service = std::env::var("OTEL_SERVICE_NAME").ok().filter(|s| !s.is_empty());
        let resource = Resource::builder().with_service_name(service.unwrap_or_else(|| DEFAULT_SERVICE_NAME.into()));
        let provider =
            SdkTracerProvider::builder().with_batch_exporter(exporter).with_resource(resource.build()).build();
        Ok(Some(Self { provider }))
    }

    /// The `tracing` layer that turns spans into OpenTelemetry spans; give it [`Telemetry::filter`] as its
    /// per-layer filter.
    pub fn layer<S>(&self) -> OpenTelemetryLayer<S, SdkTracer>
    where
        S: tracing::Subscriber + for<'span> LookupSpan<'span>,
    {
        tracing_opentelemetry::layer().with_tracer(self.provider.tracer(env!("CARGO_PKG_NAME")))
    }

    /// The spans to export: `REDISGATE_OTEL_FILTER` if it is set and valid, else [`DEFAULT_FILTER`].
    pub fn filter() -> EnvFilter {
        EnvFilter::try_from_env(FILTER_VAR).unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER))
    }
}

/// Dropping exports the spans still batched (waiting at most 5 s) and stops the exporter.
impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Err(e) = self.provider.shutdown() {
            tracing::warn!(error = %e, "OpenTelemetry: could not export the last spans");
        }
    }
}

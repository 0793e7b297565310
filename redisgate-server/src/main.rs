//! The `redisgate-gateway` binary: parse configuration, start logging, serve until SIGTERM or Ctrl-C.
//!
//! The gateway runs one single-threaded tokio runtime per worker (thread-per-core), all accepting from the
//! same listening socket. Measured on a 2-core machine, a current-thread runtime serves the same requests
//! with about a quarter less CPU than a one-worker multi-threaded runtime (docs/benchmarks.md), and
//! independent workers scale to every core: each has its own connections to Redis, so nothing is shared on
//! the hot path. In platform mode the main thread's runtime also runs the control plane (migrations, the
//! provisioner and its supervised Redis servers).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser as _;
use redisgate_gateway::directory::watched::{Feed, WatchedDirectory};
use redisgate_gateway::directory::{Directory, StaticDirectory};
use redisgate_gateway::quota::Meters;
use redisgate_gateway::{serve, serve_router, shutdown_signal, AppState, Shared};
use redisgate_platform::{ControlPlane, PlatformConfig};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

use crate::args::{Args, LogFormat, ProvisionerKind};
use crate::config::{Config, Mode};

mod args;
mod config;
mod floor;
#[cfg(feature = "otel")]
mod telemetry;

// Many small, short-lived allocations per request (argument vectors, reply buffers): measured on the
// benchmark, jemalloc serves a 10-command /pipeline with ~25% less CPU than glibc's allocator and keeps idle
// RSS near 6 MiB (mimalloc was as fast but started at 12 MiB). See docs/benchmarks.md.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// `EX_USAGE`: the configuration is wrong.
const EXIT_CONFIG: u8 = 64;

fn main() -> ExitCode {
    let args = Args::parse();
    // Dropped when `main` returns, after the workers stopped: exports the last spans (feature `otel`).
    let _telemetry = init_tracing(args.log_format);
    // Everything is checked and built once, before anything starts.
    let config = match Config::try_from(&args) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("redisgate-gateway: invalid configuration: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let Ok(control) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
        eprintln!("redisgate-gateway: cannot start the runtime");
        return ExitCode::FAILURE;
    };
    match control.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("redisgate-gateway: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: Config) -> anyhow::Result<()> {
    let listener =
        std::net::TcpListener::bind(config.listen).with_context(|| format!("cannot listen on {}", config.listen))?;
    listener.set_nonblocking(true)?;
    let address = listener.local_addr()?;
    let workers = config.workers;
    let control = match &config.mode {
        Mode::Platform { config: platform, provisioner } => {
            let scheme = if config.tls.is_some() { "https" } else { "http" };
            Some(start_platform(platform, *provisioner, scheme, address).await?)
        }
        Mode::Standalone(_) | Mode::Kubernetes { .. } | Mode::Floor => None,
    };
    let feed = match &config.mode {
        Mode::Kubernetes { namespaces, .. } => Some(kubernetes_feed(namespaces).await?),
        _ => None,
    };
    tracing::info!(%address, workers, platform = control.is_some(), "redisgate-gateway listening");
    // One registry of metrics and script aliases for every worker (the platform's, in platform mode).
    let shared = control.as_ref().map_or_else(Shared::default, |c| c.shared().clone());
    if let Some(admin) = config.admin_listen {
        let listener =
            tokio::net::TcpListener::bind(admin).await.with_context(|| format!("cannot listen on {admin}"))?;
        tracing::info!(admin = %listener.local_addr()?, "metrics at /metrics");
        let app = redisgate_gateway::admin_router(Arc::clone(&shared.metrics));
        tokio::spawn(async move { axum::serve(listener, app).await });
    }

    let shutdown = CancellationToken::new();
    let (done, mut finished) = mpsc::unbounded_channel::<anyhow::Result<()>>();
    // Standalone mode: one registry of limits for every worker, so a limit holds for the whole process.
    let meters = Arc::new(Meters::default());
    let config = Arc::new(config);
    for index in 0..workers {
        let (config, listener, shutdown, done) =
            (Arc::clone(&config), listener.try_clone()?, shutdown.clone(), done.clone());
        let (control, meters, shared, feed) = (control.clone(), Arc::clone(&meters), shared.clone(), feed.clone());
        std::thread::Builder::new().name(format!("redisgate-worker-{index}")).spawn(move || {
            let sources = Sources { control, feed, meters };
            let _ = done.send(worker(&config, listener, shutdown, sources, &shared));
        })?;
    }
    drop((listener, done));

    let early = tokio::select! {
        () = shutdown_signal() => None,
        result = finished.recv() => Some(result),
    };
    shutdown.cancel();
    let outcome = match early {
        Some(result) => result.unwrap_or(Ok(())).and_then(|()| Err(anyhow::anyhow!("a worker stopped unexpectedly"))),
        None => {
            tracing::info!("shutting down: draining in-flight requests");
            drain(config.drain, workers, &mut finished).await
        }
    };
    if let Some(control) = &control {
        tracing::info!("stopping instances");
        control.shutdown().await;
    }
    outcome
}

/// Waits for the workers to finish, at most `drain` (`--drain-secs`).
async fn drain(
    drain: Duration,
    workers: usize,
    finished: &mut mpsc::UnboundedReceiver<anyhow::Result<()>>,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + drain;
    for _ in 0..workers {
        match tokio::time::timeout_at(deadline.into(), finished.recv()).await {
            Ok(Some(result)) => result?,
            Ok(None) => break,
            Err(_) => {
                tracing::warn!(?drain, "drain timed out, exiting with requests still in flight");
                break;
            }
        }
    }
    Ok(())
}

/// Platform mode: migrate, start the provisioner on this (control) runtime, re-adopt instances. Without a
/// configured public URL, credentials name the listener's address.
async fn start_platform(
    config: &PlatformConfig,
    provisioner: ProvisionerKind,
    scheme: &str,
    address: SocketAddr,
) -> anyhow::Result<ControlPlane> {
    let mut config = config.clone();
    if config.urls.base.is_empty() {
        config.urls.base = format!("{scheme}://{address}");
    }
    let control = match provisioner {
        ProvisionerKind::Local => ControlPlane::start(config).await,
        ProvisionerKind::Kubernetes => ControlPlane::start_with(config, kubernetes_provisioner().await?).await,
    };
    control.map_err(|e| anyhow::anyhow!("cannot start the platform: {e}"))
}

/// The Kubernetes provisioner, from the in-cluster or kubeconfig credentials.
#[cfg(feature = "kubernetes")]
async fn kubernetes_provisioner() -> anyhow::Result<Arc<dyn redisgate_platform::provisioner::Provisioner>> {
    let provisioner = redisgate_operator::provisioner::KubernetesProvisioner::from_env()
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach Kubernetes: {e}"))?;
    Ok(Arc::new(provisioner))
}

/// The catalog of `--directory kubernetes`, kept current by a task on this (control) runtime.
#[cfg(feature = "kubernetes")]
async fn kubernetes_feed(namespaces: &[String]) -> anyhow::Result<Feed> {
    let client = kube::Client::try_default().await.map_err(|e| anyhow::anyhow!("cannot reach Kubernetes: {e}"))?;
    tracing::info!(?namespaces, "serving the RedisHttpInstance resources of these namespaces (none: all)");
    let (feed, source) = redisgate_operator::catalog::watch(client, namespaces, None);
    tokio::spawn(source);
    Ok(feed)
}

#[cfg(not(feature = "kubernetes"))]
async fn kubernetes_feed(_: &[String]) -> anyhow::Result<Feed> {
    anyhow::bail!("this build has no Kubernetes support")
}

#[cfg(not(feature = "kubernetes"))]
async fn kubernetes_provisioner() -> anyhow::Result<Arc<dyn redisgate_platform::provisioner::Provisioner>> {
    anyhow::bail!("this build has no Kubernetes support")
}

/// What the workers share, besides the configuration: the control plane (platform mode), the catalog
/// (Kubernetes mode) and the limits' meters.
struct Sources {
    control: Option<ControlPlane>,
    feed: Option<Feed>,
    meters: Arc<Meters>,
}

/// One worker: a current-thread runtime serving its share of the connections until `shutdown`; it builds
/// only its runtime objects (its directory and connections) from the checked `config`.
fn worker(
    config: &Config,
    listener: std::net::TcpListener,
    shutdown: CancellationToken,
    sources: Sources,
    shared: &Shared,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        let tls = config.tls.clone();
        if let Some(control) = sources.control {
            let (app, state) = control.app(shutdown.clone()).await.map_err(|e| anyhow::anyhow!(e))?;
            let state = state.with_tls(tls);
            return serve_router(listener, app, &state, shutdown.cancelled_owned()).await.context("server failed");
        }
        let directory: Arc<dyn Directory> = match (&config.mode, sources.feed) {
            (Mode::Standalone(directory), _) => Arc::new(directory.build(&sources.meters)?),
            (Mode::Kubernetes { domain, upstream, .. }, Some(feed)) => {
                let watched = Arc::new(WatchedDirectory::new(domain.clone(), upstream.clone(), sources.meters));
                tokio::spawn(Arc::clone(&watched).follow(feed));
                watched
            }
            _ => Arc::new(StaticDirectory::new(Vec::new(), None, None)),
        };
        let state = AppState::new(directory).with_limits(config.limits.clone());
        let state = state.with_shutdown(shutdown.clone()).with_shared(shared).with_tls(tls);
        if matches!(config.mode, Mode::Floor) {
            let floor = floor::service(state.limits.max_body_bytes);
            return serve_router(listener, floor, &state, shutdown.cancelled_owned()).await.context("server failed");
        }
        serve(listener, state, shutdown.cancelled_owned()).await.context("server failed")
    })
}

/// What [`init_tracing`] returns, to keep until the end: the OpenTelemetry exporter when there is one.
#[cfg(feature = "otel")]
type TelemetryGuard = Option<crate::telemetry::Telemetry>;
/// What [`init_tracing`] returns: always `None` without the `otel` feature.
#[cfg(not(feature = "otel"))]
type TelemetryGuard = Option<std::convert::Infallible>;

/// Logs to stderr, filtered by `RUST_LOG` (default `info`). With the `otel` feature and an OTLP endpoint set,
/// spans are also exported, through their own filter: the log filter decides nothing about them.
fn init_tracing(format: LogFormat) -> TelemetryGuard {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    #[cfg(feature = "otel")]
    {
        use crate::telemetry::Telemetry;
        use tracing_subscriber::{layer::SubscriberExt as _, util::SubscriberInitExt as _, Layer as _};
        match Telemetry::from_env() {
            Ok(Some(telemetry)) => {
                let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
                let fmt = match format {
                    LogFormat::Human => fmt.boxed(),
                    LogFormat::Json => fmt.json().boxed(),
                };
                tracing_subscriber::registry()
                    .with(fmt.with_filter(filter))
                    .with(telemetry.layer().with_filter(Telemetry::filter()))
                    .init();
                return Some(telemetry);
            }
            Ok(None) => {}
            Err(e) => eprintln!("redisgate-gateway: OpenTelemetry export disabled: {e}"),
        }
    }
    // Without an exporter: one global filter, so spans nobody logs stay disabled at their call site.
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    None
}

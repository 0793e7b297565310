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
use redisgate_gateway::config::ConfigError;
use redisgate_gateway::quota::Meters;
use redisgate_gateway::{serve, serve_router, shutdown_signal, AppState, Shared};
use redisgate_platform::{ControlPlane, PlatformConfig, PublicUrls};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

use crate::args::{Args, LogFormat, ProvisionerKind};

mod args;
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
    let Ok(control) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
        eprintln!("redisgate-gateway: cannot start the runtime");
        return ExitCode::FAILURE;
    };
    // Validate everything once, before a worker starts (connections to Redis are lazy: nothing connects).
    let checked = control.block_on(async {
        if args.database_url.is_some() {
            args.check_platform()
                .and_then(|()| args.upstream_options())
                .and_then(|_| args.usage_flush())
                .and_then(|_| args.limits())
        } else {
            args.directory(&Meters::default()).and_then(|_| args.limits())
        }
        .and_then(|_| args.tls())
    });
    if let Err(e) = checked {
        eprintln!("redisgate-gateway: invalid configuration: {e}");
        return ExitCode::from(EXIT_CONFIG);
    }
    match control.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("redisgate-gateway: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let listener =
        std::net::TcpListener::bind(args.listen).with_context(|| format!("cannot listen on {}", args.listen))?;
    listener.set_nonblocking(true)?;
    let address = listener.local_addr()?;
    // Read once: every worker serves the same certificate, which follows its files.
    let tls = args.tls().map_err(config)?;
    let workers = args.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())).max(1);
    let control = match &args.database_url {
        Some(url) => Some(start_platform(&args, url, address).await?),
        None => None,
    };
    tracing::info!(%address, workers, platform = control.is_some(), "redisgate-gateway listening");
    // One registry of metrics and script aliases for every worker (the platform's, in platform mode).
    let shared = control.as_ref().map_or_else(Shared::default, |c| c.shared().clone());
    if let Some(admin) = args.admin_listen {
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
    for index in 0..workers {
        let (args, listener, shutdown, done) = (args.clone(), listener.try_clone()?, shutdown.clone(), done.clone());
        let (control, meters, shared, tls) = (control.clone(), Arc::clone(&meters), shared.clone(), tls.clone());
        std::thread::Builder::new().name(format!("redisgate-worker-{index}")).spawn(move || {
            let _ = done.send(worker(&args, listener, shutdown, control, &meters, &shared, tls));
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
            drain(&args, workers, &mut finished).await
        }
    };
    if let Some(control) = &control {
        tracing::info!("stopping instances");
        control.shutdown().await;
    }
    outcome
}

/// Waits for the workers to finish, at most `--drain-secs`.
async fn drain(
    args: &Args,
    workers: usize,
    finished: &mut mpsc::UnboundedReceiver<anyhow::Result<()>>,
) -> anyhow::Result<()> {
    let drain = Duration::try_from_secs_f64(args.drain_secs).unwrap_or(Duration::from_secs(10));
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

/// Platform mode: migrate, start the provisioner on this (control) runtime, re-adopt instances.
async fn start_platform(args: &Args, database_url: &str, address: SocketAddr) -> anyhow::Result<ControlPlane> {
    if args.dev && args.jwt_secret.is_none() {
        tracing::warn!("dev mode: using a generated JWT secret; sessions end when the process stops");
    }
    let config = PlatformConfig {
        database_url: database_url.to_owned(),
        jwt_secret: args.jwt_secret().map_err(config)?,
        jwt_ttl_secs: args.jwt_ttl_secs,
        state_dir: args.state_dir(),
        redis_server_bin: args.redis_server_bin.clone(),
        urls: PublicUrls {
            base: args.public_url.clone().unwrap_or_else(|| format!("{}://{address}", args.scheme())),
            domain: args.domain.clone(),
        },
        upstream: args.upstream_options().map_err(config)?,
        limits: args.limits().map_err(config)?,
        usage_flush: args.usage_flush().map_err(config)?,
        local_tls: args.local_tls,
        max_organizations_per_user: args.max_organizations_per_user,
    };
    let control = match args.provisioner {
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

#[cfg(not(feature = "kubernetes"))]
async fn kubernetes_provisioner() -> anyhow::Result<Arc<dyn redisgate_platform::provisioner::Provisioner>> {
    anyhow::bail!("this build has no Kubernetes support")
}

/// One worker: a current-thread runtime serving its share of the connections until `shutdown`.
fn worker(
    args: &Args,
    listener: std::net::TcpListener,
    shutdown: CancellationToken,
    control: Option<ControlPlane>,
    meters: &Meters,
    shared: &Shared,
    tls: Option<Arc<rustls::ServerConfig>>,
) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::from_std(listener)?;
        if let Some(control) = control {
            let (app, state) = control.app(shutdown.clone()).await.map_err(|e| anyhow::anyhow!(e))?;
            let state = state.with_tls(tls);
            return serve_router(listener, app, &state, shutdown.cancelled_owned()).await.context("server failed");
        }
        let directory = args.directory(meters).map_err(config)?;
        let state = AppState::new(Arc::new(directory)).with_limits(args.limits().map_err(config)?);
        let state = state.with_shutdown(shutdown.clone()).with_shared(shared).with_tls(tls);
        if args.bench_floor {
            let floor = floor::router(state.limits.max_body_bytes);
            return serve_router(listener, floor, &state, shutdown.cancelled_owned()).await.context("server failed");
        }
        serve(listener, state, shutdown.cancelled_owned()).await.context("server failed")
    })
}

fn config(error: ConfigError) -> anyhow::Error {
    anyhow::anyhow!("invalid configuration: {error}")
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

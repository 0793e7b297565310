//! The `redisgate-gateway` binary: parse configuration, start logging, serve until SIGTERM or Ctrl-C.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser as _;
use redisgate_gateway::config::{Args, LogFormat};
use redisgate_gateway::{serve, shutdown_signal, AppState};
use tracing_subscriber::EnvFilter;

/// `EX_USAGE`: the configuration is wrong.
const EXIT_CONFIG: u8 = 64;

fn main() -> ExitCode {
    let args = Args::parse();
    init_tracing(args.log_format);
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(workers) = args.workers {
        builder.worker_threads(workers.max(1));
    }
    let runtime = match builder.enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("redisgate-gateway: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Upstream connections spawn their driver tasks, so they are built inside the runtime.
    let _entered = runtime.enter();
    let (directory, limits) = match args.directory().and_then(|d| Ok((d, args.limits()?))) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("redisgate-gateway: invalid configuration: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let state = AppState::new(Arc::new(directory)).with_limits(limits);
    let result = runtime.block_on(run(&args, state));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("redisgate-gateway: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &Args, state: AppState) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, "redisgate-gateway listening");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve(listener, state, async move {
        let _ = stopped.await;
    }));
    shutdown_signal().await;
    tracing::info!("shutting down: draining in-flight requests");
    let _ = stop.send(());
    let drain = Duration::try_from_secs_f64(args.drain_secs).unwrap_or(Duration::from_secs(10));
    match tokio::time::timeout(drain, server).await {
        Ok(joined) => joined
            .context("server task failed")?
            .context("server failed"),
        Err(_) => {
            tracing::warn!(
                ?drain,
                "drain timed out, exiting with requests still in flight"
            );
            Ok(())
        }
    }
}

fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

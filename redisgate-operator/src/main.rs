//! `redisgate-operator`: reconciles `RedisHttpInstance` resources and serves `/metrics`, `/healthz` and
//! `/readyz` on the admin port. Configuration comes from flags or `REDISGATE_OPERATOR_*` env variables;
//! the cluster is found the usual way (in-cluster service account, else the kubeconfig).

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Parser;
use redisgate_operator::config::{parse_labels, OperatorConfig};
use redisgate_operator::controller::{self, Context};
use redisgate_operator::metrics::Metrics;
use tokio_util::sync::CancellationToken;

/// Command line of the operator.
#[derive(Parser, Debug)]
#[command(version, about = "Reconciles RedisHttpInstance resources into running Redis servers")]
struct Args {
    /// Watch only this namespace, the one its Role is in (deploy/ sets `redisgate-instances`). Without it the
    /// operator watches all namespaces, which needs cluster-wide rights that deploy/ does not grant.
    #[arg(long, env = "REDISGATE_OPERATOR_NAMESPACE")]
    namespace: Option<String>,
    /// Address of the metrics and health endpoints.
    #[arg(long, env = "REDISGATE_OPERATOR_ADMIN_LISTEN", default_value = "0.0.0.0:8081")]
    admin_listen: SocketAddr,
    /// Namespace of the gateway's pods (the only clients the NetworkPolicies admit).
    #[arg(long, env = "REDISGATE_OPERATOR_GATEWAY_NAMESPACE", default_value = "redisgate-system")]
    gateway_namespace: String,
    /// Labels of the gateway's pods, `k=v,k2=v2`.
    #[arg(
        long,
        env = "REDISGATE_OPERATOR_GATEWAY_POD_LABELS",
        default_value = "app.kubernetes.io/name=redisgate-gateway"
    )]
    gateway_pod_labels: String,
    /// Namespace of the operator's own pod (the NetworkPolicies admit it where it talks to an instance's
    /// servers: a TLS instance's, to load a renewed certificate, and a replicated instance's Sentinels).
    #[arg(long, env = "REDISGATE_OPERATOR_POD_NAMESPACE", default_value = "redisgate-system")]
    operator_pod_namespace: String,
    /// Labels of the operator's own pod, `k=v,k2=v2`.
    #[arg(long, env = "REDISGATE_OPERATOR_POD_LABELS", default_value = "app.kubernetes.io/name=redisgate-operator")]
    operator_pod_labels: String,
    /// The cluster's DNS domain.
    #[arg(long, env = "REDISGATE_OPERATOR_CLUSTER_DOMAIN", default_value = "cluster.local")]
    cluster_domain: String,
    /// Image repository for `<repository>:<redisVersion>`.
    #[arg(long, env = "REDISGATE_OPERATOR_IMAGE_REPOSITORY", default_value = "redis")]
    image_repository: String,
    /// The image whose `redisgate-backup` the backup Jobs run.
    #[arg(long, env = "REDISGATE_OPERATOR_BACKUP_IMAGE", default_value = "redisgate-gateway:0.1.0")]
    backup_image: String,
    /// Where `RedisHttpBackup`s that name no store go: `s3://bucket[/prefix]`.
    #[arg(long, env = "REDISGATE_OPERATOR_BACKUP_STORE")]
    backup_store: Option<String>,
    /// A Secret in the instances' namespace with the store's `AWS_*` keys, given to every backup Job that
    /// names none.
    #[arg(long, env = "REDISGATE_OPERATOR_BACKUP_STORE_SECRET")]
    backup_store_secret: Option<String>,
    /// Log as JSON lines.
    #[arg(long, env = "REDISGATE_OPERATOR_LOG_JSON")]
    log_json: bool,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,kube=warn".into());
    if args.log_json {
        tracing_subscriber::fmt().json().with_env_filter(filter).init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    let config = OperatorConfig {
        gateway_namespace: args.gateway_namespace.clone(),
        gateway_pod_labels: parse_labels(&args.gateway_pod_labels).map_err(|e| anyhow::anyhow!(e))?,
        operator_namespace: args.operator_pod_namespace.clone(),
        operator_pod_labels: parse_labels(&args.operator_pod_labels).map_err(|e| anyhow::anyhow!(e))?,
        cluster_domain: args.cluster_domain.clone(),
        image_repository: args.image_repository.clone(),
        backup_image: args.backup_image.clone(),
        backup_store: args.backup_store.clone(),
        backup_store_secret: args.backup_store_secret.clone(),
    };
    let client = kube::Client::try_default().await.context("cannot find a Kubernetes cluster")?;
    let metrics = Metrics::default();
    let shutdown = CancellationToken::new();
    let listener = tokio::net::TcpListener::bind(args.admin_listen).await.context("cannot bind the admin port")?;
    let admin =
        tokio::spawn(redisgate_operator::admin::serve(listener, metrics.clone(), shutdown.clone().cancelled_owned()));
    let signal = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        signal.cancel();
    });
    match &args.namespace {
        Some(namespace) => tracing::info!(%namespace, "redisgate-operator starting"),
        None => tracing::warn!("redisgate-operator starting on all namespaces: this needs a ClusterRole"),
    }
    let ctx = Arc::new(Context::new(client, config, metrics));
    let backups = tokio::spawn({
        let (ctx, namespace, stop) = (ctx.clone(), args.namespace.clone(), shutdown.clone());
        async move { redisgate_operator::backups::run(ctx, namespace.as_deref(), stop.cancelled_owned()).await }
    });
    controller::run(ctx, args.namespace.as_deref(), shutdown.clone().cancelled_owned()).await;
    let _ = backups.await;
    shutdown.cancel();
    let _ = admin.await;
    Ok(())
}

/// SIGTERM (Kubernetes) or Ctrl-C.
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => return std::future::pending().await,
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

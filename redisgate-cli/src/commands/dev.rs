//! `redisgate dev`: the whole platform on this machine, ready to use.
//!
//! A private PostgreSQL in the state directory, the platform (management API, data plane and local
//! provisioner) in this process, and on first start an account, an organization and an instance called
//! `dev`; later starts reuse all of it. The account and the instance's tokens are kept in the state
//! directory (files readable by their owner only) and the CLI profile is logged in, so
//! `redisgate exec dev PING` works at once. Ctrl-C stops every process it started.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{anyhow, Context as _, Result};
use redisgate_client::management::{InstanceStatus, Management, NewInstance};
use redisgate_gateway::upstream::UpstreamOptions;
use redisgate_gateway::ServerLimits;
use redisgate_platform::local_postgres::LocalPostgres;
use redisgate_platform::{ControlPlane, PlatformConfig, PublicUrls};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::Context;
use crate::cli::DevArgs;
use crate::profile::{write_private, Profile, SavedInstance};

const INSTANCE: &str = "dev";

#[derive(Serialize, Deserialize)]
struct Account {
    email: String,
    password: String,
}

/// Stops PostgreSQL when `redisgate dev` ends, however it ends.
struct PostgresGuard(LocalPostgres);

impl Drop for PostgresGuard {
    fn drop(&mut self) {
        self.0.stop(false);
    }
}

/// Runs the platform until Ctrl-C or SIGTERM.
pub async fn run(ctx: &Context, args: &DevArgs) -> Result<()> {
    let state = args.state_dir.clone().map_or_else(default_state_dir, Ok)?;
    std::fs::create_dir_all(&state).with_context(|| format!("cannot create {}", state.display()))?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}: is it in use? pass --listen 127.0.0.1:<port>", args.listen))?;
    let address = listener.local_addr()?;
    let base = format!("http://{address}");

    let port = redisgate_platform::os::free_port()?;
    let progress = |step: &str| {
        if !ctx.output.json {
            eprintln!("==> {step}");
        }
    };
    progress(&format!("starting PostgreSQL (state in {})", state.display()));
    let postgres = LocalPostgres::init(&state.join("postgres"), port).map_err(|e| anyhow!(e))?;
    postgres.start(false).map_err(|e| anyhow!(e))?;
    let postgres = PostgresGuard(postgres);
    postgres.0.ensure_database("redisgate").map_err(|e| anyhow!(e))?;

    let config = PlatformConfig {
        database_url: postgres.0.url("redisgate"),
        jwt_secret: secret_file(&state.join("jwt-secret"))?,
        jwt_ttl_secs: 7 * 24 * 3600,
        state_dir: state.join("instances"),
        redis_server_bin: args.redis_server_bin.clone(),
        urls: PublicUrls { base: base.clone(), domain: None },
        upstream: UpstreamOptions::default(),
        limits: ServerLimits::default(),
        usage_flush: std::time::Duration::from_secs(2),
        local_tls: false,
        max_organizations_per_user: redisgate_platform::MAX_ORGANIZATIONS_PER_USER,
        backup_store: None,
    };
    progress("starting the platform and the instances it already has");
    let control = ControlPlane::start(config).await.map_err(|e| anyhow!("cannot start the platform: {e}"))?;
    control.resumed().await;
    let shutdown = CancellationToken::new();
    let (app, app_state) = control.app(shutdown.clone()).await.map_err(|e| anyhow!(e))?;
    let stop = shutdown.clone().cancelled_owned();
    let server = tokio::spawn(async move { redisgate_gateway::serve_router(listener, app, &app_state, stop).await });

    let result = async {
        progress(&format!("preparing the account and the '{INSTANCE}' instance"));
        let (session, saved) = bootstrap(&state, &base, &progress).await?;
        let profile = remember(ctx, &base, &session, &saved)?;
        print_summary(ctx, &base, &saved, &profile);
        redisgate_gateway::shutdown_signal().await;
        Ok::<_, anyhow::Error>(())
    }
    .await;
    if !ctx.output.json {
        eprintln!("stopping: gateway, instances, PostgreSQL");
    }
    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
    control.shutdown().await;
    drop(postgres);
    result
}

/// First start: an account, an organization and the `dev` instance. Later starts: the same ones.
async fn bootstrap(state: &Path, base: &str, progress: &dyn Fn(&str)) -> Result<(String, SavedInstance)> {
    let api = Management::new(base)?;
    let account_file = state.join("dev-account.json");
    let account: Account = match std::fs::read(&account_file) {
        Ok(bytes) => serde_json::from_slice(&bytes)?,
        Err(_) => {
            let account = Account {
                email: "dev@redisgate.local".into(),
                password: format!("Dev-{}", redisgate_core::auth::token::redis_password()),
            };
            if let Err(e) = api.register(&account.email, &account.password).await {
                if e.status() == Some(409) {
                    anyhow::bail!(
                        "the development account exists in the database but {} is gone: remove {} to start \
                         over with a fresh platform",
                        account_file.display(),
                        state.display()
                    );
                }
                return Err(e.into());
            }
            write_private(&account_file, &serde_json::to_vec_pretty(&account)?)?;
            account
        }
    };
    let session = api.session(&account.email, &account.password).await?;
    let api = api.with_token(session.token.clone());
    let org = match api.organizations().await?.into_iter().next() {
        Some(org) => org,
        None => api.create_organization("Development", "dev").await?,
    };
    let secrets_file = state.join("dev-instance.json");
    let existing = api.instances(org.id).await?.into_iter().find(|i| i.name == INSTANCE);
    let saved: Option<SavedInstance> = std::fs::read(&secrets_file).ok().and_then(|b| serde_json::from_slice(&b).ok());
    let (instance, saved) = match (existing, saved) {
        (Some(instance), Some(saved)) => (instance, saved),
        (Some(instance), None) => {
            let secrets = api.rotate(org.id, instance.id).await?;
            (instance, saved_from(&secrets))
        }
        (None, _) => {
            let created = api.create_instance(org.id, &NewInstance::new(INSTANCE, 64 << 20, "7.2")).await?;
            (created.instance, saved_from(&created.credentials))
        }
    };
    // The address may differ from the last start (--listen): the URL is the instance's current one.
    let saved = SavedInstance { rest_url: instance.rest_url.clone(), ..saved };
    write_private(&secrets_file, &serde_json::to_vec_pretty(&saved)?)?;
    if instance.status == InstanceStatus::Failed {
        // A failure at an earlier start (redis-server missing, say) is not final: provision it again.
        progress(&format!(
            "provisioning the '{INSTANCE}' instance again (it failed: {})",
            instance.status_message.as_deref().unwrap_or("no reason given")
        ));
        api.resync(org.id, instance.id).await?;
    }
    api.wait_until_running(org.id, instance.id, Duration::from_secs(30)).await?;
    Ok((session.token, saved))
}

fn saved_from(secrets: &redisgate_client::management::Secrets) -> SavedInstance {
    SavedInstance {
        rest_url: secrets.rest_url_path.clone(),
        token: secrets.token.clone(),
        readonly_token: secrets.readonly_token.clone(),
    }
}

/// Logs the CLI profile into the dev platform (the current profile if it is new or already points here,
/// else a profile called `dev`); returns the profile's name.
fn remember(ctx: &Context, base: &str, session: &str, saved: &SavedInstance) -> Result<String> {
    let name = match ctx.profile.url.as_deref() {
        None => ctx.profile_name.clone(),
        Some(url) if url == base => ctx.profile_name.clone(),
        Some(_) => "dev".to_owned(),
    };
    let profile = Profile { url: Some(base.to_owned()), email: Some("dev@redisgate.local".into()) };
    ctx.profiles.save(&name, &profile)?;
    ctx.profiles.save_token(&name, session)?;
    ctx.profiles.save_instance(&name, INSTANCE, saved)?;
    Ok(name)
}

fn print_summary(ctx: &Context, base: &str, saved: &SavedInstance, profile: &str) {
    if ctx.output.json {
        println!(
            "{}",
            serde_json::json!({"management_url": format!("{base}/api"), "console_url": format!("{base}/console/"), "rest_url": saved.rest_url, "token": saved.token, "readonly_token": saved.readonly_token, "profile": profile})
        );
        return;
    }
    let flag = if profile == "default" { String::new() } else { format!("--profile {profile} ") };
    println!(
        "RedisGate is running.

  console         {base}/console/   (open it in a browser and sign up)
  management API  {base}/api   (OpenAPI: {base}/api/openapi.json)
  REST URL        {url}
  token           {token}
  read-only token {readonly}

Try it:
  curl -H \"Authorization: Bearer {token}\" {url}/set/hello/world
  redisgate {flag}exec {INSTANCE} GET hello
  UPSTASH_REDIS_REST_URL={url} UPSTASH_REDIS_REST_TOKEN={token} node your-app.js

Ctrl-C stops everything.",
        url = saved.rest_url,
        token = saved.token,
        readonly = saved.readonly_token,
    );
}

fn default_state_dir() -> Result<PathBuf> {
    redisgate_platform::state_home().map(|d| d.join("dev")).context("cannot find a state directory: pass --state-dir")
}

/// The secret in `path`, created (random, mode 0600) on first use.
fn secret_file(path: &Path) -> Result<Vec<u8>> {
    if let Ok(secret) = std::fs::read(path) {
        if secret.len() >= 32 {
            return Ok(secret);
        }
    }
    let secret = redisgate_core::auth::token::redis_password();
    write_private(path, secret.as_bytes())?;
    Ok(secret.into_bytes())
}

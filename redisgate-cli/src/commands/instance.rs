//! `instance create|list|get|scale|delete|wait|credentials|rotate|limits|usage` (backups: [`super::backup`]).

use std::time::Duration;

use anyhow::{anyhow, Result};
use redisgate_client::management::{Instance, Management, NewInstance, Secrets, Topology};
use serde_json::json;

use super::{limits, Context};
use crate::cli::InstanceCommand;
use crate::profile::SavedInstance;
use crate::size::{format_size, parse_size};

/// Runs an `instance` subcommand.
pub async fn run(ctx: &Context, command: &InstanceCommand) -> Result<()> {
    let api = ctx.management()?;
    match command {
        InstanceCommand::Backup { .. }
        | InstanceCommand::Backups { .. }
        | InstanceCommand::Restore { .. }
        | InstanceCommand::Export { .. }
        | InstanceCommand::Import { .. }
        | InstanceCommand::BackupPolicy { .. } => return super::backup::run(ctx, &api, command).await,
        InstanceCommand::Create {
            name,
            org,
            memory,
            redis_version,
            replicas,
            min_replicas_to_write,
            shards,
            replicas_per_shard,
            no_wait,
            timeout,
            limits: flags,
        } => {
            let org = ctx.org(&api, org.as_deref()).await?;
            let max_memory = parse_memory(memory)?;
            let mut new = NewInstance::new(name, max_memory, redis_version);
            new.limits = flags.for_new();
            new.topology = replicas
                .map(|replicas| Topology::Replicated { replicas, min_replicas_to_write: *min_replicas_to_write })
                .or(shards.map(|shards| Topology::Cluster { shards, replicas_per_shard: *replicas_per_shard }));
            let created = api.create_instance(org.id, &new).await?;
            save(ctx, name, &created.credentials)?;
            let instance =
                if *no_wait { created.instance } else { wait(ctx, &api, &created.instance, *timeout).await? };
            let json = json!({"instance": instance, "credentials": created.credentials});
            let mut fields = vec![
                ("name", instance.name.clone()),
                ("status", instance.status.to_string()),
                ("topology", topology(instance.topology)),
                ("rest url", created.credentials.rest_url_path.clone()),
                ("token", created.credentials.token.clone()),
                ("read-only", created.credentials.readonly_token.clone()),
            ];
            if !instance.limits.is_unlimited() {
                fields.push(("limits", limits::summary(&instance.limits)));
            }
            fields.push(("saved in", format!("profile '{}'; try: redisgate exec {name} PING", ctx.profile_name)));
            ctx.output.object(&fields, json);
        }
        InstanceCommand::List { org } => {
            let orgs = match org {
                Some(org) => vec![ctx.org(&api, Some(org)).await?],
                None => api.organizations().await?,
            };
            let mut instances = Vec::new();
            for org in orgs {
                instances.extend(api.instances(org.id).await?);
            }
            let rows = instances
                .iter()
                .map(|i| {
                    vec![
                        i.name.clone(),
                        i.status.to_string(),
                        format_memory(i.max_memory),
                        i.redis_version.clone(),
                        i.rest_url.clone(),
                    ]
                })
                .collect();
            let (headers, rows) = limits::with_column(
                &["NAME", "STATUS", "MEMORY", "VERSION", "REST URL"],
                rows,
                instances.iter().map(|i| &i.limits),
            );
            ctx.output.table(&headers, rows, serde_json::to_value(&instances)?);
        }
        InstanceCommand::Get { name } => {
            let found = ctx.instance(&api, name).await?;
            // Asked for by id, it lists its nodes.
            let instance = api.instance(found.organization_id, found.id).await?;
            show(ctx, &instance)?;
        }
        InstanceCommand::Scale { name, replicas, shards } => {
            let instance = ctx.instance(&api, name).await?;
            let (org, id) = (instance.organization_id, instance.id);
            let instance = match (replicas, shards) {
                (Some(replicas), _) => {
                    let message = format!("starting {name}'s replicas");
                    with_spinner(ctx, message, api.set_replicas(org, id, *replicas)).await?
                }
                (None, Some(shards)) => {
                    let message = format!("starting {name}'s new shards and moving slots to them with their keys");
                    with_spinner(ctx, message, api.set_shards(org, id, *shards)).await?
                }
                (None, None) => return Err(anyhow!(crate::UsageError("give --replicas or --shards".to_owned()))),
            };
            show(ctx, &instance)?;
        }
        InstanceCommand::Delete { name } => {
            let instance = ctx.instance(&api, name).await?;
            api.delete_instance(instance.organization_id, instance.id).await?;
            ctx.profiles.forget_instance(&ctx.profile_name, name);
            ctx.output.done(&format!("deleting instance {name}"), json!({"deleting": instance.id}));
        }
        InstanceCommand::Wait { name, timeout } => {
            let instance = ctx.instance(&api, name).await?;
            let instance = wait(ctx, &api, &instance, *timeout).await?;
            show(ctx, &instance)?;
        }
        InstanceCommand::Credentials { name } => {
            let instance = ctx.instance(&api, name).await?;
            let credentials = api.credentials(instance.organization_id, instance.id).await?;
            let saved = ctx.profiles.instance(&ctx.profile_name, name);
            let token = saved.as_ref().map_or_else(
                || format!("not saved in this profile (redisgate instance rotate {name} issues new ones and revokes these)"),
                |s| s.token.clone(),
            );
            ctx.output.object(
                &[("rest url", credentials.rest_url_path.clone()), ("host url", credentials.rest_url.clone()), ("token", token)],
                json!({"credentials": credentials, "saved": saved.map(|s| json!({"token": s.token, "readonly_token": s.readonly_token}))}),
            );
        }
        InstanceCommand::Rotate { name } => {
            let instance = ctx.instance(&api, name).await?;
            let secrets = api.rotate(instance.organization_id, instance.id).await?;
            save(ctx, name, &secrets)?;
            ctx.output.object(
                &[
                    ("rest url", secrets.rest_url_path.clone()),
                    ("token", secrets.token.clone()),
                    ("read-only", secrets.readonly_token.clone()),
                ],
                serde_json::to_value(&secrets)?,
            );
        }
        InstanceCommand::Limits { name, clear, limits: flags } => {
            let instance = ctx.instance(&api, name).await?;
            let instance = match flags.plan(instance.limits, *clear) {
                Some(wanted) => api.set_instance_limits(instance.organization_id, instance.id, &wanted).await?,
                None => instance,
            };
            let mut fields = vec![("instance", instance.name.clone())];
            fields.extend(limits::fields(&instance.limits));
            ctx.output.object(&fields, serde_json::to_value(instance.limits)?);
        }
        InstanceCommand::Usage { name, days } => {
            let instance = ctx.instance(&api, name).await?;
            let usage = api.usage(instance.organization_id, instance.id, *days).await?;
            let rows = usage.days.iter().map(|d| vec![d.day.to_string(), d.commands.to_string()]).collect();
            ctx.output.table(&["DAY", "COMMANDS"], rows, serde_json::to_value(&usage)?);
            let span =
                if usage.days.len() == 1 { "today".to_owned() } else { format!("the last {} days", usage.days.len()) };
            ctx.output.note(&format!("total: {} commands in {span}", usage.total));
        }
    }
    Ok(())
}

fn save(ctx: &Context, name: &str, secrets: &Secrets) -> Result<()> {
    let saved = SavedInstance {
        rest_url: secrets.rest_url_path.clone(),
        token: secrets.token.clone(),
        readonly_token: secrets.readonly_token.clone(),
    };
    ctx.profiles.save_instance(&ctx.profile_name, name, &saved)
}

fn show(ctx: &Context, i: &Instance) -> Result<()> {
    let mut fields = vec![
        ("name", i.name.clone()),
        ("status", i.status.to_string()),
        ("message", i.status_message.clone().unwrap_or_default()),
        ("memory", format_memory(i.max_memory)),
        ("topology", topology(i.topology)),
        ("version", i.redis_version.clone()),
        ("rest url", i.rest_url.clone()),
        ("limits", limits::summary(&i.limits)),
        ("id", i.id.to_string()),
    ];
    // One line per process: `master 127.0.0.1:7001 healthy`, `replica 127.0.0.1:7002 healthy, 0 B behind`.
    for node in &i.nodes {
        let health = if node.healthy { "healthy" } else { "DOWN" };
        let lag = node.lag_bytes.map(|lag| format!(", {} behind", format_size(lag))).unwrap_or_default();
        let role = serde_json::to_value(node.role)?.as_str().unwrap_or_default().to_owned();
        let shard = match (node.shard, node.slots.is_empty()) {
            (Some(shard), true) => format!(", shard {shard}"),
            (Some(shard), false) => format!(", shard {shard}, slots {}", node.slots.join(" ")),
            (None, _) => String::new(),
        };
        fields.push(("node", format!("{role} {} {health}{lag}{shard}", node.address)));
    }
    ctx.output.object(&fields, serde_json::to_value(i)?);
    Ok(())
}

/// `standalone`, `replicated: 2 replicas (writes need 1)`, or `cluster: 3 shards, 1 replica each`.
fn topology(topology: Topology) -> String {
    match topology {
        Topology::Standalone => "standalone".to_owned(),
        Topology::Replicated { replicas, min_replicas_to_write } => {
            let writes = if min_replicas_to_write > 0 {
                format!(" (writes need {min_replicas_to_write})")
            } else {
                String::new()
            };
            format!("replicated: {replicas} replica{}{writes}", if replicas == 1 { "" } else { "s" })
        }
        Topology::Cluster { shards, replicas_per_shard } => {
            format!(
                "cluster: {shards} shards, {replicas_per_shard} replica{} each",
                if replicas_per_shard == 1 { "" } else { "s" }
            )
        }
    }
}

/// Waits until running, with a spinner on a terminal.
async fn wait(ctx: &Context, api: &Management, instance: &Instance, timeout: u64) -> Result<Instance> {
    let running = api.wait_until_running(instance.organization_id, instance.id, Duration::from_secs(timeout));
    Ok(with_spinner(ctx, format!("provisioning {}", instance.name), running).await?)
}

/// Awaits `work` with a spinner saying `message` on a terminal (none with `--json` or a redirected stderr).
pub(super) async fn with_spinner<T>(ctx: &Context, message: String, work: impl std::future::Future<Output = T>) -> T {
    let spinner = (!ctx.output.json && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
        let spinner = indicatif::ProgressBar::new_spinner();
        spinner.set_message(message);
        spinner.enable_steady_tick(Duration::from_millis(100));
        spinner
    });
    let result = work.await;
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    result
}

/// `--memory`: a size, as the API's `max_memory`.
fn parse_memory(text: &str) -> Result<i64> {
    parse_size(text)
        .and_then(|bytes| i64::try_from(bytes).ok())
        .ok_or_else(|| anyhow!(crate::UsageError(format!("--memory {text}: use bytes or a size like 64mb"))))
}

fn format_memory(bytes: i64) -> String {
    u64::try_from(bytes).map_or_else(|_| format!("{bytes}b"), format_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_memory("64mb").unwrap(), 64 << 20);
        assert_eq!(parse_memory("1GB").unwrap(), 1 << 30);
        assert_eq!(parse_memory("1048576").unwrap(), 1 << 20);
        assert!(parse_memory("lots").is_err());
        assert!(parse_memory("99999999999gb").is_err(), "too large");
        assert_eq!(format_memory(64 << 20), "64mb");
        assert_eq!(parse_size("32KB"), Some(32 << 10));
        assert_eq!(parse_size("10 mb"), Some(10 << 20));
        assert_eq!(parse_size("-1"), None);
        assert_eq!(format_size(32 << 10), "32kb");
        assert_eq!(format_size(1000), "1000b");
        assert_eq!(format_size(3 << 30), "3gb");
    }
}

//! `instance create|list|get|delete|wait|credentials|rotate`.

use std::time::Duration;

use anyhow::{anyhow, Result};
use redisgate_client::management::{Instance, Management, NewInstance, Secrets};
use serde_json::json;

use super::Context;
use crate::cli::InstanceCommand;
use crate::profile::SavedInstance;

/// Runs an `instance` subcommand.
pub async fn run(ctx: &Context, command: &InstanceCommand) -> Result<()> {
    let api = ctx.management()?;
    match command {
        InstanceCommand::Create { name, org, memory, redis_version, no_wait } => {
            let org = ctx.org(&api, org.as_deref()).await?;
            let max_memory = parse_memory(memory)?;
            let created = api.create_instance(org.id, &NewInstance::new(name, max_memory, redis_version)).await?;
            save(ctx, name, &created.credentials)?;
            let instance = if *no_wait { created.instance } else { wait(ctx, &api, &created.instance, 60).await? };
            let json = json!({"instance": instance, "credentials": created.credentials});
            ctx.output.object(
                &[
                    ("name", instance.name.clone()),
                    ("status", instance.status),
                    ("rest url", created.credentials.rest_url_path.clone()),
                    ("token", created.credentials.token.clone()),
                    ("read-only", created.credentials.readonly_token.clone()),
                    ("saved in", format!("profile '{}'; try: redisgate exec {name} PING", ctx.profile_name)),
                ],
                json,
            );
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
                        i.status.clone(),
                        format_memory(i.max_memory),
                        i.redis_version.clone(),
                        i.rest_url.clone(),
                    ]
                })
                .collect();
            ctx.output.table(
                &["NAME", "STATUS", "MEMORY", "VERSION", "REST URL"],
                rows,
                serde_json::to_value(&instances)?,
            );
        }
        InstanceCommand::Get { name } => {
            let instance = ctx.instance(&api, name).await?;
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
    ctx.output.object(
        &[
            ("name", i.name.clone()),
            ("status", i.status.clone()),
            ("message", i.status_message.clone().unwrap_or_default()),
            ("memory", format_memory(i.max_memory)),
            ("version", i.redis_version.clone()),
            ("rest url", i.rest_url.clone()),
            ("id", i.id.to_string()),
        ],
        serde_json::to_value(i)?,
    );
    Ok(())
}

/// Waits until running, with a spinner on a terminal.
async fn wait(ctx: &Context, api: &Management, instance: &Instance, timeout: u64) -> Result<Instance> {
    let spinner = (!ctx.output.json && std::io::IsTerminal::is_terminal(&std::io::stderr())).then(|| {
        let spinner = indicatif::ProgressBar::new_spinner();
        spinner.set_message(format!("provisioning {}", instance.name));
        spinner.enable_steady_tick(Duration::from_millis(100));
        spinner
    });
    let result = api.wait_until_running(instance.organization_id, instance.id, Duration::from_secs(timeout)).await;
    if let Some(spinner) = spinner {
        spinner.finish_and_clear();
    }
    Ok(result?)
}

/// `64mb`, `1gb`, `1048576` → bytes.
fn parse_memory(text: &str) -> Result<i64> {
    let lower = text.trim().to_ascii_lowercase();
    let (digits, factor) = [("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10), ("b", 1)]
        .iter()
        .find_map(|(suffix, factor)| lower.strip_suffix(suffix).map(|d| (d.trim().to_owned(), *factor)))
        .unwrap_or((lower.clone(), 1));
    let value: i64 = digits
        .parse()
        .map_err(|_| anyhow!(crate::UsageError(format!("--memory {text}: use bytes or a size like 64mb"))))?;
    Ok(value * factor)
}

fn format_memory(bytes: i64) -> String {
    match bytes {
        b if b >= 1 << 30 && b % (1 << 30) == 0 => format!("{}gb", b >> 30),
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{}mb", b >> 20),
        b => format!("{b}b"),
    }
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
        assert_eq!(format_memory(64 << 20), "64mb");
    }
}

//! `instance backup|backups|restore|export|import|backup-policy`: backups and RDB files. Transfers show
//! a progress bar on a terminal (indicatif), and stream: a large file never sits in memory.

use std::path::Path;
use std::time::Duration;

use anyhow::{anyhow, bail, Result};
use indicatif::{ProgressBar, ProgressStyle};
use redisgate_client::management::{Backup, BackupPolicy, Instance, Management};
use serde_json::json;
use uuid::Uuid;

use super::Context;
use crate::cli::InstanceCommand;

/// Runs the backup subcommands of `instance`.
pub async fn run(ctx: &Context, api: &Management, command: &InstanceCommand) -> Result<()> {
    match command {
        InstanceCommand::Backup { name, no_wait, timeout } => {
            let instance = ctx.instance(api, name).await?;
            let backup = take(ctx, api, &instance, !*no_wait, *timeout).await?;
            show(ctx, &backup)?;
        }
        InstanceCommand::Backups { name } => {
            let instance = ctx.instance(api, name).await?;
            let backups = api.backups(instance.organization_id, instance.id).await?;
            let rows = backups
                .iter()
                .map(|b| {
                    vec![
                        b.id.to_string(),
                        b.created_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                        b.trigger.clone(),
                        b.state.clone(),
                        b.size_bytes.map_or_else(String::new, |s| human(u64::try_from(s).unwrap_or(0))),
                        b.keys.map_or_else(String::new, |k| k.to_string()),
                    ]
                })
                .collect();
            let headers = ["ID", "TAKEN (UTC)", "TRIGGER", "STATE", "SIZE", "KEYS"];
            ctx.output.table(&headers, rows, serde_json::to_value(&backups)?);
        }
        InstanceCommand::Restore { name, backup } => {
            let instance = ctx.instance(api, name).await?;
            let backup = parse_id(backup)?;
            let message = format!("loading backup {backup} into {name} (it does not answer meanwhile)");
            let restored =
                super::instance::with_spinner(ctx, message, api.restore(instance.organization_id, instance.id, backup))
                    .await?;
            ctx.output.done(
                &format!("restored {name}: {} keys from {}", restored.keys, human(restored.size_bytes)),
                json!(restored),
            );
        }
        InstanceCommand::Export { name, backup, output } => {
            let instance = ctx.instance(api, name).await?;
            let backup = match backup {
                Some(id) => api.backup(instance.organization_id, instance.id, parse_id(id)?).await?,
                None => take(ctx, api, &instance, true, 3600).await?,
            };
            let mut file = tokio::fs::File::create(output)
                .await
                .map_err(|e| anyhow!("cannot create {}: {e}", output.display()))?;
            let bar = bar(ctx, "downloading");
            let size = api
                .export_backup(instance.organization_id, instance.id, backup.id, &mut file, |done, total| {
                    if let Some(total) = total {
                        bar.set_length(total);
                    }
                    bar.set_position(done);
                })
                .await?;
            bar.finish_and_clear();
            ctx.output.done(
                &format!("wrote {} ({}) from backup {}", output.display(), human(size), backup.id),
                json!({"file": output, "size_bytes": size, "backup": backup}),
            );
        }
        InstanceCommand::Import { name, file } => {
            let instance = ctx.instance(api, name).await?;
            let bar = bar(ctx, "uploading");
            let progress = bar.clone();
            let restored = api
                .import_rdb(instance.organization_id, instance.id, Path::new(file), move |sent, total| {
                    progress.set_length(total);
                    progress.set_position(sent);
                    if sent == total {
                        progress.set_message("loading");
                    }
                })
                .await;
            bar.finish_and_clear();
            let restored = restored?;
            ctx.output
                .done(&format!("imported {} into {name}: {} keys", file.display(), restored.keys), json!(restored));
        }
        InstanceCommand::BackupPolicy { name, every_hours, keep_last, keep_days, clear } => {
            let instance = ctx.instance(api, name).await?;
            let (org, id) = (instance.organization_id, instance.id);
            let changed = every_hours.is_some() || keep_last.is_some() || keep_days.is_some();
            let policy = if *clear || changed {
                let current = if *clear { BackupPolicy::default() } else { api.backup_policy(org, id).await? };
                let policy = BackupPolicy {
                    every_hours: every_hours.or(current.every_hours),
                    keep_last: keep_last.or(current.keep_last),
                    keep_days: keep_days.or(current.keep_days),
                };
                api.set_backup_policy(org, id, &policy).await?
            } else {
                api.backup_policy(org, id).await?
            };
            let or_none =
                |value: Option<i32>, unit: &str| value.map_or_else(|| "none".to_owned(), |v| format!("{v} {unit}"));
            ctx.output.object(
                &[
                    ("every", or_none(policy.every_hours, "hours")),
                    ("keep last", or_none(policy.keep_last, "backups")),
                    ("keep for", or_none(policy.keep_days, "days")),
                ],
                json!(policy),
            );
        }
        _ => bail!("not a backup command"),
    }
    Ok(())
}

/// Starts a backup and, with `wait`, waits until it is stored (a failed one is an error).
async fn take(ctx: &Context, api: &Management, instance: &Instance, wait: bool, timeout: u64) -> Result<Backup> {
    let (org, id) = (instance.organization_id, instance.id);
    let backup = api.create_backup(org, id).await?;
    if !wait {
        return Ok(backup);
    }
    let message = format!("backing up {}", instance.name);
    let waiting = api.wait_for_backup(org, id, backup.id, Duration::from_secs(timeout));
    let backup = super::instance::with_spinner(ctx, message, waiting).await?;
    if backup.state == "failed" {
        bail!("backup {} failed: {}", backup.id, backup.error.as_deref().unwrap_or("no reason given"));
    }
    Ok(backup)
}

fn show(ctx: &Context, backup: &Backup) -> Result<()> {
    let mut fields = vec![("id", backup.id.to_string()), ("state", backup.state.clone())];
    if let Some(size) = backup.size_bytes {
        fields.push(("size", human(u64::try_from(size).unwrap_or(0))));
    }
    if let Some(keys) = backup.keys {
        fields.push(("keys", keys.to_string()));
    }
    if let Some(sha) = &backup.sha256 {
        fields.push(("sha256", sha.clone()));
    }
    ctx.output.object(&fields, serde_json::to_value(backup)?);
    Ok(())
}

/// A byte progress bar on stderr when it is a terminal and the output is not JSON; hidden otherwise.
fn bar(ctx: &Context, message: &'static str) -> ProgressBar {
    if ctx.output.json || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(0);
    let style = ProgressStyle::with_template("{msg} {bar:40} {bytes}/{total_bytes} {bytes_per_sec} {eta}")
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(message);
    bar
}

fn parse_id(text: &str) -> Result<Uuid> {
    text.parse().map_err(|_| {
        anyhow!(crate::UsageError(format!("--backup {text}: not a backup id (see: redisgate instance backups <name>)")))
    })
}

/// `1.5 MiB`.
fn human(bytes: u64) -> String {
    indicatif::HumanBytes(bytes).to_string()
}

//! `redisgate admin`: what only the platform's operator does, on the control plane's database directly.
//! Whoever holds the database URL administers the platform; no account or API key can.

use anyhow::{anyhow, bail, Result};
use chrono::Utc;
use redisgate_core::store::Plan;
use serde_json::json;

use super::limits::summary;
use super::Context;
use crate::cli::{AdminCommand, DatabaseArgs, PlanCommand};
use crate::size::{format_size, parse_size};

/// Runs an `admin` subcommand.
pub async fn run(ctx: &Context, command: &AdminCommand) -> Result<()> {
    let AdminCommand::Plan(command) = command;
    match command {
        PlanCommand::List { database } => {
            let pool = connect(database).await?;
            let plans = Plan::list(&mut *pool.get().await?).await?;
            show(ctx, &plans);
        }
        PlanCommand::Set { name, instances, memory, limits, database } => {
            let memory = memory
                .as_deref()
                .map(|m| {
                    parse_size(m)
                        .and_then(|b| i64::try_from(b).ok())
                        .ok_or_else(|| anyhow!("--memory: use bytes or a size like 4gb"))
                })
                .transpose()?;
            let pool = connect(database).await?;
            let mut conn = pool.get().await?;
            let current = Plan::find(&mut conn, name).await?;
            let Some(base) = current.or_else(|| {
                (instances.is_some() && memory.is_some()).then(|| Plan {
                    name: name.clone(),
                    max_instances: 0,
                    max_memory: 0,
                    limits: redisgate_core::limits::Limits::default(),
                    updated_at: Utc::now(),
                })
            }) else {
                bail!(crate::UsageError(format!("no plan '{name}' yet: a new plan needs --instances and --memory")));
            };
            let plan = Plan {
                max_instances: instances.map_or(base.max_instances, i32::from),
                max_memory: memory.unwrap_or(base.max_memory),
                limits: limits.overlay(base.limits),
                updated_at: Utc::now(),
                ..base
            }
            .upsert(&mut conn)
            .await
            .map_err(|e| anyhow!("cannot save plan '{name}': {e}"))?;
            show(ctx, std::slice::from_ref(&plan));
        }
        PlanCommand::Assign { org, plan, database } => {
            let pool = connect(database).await?;
            let mut conn = pool.get().await?;
            if Plan::find(&mut conn, plan).await?.is_none() {
                bail!(super::NotFound(format!("no plan '{plan}' (see: redisgate admin plan list)")));
            }
            if !Plan::assign(&mut conn, org, plan).await? {
                bail!(super::NotFound(format!("no organization with slug '{org}'")));
            }
            ctx.output
                .done(&format!("organization '{org}' is on plan '{plan}'"), json!({"organization": org, "plan": plan}));
        }
    }
    Ok(())
}

/// The control plane's database, migrated (the platform may not have run yet).
async fn connect(database: &DatabaseArgs) -> Result<redisgate_platform::Pool> {
    redisgate_platform::db::migrate(&database.database_url).await.map_err(|e| anyhow!("{e}"))?;
    redisgate_platform::db::pool(&database.database_url, 1).map_err(|e| anyhow!("{e}"))
}

fn show(ctx: &Context, plans: &[Plan]) {
    let rows = plans
        .iter()
        .map(|p| {
            let memory = format_size(u64::try_from(p.max_memory).unwrap_or_default());
            vec![p.name.clone(), p.max_instances.to_string(), memory, summary(&p.limits)]
        })
        .collect();
    let json = plans
        .iter()
        .map(|p| json!({"name": p.name, "max_instances": p.max_instances, "max_memory": p.max_memory, "limits": p.limits}))
        .collect();
    ctx.output.table(&["PLAN", "INSTANCES", "MEMORY", "LIMITS EACH"], rows, serde_json::Value::Array(json));
}

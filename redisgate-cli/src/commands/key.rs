//! `key create|list|revoke`.

use anyhow::Result;
use serde_json::json;

use super::Context;
use crate::cli::KeyCommand;

/// Runs a `key` subcommand.
pub async fn run(ctx: &Context, command: &KeyCommand) -> Result<()> {
    let api = ctx.management()?;
    match command {
        KeyCommand::Create { name, scopes, instance, org } => {
            let org = ctx.org(&api, org.as_deref()).await?;
            let instance = match instance {
                Some(name) => Some(ctx.instance(&api, name).await?.id),
                None => None,
            };
            let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
            let key = api.create_api_key(org.id, name, &scopes, instance).await?;
            let secret = key.secret.clone().unwrap_or_default();
            ctx.output.object(
                &[
                    ("id", key.id.to_string()),
                    ("scopes", key.scopes.join(",")),
                    ("secret", secret),
                    ("note", "shown once: store it now".into()),
                ],
                serde_json::to_value(&key)?,
            );
        }
        KeyCommand::List { org } => {
            let org = ctx.org(&api, org.as_deref()).await?;
            let keys = api.api_keys(org.id).await?;
            let rows = keys
                .iter()
                .map(|k| {
                    vec![
                        k.id.to_string(),
                        k.name.clone(),
                        k.prefix.clone(),
                        k.scopes.join(","),
                        k.instance_id.map(|i| i.to_string()).unwrap_or_default(),
                    ]
                })
                .collect();
            ctx.output.table(&["ID", "NAME", "PREFIX", "SCOPES", "INSTANCE"], rows, serde_json::to_value(&keys)?);
        }
        KeyCommand::Revoke { id, org } => {
            let org = ctx.org(&api, org.as_deref()).await?;
            api.revoke_api_key(org.id, *id).await?;
            ctx.output.done(&format!("revoked key {id}"), json!({"revoked": id}));
        }
    }
    Ok(())
}

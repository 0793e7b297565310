//! `key create|list|revoke`.

use anyhow::Result;
use redisgate_client::management::NewApiKey;
use serde_json::json;

use super::{limits, Context};
use crate::cli::KeyCommand;

/// Runs a `key` subcommand.
pub async fn run(ctx: &Context, command: &KeyCommand) -> Result<()> {
    let api = ctx.management()?;
    match command {
        KeyCommand::Create { name, scopes: granted, instance, org, limits: flags } => {
            let org = ctx.org(&api, org.as_deref()).await?;
            let mut new = NewApiKey::new(name, granted.iter().copied());
            if let Some(name) = instance {
                new = new.for_instance(ctx.instance(&api, name).await?.id);
            }
            new.limits = flags.for_new();
            let created = api.create_api_key_with(org.id, &new).await?;
            let key = &created.key;
            let mut fields = vec![("id", key.id.to_string()), ("scopes", scopes(&key.scopes))];
            if !key.limits.is_unlimited() {
                fields.push(("limits", limits::summary(&key.limits)));
            }
            fields.push(("secret", created.secret.clone()));
            fields.push(("note", "shown once: store it now".into()));
            ctx.output.object(&fields, serde_json::to_value(&created)?);
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
                        scopes(&k.scopes),
                        k.instance_id.map(|i| i.to_string()).unwrap_or_default(),
                    ]
                })
                .collect();
            let (headers, rows) = limits::with_column(
                &["ID", "NAME", "PREFIX", "SCOPES", "INSTANCE"],
                rows,
                keys.iter().map(|k| &k.limits),
            );
            ctx.output.table(&headers, rows, serde_json::to_value(&keys)?);
        }
        KeyCommand::Revoke { id, org } => {
            let org = ctx.org(&api, org.as_deref()).await?;
            api.revoke_api_key(org.id, *id).await?;
            ctx.output.done(&format!("revoked key {id}"), json!({"revoked": id}));
        }
    }
    Ok(())
}

/// Scopes as the flags take them: comma-separated.
fn scopes(scopes: &[redisgate_core::api::Scope]) -> String {
    scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")
}

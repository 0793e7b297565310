//! `org list|create|delete`.

use anyhow::Result;
use serde_json::json;

use super::Context;
use crate::cli::OrgCommand;

/// Runs an `org` subcommand.
pub async fn run(ctx: &Context, command: &OrgCommand) -> Result<()> {
    let api = ctx.management()?;
    match command {
        OrgCommand::List => {
            let orgs = api.organizations().await?;
            let rows = orgs
                .iter()
                .map(|o| {
                    vec![
                        o.slug.clone(),
                        o.name.clone(),
                        o.role.map(|r| r.to_string()).unwrap_or_default(),
                        o.id.to_string(),
                    ]
                })
                .collect();
            ctx.output.table(&["SLUG", "NAME", "ROLE", "ID"], rows, serde_json::to_value(&orgs)?);
        }
        OrgCommand::Create { slug, name } => {
            let org = api.create_organization(name.as_deref().unwrap_or(slug), slug).await?;
            ctx.output.done(&format!("created organization {} ({})", org.slug, org.id), serde_json::to_value(&org)?);
        }
        OrgCommand::Delete { org } => {
            let org = ctx.org(&api, Some(org)).await?;
            api.delete_organization(org.id).await?;
            ctx.output.done(&format!("deleted organization {}", org.slug), json!({"deleted": org.id}));
        }
    }
    Ok(())
}

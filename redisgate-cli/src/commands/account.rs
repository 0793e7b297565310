//! `register`, `login`, `logout`.

use anyhow::{bail, Result};
use redisgate_client::management::Management;
use serde_json::json;

use super::Context;
use crate::cli::AccountArgs;

fn password(args: &AccountArgs) -> Result<String> {
    if let Some(password) = &args.password {
        return Ok(password.clone());
    }
    if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
        return Ok(rpassword::prompt_password("Password: ")?);
    }
    bail!(crate::UsageError("no password: pass --password, set REDISGATE_PASSWORD, or run in a terminal".into()))
}

/// `redisgate register`: creates the account, then logs in.
pub async fn register(ctx: &Context, args: &AccountArgs) -> Result<()> {
    let api = ctx.anonymous()?;
    let password = password(args)?;
    api.register(&args.email, &password).await?;
    session(ctx, &api, &args.email, &password, "registered and logged in").await
}

/// `redisgate login`.
pub async fn login(ctx: &Context, args: &AccountArgs) -> Result<()> {
    let api = ctx.anonymous()?;
    let password = password(args)?;
    session(ctx, &api, &args.email, &password, "logged in").await
}

async fn session(ctx: &Context, api: &Management, email: &str, password: &str, what: &str) -> Result<()> {
    let session = api.session(email, password).await?;
    let mut profile = ctx.profile.clone();
    profile.url = Some(api.base().to_owned());
    profile.email = Some(session.user.email.clone());
    ctx.profiles.save(&ctx.profile_name, &profile)?;
    ctx.profiles.save_token(&ctx.profile_name, &session.token)?;
    ctx.output.done(
        &format!(
            "{what} as {} (profile '{}', session until {})",
            session.user.email, ctx.profile_name, session.expires_at
        ),
        json!({"email": session.user.email, "profile": ctx.profile_name, "expires_at": session.expires_at}),
    );
    Ok(())
}

/// `redisgate logout`.
pub fn logout(ctx: &Context) {
    let had = ctx.profiles.clear_token(&ctx.profile_name);
    let message = if had { "logged out" } else { "was not logged in" };
    ctx.output.done(message, json!({"logged_out": had, "profile": ctx.profile_name}));
}

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

/// `redisgate logout`: ends the user's sessions on the server (every device), then forgets the profile's.
/// The session is forgotten even when the server cannot be reached (then it lasts until it expires, and the
/// message says so).
pub async fn logout(ctx: &Context) {
    let ended = match ctx.management() {
        Ok(api) => api.logout().await.is_ok(),
        Err(_) => false,
    };
    let had = ctx.profiles.clear_token(&ctx.profile_name);
    let message = match (had, ended) {
        (true, true) => "logged out: every session of this account has ended",
        (true, false) => "forgot the session (the server did not confirm ending it: it lasts until it expires)",
        (false, _) => "was not logged in",
    };
    ctx.output.done(message, json!({"logged_out": had, "sessions_ended": ended, "profile": ctx.profile_name}));
}

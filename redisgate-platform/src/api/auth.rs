//! `POST /api/auth/register`, `POST /api/auth/login`, `POST /api/auth/logout`, `POST /api/auth/password`,
//! `GET /api/me`.
//!
//! A session token carries the user's session version; logging out and changing the password increase the
//! version, so every session issued before ends at once (there is no list of sessions to keep).

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::Utc;
use redisgate_core::api;
use redisgate_core::auth::password;
use redisgate_core::store::{Organization, Page as StorePage, User};
use redisgate_gateway::ApiError;

use crate::Error;
use serde_json::json;

use super::extract::ApiJson;
use super::principal::Principal;
use super::Platform;

/// Lower-cases and checks an email address.
pub fn normalize_email(email: &str) -> Result<String, String> {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if valid {
        Ok(email)
    } else {
        Err("must be a valid email address".to_owned())
    }
}

/// Registers a user.
#[utoipa::path(post, path = "/auth/register", request_body = api::Login, tag = "auth",
    responses((status = 201, body = api::User), (status = 409, description = "email taken"), (status = 422, description = "invalid fields"), (status = 429, description = "too many attempts from this address or in all"), (status = 503, description = "every core is hashing passwords (Retry-After: 1)")))]
pub async fn register(
    State(platform): State<Platform>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    ApiJson(body): ApiJson<api::Login>,
) -> Result<(StatusCode, Json<api::User>), Error> {
    platform.accounts.attempt(peer.map(|Extension(ConnectInfo(address))| address.ip()))?;
    let mut fields = BTreeMap::new();
    let email = normalize_email(&body.email).map_err(|e| fields.insert("email".to_owned(), e)).ok();
    if let Some(weak) = password::weakness(&body.password, &body.email) {
        fields.insert("password".to_owned(), weak);
    }
    let Some(email) = email.filter(|_| fields.is_empty()) else {
        return Err(redisgate_core::Error::Validation(fields).into());
    };
    let (password, permit) = (body.password, platform.accounts.hashing()?);
    let hash = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        password::hash(&password)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    let mut conn = platform.pool.get().await?;
    let user = User::insert(&mut conn, &email, &hash)
        .await
        .map_err(|e| super::duplicate(e, "an account with this email already exists"))?;
    Principal::User(user.clone()).audit(&mut conn, None, "user.register", "user", Some(user.id), json!({})).await?;
    Ok((StatusCode::CREATED, Json(api::User::from(&user))))
}

/// Exchanges email and password for a session token.
#[utoipa::path(post, path = "/auth/login", request_body = api::Login, tag = "auth",
    responses((status = 200, body = api::Session), (status = 401, description = "wrong email or password"), (status = 429, description = "too many attempts for this email, from this address or in all (Retry-After says when to try again)"), (status = 503, description = "every core is hashing passwords (Retry-After: 1)")))]
pub async fn login(
    State(platform): State<Platform>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    ApiJson(body): ApiJson<api::Login>,
) -> Result<Json<api::Session>, Error> {
    let address = peer.map(|Extension(ConnectInfo(address))| address.ip());
    platform.accounts.attempt(address)?;
    let email = normalize_email(&body.email).map_err(|_| Error::BadCredentials("wrong email or password"))?;
    platform.login_throttle.attempt(&email)?;
    let mut conn = platform.pool.get().await?;
    let user = User::find_by_email(&mut conn, &email).await?;
    drop(conn);
    // Verify against a real hash even for an unknown email, so timing does not reveal which emails exist.
    let hash = user.as_ref().map_or_else(|| DUMMY_HASH.clone(), |u| u.password_hash.clone());
    let (password, permit) = (body.password, platform.accounts.hashing()?);
    let ok = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        password::verify(&password, &hash)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let user = user.filter(|_| ok).ok_or(Error::BadCredentials("wrong email or password"))?;
    platform.accounts.logged_in(address);
    Ok(Json(session(&platform, &user, user.session_version)?))
}

/// A new session token for `user` at session version `version`.
fn session(platform: &Platform, user: &User, version: i32) -> Result<api::Session, Error> {
    let now = Utc::now();
    let token = platform.jwt.issue(&user.id.to_string(), version.into(), now.timestamp(), platform.jwt_ttl_secs)?;
    let expires_at = now + chrono::Duration::seconds(platform.jwt_ttl_secs);
    Ok(api::Session { token, expires_at, user: api::User::from(user) })
}

/// Ends every session of the caller (this one included).
#[utoipa::path(post, path = "/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "every session of the user has ended"), (status = 401, description = "not authenticated"), (status = 403, description = "an API key, not a session")))]
pub async fn logout(State(platform): State<Platform>, principal: Principal) -> Result<StatusCode, Error> {
    let user = principal.user()?;
    let mut conn = platform.pool.get().await?;
    User::end_sessions(&mut conn, user.id, None).await?;
    principal.audit(&mut conn, None, "user.logout", "user", Some(user.id), json!({})).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Changes the caller's password: every other session ends, and the answer is a new one.
#[utoipa::path(post, path = "/auth/password", request_body = api::PasswordChange, tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = api::Session), (status = 401, description = "not authenticated, or the current password is wrong"), (status = 403, description = "an API key, not a session"), (status = 422, description = "the new password is too weak"), (status = 503, description = "every core is hashing passwords (Retry-After: 1)")))]
pub async fn change_password(
    State(platform): State<Platform>,
    principal: Principal,
    ApiJson(body): ApiJson<api::PasswordChange>,
) -> Result<Json<api::Session>, Error> {
    let user = principal.user()?.clone();
    if let Some(weak) = password::weakness(&body.new_password, &user.email) {
        return Err(Error::field("new_password", weak));
    }
    platform.login_throttle.attempt(&user.email)?;
    let (current, new, stored, permit) =
        (body.current_password, body.new_password, user.password_hash.clone(), platform.accounts.hashing()?);
    let hash = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        password::verify(&current, &stored).then(|| password::hash(&new)).transpose()
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??
    .ok_or(Error::BadCredentials("the current password is wrong"))?;
    let mut conn = platform.pool.get().await?;
    let version = User::end_sessions(&mut conn, user.id, Some(&hash)).await?;
    principal.audit(&mut conn, None, "user.password", "user", Some(user.id), json!({})).await?;
    Ok(Json(session(&platform, &user, version)?))
}

/// A real argon2id hash, verified against when the email is unknown.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| password::hash("no account has this password 0").unwrap_or_default());

/// The caller and its organizations.
#[utoipa::path(get, path = "/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = api::Me), (status = 401, description = "not authenticated")))]
pub async fn me(State(platform): State<Platform>, principal: Principal) -> Result<Json<api::Me>, Error> {
    let mut conn = platform.pool.get().await?;
    let (user, organizations) = match &principal {
        Principal::User(user) => {
            let orgs = Organization::list_for_user(&mut conn, user.id, StorePage::new(Some(100), None)).await?;
            (Some(api::User::from(user)), orgs.into_iter().map(|(o, role)| o.into_api(Some(role))).collect())
        }
        Principal::Key(key) => {
            let org = Organization::find(&mut conn, key.organization_id).await?;
            (None, org.into_iter().map(|o| o.into_api(None)).collect())
        }
    };
    Ok(Json(api::Me { user, organizations }))
}

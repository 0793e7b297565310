//! `POST /api/auth/register`, `POST /api/auth/login`, `GET /api/me`.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use chrono::Utc;
use redisgate_core::api;
use redisgate_core::auth::password;
use redisgate_core::store::{is_unique_violation, Organization, Page as StorePage, User};
use redisgate_gateway::ApiError;
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
) -> Result<(StatusCode, Json<api::User>), ApiError> {
    platform.accounts.attempt(peer.map(|Extension(ConnectInfo(address))| address.ip()))?;
    let mut fields = BTreeMap::new();
    let email = normalize_email(&body.email).map_err(|e| fields.insert("email".to_owned(), e)).ok();
    if let Some(weak) = password::weakness(&body.password) {
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
    let user = match User::insert(&mut conn, &email, &hash).await {
        Ok(user) => user,
        Err(e) if is_unique_violation(&e) => {
            return Err(ApiError::Conflict("an account with this email already exists".into()))
        }
        Err(e) => return Err(e.into()),
    };
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
) -> Result<Json<api::Session>, ApiError> {
    platform.accounts.attempt(peer.map(|Extension(ConnectInfo(address))| address.ip()))?;
    let email = normalize_email(&body.email).map_err(|_| ApiError::BadCredentials("wrong email or password"))?;
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
    let user = user.filter(|_| ok).ok_or(ApiError::BadCredentials("wrong email or password"))?;
    let now = Utc::now();
    let token = platform.jwt.issue(&user.id.to_string(), now.timestamp(), platform.jwt_ttl_secs)?;
    let expires_at = now + chrono::Duration::seconds(platform.jwt_ttl_secs);
    Ok(Json(api::Session { token, expires_at, user: api::User::from(&user) }))
}

/// A real argon2id hash, verified against when the email is unknown.
static DUMMY_HASH: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| password::hash("no account has this password 0").unwrap_or_default());

/// The caller and its organizations.
#[utoipa::path(get, path = "/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = api::Me), (status = 401, description = "not authenticated")))]
pub async fn me(State(platform): State<Platform>, principal: Principal) -> Result<Json<api::Me>, ApiError> {
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

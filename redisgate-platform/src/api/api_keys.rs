//! `/api/organizations/{org_id}/api-keys`: scoped organization keys, shown once, optionally expiring; a key
//! is revoked when the member who made it leaves the organization.

use crate::Error;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use redisgate_core::api::{self, Page, Scope};
use redisgate_core::auth::token::{generate, API_KEY_PREFIX};
use redisgate_core::store::{ApiKey, Instance, NewApiKey};
use serde_json::json;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, Pagination};
use super::principal::{Need, Principal};
use super::Platform;

/// The organization's active keys.
#[utoipa::path(get, path = "/organizations/{org_id}/api-keys", tag = "api-keys", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query)),
    responses((status = 200, body = Page<api::ApiKey>), (status = 403, description = "not an admin"), (status = 404, description = "no such organization")))]
pub async fn list_api_keys(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath(org_id): ApiPath<Uuid>,
    pagination: Pagination,
) -> Result<Json<Page<api::ApiKey>>, Error> {
    let mut conn = platform.pool.get().await?;
    principal.authorize(&mut conn, org_id, Need::Administer).await?;
    let page = pagination.page();
    let items = ApiKey::list_in(&mut conn, org_id, page).await?.into_iter().map(api::ApiKey::from).collect();
    Ok(Json(page.answer(items)))
}

/// Creates a key; the response carries the secret, once.
#[utoipa::path(post, path = "/organizations/{org_id}/api-keys", tag = "api-keys", security(("bearer" = [])),
    params(("org_id" = Uuid, Path)), request_body = api::NewApiKey,
    responses((status = 201, body = api::CreatedApiKey), (status = 403, description = "not an admin"), (status = 404, description = "no such organization or instance"), (status = 422, description = "invalid fields")))]
pub async fn create_api_key(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath(org_id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<api::NewApiKey>,
) -> Result<(StatusCode, Json<api::CreatedApiKey>), Error> {
    let mut conn = platform.pool.get().await?;
    principal.authorize(&mut conn, org_id, Need::Administer).await?;
    let mut fields = std::collections::BTreeMap::new();
    if body.name.trim().is_empty() || body.name.chars().count() > 100 {
        fields.insert("name".to_owned(), "must be 1 to 100 characters".to_owned());
    }
    if body.scopes.is_empty() {
        let scopes: Vec<_> = Scope::ALL.iter().map(|s| s.as_str()).collect();
        fields.insert("scopes".to_owned(), format!("must be a non-empty list of: {}", scopes.join(", ")));
    }
    let limits = body.limits.unwrap_or_default();
    if body.expires_at.is_some_and(|at| at <= chrono::Utc::now()) {
        fields.insert("expires_at".to_owned(), "must be in the future".to_owned());
    }
    if limits.max_daily_requests.is_some() {
        fields.insert("limits.max_daily_requests".to_owned(), "daily quotas are set on instances, not keys".to_owned());
    }
    if !fields.is_empty() {
        return Err(redisgate_core::Error::Validation(fields).into());
    }
    if let Some(instance) = body.instance_id {
        Instance::find_in(&mut conn, org_id, instance).await?.ok_or(Error::NotFound("instance"))?;
    }
    let mut scopes = body.scopes.clone();
    scopes.sort();
    scopes.dedup();
    let (secret, hash) = generate(API_KEY_PREFIX);
    let prefix: String = secret.chars().take(API_KEY_PREFIX.len() + 6).collect();
    let key = NewApiKey {
        id: Uuid::new_v4(),
        organization_id: org_id,
        instance_id: body.instance_id,
        name: body.name.trim(),
        key_prefix: &prefix,
        key_hash: hash.as_bytes(),
        scopes: &scopes,
        created_by: principal.user().ok().map(|u| u.id),
        limits,
        expires_at: body.expires_at,
    }
    .insert_within(&mut conn, MAX_KEYS_PER_ORGANIZATION)
    .await?
    .ok_or_else(|| {
        Error::PlanExceeded(format!(
            "an organization may have {MAX_KEYS_PER_ORGANIZATION} active API keys; revoke one to make another"
        ))
    })?;
    principal
        .audit(&mut conn, Some(org_id), "api_key.create", "api_key", Some(key.id), json!({"scopes": scopes}))
        .await?;
    Ok((StatusCode::CREATED, Json(api::CreatedApiKey { key: key.into(), secret })))
}

/// Most active API keys an organization may have: each is held by every gateway worker's directory, for
/// every instance it opens.
pub const MAX_KEYS_PER_ORGANIZATION: i64 = 100;

/// Revokes a key; gateways stop accepting it within a second.
#[utoipa::path(delete, path = "/organizations/{org_id}/api-keys/{key_id}", tag = "api-keys", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("key_id" = Uuid, Path)),
    responses((status = 204), (status = 403, description = "not an admin"), (status = 404, description = "no such key")))]
pub async fn revoke_api_key(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath((org_id, key_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, Error> {
    let mut conn = platform.pool.get().await?;
    principal.authorize(&mut conn, org_id, Need::Administer).await?;
    if !ApiKey::revoke(&mut conn, org_id, key_id).await? {
        return Err(Error::NotFound("API key"));
    }
    principal.audit(&mut conn, Some(org_id), "api_key.revoke", "api_key", Some(key_id), json!({})).await?;
    Ok(StatusCode::NO_CONTENT)
}

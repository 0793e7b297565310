//! `/api/organizations/{org_id}/redis-instances`: create, list, inspect, resize and limit, delete; status;
//! credentials.
//!
//! Creation records a `pending` instance and its tokens, answers 201 at once with the tokens (shown this once:
//! only their hashes are kept), and provisions in the background; poll `/status` until `running`.
//! Deletion answers 202 and removes the server, then the row.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use chrono::{DateTime, Utc};
use diesel_async::pooled_connection::deadpool::Object;
use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use redisgate_core::auth::token::{generate, INSTANCE_TOKEN_PREFIX, READONLY_TOKEN_PREFIX};
use redisgate_core::limits::Limits;
use redisgate_core::provisioning::{max_memory_problem, InstanceSpec};
use redisgate_core::store::{is_unique_violation, Instance, InstanceChanges, InstanceToken, NewInstance};
use redisgate_gateway::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::json;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, Pagination};
use super::principal::{Need, OrgAccess, Principal};
use super::Page;
use crate::Platform;

/// An instance as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InstanceView {
    /// Identifier.
    pub id: Uuid,
    /// Owning organization.
    pub organization_id: Uuid,
    /// Globally unique name (host name label).
    pub name: String,
    /// Unique within the organization.
    pub slug: String,
    /// `maxmemory` in bytes.
    pub max_memory: i64,
    /// Requested Redis version.
    pub redis_version: String,
    /// `pending`, `provisioning`, `running`, `failed` or `deleting`.
    pub status: String,
    /// Why, when failed.
    pub status_message: Option<String>,
    /// The REST URL for `@upstash/redis` and curl.
    pub rest_url: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// Limits the gateway enforces; absent fields are unlimited (docs/configuration.md, "Limits").
    #[schema(value_type = Object)]
    pub limits: Limits,
}

impl InstanceView {
    fn new(i: Instance, platform: &Platform) -> Self {
        Self {
            rest_url: platform.urls.rest_url(&i.name),
            id: i.id,
            organization_id: i.organization_id,
            name: i.name,
            slug: i.slug,
            max_memory: i.max_memory,
            redis_version: i.redis_version,
            status: i.status,
            status_message: i.status_message,
            created_at: i.created_at,
            updated_at: i.updated_at,
            limits: i.limits,
        }
    }
}

/// An instance to create (the product's body; `organization_id`, if given, must match the path).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewInstanceRequest {
    /// Globally unique DNS label, 3–40 characters.
    pub name: String,
    /// Unique in the organization; defaults to the name.
    pub slug: Option<String>,
    /// Must equal the organization in the path.
    pub organization_id: Option<Uuid>,
    /// `maxmemory` in bytes.
    pub max_memory: i64,
    /// e.g. `7.2`.
    pub redis_version: String,
    /// Limits the gateway enforces (default: none).
    #[serde(default)]
    #[schema(value_type = Object)]
    pub limits: Limits,
}

/// Changes to an instance.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InstancePatch {
    /// New `maxmemory` in bytes (a running server is resized by its provisioner first).
    pub max_memory: Option<i64>,
    /// New limits, replacing the old ones entirely (`{}` removes them); gateways apply them within a second.
    #[schema(value_type = Option<Object>)]
    pub limits: Option<Limits>,
}

/// Secrets of an instance, shown once (at creation and rotation).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Secrets {
    /// REST URL (`UPSTASH_REDIS_REST_URL`).
    pub rest_url: String,
    /// The same instance by path prefix, for setups without wildcard DNS.
    pub rest_url_path: String,
    /// Standard token (`UPSTASH_REDIS_REST_TOKEN`).
    pub token: String,
    /// Read-only token.
    pub readonly_token: String,
}

impl Secrets {
    fn new(platform: &Platform, name: &str, token: String, readonly_token: String) -> Self {
        Self {
            rest_url: platform.urls.rest_url(name),
            rest_url_path: platform.urls.path_url(name),
            token,
            readonly_token,
        }
    }
}

/// A created instance and its secrets.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedInstance {
    /// The instance (status `pending`).
    pub instance: InstanceView,
    /// Its tokens: store them now.
    pub credentials: Secrets,
}

/// The instance's status.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatusView {
    /// `pending`, `provisioning`, `running`, `failed` or `deleting`.
    pub status: String,
    /// Why, when failed.
    pub message: Option<String>,
    /// `host:port` of the server, when running.
    pub endpoint: Option<String>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<Instance> for StatusView {
    fn from(i: Instance) -> Self {
        Self { status: i.status, message: i.status_message, endpoint: i.endpoint, updated_at: i.updated_at }
    }
}

/// Where to reach the instance, and which tokens exist (the tokens themselves are only shown at creation
/// and rotation).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CredentialsView {
    /// REST URL.
    pub rest_url: String,
    /// REST URL by path prefix.
    pub rest_url_path: String,
    /// Active tokens: access and creation time.
    pub tokens: Vec<TokenInfo>,
}

/// One active token, without its secret.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenInfo {
    /// `full` or `readonly`.
    pub access: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

async fn find(conn: &mut diesel_async::AsyncPgConnection, access: &OrgAccess, id: Uuid) -> Result<Instance, ApiError> {
    if access.only_instance.is_some_and(|only| only != id) {
        return Err(ApiError::NotFound("instance"));
    }
    Instance::find_in(conn, access.org.id, id).await?.ok_or(ApiError::NotFound("instance"))
}

/// A connection and the instance `id` of `org`, if the caller may do `need` with it (404 otherwise, as
/// [`find`]).
pub(super) async fn locate(
    platform: &Platform,
    principal: &Principal,
    org: Uuid,
    id: Uuid,
    need: Need,
) -> Result<(Object<AsyncPgConnection>, Instance), ApiError> {
    let mut conn = platform.pool.get().await?;
    let access = principal.authorize(&mut conn, org, need).await?;
    let instance = find(&mut conn, &access, id).await?;
    Ok((conn, instance))
}

fn new_secrets() -> (String, String, Vec<(String, Vec<u8>)>) {
    let (token, hash) = generate(INSTANCE_TOKEN_PREFIX);
    let (readonly, ro_hash) = generate(READONLY_TOKEN_PREFIX);
    let hashes =
        vec![("full".to_owned(), hash.as_bytes().to_vec()), ("readonly".to_owned(), ro_hash.as_bytes().to_vec())];
    (token, readonly, hashes)
}

/// The organization's instances.
#[utoipa::path(get, path = "/api/organizations/{org_id}/redis-instances", tag = "instances", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query)),
    responses((status = 200, body = Page<InstanceView>), (status = 404, description = "no such organization")))]
pub async fn list_instances(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath(org_id): ApiPath<Uuid>,
    pagination: Pagination,
) -> Result<Json<Page<InstanceView>>, ApiError> {
    let mut conn = platform.pool.get().await?;
    let access = principal.authorize(&mut conn, org_id, Need::Read).await?;
    let page = pagination.page();
    // A key limited to one instance sees that one (a filter after LIMIT/OFFSET would lose it on page 2).
    let rows = match access.only_instance {
        Some(only) if page.offset == 0 => Instance::find_in(&mut conn, org_id, only).await?.into_iter().collect(),
        Some(_) => Vec::new(),
        None => Instance::list_in(&mut conn, org_id, page).await?,
    };
    let items = rows.into_iter().map(|i| InstanceView::new(i, &platform)).collect();
    Ok(Json(Page::new(items, page)))
}

/// Creates an instance; it is provisioned in the background.
#[utoipa::path(post, path = "/api/organizations/{org_id}/redis-instances", tag = "instances", security(("bearer" = [])),
    params(("org_id" = Uuid, Path)), request_body = NewInstanceRequest,
    responses((status = 201, body = CreatedInstance), (status = 403, description = "not allowed"), (status = 404, description = "no such organization"), (status = 409, description = "name or slug taken"), (status = 422, description = "invalid fields")))]
pub async fn create_instance(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath(org_id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<NewInstanceRequest>,
) -> Result<(StatusCode, Json<CreatedInstance>), ApiError> {
    let mut conn = platform.pool.get().await?;
    let access = principal.authorize(&mut conn, org_id, Need::ManageInstances).await?;
    if access.only_instance.is_some() {
        return Err(ApiError::Forbidden("a key limited to one instance cannot create instances"));
    }
    if body.organization_id.is_some_and(|o| o != org_id) {
        return Err(ApiError::field("organization_id", "must match the organization in the path"));
    }
    let spec = InstanceSpec::new(&body.name, body.slug.as_deref(), body.max_memory, &body.redis_version)?;
    let (token, readonly, hashes) = new_secrets();
    let id = Uuid::new_v4();
    let row = NewInstance {
        id,
        organization_id: org_id,
        name: &spec.name,
        slug: &spec.slug,
        max_memory: spec.max_memory,
        redis_version: &spec.redis_version,
        status: "pending",
        limits: body.limits,
    };
    let created = conn
        .transaction(async |conn| {
            let instance = row.insert(conn).await?;
            InstanceToken::replace(conn, id, hashes).await?;
            Ok::<_, diesel::result::Error>(instance)
        })
        .await;
    let instance = match created {
        Ok(instance) => instance,
        Err(e) if is_unique_violation(&e) => {
            return Err(ApiError::Conflict(
                "an instance with this name (or slug in this organization) already exists".into(),
            ))
        }
        Err(e) => return Err(e.into()),
    };
    principal
        .audit(&mut conn, Some(org_id), "instance.create", "instance", Some(id), json!({"name": spec.name}))
        .await?;
    platform.lifecycle.provision(id);
    let credentials = Secrets::new(&platform, &instance.name, token, readonly);
    Ok((StatusCode::CREATED, Json(CreatedInstance { instance: InstanceView::new(instance, &platform), credentials })))
}

/// One instance.
#[utoipa::path(get, path = "/api/organizations/{org_id}/redis-instances/{instance_id}", tag = "instances", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("instance_id" = Uuid, Path)),
    responses((status = 200, body = InstanceView), (status = 404, description = "no such instance")))]
pub async fn get_instance(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath((org_id, id)): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<InstanceView>, ApiError> {
    let (_, instance) = locate(&platform, &principal, org_id, id, Need::Read).await?;
    Ok(Json(InstanceView::new(instance, &platform)))
}

/// Changes `max_memory` and the limits.
#[utoipa::path(patch, path = "/api/organizations/{org_id}/redis-instances/{instance_id}", tag = "instances", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("instance_id" = Uuid, Path)), request_body = InstancePatch,
    responses((status = 200, body = InstanceView), (status = 404, description = "no such instance"), (status = 422, description = "invalid fields")))]
pub async fn update_instance(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath((org_id, id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<InstancePatch>,
) -> Result<Json<InstanceView>, ApiError> {
    let (mut conn, instance) = locate(&platform, &principal, org_id, id, Need::ManageInstances).await?;
    if body.max_memory.is_none() && body.limits.is_none() {
        return Ok(Json(InstanceView::new(instance, &platform)));
    }
    if let Some(max_memory) = body.max_memory {
        if let Some(problem) = max_memory_problem(max_memory) {
            return Err(ApiError::field("max_memory", problem));
        }
        // A running server is resized first (durably, by its provisioner); the record follows only if that
        // worked. One that is not running yet is started with the recorded size.
        let provisioner = platform.lifecycle.provisioner();
        if provisioner.endpoint(id).is_some() {
            let spec = InstanceSpec { max_memory, ..instance.spec() };
            provisioner.resize(instance.target(), spec).await.map_err(ApiError::Provisioning)?;
        }
    }
    let changes = InstanceChanges { max_memory: body.max_memory, limits: body.limits };
    let instance = Instance::update(&mut conn, id, &changes).await?;
    principal
        .audit(
            &mut conn,
            Some(org_id),
            "instance.update",
            "instance",
            Some(id),
            json!({"max_memory": body.max_memory, "limits": body.limits}),
        )
        .await?;
    Ok(Json(InstanceView::new(instance, &platform)))
}

/// Deletes an instance: 202, then the server stops and the row goes.
#[utoipa::path(delete, path = "/api/organizations/{org_id}/redis-instances/{instance_id}", tag = "instances", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("instance_id" = Uuid, Path)),
    responses((status = 202, body = InstanceView), (status = 404, description = "no such instance")))]
pub async fn delete_instance(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath((org_id, id)): ApiPath<(Uuid, Uuid)>,
) -> Result<(StatusCode, Json<InstanceView>), ApiError> {
    let (mut conn, _) = locate(&platform, &principal, org_id, id, Need::ManageInstances).await?;
    let instance =
        Instance::set_status(&mut conn, id, "deleting", None, None).await?.ok_or(ApiError::NotFound("instance"))?;
    principal.audit(&mut conn, Some(org_id), "instance.delete", "instance", Some(id), json!({})).await?;
    platform.lifecycle.delete(id);
    Ok((StatusCode::ACCEPTED, Json(InstanceView::new(instance, &platform))))
}

/// The instance's status.
#[utoipa::path(get, path = "/api/organizations/{org_id}/redis-instances/{instance_id}/status", tag = "instances", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("instance_id" = Uuid, Path)),
    responses((status = 200, body = StatusView), (status = 404, description = "no such instance")))]
pub async fn get_status(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath((org_id, id)): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<StatusView>, ApiError> {
    let (_, i) = locate(&platform, &principal, org_id, id, Need::Read).await?;
    Ok(Json(i.into()))
}

/// Synchronises the recorded status with the provisioner: a `running` instance whose server is gone is
/// brought back (202 while that happens).
#[utoipa::path(put, path = "/api/organizations/{org_id}/redis-instances/{instance_id}/status", tag = "instances", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("instance_id" = Uuid, Path)),
    responses((status = 200, body = StatusView), (status = 202, body = StatusView), (status = 404, description = "no such instance")))]
pub async fn put_status(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath((org_id, id)): ApiPath<(Uuid, Uuid)>,
) -> Result<(StatusCode, Json<StatusView>), ApiError> {
    let (mut conn, mut i) = locate(&platform, &principal, org_id, id, Need::ManageInstances).await?;
    let live = platform.lifecycle.provisioner().endpoint(id);
    let code = match (i.status.as_str(), &live) {
        ("running", None) | ("failed", _) => {
            if i.status == "failed" {
                // Recorded before answering, so a client polling after the 202 does not read the old failure.
                i = Instance::set_status(&mut conn, id, "provisioning", None, None)
                    .await?
                    .ok_or(ApiError::NotFound("instance"))?;
            }
            principal.audit(&mut conn, Some(org_id), "instance.sync", "instance", Some(id), json!({})).await?;
            platform.lifecycle.provision_again(id);
            StatusCode::ACCEPTED
        }
        _ => StatusCode::OK,
    };
    Ok((code, Json(i.into())))
}

/// The REST URLs and which tokens exist.
#[utoipa::path(get, path = "/api/organizations/{org_id}/redis-instances/{instance_id}/credentials", tag = "instances", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("instance_id" = Uuid, Path)),
    responses((status = 200, body = CredentialsView), (status = 403, description = "not allowed"), (status = 404, description = "no such instance")))]
pub async fn get_credentials(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath((org_id, id)): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<CredentialsView>, ApiError> {
    let (mut conn, i) = locate(&platform, &principal, org_id, id, Need::ManageInstances).await?;
    let tokens = InstanceToken::active_for(&mut conn, id)
        .await?
        .into_iter()
        .map(|t| TokenInfo { access: t.access, created_at: t.created_at })
        .collect();
    Ok(Json(CredentialsView {
        rest_url: platform.urls.rest_url(&i.name),
        rest_url_path: platform.urls.path_url(&i.name),
        tokens,
    }))
}

/// Replaces both tokens; the old ones stop working within a second. The new ones are shown this once.
#[utoipa::path(post, path = "/api/organizations/{org_id}/redis-instances/{instance_id}/credentials/rotate", tag = "instances", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("instance_id" = Uuid, Path)),
    responses((status = 200, body = Secrets), (status = 403, description = "not allowed"), (status = 404, description = "no such instance")))]
pub async fn rotate_credentials(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath((org_id, id)): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<Secrets>, ApiError> {
    let (mut conn, i) = locate(&platform, &principal, org_id, id, Need::ManageInstances).await?;
    let (token, readonly_token, hashes) = new_secrets();
    InstanceToken::replace(&mut conn, id, hashes).await?;
    principal.audit(&mut conn, Some(org_id), "instance.rotate", "instance", Some(id), json!({})).await?;
    Ok(Json(Secrets::new(&platform, &i.name, token, readonly_token)))
}

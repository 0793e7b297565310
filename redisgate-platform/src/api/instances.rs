//! `/api/organizations/{org_id}/redis-instances`: create, list, inspect, resize and limit, delete; status;
//! credentials.
//!
//! Creation records a `pending` instance and its tokens, answers 201 at once with the tokens (shown this once:
//! only their hashes are kept), and provisions in the background; poll `/status` until `running`.
//! Deletion answers 202 and removes the server, then the row.

use crate::Error;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use diesel_async::pooled_connection::deadpool::Object;
use diesel_async::{AsyncConnection as _, AsyncPgConnection};
use redisgate_core::api::{self, Access, Page};
use redisgate_core::auth::token::{generate, INSTANCE_TOKEN_PREFIX, READONLY_TOKEN_PREFIX};
use redisgate_core::limits::Limits;
use redisgate_core::provisioning::{max_memory_problem, InstanceSpec, InstanceStatus};
use redisgate_core::store::{Instance, InstanceChanges, InstanceToken, NewInstance, Plan};
use serde_json::json;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, Pagination};
use super::plans::check_room;
use super::principal::{Need, OrgAccess, Principal};
use super::Platform;

/// The instance as the API shows it: with the limits that apply, its own clamped to the plan's.
fn view(instance: Instance, platform: &Platform, plan: &Limits) -> api::Instance {
    let rest_url = platform.urls.rest_url(&instance.name);
    let limits = instance.limits.strictest(plan);
    Instance { limits, ..instance }.into_api(rest_url)
}

fn secrets(platform: &Platform, name: &str, token: String, readonly_token: String) -> api::Secrets {
    api::Secrets {
        rest_url: platform.urls.rest_url(name),
        rest_url_path: platform.urls.path_url(name),
        token,
        readonly_token,
    }
}

async fn find(conn: &mut diesel_async::AsyncPgConnection, access: &OrgAccess, id: Uuid) -> Result<Instance, Error> {
    if access.only_instance.is_some_and(|only| only != id) {
        return Err(Error::NotFound("instance"));
    }
    Instance::find_in(conn, access.org.id, id).await?.ok_or(Error::NotFound("instance"))
}

/// A connection and the instance `id` of `org`, if the caller may do `need` with it (404 otherwise, as
/// [`find`]).
pub(super) async fn locate(
    platform: &Platform,
    principal: &Principal,
    org: Uuid,
    id: Uuid,
    need: Need,
) -> Result<(Object<AsyncPgConnection>, Instance), Error> {
    let mut conn = platform.pool.get().await?;
    let access = principal.authorize(&mut conn, org, need).await?;
    let instance = find(&mut conn, &access, id).await?;
    Ok((conn, instance))
}

fn new_secrets() -> (String, String, Vec<(Access, Vec<u8>)>) {
    let (token, hash) = generate(INSTANCE_TOKEN_PREFIX);
    let (readonly, ro_hash) = generate(READONLY_TOKEN_PREFIX);
    let hashes = vec![(Access::Full, hash.as_bytes().to_vec()), (Access::ReadOnly, ro_hash.as_bytes().to_vec())];
    (token, readonly, hashes)
}

/// The organization's instances.
#[utoipa::path(get, path = "/organizations/{org_id}/redis-instances", tag = "instances", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query)),
    responses((status = 200, body = Page<api::Instance>), (status = 404, description = "no such organization")))]
pub async fn list_instances(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath(org_id): ApiPath<Uuid>,
    pagination: Pagination,
) -> Result<Json<Page<api::Instance>>, Error> {
    let mut conn = platform.pool.get().await?;
    let access = principal.authorize(&mut conn, org_id, Need::Read).await?;
    let page = pagination.page();
    // A key limited to one instance sees that one (a filter after LIMIT/OFFSET would lose it on page 2).
    let rows = match access.only_instance {
        Some(only) if page.offset == 0 => Instance::find_in(&mut conn, org_id, only).await?.into_iter().collect(),
        Some(_) => Vec::new(),
        None => Instance::list_in(&mut conn, org_id, page).await?,
    };
    let plan = Plan::of(&mut conn, org_id).await?.limits;
    let items = rows.into_iter().map(|i| view(i, &platform, &plan)).collect();
    Ok(Json(page.answer(items)))
}

/// Creates an instance; it is provisioned in the background.
#[utoipa::path(post, path = "/organizations/{org_id}/redis-instances", tag = "instances", security(("bearer" = [])),
    params(("org_id" = Uuid, Path)), request_body = api::NewInstance,
    responses((status = 201, body = api::CreatedInstance), (status = 403, description = "not allowed"), (status = 404, description = "no such organization"), (status = 409, description = "name or slug taken"), (status = 422, description = "invalid fields")))]
pub async fn create_instance(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath(org_id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<api::NewInstance>,
) -> Result<(StatusCode, Json<api::CreatedInstance>), Error> {
    let mut conn = platform.pool.get().await?;
    // The answer carries a full data token, as a rotation does: a key needs data:write too.
    let access = principal.authorize(&mut conn, org_id, Need::Credentials).await?;
    if access.only_instance.is_some() {
        return Err(Error::Forbidden("a key limited to one instance cannot create instances"));
    }
    if body.organization_id.is_some_and(|o| o != org_id) {
        return Err(Error::field("organization_id", "must match the organization in the path"));
    }
    let topology = body.topology.unwrap_or_default();
    let spec = InstanceSpec::new(&body.name, body.slug.as_deref(), body.max_memory, &body.redis_version, topology)?;
    let (token, readonly, hashes) = new_secrets();
    let id = Uuid::new_v4();
    let row = NewInstance {
        id,
        organization_id: org_id,
        name: &spec.name,
        slug: &spec.slug,
        max_memory: spec.max_memory,
        redis_version: &spec.redis_version,
        status: InstanceStatus::Pending,
        limits: body.limits.unwrap_or_default(),
        topology: spec.topology,
    };
    let (instance, plan) = conn
        .transaction(async |conn| {
            let plan = check_room(conn, org_id, spec.max_memory * spec.topology.data_nodes(), None).await?;
            let taken = "an instance with this name (or slug in this organization) already exists";
            let instance = row.insert(conn).await.map_err(|e| super::duplicate(e, taken))?;
            InstanceToken::replace(conn, id, hashes).await?;
            Ok::<_, Error>((instance, plan))
        })
        .await?;
    principal
        .audit(
            &mut conn,
            Some(org_id),
            "instance.create",
            "instance",
            Some(id),
            json!({"name": spec.name, "topology": spec.topology}),
        )
        .await?;
    platform.lifecycle.provision(id);
    let credentials = secrets(&platform, &instance.name, token, readonly);
    let instance = view(instance, &platform, &plan.limits);
    Ok((StatusCode::CREATED, Json(api::CreatedInstance { instance, credentials })))
}

/// One instance, with what each of its processes does now (role, health, replication lag) while it runs.
#[utoipa::path(get, path = "/organizations/{org_id}/redis-instances/{instance_id}", tag = "instances", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("instance_id" = Uuid, Path)),
    responses((status = 200, body = api::Instance), (status = 404, description = "no such instance")))]
pub async fn get_instance(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath((org_id, id)): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<api::Instance>, Error> {
    let (mut conn, instance) = locate(&platform, &principal, org_id, id, Need::Read).await?;
    let plan = Plan::of(&mut conn, org_id).await?.limits;
    drop(conn);
    let running = instance.status == InstanceStatus::Running;
    let target = instance.target();
    let mut view = view(instance, &platform, &plan);
    if running {
        // Best effort: a provisioner that cannot tell shows no nodes rather than failing the request.
        match platform.lifecycle.provisioner().nodes(target).await {
            Ok(nodes) => view.nodes = nodes,
            Err(e) => tracing::warn!(instance = %id, error = %e, "cannot list the instance's nodes"),
        }
    }
    Ok(Json(view))
}

/// Changes `max_memory`, the limits, a replicated instance's replica count, and a cluster's shard count.
#[utoipa::path(patch, path = "/organizations/{org_id}/redis-instances/{instance_id}", tag = "instances", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("instance_id" = Uuid, Path)), request_body = api::InstancePatch,
    responses((status = 200, body = api::Instance), (status = 404, description = "no such instance"), (status = 422, description = "invalid fields")))]
pub async fn update_instance(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath((org_id, id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<api::InstancePatch>,
) -> Result<Json<api::Instance>, Error> {
    let (mut conn, instance) = locate(&platform, &principal, org_id, id, Need::ManageInstances).await?;
    if let Some(problem) = body.max_memory.and_then(max_memory_problem) {
        return Err(Error::field("max_memory", problem));
    }
    let changed = match (body.replicas, body.shards) {
        (Some(_), Some(_)) => {
            return Err(Error::field("shards", "change replicas or shards, not both at once".to_owned()))
        }
        (Some(n), None) => Some(("replicas", instance.topology.with_replicas(n))),
        (None, Some(n)) => Some(("shards", instance.topology.with_shards(n))),
        (None, None) => None,
    };
    let topology = match changed {
        None => None,
        Some((field, Err(problem))) => return Err(Error::field(field, problem)),
        Some((field, Ok(topology))) => match topology.problem() {
            Some(problem) => return Err(Error::field(field, problem)),
            None => Some(topology).filter(|t| *t != instance.topology),
        },
    };
    let (instance, plan) = conn
        .transaction(async |conn| {
            // The organization stays locked through the resize, so two resizes cannot both take the last
            // of the plan's memory.
            let resized = body.max_memory.is_some() || topology.is_some();
            let max_memory = body.max_memory.unwrap_or(instance.max_memory);
            let nodes = topology.unwrap_or(instance.topology).data_nodes();
            let plan = if resized {
                check_room(conn, org_id, max_memory * nodes, Some(id)).await?
            } else {
                Plan::of(conn, org_id).await?
            };
            if !resized && body.limits.is_none() {
                return Ok((instance, plan));
            }
            // A running server is resized first (durably, by its provisioner); the record follows only if
            // that worked. One that is not running yet is started with the recorded size.
            let provisioner = platform.lifecycle.provisioner();
            if resized && provisioner.endpoint(id).is_some() {
                let spec =
                    InstanceSpec { max_memory, topology: topology.unwrap_or(instance.topology), ..instance.spec() };
                provisioner.resize(instance.target(), spec).await?;
            }
            let changes = InstanceChanges { max_memory: body.max_memory, limits: body.limits, topology };
            Ok::<_, Error>((Instance::update(conn, id, &changes).await?, plan))
        })
        .await?;
    principal
        .audit(
            &mut conn,
            Some(org_id),
            "instance.update",
            "instance",
            Some(id),
            json!({"max_memory": body.max_memory, "limits": body.limits, "replicas": body.replicas}),
        )
        .await?;
    Ok(Json(view(instance, &platform, &plan.limits)))
}

/// Deletes an instance: 202, then the server stops and the row goes.
#[utoipa::path(delete, path = "/organizations/{org_id}/redis-instances/{instance_id}", tag = "instances", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("instance_id" = Uuid, Path)),
    responses((status = 202, body = api::Instance), (status = 404, description = "no such instance")))]
pub async fn delete_instance(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath((org_id, id)): ApiPath<(Uuid, Uuid)>,
) -> Result<(StatusCode, Json<api::Instance>), Error> {
    let (mut conn, _) = locate(&platform, &principal, org_id, id, Need::ManageInstances).await?;
    let instance = Instance::set_status(&mut conn, id, InstanceStatus::Deleting, None, None)
        .await?
        .ok_or(Error::NotFound("instance"))?;
    principal.audit(&mut conn, Some(org_id), "instance.delete", "instance", Some(id), json!({})).await?;
    // Its backups go with it (their rows would go with its row; their files would stay for ever).
    if let Err(e) = platform.backups.delete_all_of(id).await {
        tracing::warn!(instance = %id, error = %e, "cannot delete the instance's backups");
    }
    platform.lifecycle.delete(id);
    let plan = Plan::of(&mut conn, org_id).await?.limits;
    Ok((StatusCode::ACCEPTED, Json(view(instance, &platform, &plan))))
}

/// The instance's status.
#[utoipa::path(get, path = "/organizations/{org_id}/redis-instances/{instance_id}/status", tag = "instances", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("instance_id" = Uuid, Path)),
    responses((status = 200, body = api::Status), (status = 404, description = "no such instance")))]
pub async fn get_status(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath((org_id, id)): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<api::Status>, Error> {
    let (_, i) = locate(&platform, &principal, org_id, id, Need::Read).await?;
    Ok(Json(i.into()))
}

/// Synchronises the recorded status with the provisioner: a `running` instance whose server is gone is
/// brought back (202 while that happens).
#[utoipa::path(put, path = "/organizations/{org_id}/redis-instances/{instance_id}/status", tag = "instances", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("instance_id" = Uuid, Path)),
    responses((status = 200, body = api::Status), (status = 202, body = api::Status), (status = 404, description = "no such instance")))]
pub async fn put_status(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath((org_id, id)): ApiPath<(Uuid, Uuid)>,
) -> Result<(StatusCode, Json<api::Status>), Error> {
    let (mut conn, mut i) = locate(&platform, &principal, org_id, id, Need::ManageInstances).await?;
    let live = platform.lifecycle.provisioner().endpoint(id);
    let code = match (i.status, &live) {
        (InstanceStatus::Running, None) | (InstanceStatus::Failed, _) => {
            if i.status == InstanceStatus::Failed {
                // Recorded before answering, so a client polling after the 202 does not read the old failure.
                i = Instance::set_status(&mut conn, id, InstanceStatus::Provisioning, None, None)
                    .await?
                    .ok_or(Error::NotFound("instance"))?;
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
#[utoipa::path(get, path = "/organizations/{org_id}/redis-instances/{instance_id}/credentials", tag = "instances", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("instance_id" = Uuid, Path)),
    responses((status = 200, body = api::InstanceCredentials), (status = 403, description = "not allowed"), (status = 404, description = "no such instance")))]
pub async fn get_credentials(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath((org_id, id)): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<api::InstanceCredentials>, Error> {
    let (mut conn, i) = locate(&platform, &principal, org_id, id, Need::ManageInstances).await?;
    let tokens = InstanceToken::active_for(&mut conn, id).await?.into_iter().map(api::TokenInfo::from).collect();
    Ok(Json(api::InstanceCredentials {
        rest_url: platform.urls.rest_url(&i.name),
        rest_url_path: platform.urls.path_url(&i.name),
        tokens,
    }))
}

/// Replaces both tokens; the old ones stop working within a second. The new ones are shown this once. An API
/// key needs `data:write` besides `instances:manage`: the new standard token reads and writes the data.
#[utoipa::path(post, path = "/organizations/{org_id}/redis-instances/{instance_id}/credentials/rotate", tag = "instances", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("instance_id" = Uuid, Path)),
    responses((status = 200, body = api::Secrets), (status = 403, description = "not allowed"), (status = 404, description = "no such instance")))]
pub async fn rotate_credentials(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath((org_id, id)): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<api::Secrets>, Error> {
    let (mut conn, i) = locate(&platform, &principal, org_id, id, Need::Credentials).await?;
    let (token, readonly_token, hashes) = new_secrets();
    InstanceToken::replace(&mut conn, id, hashes).await?;
    principal.audit(&mut conn, Some(org_id), "instance.rotate", "instance", Some(id), json!({})).await?;
    Ok(Json(secrets(&platform, &i.name, token, readonly_token)))
}

//! `/api/organizations/{org_id}/redis-instances/{instance_id}/…`: backups (take, list, inspect, delete,
//! download), the backup policy (schedule and retention), restore and RDB import.
//!
//! Who may do what: members see backups; admins and owners (API keys with `instances:manage`) take and
//! delete them and set the policy. Restoring, importing and downloading read or replace all of an
//! instance's data, so they need what rotating its tokens needs: admins and owners, or keys with
//! `instances:manage` and `data:write`. Each change is audited.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use futures_util::TryStreamExt as _;
use redisgate_core::api::{self, Page};
use redisgate_core::store::{Backup, BackupPolicyRow, Instance};
use serde_json::json;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, Pagination};
use super::instances::locate;
use super::principal::{Need, Principal};
use super::Platform;
use crate::Error;

/// Largest import accepted: twice the instance's memory (an RDB is smaller than the data it holds), and at
/// least 64 MiB.
fn max_import(instance: &Instance) -> u64 {
    u64::try_from(instance.max_memory).unwrap_or(0).saturating_mul(2).max(64 * 1024 * 1024)
}

/// Backup `backup_id` of the organization, if it is one of `instance`'s.
async fn backup_of(platform: &Platform, instance: &Instance, backup_id: Uuid) -> Result<Backup, Error> {
    let mut conn = platform.pool.get().await?;
    Backup::find_in(&mut conn, instance.organization_id, backup_id)
        .await?
        .filter(|b| b.instance_id == instance.id)
        .ok_or(Error::NotFound("backup"))
}

/// The instance's backups, newest first.
#[utoipa::path(get, path = "/organizations/{org_id}/redis-instances/{instance_id}/backups", tag = "backups", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("instance_id" = Uuid, Path), ("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query)),
    responses((status = 200, body = Page<api::Backup>), (status = 404, description = "no such instance")))]
pub async fn list_backups(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath((org_id, id)): ApiPath<(Uuid, Uuid)>,
    pagination: Pagination,
) -> Result<Json<Page<api::Backup>>, Error> {
    let (mut conn, instance) = locate(&platform, &principal, org_id, id, Need::Read).await?;
    let page = pagination.page();
    let rows = Backup::list_of(&mut conn, instance.id, page).await?;
    Ok(Json(page.answer(rows.into_iter().map(Into::into).collect())))
}

/// Takes a backup now: 202 with the backup `running`; poll it until `done` or `failed`.
#[utoipa::path(post, path = "/organizations/{org_id}/redis-instances/{instance_id}/backups", tag = "backups", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("instance_id" = Uuid, Path)),
    responses((status = 202, body = api::Backup), (status = 403, description = "not allowed"), (status = 404, description = "no such instance"), (status = 409, description = "the instance is not running"), (status = 422, description = "a cluster instance: not supported yet")))]
pub async fn create_backup(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath((org_id, id)): ApiPath<(Uuid, Uuid)>,
) -> Result<(StatusCode, Json<api::Backup>), Error> {
    let (mut conn, instance) = locate(&platform, &principal, org_id, id, Need::ManageInstances).await?;
    if platform.lifecycle.provisioner().endpoint(id).is_none() {
        return Err(Error::Conflict(format!("instance {} is {}, not running", instance.name, instance.status)));
    }
    let backup = platform.backups.start(&instance, "manual").await?;
    let details = json!({"backup_id": backup.id, "trigger": "manual"});
    principal.audit(&mut conn, Some(org_id), "backup.create", "instance", Some(id), details).await?;
    Ok((StatusCode::ACCEPTED, Json(backup.into())))
}

/// One backup.
#[utoipa::path(get, path = "/organizations/{org_id}/redis-instances/{instance_id}/backups/{backup_id}", tag = "backups", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("instance_id" = Uuid, Path), ("backup_id" = Uuid, Path)),
    responses((status = 200, body = api::Backup), (status = 404, description = "no such backup")))]
pub async fn get_backup(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath((org_id, id, backup_id)): ApiPath<(Uuid, Uuid, Uuid)>,
) -> Result<Json<api::Backup>, Error> {
    let (_, instance) = locate(&platform, &principal, org_id, id, Need::Read).await?;
    Ok(Json(backup_of(&platform, &instance, backup_id).await?.into()))
}

/// Deletes a backup and its file.
#[utoipa::path(delete, path = "/organizations/{org_id}/redis-instances/{instance_id}/backups/{backup_id}", tag = "backups", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("instance_id" = Uuid, Path), ("backup_id" = Uuid, Path)),
    responses((status = 204, description = "deleted"), (status = 404, description = "no such backup"), (status = 409, description = "still running")))]
pub async fn delete_backup(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath((org_id, id, backup_id)): ApiPath<(Uuid, Uuid, Uuid)>,
) -> Result<StatusCode, Error> {
    let (mut conn, instance) = locate(&platform, &principal, org_id, id, Need::ManageInstances).await?;
    let backup = backup_of(&platform, &instance, backup_id).await?;
    if backup.state == redisgate_core::store::models::backup::RUNNING {
        return Err(Error::Conflict("the backup is still running".to_owned()));
    }
    platform.backups.delete(&backup).await?;
    principal
        .audit(&mut conn, Some(org_id), "backup.delete", "instance", Some(id), json!({"backup_id": backup_id}))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The backup's RDB file (`application/octet-stream`, streamed).
#[utoipa::path(get, path = "/organizations/{org_id}/redis-instances/{instance_id}/backups/{backup_id}/rdb", tag = "backups", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("instance_id" = Uuid, Path), ("backup_id" = Uuid, Path)),
    responses((status = 200, description = "the RDB file", content_type = "application/octet-stream"), (status = 403, description = "not allowed"), (status = 404, description = "no such backup"), (status = 409, description = "not done")))]
pub async fn export_backup(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath((org_id, id, backup_id)): ApiPath<(Uuid, Uuid, Uuid)>,
) -> Result<Response, Error> {
    let (mut conn, instance) = locate(&platform, &principal, org_id, id, Need::Credentials).await?;
    let backup = backup_of(&platform, &instance, backup_id).await?;
    if backup.state != redisgate_core::store::models::backup::DONE {
        return Err(Error::Conflict(format!("the backup is {}, not done", backup.state)));
    }
    let (size, chunks) = platform.backups.store().stream(&backup.object_key).await?;
    principal
        .audit(&mut conn, Some(org_id), "backup.export", "instance", Some(id), json!({"backup_id": backup_id}))
        .await?;
    let filename =
        format!("attachment; filename=\"{}-{}.rdb\"", instance.name, backup.created_at.format("%Y%m%dT%H%M%SZ"));
    let headers = [
        (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
        (header::CONTENT_LENGTH, size.to_string()),
        (header::CONTENT_DISPOSITION, filename),
    ];
    Ok((headers, Body::from_stream(chunks.map_err(|e| std::io::Error::other(e.to_string())))).into_response())
}

/// The instance's backup schedule and retention.
#[utoipa::path(get, path = "/organizations/{org_id}/redis-instances/{instance_id}/backup-policy", tag = "backups", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("instance_id" = Uuid, Path)),
    responses((status = 200, body = api::BackupPolicy), (status = 404, description = "no such instance")))]
pub async fn get_backup_policy(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath((org_id, id)): ApiPath<(Uuid, Uuid)>,
) -> Result<Json<api::BackupPolicy>, Error> {
    let (mut conn, instance) = locate(&platform, &principal, org_id, id, Need::Read).await?;
    Ok(Json(BackupPolicyRow::of(&mut conn, instance.id).await?))
}

/// Sets the schedule and retention (absent fields: none); backups beyond the retention go at once.
#[utoipa::path(put, path = "/organizations/{org_id}/redis-instances/{instance_id}/backup-policy", tag = "backups", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("instance_id" = Uuid, Path)), request_body = api::BackupPolicy,
    responses((status = 200, body = api::BackupPolicy), (status = 404, description = "no such instance"), (status = 422, description = "invalid fields, or a schedule for a cluster instance")))]
pub async fn put_backup_policy(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath((org_id, id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(policy): ApiJson<api::BackupPolicy>,
) -> Result<Json<api::BackupPolicy>, Error> {
    let (mut conn, instance) = locate(&platform, &principal, org_id, id, Need::ManageInstances).await?;
    if let Some((field, problem)) = policy.problems().into_iter().next() {
        return Err(Error::field(field, problem));
    }
    if policy.every_hours.is_some() {
        crate::backup::supported(&instance, crate::backup::Action::Backup)?;
    }
    BackupPolicyRow::set(&mut conn, instance.id, &policy).await?;
    let details = serde_json::to_value(policy).unwrap_or_default();
    principal.audit(&mut conn, Some(org_id), "backup.policy", "instance", Some(id), details).await?;
    platform.backups.prune(instance.id).await?;
    Ok(Json(policy))
}

/// Replaces all of the instance's data with a backup (of it or of another instance of the organization).
/// The instance does not answer while it loads; a file that does not load is refused (422) and the
/// instance keeps its data.
#[utoipa::path(post, path = "/organizations/{org_id}/redis-instances/{instance_id}/restore", tag = "backups", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("instance_id" = Uuid, Path)), request_body = api::RestoreRequest,
    responses((status = 200, body = api::Restored), (status = 403, description = "not allowed"), (status = 404, description = "no such instance or backup"), (status = 409, description = "backup not done"), (status = 422, description = "the file does not load, or the instance cannot be restored")))]
pub async fn restore(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath((org_id, id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<api::RestoreRequest>,
) -> Result<Json<api::Restored>, Error> {
    let (mut conn, instance) = locate(&platform, &principal, org_id, id, Need::Credentials).await?;
    let backup = Backup::find_in(&mut conn, org_id, body.backup_id).await?.ok_or(Error::NotFound("backup"))?;
    drop(conn);
    let outcome = platform.backups.restore(&backup, &instance).await;
    let mut conn = platform.pool.get().await?;
    let details = json!({"backup_id": backup.id, "from_instance": backup.instance_id, "ok": outcome.is_ok()});
    principal.audit(&mut conn, Some(org_id), "instance.restore", "instance", Some(id), details).await?;
    Ok(Json(outcome?))
}

/// Replaces all of the instance's data with the RDB file in the body (`application/octet-stream`,
/// streamed; at most twice the instance's memory, at least 64 MiB). As a restore: a file that does not load
/// is refused (422) and the instance keeps its data.
#[utoipa::path(put, path = "/organizations/{org_id}/redis-instances/{instance_id}/rdb", tag = "backups", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("instance_id" = Uuid, Path)),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 200, body = api::Restored), (status = 403, description = "not allowed"), (status = 404, description = "no such instance"), (status = 413, description = "too large"), (status = 422, description = "the file does not load, or the instance cannot be restored")))]
pub async fn import_rdb(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath((org_id, id)): ApiPath<(Uuid, Uuid)>,
    request: Request,
) -> Result<Json<api::Restored>, Error> {
    let (conn, instance) = locate(&platform, &principal, org_id, id, Need::Credentials).await?;
    drop(conn);
    let body = request.into_body().into_data_stream().map_err(|e| Error::Storage(format!("reading the upload: {e}")));
    let outcome = platform.backups.import(&instance, body, max_import(&instance)).await;
    let mut conn = platform.pool.get().await?;
    let details = match &outcome {
        Ok(restored) => json!({"ok": true, "size_bytes": restored.size_bytes, "keys": restored.keys}),
        Err(_) => json!({"ok": false}),
    };
    principal.audit(&mut conn, Some(org_id), "instance.import", "instance", Some(id), details).await?;
    Ok(Json(outcome?))
}

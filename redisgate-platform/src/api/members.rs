//! `/api/organizations/{org_id}/members`: list, add by email, change role, remove.
//!
//! Admins and owners manage members; only owners make or unmake owners; the last owner cannot leave or be
//! demoted.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use redisgate_core::api::{self, Page};
use redisgate_core::store::{is_unique_violation, Membership, User};
use redisgate_gateway::ApiError;
use serde_json::json;
use uuid::Uuid;

use super::auth::normalize_email;
use super::extract::{ApiJson, ApiPath, Pagination};
use super::principal::{Need, OrgAccess, Principal};
use super::Platform;

fn check_role(role: &str, access: &OrgAccess) -> Result<(), ApiError> {
    if !matches!(role, "owner" | "admin" | "member") {
        return Err(ApiError::field("role", "must be owner, admin or member"));
    }
    if role == "owner" && access.role.as_deref() != Some("owner") {
        return Err(ApiError::Forbidden("only owners can make owners"));
    }
    Ok(())
}

/// The organization's members.
#[utoipa::path(get, path = "/organizations/{org_id}/members", tag = "members", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query)),
    responses((status = 200, body = Page<api::Member>), (status = 404, description = "no such organization")))]
pub async fn list_members(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath(org_id): ApiPath<Uuid>,
    pagination: Pagination,
) -> Result<Json<Page<api::Member>>, ApiError> {
    let mut conn = platform.pool.get().await?;
    principal.authorize(&mut conn, org_id, Need::Read).await?;
    principal.user()?;
    let page = pagination.page();
    let items = Membership::list(&mut conn, org_id, page)
        .await?
        .into_iter()
        .map(|(m, email)| api::Member { user_id: m.user_id, email, role: m.role, joined_at: m.created_at })
        .collect();
    Ok(Json(page.answer(items)))
}

/// Adds a registered user by email.
#[utoipa::path(post, path = "/organizations/{org_id}/members", tag = "members", security(("bearer" = [])),
    params(("org_id" = Uuid, Path)), request_body = api::NewMember,
    responses((status = 201, body = api::Member), (status = 403, description = "not an admin"), (status = 404, description = "no such organization or user"), (status = 409, description = "already a member")))]
pub async fn add_member(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath(org_id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<api::NewMember>,
) -> Result<(StatusCode, Json<api::Member>), ApiError> {
    let mut conn = platform.pool.get().await?;
    let access = principal.authorize(&mut conn, org_id, Need::Administer).await?;
    let email = normalize_email(&body.email).map_err(|e| ApiError::field("email", e))?;
    check_role(&body.role, &access)?;
    let user = User::find_by_email(&mut conn, &email).await?.ok_or(ApiError::NotFound("user"))?;
    let membership = match Membership::insert(&mut conn, org_id, user.id, &body.role).await {
        Ok(m) => m,
        Err(e) if is_unique_violation(&e) => return Err(ApiError::Conflict("already a member".into())),
        Err(e) => return Err(e.into()),
    };
    principal.audit(&mut conn, Some(org_id), "member.add", "user", Some(user.id), json!({"role": body.role})).await?;
    Ok((
        StatusCode::CREATED,
        Json(api::Member { user_id: user.id, email, role: membership.role, joined_at: membership.created_at }),
    ))
}

/// Changes a member's role.
#[utoipa::path(patch, path = "/organizations/{org_id}/members/{user_id}", tag = "members", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("user_id" = Uuid, Path)), request_body = api::RoleChange,
    responses((status = 200, body = api::Member), (status = 403, description = "not allowed"), (status = 404, description = "no such member"), (status = 409, description = "last owner")))]
pub async fn update_member(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath((org_id, user_id)): ApiPath<(Uuid, Uuid)>,
    ApiJson(body): ApiJson<api::RoleChange>,
) -> Result<Json<api::Member>, ApiError> {
    let mut conn = platform.pool.get().await?;
    let access = principal.authorize(&mut conn, org_id, Need::Administer).await?;
    check_role(&body.role, &access)?;
    let current = Membership::find(&mut conn, org_id, user_id).await?.ok_or(ApiError::NotFound("member"))?;
    if current.role == "owner" && access.role.as_deref() != Some("owner") {
        return Err(ApiError::Forbidden("only owners can change an owner's role"));
    }
    if current.role == "owner" && body.role != "owner" && Membership::count_owners(&mut conn, org_id).await? <= 1 {
        return Err(ApiError::Conflict("the last owner cannot be demoted".into()));
    }
    let membership = Membership::set_role(&mut conn, org_id, user_id, &body.role).await?;
    let email = User::find(&mut conn, user_id).await?.map(|u| u.email).unwrap_or_default();
    principal
        .audit(&mut conn, Some(org_id), "member.update", "user", Some(user_id), json!({"role": body.role}))
        .await?;
    Ok(Json(api::Member { user_id, email, role: membership.role, joined_at: membership.created_at }))
}

/// Removes a member (members may remove themselves).
#[utoipa::path(delete, path = "/organizations/{org_id}/members/{user_id}", tag = "members", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("user_id" = Uuid, Path)),
    responses((status = 204), (status = 403, description = "not allowed"), (status = 404, description = "no such member"), (status = 409, description = "last owner")))]
pub async fn remove_member(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath((org_id, user_id)): ApiPath<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    let mut conn = platform.pool.get().await?;
    let me = principal.user().ok().map(|u| u.id);
    let need = if me == Some(user_id) { Need::Read } else { Need::Administer };
    let access = principal.authorize(&mut conn, org_id, need).await?;
    let current = Membership::find(&mut conn, org_id, user_id).await?.ok_or(ApiError::NotFound("member"))?;
    if current.role == "owner" {
        if access.role.as_deref() != Some("owner") {
            return Err(ApiError::Forbidden("only owners can remove an owner"));
        }
        if Membership::count_owners(&mut conn, org_id).await? <= 1 {
            return Err(ApiError::Conflict("the last owner cannot leave".into()));
        }
    }
    Membership::delete(&mut conn, org_id, user_id).await?;
    principal.audit(&mut conn, Some(org_id), "member.remove", "user", Some(user_id), json!({})).await?;
    Ok(StatusCode::NO_CONTENT)
}

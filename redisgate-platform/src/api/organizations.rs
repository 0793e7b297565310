//! `/api/organizations` and `/api/organizations/{org_id}`.

use crate::Error;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use redisgate_core::api::{self, Page, Role};
use redisgate_core::provisioning::dns_label_problem;
use redisgate_core::store::{Instance, Organization};
use serde_json::json;
use uuid::Uuid;

use super::extract::{ApiJson, ApiPath, Pagination};
use super::principal::{Need, Principal};
use super::Platform;

fn validate(name: Option<&str>, slug: Option<&str>) -> Result<(), Error> {
    let mut fields = std::collections::BTreeMap::new();
    if let Some(name) = name {
        if name.trim().is_empty() || name.chars().count() > 100 {
            fields.insert("name".to_owned(), "must be 1 to 100 characters".to_owned());
        }
    }
    if let Some(problem) = slug.and_then(|s| dns_label_problem(s, 3, 63)) {
        fields.insert("slug".to_owned(), problem);
    }
    if fields.is_empty() {
        Ok(())
    } else {
        Err(redisgate_core::Error::Validation(fields).into())
    }
}

const SLUG_TAKEN: &str = "an organization with this slug already exists";

/// The organizations the caller belongs to.
#[utoipa::path(get, path = "/organizations", tag = "organizations", security(("bearer" = [])),
    params(("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query)),
    responses((status = 200, body = Page<api::Organization>), (status = 401, description = "not authenticated")))]
pub async fn list_organizations(
    State(platform): State<Platform>,
    principal: Principal,
    pagination: Pagination,
) -> Result<Json<Page<api::Organization>>, Error> {
    let mut conn = platform.pool.get().await?;
    let page = pagination.page();
    let items = match &principal {
        Principal::User(user) => Organization::list_for_user(&mut conn, user.id, page)
            .await?
            .into_iter()
            .map(|(o, role)| o.into_api(Some(role)))
            .collect(),
        Principal::Key(key) if page.offset == 0 => {
            Organization::find(&mut conn, key.organization_id).await?.into_iter().map(|o| o.into_api(None)).collect()
        }
        Principal::Key(_) => Vec::new(),
    };
    Ok(Json(page.answer(items)))
}

/// Creates an organization; the caller becomes its owner.
#[utoipa::path(post, path = "/organizations", tag = "organizations", security(("bearer" = [])),
    request_body = api::NewOrganization,
    responses((status = 201, body = api::Organization), (status = 403, description = "the caller owns as many organizations as a user may"), (status = 409, description = "slug taken"), (status = 422, description = "invalid fields")))]
pub async fn create_organization(
    State(platform): State<Platform>,
    principal: Principal,
    ApiJson(body): ApiJson<api::NewOrganization>,
) -> Result<(StatusCode, Json<api::Organization>), Error> {
    let user = principal.user()?;
    validate(Some(&body.name), Some(&body.slug))?;
    let mut conn = platform.pool.get().await?;
    let max = platform.max_organizations_per_user;
    let org = Organization::create(&mut conn, body.name.trim(), &body.slug, user.id, max)
        .await
        .map_err(|e| super::duplicate(e, SLUG_TAKEN))?
        .ok_or_else(|| Error::PlanExceeded(format!("a user may own at most {max} organizations")))?;
    principal
        .audit(&mut conn, Some(org.id), "organization.create", "organization", Some(org.id), json!({"slug": org.slug}))
        .await?;
    Ok((StatusCode::CREATED, Json(org.into_api(Some(Role::Owner)))))
}

/// One organization.
#[utoipa::path(get, path = "/organizations/{org_id}", tag = "organizations", security(("bearer" = [])),
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = api::Organization), (status = 404, description = "no such organization for the caller")))]
pub async fn get_organization(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath(org_id): ApiPath<Uuid>,
) -> Result<Json<api::Organization>, Error> {
    let mut conn = platform.pool.get().await?;
    let access = principal.authorize(&mut conn, org_id, Need::Read).await?;
    Ok(Json(access.org.into_api(access.role)))
}

/// Renames an organization (owners only).
#[utoipa::path(patch, path = "/organizations/{org_id}", tag = "organizations", security(("bearer" = [])),
    params(("org_id" = Uuid, Path)), request_body = api::OrganizationPatch,
    responses((status = 200, body = api::Organization), (status = 403, description = "not an owner"), (status = 404, description = "no such organization")))]
pub async fn update_organization(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath(org_id): ApiPath<Uuid>,
    ApiJson(body): ApiJson<api::OrganizationPatch>,
) -> Result<Json<api::Organization>, Error> {
    let mut conn = platform.pool.get().await?;
    let access = principal.authorize(&mut conn, org_id, Need::Own).await?;
    validate(body.name.as_deref(), body.slug.as_deref())?;
    let org = Organization::update(&mut conn, org_id, body.name.as_deref().map(str::trim), body.slug.as_deref())
        .await
        .map_err(|e| super::duplicate(e, SLUG_TAKEN))?;
    principal.audit(&mut conn, Some(org_id), "organization.update", "organization", Some(org_id), json!({})).await?;
    Ok(Json(org.into_api(access.role)))
}

/// Deletes an organization (owners only; it must have no instances left).
#[utoipa::path(delete, path = "/organizations/{org_id}", tag = "organizations", security(("bearer" = [])),
    params(("org_id" = Uuid, Path)),
    responses((status = 204), (status = 403, description = "not an owner"), (status = 404, description = "no such organization"), (status = 409, description = "instances remain")))]
pub async fn delete_organization(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath(org_id): ApiPath<Uuid>,
) -> Result<StatusCode, Error> {
    let mut conn = platform.pool.get().await?;
    principal.authorize(&mut conn, org_id, Need::Own).await?;
    if !Instance::list_in(&mut conn, org_id, redisgate_core::store::Page::new(Some(1), None)).await?.is_empty() {
        return Err(Error::Conflict("delete the organization's instances first".into()));
    }
    Organization::delete(&mut conn, org_id).await?;
    principal.audit(&mut conn, Some(org_id), "organization.delete", "organization", Some(org_id), json!({})).await?;
    Ok(StatusCode::NO_CONTENT)
}

//! `GET /api/organizations/{org_id}/plan` (what the organization may have, and what it uses) and
//! `GET /api/organizations/{org_id}/audit-log`; and the plan checks of the instance routes.
//!
//! Plans belong to the platform's operator (`redisgate admin plan`): no route changes one.

use crate::Error;
use axum::extract::State;
use axum::Json;
use diesel_async::AsyncPgConnection;
use redisgate_core::api::{self, Page};
use redisgate_core::store::{AuditRecord, Instance, Plan, PlanUse};
use uuid::Uuid;

use super::extract::{ApiPath, Pagination};
use super::principal::{Need, Principal};
use super::Platform;

/// The organization's plan and what it uses of it.
#[utoipa::path(get, path = "/organizations/{org_id}/plan", tag = "organizations", security(("bearer" = [])),
    params(("org_id" = Uuid, Path)),
    responses((status = 200, body = api::Plan), (status = 404, description = "no such organization")))]
pub async fn get_plan(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath(org_id): ApiPath<Uuid>,
) -> Result<Json<api::Plan>, Error> {
    let mut conn = platform.pool.get().await?;
    principal.authorize(&mut conn, org_id, Need::Read).await?;
    let plan = Plan::of(&mut conn, org_id).await?;
    let used = Plan::used_by(&mut conn, org_id).await?;
    Ok(Json(api::Plan {
        name: plan.name,
        max_instances: plan.max_instances.into(),
        max_memory: plan.max_memory,
        limits: plan.limits,
        instances: used.instances,
        memory: used.memory,
    }))
}

/// The organization's audit log, newest first (admins and owners).
#[utoipa::path(get, path = "/organizations/{org_id}/audit-log", tag = "organizations", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("limit" = Option<i64>, Query), ("offset" = Option<i64>, Query)),
    responses((status = 200, body = Page<api::AuditEntry>), (status = 403, description = "not an admin"), (status = 404, description = "no such organization")))]
pub async fn get_audit_log(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath(org_id): ApiPath<Uuid>,
    pagination: Pagination,
) -> Result<Json<Page<api::AuditEntry>>, Error> {
    let mut conn = platform.pool.get().await?;
    principal.authorize(&mut conn, org_id, Need::Administer).await?;
    let page = pagination.page();
    let items = AuditRecord::list(&mut conn, org_id, page).await?.into_iter().map(api::AuditEntry::from).collect();
    Ok(Json(page.answer(items)))
}

/// Checks, inside a transaction, that organization `org` may have one more instance of `memory` bytes, all
/// its data nodes together (`resizing`: an instance of the organization being resized, whose present memory no longer counts).
/// Locks the organization's row until the transaction ends, so concurrent creations cannot both take the
/// last place; the resized instance's size is read after the lock, so two resizes of it cannot both count
/// from the same stale size.
///
/// # Errors
/// [`Error::PlanExceeded`] saying which allowance is used up.
pub(super) async fn check_room(
    conn: &mut AsyncPgConnection,
    org: Uuid,
    memory: i64,
    resizing: Option<Uuid>,
) -> Result<Plan, Error> {
    let (plan, PlanUse { instances, memory: used }) = Plan::lock_for(conn, org).await?;
    let replacing = match resizing {
        Some(id) => {
            let instance = Instance::find_in(conn, org, id).await?.ok_or(Error::NotFound("instance"))?;
            Some(instance.max_memory * instance.topology.data_nodes())
        }
        None => None,
    };
    if replacing.is_none() && instances >= i64::from(plan.max_instances) {
        return Err(Error::PlanExceeded(format!(
            "the organization's plan '{}' allows {} instances",
            plan.name, plan.max_instances
        )));
    }
    let total = used - replacing.unwrap_or(0) + memory;
    if total > plan.max_memory {
        return Err(Error::PlanExceeded(format!(
            "the organization's plan '{}' allows {} bytes of memory in all; its instances would have {total}",
            plan.name, plan.max_memory
        )));
    }
    Ok(plan)
}

//! `GET /api/organizations/{org_id}/redis-instances/{instance_id}/usage`: commands run per UTC day, the unit
//! the product is priced by. Gateways write their counts every few seconds (`--usage-flush-secs`), so today's
//! figure lags by at most that much.

use crate::Error;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use chrono::Days;
use redisgate_core::api::{DayUsage, Usage};
use redisgate_core::store::DailyUsage;
use redisgate_gateway::quota::today;
use serde::Deserialize;
use uuid::Uuid;

use super::extract::ApiPath;
use super::instances::locate;
use super::principal::{Need, Principal};
use super::Platform;
use crate::usage::date;

/// Most days one request may ask for.
const MAX_DAYS: u64 = 90;

/// `?days=N`: how many days, ending today (default 30).
#[derive(Debug, Deserialize)]
pub struct UsageQuery {
    /// Days, ending today.
    pub days: Option<u64>,
}

/// Commands the instance ran per day.
#[utoipa::path(get, path = "/organizations/{org_id}/redis-instances/{instance_id}/usage", tag = "instances", security(("bearer" = [])),
    params(("org_id" = Uuid, Path), ("instance_id" = Uuid, Path), ("days" = Option<u64>, Query, description = "1 to 90, default 30")),
    responses((status = 200, body = Usage), (status = 404, description = "no such instance"), (status = 422, description = "invalid days")))]
pub async fn get_usage(
    State(platform): State<Platform>,
    principal: Principal,
    ApiPath((org_id, id)): ApiPath<(Uuid, Uuid)>,
    query: Result<Query<UsageQuery>, QueryRejection>,
) -> Result<Json<Usage>, Error> {
    let days = query.ok().and_then(|q| q.0.days.map_or(Some(30), Some)).filter(|d| (1..=MAX_DAYS).contains(d));
    let days = days.ok_or_else(|| Error::field("days", format!("must be an integer from 1 to {MAX_DAYS}")))?;
    let (mut conn, _) = locate(&platform, &principal, org_id, id, Need::Read).await?;
    let last = date(today());
    let first = last.checked_sub_days(Days::new(days - 1)).unwrap_or(last);
    let stored = DailyUsage::range(&mut conn, id, first, last).await?;
    let days: Vec<DayUsage> = first
        .iter_days()
        .take_while(|day| *day <= last)
        .map(|day| {
            let commands = stored.iter().find(|u| u.day == day).map_or(0, |u| u64::try_from(u.commands).unwrap_or(0));
            DayUsage { day, commands }
        })
        .collect();
    let total = days.iter().map(|d| d.commands).sum();
    Ok(Json(Usage { instance_id: id, days, total }))
}

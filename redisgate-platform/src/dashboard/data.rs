//! An instance's data browser and command console: the page, and the short-lived token its script
//! (`data.js`) uses on the instance's REST data plane, so that both obey the same policy, limits and
//! metering as any client.
//!
//! The console keeps no instance token (only their digests are stored), so each page asks for one of its
//! own: valid for [`TOKEN_LIFETIME`], full for owners and admins and read-only for members, held in the page's
//! memory only (never in a URL or a cookie). It is an instance token whose `revoked_at` lies ahead; a
//! rotation ends it with the others. Gateways drop it at their first directory reload after it expires
//! (within 10 s).

use crate::Error;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use redisgate_core::api::Access;
use redisgate_core::auth::token::{generate, INSTANCE_TOKEN_PREFIX, READONLY_TOKEN_PREFIX};
use redisgate_core::store::{Instance, InstanceToken};
use serde_json::json;
use uuid::Uuid;

use super::pages;
use super::session::Session;
use super::{failed, org_and_instance, page};
use crate::api::extract::ApiPath;
use crate::api::principal::Need;
use crate::api::Platform;

/// How long a console page's token works.
pub const TOKEN_LIFETIME: chrono::Duration = chrono::Duration::minutes(15);

pub(super) async fn data_page(
    State(platform): State<Platform>,
    session: Session,
    ApiPath((org, id)): ApiPath<(Uuid, Uuid)>,
) -> Response {
    match org_and_instance(&platform, &session, org, id).await {
        Ok((found, instance)) => page(StatusCode::OK, pages::data(&found, &instance, &session.csrf())),
        Err(e) => failed("Data", &e, &session),
    }
}

/// `POST …/data-token` (with the session's CSRF token in `x-csrf-token`): a token for this page.
pub(super) async fn data_token(
    State(platform): State<Platform>,
    session: Session,
    ApiPath((org, id)): ApiPath<(Uuid, Uuid)>,
    headers: HeaderMap,
) -> Response {
    let presented = headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !session.csrf_ok(presented) {
        return Error::Forbidden("this request did not come from the console").into_response();
    }
    issue(&platform, &session, org, id).await.map_or_else(IntoResponse::into_response, IntoResponse::into_response)
}

async fn issue(platform: &Platform, session: &Session, org: Uuid, id: Uuid) -> Result<Json<serde_json::Value>, Error> {
    let mut conn = platform.pool.get().await?;
    let principal = &session.principal;
    let full = principal.authorize(&mut conn, org, Need::Credentials).await.is_ok();
    if !full {
        principal.authorize(&mut conn, org, Need::Read).await?;
    }
    let instance = Instance::find_in(&mut conn, org, id).await?.ok_or(Error::NotFound("instance"))?;
    let (prefix, access) =
        if full { (INSTANCE_TOKEN_PREFIX, Access::Full) } else { (READONLY_TOKEN_PREFIX, Access::ReadOnly) };
    let (token, hash) = generate(prefix);
    let until = Utc::now() + TOKEN_LIFETIME;
    InstanceToken::issue_until(&mut conn, id, access, hash.as_bytes().to_vec(), until).await?;
    principal
        .audit(&mut conn, Some(org), "instance.console_token", "instance", Some(id), json!({"access": access}))
        .await?;
    // A path, not a URL: the page calls the data plane on its own origin (the CSP allows no other).
    Ok(Json(json!({"token": token, "url": format!("/db/{}", instance.name), "expires_at": until})))
}

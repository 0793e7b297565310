//! The management API under `/api`: users and sessions, organizations and members, API keys, instances and
//! their usage.
//!
//! JSON in and out; one error envelope (`{"error": "...", "fields": {...}}`, see `error.rs`); 201 on create;
//! `?limit=&offset=` pagination answering `{"items": [...], "next_offset": n | null}`. Every route authorizes
//! through [`principal`]: a member of organization A never learns anything about organization B (404, not
//! 403). Queries live on the store's models; handlers only decide and translate. Every mutating call writes
//! an audit entry.

pub(crate) mod api_keys;
pub(crate) mod auth;
pub(crate) mod backups;
pub(crate) mod extract;
pub(crate) mod instances;
pub(crate) mod members;
mod openapi;
pub(crate) mod organizations;
pub(crate) mod plans;
pub(crate) mod principal;
pub mod throttle;
pub(crate) mod usage;

use std::sync::Arc;

use axum::http::header;
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use redisgate_core::auth::jwt::JwtKeys;
use redisgate_gateway::metrics::{Kind, Observed};
use redisgate_gateway::ApiError;

use crate::Error;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use openapi::ApiDoc;

/// A unique violation as the 409 that says what exists already; any other database error as itself.
fn duplicate(error: diesel::result::Error, what: &str) -> Error {
    if redisgate_core::store::is_unique_violation(&error) {
        Error::Conflict(what.to_owned())
    } else {
        error.into()
    }
}

/// What the management API's handlers share.
#[derive(Clone)]
pub struct Platform {
    /// Connections to PostgreSQL.
    pub pool: crate::Pool,
    /// JWT keys, loaded once.
    pub jwt: Arc<JwtKeys>,
    /// Instance state transitions (runs on the platform's own runtime).
    pub lifecycle: crate::Lifecycle,
    /// URLs handed out in credentials.
    pub urls: Arc<crate::PublicUrls>,
    /// Lifetime of issued JWTs in seconds.
    pub jwt_ttl_secs: i64,
    /// Login attempts per email (shared by every worker).
    pub login_throttle: Arc<throttle::LoginThrottle>,
    /// Register and login per address and in all, and the argon2 permits (shared by every worker).
    pub accounts: Arc<throttle::AccountThrottle>,
    /// Most organizations one user may own (each has its own plan's allowance).
    pub max_organizations_per_user: i64,
    /// Backups, restores and imports.
    pub backups: crate::backup::Backups,
}

/// Every management route with its handlers, relative to `/api`. The router and the OpenAPI document are
/// both made from this one list, so a route cannot exist undocumented (`routes!` takes each handler's
/// `#[utoipa::path]`: its method, path and responses).
fn routes() -> OpenApiRouter<Platform> {
    OpenApiRouter::new()
        .routes(routes!(auth::register))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::change_password))
        .routes(routes!(auth::me))
        .routes(routes!(organizations::list_organizations, organizations::create_organization))
        .routes(routes!(
            organizations::get_organization,
            organizations::update_organization,
            organizations::delete_organization
        ))
        .routes(routes!(plans::get_plan))
        .routes(routes!(plans::get_audit_log))
        .routes(routes!(members::list_members))
        .routes(routes!(members::list_invitations, members::invite))
        .routes(routes!(members::withdraw_invitation))
        .routes(routes!(members::accept_invitation))
        .routes(routes!(members::update_member, members::remove_member))
        .routes(routes!(api_keys::list_api_keys, api_keys::create_api_key))
        .routes(routes!(api_keys::revoke_api_key))
        .routes(routes!(instances::list_instances, instances::create_instance))
        .routes(routes!(instances::get_instance, instances::update_instance, instances::delete_instance))
        .routes(routes!(instances::get_status, instances::put_status))
        .routes(routes!(instances::get_credentials))
        .routes(routes!(instances::rotate_credentials))
        .routes(routes!(usage::get_usage))
        .routes(routes!(backups::list_backups, backups::create_backup))
        .routes(routes!(backups::get_backup, backups::delete_backup))
        .routes(routes!(backups::export_backup))
        .routes(routes!(backups::get_backup_policy, backups::put_backup_policy))
        .routes(routes!(backups::restore))
        .routes(routes!(backups::import_rdb))
}

/// The OpenAPI document of the management API, its paths under `/api`.
#[must_use]
pub fn openapi() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi().nest("/api", routes().into_openapi())
}

/// The management router; nest it under `/api`. `GET /api/openapi.json` serves [`openapi`].
pub fn router(platform: Platform) -> Router {
    let (router, document) = routes().split_for_parts();
    // Rendered once: the document does not change while the process runs.
    let document = Bytes::from(serde_json::to_vec(&ApiDoc::openapi().nest("/api", document)).unwrap_or_default());
    router
        .route(
            "/openapi.json",
            get(move || {
                let document = document.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], document) }
            }),
        )
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .fallback(|| async { Error::NotFound("route") })
        .layer(axum::middleware::map_response(counted_as_api))
        .with_state(platform)
}

/// Tags a response for the gateway's metrics and logs as the management API's (kind `api`).
async fn counted_as_api(mut response: axum::response::Response) -> axum::response::Response {
    response.extensions_mut().insert(Observed { kind: Kind::Mounted("api"), instance: None });
    response
}

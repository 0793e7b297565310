//! The management API under `/api`: users and sessions, organizations and members, API keys, instances and
//! their usage.
//!
//! JSON in and out; one error envelope (`{"error": "...", "fields": {...}}`, see `error.rs`); 201 on create;
//! `?limit=&offset=` pagination answering `{"items": [...], "next_offset": n | null}`. Every route authorizes
//! through [`principal`]: a member of organization A never learns anything about organization B (404, not
//! 403). Queries live on the store's models; handlers only decide and translate. Every mutating call writes
//! an audit entry.

mod api_keys;
mod auth;
mod extract;
mod instances;
mod members;
mod openapi;
mod organizations;
mod principal;
pub mod throttle;
mod usage;

use axum::routing::{delete, get, post};
use axum::Router;
use redisgate_gateway::ApiError;
use serde::Serialize;

use crate::Platform;

pub use openapi::ApiDoc;

/// The management router; nest it under `/api`.
pub fn router(platform: Platform) -> Router {
    Router::new()
        .route("/auth/register", post(auth::register))
        .route("/auth/login", post(auth::login))
        .route("/me", get(auth::me))
        .route("/organizations", get(organizations::list_organizations).post(organizations::create_organization))
        .route(
            "/organizations/{org_id}",
            get(organizations::get_organization)
                .patch(organizations::update_organization)
                .delete(organizations::delete_organization),
        )
        .route("/organizations/{org_id}/members", get(members::list_members).post(members::add_member))
        .route(
            "/organizations/{org_id}/members/{user_id}",
            axum::routing::patch(members::update_member).delete(members::remove_member),
        )
        .route("/organizations/{org_id}/api-keys", get(api_keys::list_api_keys).post(api_keys::create_api_key))
        .route("/organizations/{org_id}/api-keys/{key_id}", delete(api_keys::revoke_api_key))
        .route(
            "/organizations/{org_id}/redis-instances",
            get(instances::list_instances).post(instances::create_instance),
        )
        .route(
            "/organizations/{org_id}/redis-instances/{instance_id}",
            get(instances::get_instance).patch(instances::update_instance).delete(instances::delete_instance),
        )
        .route(
            "/organizations/{org_id}/redis-instances/{instance_id}/status",
            get(instances::get_status).put(instances::put_status),
        )
        .route("/organizations/{org_id}/redis-instances/{instance_id}/credentials", get(instances::get_credentials))
        .route("/organizations/{org_id}/redis-instances/{instance_id}/usage", get(usage::get_usage))
        .route(
            "/organizations/{org_id}/redis-instances/{instance_id}/credentials/rotate",
            post(instances::rotate_credentials),
        )
        .route("/openapi.json", get(openapi::openapi_json))
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .fallback(|| async { ApiError::NotFound("route") })
        .with_state(platform)
}

/// A page of a list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// The `offset` of the next page, or null on the last one.
    pub next_offset: Option<i64>,
}

impl<T> Page<T> {
    fn new(items: Vec<T>, page: redisgate_core::store::Page) -> Self {
        let next_offset = (items.len() as i64 == page.limit).then_some(page.offset + page.limit);
        Self { items, next_offset }
    }
}

//! The OpenAPI document of the management API, generated from the handlers' annotations.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{api_keys, auth, instances, members, organizations, usage};

/// The whole management API.
#[derive(OpenApi)]
#[openapi(
    info(title = "RedisGate management API", description = "Users, organizations, API keys and Redis instances. Authenticate with `Authorization: Bearer <JWT from /api/auth/login | rgk_ API key>`."),
    paths(
        auth::register, auth::login, auth::me,
        organizations::list_organizations, organizations::create_organization, organizations::get_organization,
        organizations::update_organization, organizations::delete_organization,
        members::list_members, members::add_member, members::update_member, members::remove_member,
        api_keys::list_api_keys, api_keys::create_api_key, api_keys::revoke_api_key,
        instances::list_instances, instances::create_instance, instances::get_instance, instances::update_instance,
        instances::delete_instance, instances::get_status, instances::put_status, instances::get_credentials,
        instances::rotate_credentials, usage::get_usage,
    ),
    modifiers(&BearerAuth),
    tags((name = "auth"), (name = "organizations"), (name = "members"), (name = "api-keys"), (name = "instances")),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `GET /api/openapi.json`.
pub async fn openapi_json() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}

//! What the OpenAPI document says besides its paths (those come from the route list in `api.rs`): its
//! title, tags and the bearer security scheme.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The management API's document, without paths.
#[derive(OpenApi)]
#[openapi(
    info(title = "RedisGate management API", description = "Users, organizations, API keys and Redis instances. Authenticate with `Authorization: Bearer <JWT from /api/auth/login | rgk_ API key>`."),
    modifiers(&BearerAuth),
    tags((name = "auth"), (name = "organizations"), (name = "members"), (name = "api-keys"), (name = "instances"), (name = "backups")),
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

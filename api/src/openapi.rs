//! The OpenAPI document's frame: title, security scheme, tags. Paths come from the routes.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Vaarta API",
        description = "Self-hosted AI voice calling agent. Every /v1 route needs `Authorization: Bearer <token>` \
            (the admin token, or a site API key that only sees its own site). Errors are \
            `{\"error\": {\"code\": \"...\", \"message\": \"...\"}}`."
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "system", description = "Health, readiness, metrics, documentation"),
        (name = "sites", description = "Tenants and their settings"),
        (name = "keys", description = "Site API keys"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("admin token or site API key (vk_...)"))
                    .build(),
            ),
        );
    }
}

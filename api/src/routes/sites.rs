//! `/v1/sites`: tenants. The admin creates and deletes sites; a site key reads and updates
//! its own site only.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use vaarta_orchestrator::tenancy::{NewSite, Principal, Site, SitePatch};

use crate::auth::{AdminOnly, Caller, SiteScope};
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::state::AppState;

/// Paging for list endpoints.
#[derive(Debug, Deserialize, IntoParams, ToSchema)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Page {
    /// At most this many items (1..=500, default 100).
    pub limit: Option<u32>,
    /// Skip this many items (default 0).
    pub offset: Option<u32>,
}

impl Page {
    fn resolve(&self) -> Result<(u32, u32), ApiError> {
        let limit = self.limit.unwrap_or(100);
        if !(1..=500).contains(&limit) {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "limit must be 1..=500",
            ));
        }
        Ok((limit, self.offset.unwrap_or(0)))
    }
}

/// Sites the caller can see: all for the admin, its own for a site key.
#[utoipa::path(get, path = "/v1/sites", tag = "sites", params(Page), security(("bearer" = [])), responses(
    (status = 200, body = Vec<Site>),
    (status = 401, body = ErrorBody),
))]
pub async fn list_sites(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(page): Query<Page>,
) -> Result<axum::Json<Vec<Site>>, ApiError> {
    let (limit, offset) = page.resolve()?;
    let sites = match caller {
        Principal::Admin => state.store.sites().list(limit, offset).await?,
        Principal::SiteKey { site_id, .. } => {
            let own = state.store.sites().get(site_id).await?;
            own.into_iter()
                .skip(offset as usize)
                .take(limit as usize)
                .collect()
        }
    };
    Ok(axum::Json(sites.into_iter().map(Site::redacted).collect()))
}

/// Creates a site (admin only). Create its first API key with `POST /v1/sites/{site_id}/keys`.
#[utoipa::path(post, path = "/v1/sites", tag = "sites", request_body = NewSite, security(("bearer" = [])), responses(
    (status = 201, body = Site),
    (status = 400, description = "malformed JSON", body = ErrorBody),
    (status = 401, body = ErrorBody),
    (status = 403, description = "not the admin token", body = ErrorBody),
    (status = 422, description = "unknown field, wrong type or invalid value", body = ErrorBody),
))]
pub async fn create_site(
    State(state): State<AppState>,
    _admin: AdminOnly,
    ApiJson(new): ApiJson<NewSite>,
) -> Result<(StatusCode, axum::Json<Site>), ApiError> {
    new.validate()?;
    let site = state.store.sites().create(&new).await?;
    tracing::info!(site_id = %site.site_id, "site created");
    Ok((StatusCode::CREATED, axum::Json(site.redacted())))
}

/// One site.
#[utoipa::path(get, path = "/v1/sites/{site_id}", tag = "sites", security(("bearer" = [])),
    params(("site_id" = uuid::Uuid, Path)),
    responses((status = 200, body = Site), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_site(scope: SiteScope) -> axum::Json<Site> {
    axum::Json(scope.site.redacted())
}

/// Renames a site and/or replaces its settings.
#[utoipa::path(patch, path = "/v1/sites/{site_id}", tag = "sites", request_body = SitePatch, security(("bearer" = [])),
    params(("site_id" = uuid::Uuid, Path)),
    responses(
        (status = 200, body = Site),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub async fn update_site(
    State(state): State<AppState>,
    scope: SiteScope,
    ApiJson(patch): ApiJson<SitePatch>,
) -> Result<axum::Json<Site>, ApiError> {
    patch.validate()?;
    let site = state
        .store
        .sites()
        .update(scope.site_id(), &patch)
        .await?
        .ok_or_else(|| ApiError::not_found("site"))?;
    Ok(axum::Json(site.redacted()))
}

/// Deletes a site and everything it owns (admin only).
#[utoipa::path(delete, path = "/v1/sites/{site_id}", tag = "sites", security(("bearer" = [])),
    params(("site_id" = uuid::Uuid, Path)),
    responses(
        (status = 204, description = "deleted"),
        (status = 401, body = ErrorBody),
        (status = 403, description = "a site key cannot delete its site", body = ErrorBody),
        (status = 404, body = ErrorBody),
    ))]
pub async fn delete_site(
    State(state): State<AppState>,
    scope: SiteScope,
) -> Result<StatusCode, ApiError> {
    if !scope.caller.is_admin() {
        return Err(ApiError::forbidden("deleting a site needs the admin token"));
    }
    if !state.store.sites().delete(scope.site_id()).await? {
        return Err(ApiError::not_found("site"));
    }
    tracing::info!(site_id = %scope.site_id(), "site deleted");
    Ok(StatusCode::NO_CONTENT)
}

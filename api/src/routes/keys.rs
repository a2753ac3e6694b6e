//! `/v1/sites/{site_id}/keys`: a site's API keys. The secret is returned once, at creation.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use vaarta_orchestrator::tenancy::{ApiKey, ValidationError};

use crate::auth::SiteScope;
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::state::AppState;

/// Request to create a key.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    /// What the key is for (e.g. `chatbot backend`), 1..=100 characters.
    pub label: String,
}

/// A new key: `secret` is the full key, shown only in this response.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedKey {
    pub key: ApiKey,
    /// Send as `Authorization: Bearer <secret>`. Store it now; it cannot be shown again.
    pub secret: String,
}

/// The site's keys, revoked ones included (never the secrets).
#[utoipa::path(get, path = "/v1/sites/{site_id}/keys", tag = "keys", security(("bearer" = [])),
    params(("site_id" = Uuid, Path)),
    responses((status = 200, body = Vec<ApiKey>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_keys(
    State(state): State<AppState>,
    scope: SiteScope,
) -> Result<axum::Json<Vec<ApiKey>>, ApiError> {
    Ok(axum::Json(
        state.store.api_keys().list(scope.site_id()).await?,
    ))
}

/// Creates a key for the site.
#[utoipa::path(post, path = "/v1/sites/{site_id}/keys", tag = "keys", request_body = NewKey, security(("bearer" = [])),
    params(("site_id" = Uuid, Path)),
    responses(
        (status = 201, body = CreatedKey),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
pub async fn create_key(
    State(state): State<AppState>,
    scope: SiteScope,
    ApiJson(new): ApiJson<NewKey>,
) -> Result<(StatusCode, axum::Json<CreatedKey>), ApiError> {
    validate_label(&new.label)?;
    let (key, secret) = state
        .store
        .api_keys()
        .create(scope.site_id(), &new.label)
        .await?;
    tracing::info!(key_id = %key.key_id, "API key created");
    Ok((StatusCode::CREATED, axum::Json(CreatedKey { key, secret })))
}

/// Revokes a key: it answers 401 from now on. Idempotent.
#[utoipa::path(delete, path = "/v1/sites/{site_id}/keys/{key_id}", tag = "keys", security(("bearer" = [])),
    params(("site_id" = Uuid, Path), ("key_id" = Uuid, Path)),
    responses((status = 200, description = "the revoked key", body = ApiKey), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_key(
    State(state): State<AppState>,
    scope: SiteScope,
    Path((_site_id, key_id)): Path<(String, String)>,
) -> Result<axum::Json<ApiKey>, ApiError> {
    let key_id = Uuid::parse_str(&key_id).map_err(|_| ApiError::not_found("key"))?;
    let key = state
        .store
        .api_keys()
        .revoke(scope.site_id(), key_id)
        .await?
        .ok_or_else(|| ApiError::not_found("key"))?;
    tracing::info!(key_id = %key.key_id, "API key revoked");
    Ok(axum::Json(key))
}

fn validate_label(label: &str) -> Result<(), ValidationError> {
    vaarta_orchestrator::tenancy::validation::text("label", label, 100)
}

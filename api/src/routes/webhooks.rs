//! A site's outgoing webhooks (CRM `call.ended`, audit callbacks): what was sent, what is still
//! retrying, and the dead-letter list (`status=dead`) with a way to try a dead one again.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;
use vaarta_orchestrator::storage::webhooks::WebhookDelivery;

use crate::auth::SiteScope;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default, deny_unknown_fields)]
pub struct DeliveriesQuery {
    /// `pending`, `delivered` or `dead` (the dead-letter list).
    pub status: Option<String>,
    /// 1..=500 (default 100).
    pub limit: Option<i64>,
}

/// The site's webhook deliveries, newest first.
#[utoipa::path(get, path = "/v1/sites/{site_id}/webhooks", tag = "webhooks", security(("bearer" = [])),
    params(("site_id" = Uuid, Path), DeliveriesQuery),
    responses((status = 200, body = Vec<WebhookDelivery>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    scope: SiteScope,
    Query(q): Query<DeliveriesQuery>,
) -> Result<axum::Json<Vec<WebhookDelivery>>, ApiError> {
    if let Some(s) = q
        .status
        .as_deref()
        .filter(|s| !["pending", "delivered", "dead"].contains(s))
    {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            format!("status: {s:?} is not one of pending, delivered, dead"),
        ));
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "limit: must be 1..=500",
        ));
    }
    Ok(axum::Json(
        state
            .store
            .webhooks()
            .list(scope.site_id(), q.status.as_deref(), limit)
            .await?,
    ))
}

/// Tries a dead-lettered delivery once more, now → 202 with the delivery (`pending`).
#[utoipa::path(post, path = "/v1/sites/{site_id}/webhooks/{delivery_id}/retry", tag = "webhooks", security(("bearer" = [])),
    params(("site_id" = Uuid, Path), ("delivery_id" = Uuid, Path)),
    responses((status = 202, body = WebhookDelivery), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn retry_delivery(
    State(state): State<AppState>,
    scope: SiteScope,
    Path((_site, id)): Path<(String, Uuid)>,
) -> Result<(StatusCode, axum::Json<WebhookDelivery>), ApiError> {
    let repo = state.store.webhooks();
    match repo.revive(scope.site_id(), id).await? {
        Some(d) => Ok((StatusCode::ACCEPTED, axum::Json(d))),
        None => match repo.get(id).await?.filter(|d| d.site_id == scope.site_id()) {
            Some(d) => Err(ApiError::new(
                StatusCode::CONFLICT,
                "not_dead",
                format!("the delivery is {}, not dead", d.status),
            )),
            None => Err(ApiError::not_found("delivery")),
        },
    }
}

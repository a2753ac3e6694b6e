//! Routes: which flow answers which dialled number (SIP) and the site's widget.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::ToSchema;
#[allow(unused_imports)]
use uuid::Uuid; // referenced by the OpenAPI path params
use vaarta_orchestrator::storage::routes::{Route, RouteError, normalize_number};

use crate::auth::SiteScope;
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteRequest {
    /// `sip` or `widget`.
    pub channel: String,
    /// SIP: the dialled number (E.164 like `+911140000000`; national forms are normalised).
    /// Widget: omit or `*`.
    #[serde(default)]
    pub number: Option<String>,
    /// A flow of the site (uploaded) or a shipped one: `assistant`, `order_status`, `sales_qualification`.
    pub flow: String,
}

fn invalid(msg: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", msg)
}

/// The site's routes.
#[utoipa::path(get, path = "/v1/sites/{site_id}/routes", tag = "routes", security(("bearer" = [])),
    params(("site_id" = Uuid, Path)),
    responses((status = 200, body = Vec<Route>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_routes(
    State(state): State<AppState>,
    scope: SiteScope,
) -> Result<axum::Json<Vec<Route>>, ApiError> {
    Ok(axum::Json(
        state.store.routes().list(scope.site_id()).await?,
    ))
}

/// Creates or replaces a route. A SIP number belongs to one site (409 `number_taken`).
#[utoipa::path(put, path = "/v1/sites/{site_id}/routes", tag = "routes", security(("bearer" = [])),
    params(("site_id" = Uuid, Path)), request_body = RouteRequest,
    responses((status = 200, body = Route), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_route(
    State(state): State<AppState>,
    scope: SiteScope,
    ApiJson(req): ApiJson<RouteRequest>,
) -> Result<axum::Json<Route>, ApiError> {
    let site_id = scope.site_id();
    let number = match req.channel.as_str() {
        "sip" => {
            let raw = req
                .number
                .as_deref()
                .ok_or_else(|| invalid("number: required for channel sip"))?;
            let n = normalize_number(raw);
            let digits = n.strip_prefix('+').unwrap_or("");
            if !(6..=15).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
                return Err(invalid(format!(
                    "number: {raw:?} is not a phone number like +911140000000"
                )));
            }
            n
        }
        "widget" => match req.number.as_deref() {
            None | Some("*") => "*".to_string(),
            Some(other) => {
                return Err(invalid(format!(
                    "number: widget routes take no number (got {other:?})"
                )));
            }
        },
        other => {
            return Err(invalid(format!(
                "channel: {other:?} is not one of sip, widget"
            )));
        }
    };
    let known = state
        .store
        .flows()
        .list(site_id)
        .await?
        .iter()
        .any(|f| f.name == req.flow && f.active_version.is_some())
        || vaarta_flows::shipped::flow(&req.flow).is_some();
    if !known {
        return Err(invalid(format!(
            "flow: {:?} is neither an active flow of this site nor a shipped flow",
            req.flow
        )));
    }
    match state
        .store
        .routes()
        .put(site_id, &req.channel, &number, &req.flow)
        .await
    {
        Ok(r) => Ok(axum::Json(r)),
        Err(RouteError::NumberTaken(n)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "number_taken",
            format!("{n} is routed by another site"),
        )),
        Err(RouteError::Storage(e)) => Err(e.into()),
    }
}

/// Removes a route (`number` is `*` for the widget).
#[utoipa::path(delete, path = "/v1/sites/{site_id}/routes/{channel}/{number}", tag = "routes", security(("bearer" = [])),
    params(("site_id" = Uuid, Path), ("channel" = String, Path), ("number" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_route(
    State(state): State<AppState>,
    scope: SiteScope,
    Path((_site, channel, number)): Path<(String, String, String)>,
) -> Result<StatusCode, ApiError> {
    let number = if channel == "sip" {
        normalize_number(&number)
    } else {
        number
    };
    if state
        .store
        .routes()
        .delete(scope.site_id(), &channel, &number)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("route"))
    }
}

//! `POST /v1/calls`: place one outbound call now. The call is admitted (node and site limits),
//! its flow loaded and the do-not-call lists checked before anything rings; the answer is the
//! call, ringing, whose progress shows in `GET /v1/calls/{id}` and the live event stream.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use uuid::Uuid;
use vaarta_orchestrator::calls::CallInfo;
use vaarta_orchestrator::calls::flow_loader::FlowLoadError;
use vaarta_orchestrator::calls::outbound::{OutboundRequest, PlaceError};
use vaarta_orchestrator::calls::services::PrepareError;

use crate::auth::Caller;
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlaceCallRequest {
    /// Admin only (a site key places calls for its own site).
    #[serde(default)]
    pub site_id: Option<Uuid>,
    /// E.164 (`+919812345678`), a 10-digit Indian number (dialled through the SIP trunk), or a
    /// `sip:user@host` URI.
    pub to: String,
    /// The flow to run once answered: one of the site's, or a shipped one.
    pub flow: String,
    /// Caller id shown to the callee (default: the trunk's).
    #[serde(default)]
    pub caller_id: Option<String>,
    /// Call variables, read with `get(name)` in the flow.
    #[serde(default)]
    pub variables: Map<String, Value>,
    /// Lead fields (`get(name)` falls back to them; `get("lead")` is the whole map).
    #[serde(default)]
    pub lead: Map<String, Value>,
}

fn invalid(msg: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", msg)
}

/// Places a call now; 201 with the call (state `ringing`).
#[utoipa::path(post, path = "/v1/calls", tag = "calls", security(("bearer" = [])), request_body = PlaceCallRequest,
    responses((status = 201, body = CallInfo), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "number on a do-not-call list"),
        (status = 422, body = ErrorBody), (status = 429, body = ErrorBody, description = "site or node at its call limit"),
        (status = 502, body = ErrorBody), (status = 503, body = ErrorBody, description = "this node takes no calls")))]
pub async fn place_call(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiJson(req): ApiJson<PlaceCallRequest>,
) -> Result<(StatusCode, axum::Json<CallInfo>), ApiError> {
    let site_id = match (caller.site_id(), req.site_id) {
        (Some(own), Some(asked)) if own != asked => return Err(ApiError::not_found("site")),
        (Some(own), _) => own,
        (None, Some(asked)) => asked,
        (None, None) => return Err(invalid("site_id: required with the admin token")),
    };
    vaarta_orchestrator::tenancy::validation::text("flow", &req.flow, 100)?;
    if let Some(id) = &req.caller_id {
        vaarta_orchestrator::tenancy::validation::text("caller_id", id, 64)?;
    }
    let Some(gateway) = state.outbound.as_ref() else {
        return Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "voice_disabled",
            "this node takes no calls ([voice] enabled = false, or the speech models did not load)",
        ));
    };
    let out = OutboundRequest {
        site_id,
        to: req.to,
        flow: req.flow,
        caller_id: req.caller_id,
        vars: req.variables,
        lead: req.lead,
        campaign_id: None,
        lead_id: None,
    };
    match gateway.place(out).await {
        Ok(info) => Ok((StatusCode::CREATED, axum::Json(info))),
        Err(e) => Err(place_error(e)),
    }
}

fn place_error(e: PlaceError) -> ApiError {
    let msg = e.to_string();
    match e {
        PlaceError::InvalidNumber(_) => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_number", msg)
        }
        PlaceError::DoNotCall(_) => ApiError::new(StatusCode::CONFLICT, "do_not_call", msg),
        PlaceError::NoTrunk => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "no_trunk", msg),
        PlaceError::Dial(_) => ApiError::new(StatusCode::BAD_GATEWAY, "dial_failed", msg),
        PlaceError::Prepare(p) => match p {
            PrepareError::UnknownSite => ApiError::not_found("site"),
            PrepareError::Flow(FlowLoadError::NotFound(f)) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_flow",
                format!("flow: the site has no active flow named {f:?}"),
            ),
            PrepareError::Flow(FlowLoadError::Storage(s)) => s.into(),
            PrepareError::Flow(f) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_flow",
                f.to_string(),
            ),
            PrepareError::Admit(a) => {
                ApiError::new(StatusCode::TOO_MANY_REQUESTS, "call_limit", a.to_string())
            }
            PrepareError::Storage(s) => s.into(),
        },
    }
}

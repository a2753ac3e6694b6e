//! Campaigns of a site: create, list, read (with progress), replace, delete, and start /
//! pause / resume / stop (the dialer, workers::dialer, acts on `running` ones). Leads are in
//! `leads.rs`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;
use vaarta_orchestrator::calls::flow_loader::{FlowLoadError, load_flow};
use vaarta_orchestrator::campaigns::{Campaign, CampaignProgress, CampaignSpec, CampaignStatus};

use crate::auth::SiteScope;
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::state::AppState;

/// A campaign with its lead counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignView {
    #[serde(flatten)]
    pub campaign: Campaign,
    pub progress: CampaignProgress,
}

/// Validates a spec, including that its flow exists on the site (or is shipped).
pub(super) async fn check_spec(
    state: &AppState,
    site_id: Uuid,
    spec: &CampaignSpec,
) -> Result<(), ApiError> {
    spec.validate()?;
    match load_flow(&state.store, site_id, &spec.flow).await {
        Ok(_) => Ok(()),
        Err(FlowLoadError::NotFound(f)) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unknown_flow",
            format!("flow: the site has no active flow named {f:?}"),
        )),
        Err(FlowLoadError::Storage(e)) => Err(e.into()),
        Err(e) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_flow",
            e.to_string(),
        )),
    }
}

/// The campaign of the path, of the path's site (404 otherwise).
pub(super) async fn campaign_of(
    state: &AppState,
    scope: &SiteScope,
    id: Uuid,
) -> Result<Campaign, ApiError> {
    state
        .store
        .campaigns()
        .get(Some(scope.site_id()), id)
        .await?
        .ok_or_else(|| ApiError::not_found("campaign"))
}

async fn view(state: &AppState, campaign: Campaign) -> Result<CampaignView, ApiError> {
    let progress = state.store.campaigns().progress(campaign.id).await?;
    Ok(CampaignView { campaign, progress })
}

/// The site's campaigns, newest first.
#[utoipa::path(get, path = "/v1/sites/{site_id}/campaigns", tag = "campaigns", security(("bearer" = [])),
    params(("site_id" = Uuid, Path)),
    responses((status = 200, body = Vec<CampaignView>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_campaigns(
    State(state): State<AppState>,
    scope: SiteScope,
) -> Result<axum::Json<Vec<CampaignView>>, ApiError> {
    let mut out = Vec::new();
    for c in state.store.campaigns().list(scope.site_id()).await? {
        out.push(view(&state, c).await?);
    }
    Ok(axum::Json(out))
}

/// Creates a campaign (`draft`): flow, caller id, time zone and calling hours (telemarketing:
/// never outside 09:00–21:00 local), concurrency, pacing, retries by outcome.
#[utoipa::path(post, path = "/v1/sites/{site_id}/campaigns", tag = "campaigns", security(("bearer" = [])),
    params(("site_id" = Uuid, Path)), request_body = CampaignSpec,
    responses((status = 201, body = CampaignView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_campaign(
    State(state): State<AppState>,
    scope: SiteScope,
    ApiJson(spec): ApiJson<CampaignSpec>,
) -> Result<(StatusCode, axum::Json<CampaignView>), ApiError> {
    check_spec(&state, scope.site_id(), &spec).await?;
    let c = state
        .store
        .campaigns()
        .create(scope.site_id(), &spec)
        .await?;
    Ok((StatusCode::CREATED, axum::Json(view(&state, c).await?)))
}

/// One campaign with its progress.
#[utoipa::path(get, path = "/v1/sites/{site_id}/campaigns/{campaign_id}", tag = "campaigns", security(("bearer" = [])),
    params(("site_id" = Uuid, Path), ("campaign_id" = Uuid, Path)),
    responses((status = 200, body = CampaignView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_campaign(
    State(state): State<AppState>,
    scope: SiteScope,
    Path((_site, id)): Path<(String, Uuid)>,
) -> Result<axum::Json<CampaignView>, ApiError> {
    let c = campaign_of(&state, &scope, id).await?;
    Ok(axum::Json(view(&state, c).await?))
}

/// Replaces a campaign's settings (not while it runs: pause it first).
#[utoipa::path(put, path = "/v1/sites/{site_id}/campaigns/{campaign_id}", tag = "campaigns", security(("bearer" = [])),
    params(("site_id" = Uuid, Path), ("campaign_id" = Uuid, Path)), request_body = CampaignSpec,
    responses((status = 200, body = CampaignView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_campaign(
    State(state): State<AppState>,
    scope: SiteScope,
    Path((_site, id)): Path<(String, Uuid)>,
    ApiJson(spec): ApiJson<CampaignSpec>,
) -> Result<axum::Json<CampaignView>, ApiError> {
    let c = campaign_of(&state, &scope, id).await?;
    if c.status == CampaignStatus::Running {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "campaign_running",
            "pause the campaign before changing it",
        ));
    }
    check_spec(&state, scope.site_id(), &spec).await?;
    state
        .store
        .campaigns()
        .update(scope.site_id(), id, &spec)
        .await?;
    let c = campaign_of(&state, &scope, id).await?;
    Ok(axum::Json(view(&state, c).await?))
}

/// Deletes a campaign and its leads (not while it runs) → 204. Its calls stay.
#[utoipa::path(delete, path = "/v1/sites/{site_id}/campaigns/{campaign_id}", tag = "campaigns", security(("bearer" = [])),
    params(("site_id" = Uuid, Path), ("campaign_id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_campaign(
    State(state): State<AppState>,
    scope: SiteScope,
    Path((_site, id)): Path<(String, Uuid)>,
) -> Result<StatusCode, ApiError> {
    let c = campaign_of(&state, &scope, id).await?;
    if c.status == CampaignStatus::Running {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "campaign_running",
            "stop the campaign before deleting it",
        ));
    }
    state.store.campaigns().delete(scope.site_id(), id).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn transition(
    state: &AppState,
    scope: &SiteScope,
    id: Uuid,
    from: &[CampaignStatus],
    to: CampaignStatus,
    verb: &str,
) -> Result<axum::Json<CampaignView>, ApiError> {
    let current = campaign_of(state, scope, id).await?;
    if to == CampaignStatus::Running {
        // The flow may have been deleted since the campaign was made.
        check_spec(state, scope.site_id(), &current.spec).await?;
    }
    match state
        .store
        .campaigns()
        .set_status(Some(scope.site_id()), id, from, to)
        .await?
    {
        Some(c) => {
            tracing::info!(campaign_id = %id, site_id = %scope.site_id(), ?to, "campaign {verb}");
            Ok(axum::Json(view(state, c).await?))
        }
        None => {
            let now = campaign_of(state, scope, id).await?.status;
            let allowed: Vec<String> = from
                .iter()
                .map(|s| format!("{s:?}").to_lowercase())
                .collect();
            Err(ApiError::new(
                StatusCode::CONFLICT,
                "invalid_transition",
                format!(
                    "cannot {verb} a {} campaign (only from: {})",
                    format!("{now:?}").to_lowercase(),
                    allowed.join(", ")
                ),
            ))
        }
    }
}

/// Starts dialling a `draft` campaign's leads (within its calling window).
#[utoipa::path(post, path = "/v1/sites/{site_id}/campaigns/{campaign_id}/start", tag = "campaigns", security(("bearer" = [])),
    params(("site_id" = Uuid, Path), ("campaign_id" = Uuid, Path)),
    responses((status = 200, body = CampaignView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn start_campaign(
    State(state): State<AppState>,
    scope: SiteScope,
    Path((_site, id)): Path<(String, Uuid)>,
) -> Result<axum::Json<CampaignView>, ApiError> {
    transition(
        &state,
        &scope,
        id,
        &[CampaignStatus::Draft],
        CampaignStatus::Running,
        "start",
    )
    .await
}

/// Stops placing new calls (calls in progress finish); `resume` continues.
#[utoipa::path(post, path = "/v1/sites/{site_id}/campaigns/{campaign_id}/pause", tag = "campaigns", security(("bearer" = [])),
    params(("site_id" = Uuid, Path), ("campaign_id" = Uuid, Path)),
    responses((status = 200, body = CampaignView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn pause_campaign(
    State(state): State<AppState>,
    scope: SiteScope,
    Path((_site, id)): Path<(String, Uuid)>,
) -> Result<axum::Json<CampaignView>, ApiError> {
    transition(
        &state,
        &scope,
        id,
        &[CampaignStatus::Running],
        CampaignStatus::Paused,
        "pause",
    )
    .await
}

/// Continues a paused campaign.
#[utoipa::path(post, path = "/v1/sites/{site_id}/campaigns/{campaign_id}/resume", tag = "campaigns", security(("bearer" = [])),
    params(("site_id" = Uuid, Path), ("campaign_id" = Uuid, Path)),
    responses((status = 200, body = CampaignView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn resume_campaign(
    State(state): State<AppState>,
    scope: SiteScope,
    Path((_site, id)): Path<(String, Uuid)>,
) -> Result<axum::Json<CampaignView>, ApiError> {
    transition(
        &state,
        &scope,
        id,
        &[CampaignStatus::Paused],
        CampaignStatus::Running,
        "resume",
    )
    .await
}

/// Ends a campaign for good (calls in progress finish; pending leads stay undialled).
#[utoipa::path(post, path = "/v1/sites/{site_id}/campaigns/{campaign_id}/stop", tag = "campaigns", security(("bearer" = [])),
    params(("site_id" = Uuid, Path), ("campaign_id" = Uuid, Path)),
    responses((status = 200, body = CampaignView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn stop_campaign(
    State(state): State<AppState>,
    scope: SiteScope,
    Path((_site, id)): Path<(String, Uuid)>,
) -> Result<axum::Json<CampaignView>, ApiError> {
    transition(
        &state,
        &scope,
        id,
        &[
            CampaignStatus::Draft,
            CampaignStatus::Running,
            CampaignStatus::Paused,
        ],
        CampaignStatus::Stopped,
        "stop",
    )
    .await
}

#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[serde(default, deny_unknown_fields)]
pub struct ExportQuery {
    /// `csv` (default) or `json`.
    pub format: Option<String>,
}

/// The campaign's results: one row per lead with outcome, qualification, opt-out, callback
/// and the last call's transcript. CSV (`text/csv`) or JSON.
#[utoipa::path(get, path = "/v1/sites/{site_id}/campaigns/{campaign_id}/export", tag = "campaigns", security(("bearer" = [])),
    params(("site_id" = Uuid, Path), ("campaign_id" = Uuid, Path), ExportQuery),
    responses((status = 200, description = "text/csv or application/json", content_type = "text/csv"), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn export_campaign(
    State(state): State<AppState>,
    scope: SiteScope,
    Path((_site, id)): Path<(String, Uuid)>,
    axum::extract::Query(q): axum::extract::Query<ExportQuery>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    use vaarta_orchestrator::campaigns::export::{ExportFormat, export};
    let format = match q.format.as_deref().unwrap_or("csv") {
        "csv" => ExportFormat::Csv,
        "json" => ExportFormat::Json,
        other => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                format!("format: {other:?} is not csv or json"),
            ));
        }
    };
    let c = campaign_of(&state, &scope, id).await?;
    let body = export(&state.store, &c, format).await?;
    let (ctype, ext) = match format {
        ExportFormat::Csv => ("text/csv; charset=utf-8", "csv"),
        ExportFormat::Json => ("application/json", "json"),
    };
    let disposition = format!("attachment; filename=\"campaign-{id}.{ext}\"");
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, ctype.to_string()),
            (axum::http::header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

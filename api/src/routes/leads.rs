//! Leads of a campaign: CSV upload (a `text/csv` body, or multipart `file` + `mapping`) and the
//! lead list with attempts and outcomes.

use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use vaarta_orchestrator::campaigns::leads_csv::{self, ColumnMapping, LeadsCsvError, RowError};
use vaarta_orchestrator::storage::leads::Lead;

use super::campaigns::campaign_of;
use crate::auth::SiteScope;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Largest lead file accepted.
pub const MAX_CSV_BYTES: usize = 20 * 1024 * 1024;
/// Row errors listed in one answer (the count is always complete).
const MAX_LISTED_ERRORS: usize = 1000;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default, deny_unknown_fields)]
pub struct UploadQuery {
    /// Header of the phone column (default: found by name: phone, mobile, number, ...).
    pub phone_column: Option<String>,
    /// Header of the name column (default: name, customer, ...).
    pub name_column: Option<String>,
}

/// What an upload did.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadReport {
    /// Data rows read (blank lines not counted).
    pub rows: usize,
    /// New leads that will be dialled.
    pub added: usize,
    /// New numbers on a do-not-call list: kept as `skipped`, never dialled.
    pub skipped_dnd: usize,
    /// Numbers the campaign already had.
    pub already_in_campaign: usize,
    /// Rows repeating a number seen earlier in the file.
    pub duplicates_in_file: usize,
    pub rejected_count: usize,
    /// Unusable rows with their line numbers (the header is line 1), at most 1000.
    pub rejected: Vec<RowError>,
}

fn unprocessable(code: &'static str, msg: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, msg)
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the lead file is larger than {MAX_CSV_BYTES} bytes; split it"),
    )
}

/// The body limit of the upload route (it checks its own, larger limit).
pub fn upload_limit() -> axum::extract::DefaultBodyLimit {
    axum::extract::DefaultBodyLimit::max(MAX_CSV_BYTES + 64 * 1024)
}

/// A file of numbers that cannot be read at all, as the API answers it (leads and DND imports).
pub(super) fn csv_error(e: LeadsCsvError) -> ApiError {
    match e {
        LeadsCsvError::TooManyRows => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_many_rows",
            e.to_string(),
        ),
        LeadsCsvError::NoPhoneColumn(_) | LeadsCsvError::UnknownColumn { .. } => {
            unprocessable("no_phone_column", e.to_string())
        }
        _ => unprocessable("invalid_csv", e.to_string()),
    }
}

/// Content types a CSV body may come with.
pub(super) fn is_csv(content_type: &str) -> bool {
    ["text/csv", "text/plain", "application/csv"]
        .iter()
        .any(|t| content_type.starts_with(t))
}

async fn read_upload(
    state: &AppState,
    q: UploadQuery,
    req: Request,
) -> Result<(Vec<u8>, ColumnMapping), ApiError> {
    let ctype = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if announced.is_some_and(|n| n > MAX_CSV_BYTES + 64 * 1024) {
        return Err(too_large());
    }
    let mut mapping = ColumnMapping {
        phone: q.phone_column,
        name: q.name_column,
    };
    if ctype.starts_with("multipart/form-data") {
        let mut form = Multipart::from_request(req, state).await.map_err(|e| {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_multipart", e.body_text())
        })?;
        let bad = |e: axum::extract::multipart::MultipartError| {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_multipart", e.body_text())
        };
        let mut file = None;
        while let Some(mut field) = form.next_field().await.map_err(bad)? {
            match field.name().unwrap_or("") {
                "file" => {
                    let mut bytes = Vec::new();
                    while let Some(chunk) = field.chunk().await.map_err(bad)? {
                        if bytes.len() + chunk.len() > MAX_CSV_BYTES {
                            return Err(too_large());
                        }
                        bytes.extend_from_slice(&chunk);
                    }
                    file = Some(bytes);
                }
                "mapping" => {
                    let text = field.text().await.map_err(bad)?;
                    mapping = serde_json::from_str(&text)
                        .map_err(|e| unprocessable("validation_failed", format!("mapping: {e}")))?;
                }
                other => {
                    return Err(unprocessable(
                        "unknown_field",
                        format!(
                            "unknown form field {other:?}: send `file` and optionally `mapping`"
                        ),
                    ));
                }
            }
        }
        let file = file.ok_or_else(|| {
            unprocessable("missing_file", "the form has no `file` part with the CSV")
        })?;
        Ok((file, mapping))
    } else if is_csv(&ctype) {
        let body = axum::body::to_bytes(req.into_body(), MAX_CSV_BYTES)
            .await
            .map_err(|_| too_large())?;
        Ok((body.to_vec(), mapping))
    } else {
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "send the leads as text/csv or multipart/form-data (`file`), not {:?}",
                if ctype.is_empty() {
                    "no content type"
                } else {
                    &ctype
                }
            ),
        ))
    }
}

/// Adds leads from a CSV: numbers normalised to E.164 (default +91), duplicates dropped,
/// do-not-call numbers kept as `skipped`, other columns kept as the lead's fields (flow
/// variables), bad rows reported with line numbers.
#[utoipa::path(post, path = "/v1/sites/{site_id}/campaigns/{campaign_id}/leads", tag = "campaigns", security(("bearer" = [])),
    params(("site_id" = Uuid, Path), ("campaign_id" = Uuid, Path), UploadQuery),
    request_body(content = String, content_type = "text/csv", description = "CSV with a header row; or multipart/form-data with `file` and optional `mapping` JSON `{\"phone\": \"Mobile No\", \"name\": \"Customer\"}`"),
    responses((status = 200, body = UploadReport), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn upload_leads(
    State(state): State<AppState>,
    scope: SiteScope,
    Path((_site, id)): Path<(String, Uuid)>,
    Query(q): Query<UploadQuery>,
    req: Request,
) -> Result<axum::Json<UploadReport>, ApiError> {
    let campaign = campaign_of(&state, &scope, id).await?;
    let (bytes, mapping) = read_upload(&state, q, req).await?;
    let parsed = tokio::task::spawn_blocking(move || leads_csv::parse(&bytes, &mapping))
        .await
        .map_err(|_| ApiError::internal())?;
    let parsed = parsed.map_err(csv_error)?;
    let added = state
        .store
        .leads()
        .add(scope.site_id(), campaign.id, &parsed.leads)
        .await?;
    let rejected_count = parsed.rejected.len();
    let mut rejected = parsed.rejected;
    rejected.truncate(MAX_LISTED_ERRORS);
    tracing::info!(campaign_id = %campaign.id, site_id = %scope.site_id(), rows = parsed.rows, added = added.added, rejected = rejected_count, "leads uploaded");
    Ok(axum::Json(UploadReport {
        rows: parsed.rows,
        added: added.added,
        skipped_dnd: added.skipped_dnd,
        already_in_campaign: added.already_in_campaign,
        duplicates_in_file: parsed.duplicates_in_file,
        rejected_count,
        rejected,
    }))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default, deny_unknown_fields)]
pub struct LeadsQuery {
    /// `pending`, `dialing`, `done` or `skipped`.
    pub status: Option<String>,
    /// Paging: leads after this id (the last of the previous page).
    pub after: Option<Uuid>,
    /// 1..=1000 (default 100).
    pub limit: Option<i64>,
}

/// The campaign's leads in upload order, with attempts and outcomes.
#[utoipa::path(get, path = "/v1/sites/{site_id}/campaigns/{campaign_id}/leads", tag = "campaigns", security(("bearer" = [])),
    params(("site_id" = Uuid, Path), ("campaign_id" = Uuid, Path), LeadsQuery),
    responses((status = 200, body = Vec<Lead>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_leads(
    State(state): State<AppState>,
    scope: SiteScope,
    Path((_site, id)): Path<(String, Uuid)>,
    Query(q): Query<LeadsQuery>,
) -> Result<axum::Json<Vec<Lead>>, ApiError> {
    let campaign = campaign_of(&state, &scope, id).await?;
    if let Some(s) = q
        .status
        .as_deref()
        .filter(|s| !["pending", "dialing", "done", "skipped"].contains(s))
    {
        return Err(unprocessable(
            "validation_failed",
            format!("status: {s:?} is not one of pending, dialing, done, skipped"),
        ));
    }
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(unprocessable(
            "validation_failed",
            "limit: must be 1..=1000",
        ));
    }
    Ok(axum::Json(
        state
            .store
            .leads()
            .list(campaign.id, q.status.as_deref(), q.after, limit)
            .await?,
    ))
}

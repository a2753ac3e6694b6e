//! Do-not-call lists: a site's (`/v1/sites/{site_id}/dnd`, its key or the admin) and the global
//! one (`/v1/dnd`, admin only). Numbers on either are never dialled; a flow's `opt_out()` adds
//! the caller to its site's list.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
#[allow(unused_imports)]
use uuid::Uuid; // referenced by the OpenAPI path params
use vaarta_orchestrator::calls::outbound::dial_target;
use vaarta_orchestrator::storage::dnd::DndEntry;

use crate::auth::{AdminOnly, SiteScope};
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::state::AppState;

/// Most numbers in one request (bigger lists: several requests).
const MAX_NUMBERS: usize = 10_000;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddNumbers {
    /// E.164 or Indian national numbers.
    pub numbers: Vec<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// A number that was not added, by its position in `numbers`.
#[derive(Debug, Serialize, ToSchema)]
pub struct RejectedNumber {
    pub index: usize,
    pub value: String,
    pub error: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AddedNumbers {
    pub added: usize,
    pub already_listed: usize,
    pub rejected: Vec<RejectedNumber>,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default, deny_unknown_fields)]
pub struct ListQuery {
    /// Paging: numbers after this one.
    pub after: Option<String>,
    /// 1..=1000 (default 100).
    pub limit: Option<i64>,
}

async fn add(
    state: &AppState,
    site_id: Option<Uuid>,
    req: AddNumbers,
) -> Result<axum::Json<AddedNumbers>, ApiError> {
    if req.numbers.len() > MAX_NUMBERS {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            format!(
                "numbers: at most {MAX_NUMBERS} per request, got {}",
                req.numbers.len()
            ),
        ));
    }
    let reason = req.reason.unwrap_or_default();
    if !reason.is_empty() {
        vaarta_orchestrator::tenancy::validation::text("reason", &reason, 500)?;
    }
    let mut out = AddedNumbers {
        added: 0,
        already_listed: 0,
        rejected: Vec::new(),
    };
    for (index, value) in req.numbers.into_iter().enumerate() {
        match dial_target(&value) {
            Ok(n) if !n.starts_with("sip:") => {
                if state.store.dnd().add(site_id, &n, &reason, "api").await? {
                    out.added += 1;
                } else {
                    out.already_listed += 1;
                }
            }
            _ => out.rejected.push(RejectedNumber {
                index,
                value,
                error: "not a phone number (E.164 or 10-digit Indian)".into(),
            }),
        }
    }
    Ok(axum::Json(out))
}

async fn list(
    state: &AppState,
    site_id: Option<Uuid>,
    q: ListQuery,
) -> Result<axum::Json<Vec<DndEntry>>, ApiError> {
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
            "limit: must be 1..=1000",
        ));
    }
    Ok(axum::Json(
        state
            .store
            .dnd()
            .list(site_id, q.after.as_deref(), limit)
            .await?,
    ))
}

async fn remove(
    state: &AppState,
    site_id: Option<Uuid>,
    number: &str,
) -> Result<StatusCode, ApiError> {
    let n = dial_target(number).map_err(|_| ApiError::not_found("number"))?;
    if state.store.dnd().remove(site_id, &n).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("number"))
    }
}

/// The site's do-not-call list, in number order.
#[utoipa::path(get, path = "/v1/sites/{site_id}/dnd", tag = "dnd", security(("bearer" = [])),
    params(("site_id" = Uuid, Path), ListQuery),
    responses((status = 200, body = Vec<DndEntry>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_site_dnd(
    State(state): State<AppState>,
    scope: SiteScope,
    Query(q): Query<ListQuery>,
) -> Result<axum::Json<Vec<DndEntry>>, ApiError> {
    list(&state, Some(scope.site_id()), q).await
}

/// Adds numbers to the site's list; bad ones are listed back by index, the rest are added.
#[utoipa::path(post, path = "/v1/sites/{site_id}/dnd", tag = "dnd", security(("bearer" = [])),
    params(("site_id" = Uuid, Path)), request_body = AddNumbers,
    responses((status = 200, body = AddedNumbers), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_site_dnd(
    State(state): State<AppState>,
    scope: SiteScope,
    ApiJson(req): ApiJson<AddNumbers>,
) -> Result<axum::Json<AddedNumbers>, ApiError> {
    add(&state, Some(scope.site_id()), req).await
}

/// Takes a number off the site's list.
#[utoipa::path(delete, path = "/v1/sites/{site_id}/dnd/{number}", tag = "dnd", security(("bearer" = [])),
    params(("site_id" = Uuid, Path), ("number" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_site_dnd(
    State(state): State<AppState>,
    scope: SiteScope,
    Path((_site, number)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    remove(&state, Some(scope.site_id()), &number).await
}

/// The global do-not-call list (every site), admin only.
#[utoipa::path(get, path = "/v1/dnd", tag = "dnd", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = Vec<DndEntry>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_global_dnd(
    State(state): State<AppState>,
    _: AdminOnly,
    Query(q): Query<ListQuery>,
) -> Result<axum::Json<Vec<DndEntry>>, ApiError> {
    list(&state, None, q).await
}

/// Adds numbers to the global list, admin only.
#[utoipa::path(post, path = "/v1/dnd", tag = "dnd", security(("bearer" = [])), request_body = AddNumbers,
    responses((status = 200, body = AddedNumbers), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_global_dnd(
    State(state): State<AppState>,
    _: AdminOnly,
    ApiJson(req): ApiJson<AddNumbers>,
) -> Result<axum::Json<AddedNumbers>, ApiError> {
    add(&state, None, req).await
}

/// Takes a number off the global list, admin only.
#[utoipa::path(delete, path = "/v1/dnd/{number}", tag = "dnd", security(("bearer" = [])),
    params(("number" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_global_dnd(
    State(state): State<AppState>,
    _: AdminOnly,
    Path(number): Path<String>,
) -> Result<StatusCode, ApiError> {
    remove(&state, None, &number).await
}

/// Largest DND CSV accepted.
pub const MAX_IMPORT_BYTES: usize = 10 * 1024 * 1024;

/// The body limit of the import routes (they check their own).
pub fn import_limit() -> axum::extract::DefaultBodyLimit {
    axum::extract::DefaultBodyLimit::max(MAX_IMPORT_BYTES + 64 * 1024)
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default, deny_unknown_fields)]
pub struct ImportQuery {
    /// Header of the phone column (default: found by name: phone, mobile, number, ...).
    pub phone_column: Option<String>,
    /// Stored with every number of the file.
    pub reason: Option<String>,
}

/// What an import did.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReport {
    pub rows: usize,
    pub added: usize,
    pub already_listed: usize,
    /// Rows repeating a number seen earlier in the file.
    pub duplicates_in_file: usize,
    /// Unusable rows with their line numbers (the header is line 1), at most 1000.
    pub rejected: Vec<vaarta_orchestrator::campaigns::leads_csv::RowError>,
    pub rejected_count: usize,
}

async fn import(
    state: &AppState,
    site_id: Option<Uuid>,
    q: ImportQuery,
    req: axum::extract::Request,
) -> Result<axum::Json<ImportReport>, ApiError> {
    use vaarta_orchestrator::campaigns::leads_csv::{ColumnMapping, parse};
    let ctype = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if !super::leads::is_csv(&ctype) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the list as text/csv with a header row",
        ));
    }
    let reason = q.reason.unwrap_or_default();
    if !reason.is_empty() {
        vaarta_orchestrator::tenancy::validation::text("reason", &reason, 500)?;
    }
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the list is larger than {MAX_IMPORT_BYTES} bytes; split it"),
        )
    };
    let bytes = axum::body::to_bytes(req.into_body(), MAX_IMPORT_BYTES)
        .await
        .map_err(|_| too_large())?;
    let mapping = ColumnMapping {
        phone: q.phone_column,
        name: None,
    };
    let parsed = tokio::task::spawn_blocking(move || parse(&bytes, &mapping))
        .await
        .map_err(|_| ApiError::internal())?;
    let parsed = parsed.map_err(super::leads::csv_error)?;
    let (mut added, mut already_listed) = (0, 0);
    for l in &parsed.leads {
        if state
            .store
            .dnd()
            .add(site_id, &l.phone, &reason, "csv")
            .await?
        {
            added += 1;
        } else {
            already_listed += 1;
        }
    }
    let rejected_count = parsed.rejected.len();
    let mut rejected = parsed.rejected;
    rejected.truncate(1000);
    Ok(axum::Json(ImportReport {
        rows: parsed.rows,
        added,
        already_listed,
        duplicates_in_file: parsed.duplicates_in_file,
        rejected,
        rejected_count,
    }))
}

/// Imports a CSV of numbers into the site's list (`text/csv` with a header row).
#[utoipa::path(post, path = "/v1/sites/{site_id}/dnd/import", tag = "dnd", security(("bearer" = [])),
    params(("site_id" = Uuid, Path), ImportQuery),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportReport), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn import_site_dnd(
    State(state): State<AppState>,
    scope: SiteScope,
    Query(q): Query<ImportQuery>,
    req: axum::extract::Request,
) -> Result<axum::Json<ImportReport>, ApiError> {
    import(&state, Some(scope.site_id()), q, req).await
}

/// Imports a CSV of numbers into the global list, admin only.
#[utoipa::path(post, path = "/v1/dnd/import", tag = "dnd", security(("bearer" = [])), params(ImportQuery),
    request_body(content = String, content_type = "text/csv"),
    responses((status = 200, body = ImportReport), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn import_global_dnd(
    State(state): State<AppState>,
    _: AdminOnly,
    Query(q): Query<ImportQuery>,
    req: axum::extract::Request,
) -> Result<axum::Json<ImportReport>, ApiError> {
    import(&state, None, q, req).await
}

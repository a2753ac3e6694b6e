//! Audit transcription: a CRM posts a recording of a human agent's call (multipart: `file`
//! plus JSON `metadata`), gets `202 {id, status}`, and reads the structured report (segments
//! with speakers and times, talk time, silence, overtalk, the site's QA checklist) when the job
//! is done, or receives it at its callback URL. `GET /v1/calls/{id}/audit` gives the same
//! report for Vaarta's own calls.

use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use utoipa::ToSchema;
use uuid::Uuid;
use vaarta_orchestrator::audit::{
    AuditReport, NewTranscription, Transcription, TranscriptionMeta, call_audit,
};
use vaarta_orchestrator::storage::transcriptions::TranscriptionFilter;
use vaarta_orchestrator::tenancy::Principal;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// File name endings accepted (the content is probed either way).
const AUDIO_EXTENSIONS: &[&str] = &[
    "wav", "wave", "mp3", "ogg", "oga", "flac", "m4a", "mp4", "aac", "ul", "al",
];

/// The upload's multipart form (for the OpenAPI document).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct TranscriptionUpload {
    /// The recording: WAV (PCM, µ-law, A-law), MP3, OGG/Vorbis, FLAC or M4A/AAC; mono or stereo.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// JSON: `{agent_id, crm_call_id, language, channel_mapping, callback_url}` (all optional).
    metadata: Option<TranscriptionMeta>,
    /// Admin token only: the site the recording belongs to.
    site_id: Option<Uuid>,
}

/// Body limit for the upload route: off, because the handler enforces `[audit]
/// max_upload_bytes` itself (413 before reading a body that announces more).
pub fn upload_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::disable()
}

fn too_large(max: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the recording is larger than the limit of {max} bytes ([audit] max_upload_bytes)"),
    )
}

fn unprocessable(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
}

/// Queues a recording for transcription.
#[utoipa::path(post, path = "/v1/transcriptions", tag = "transcriptions", security(("bearer" = [])),
    request_body(content = TranscriptionUpload, content_type = "multipart/form-data"),
    responses((status = 202, body = Transcription), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_transcription(
    State(state): State<AppState>,
    Caller(caller): Caller,
    headers: HeaderMap,
    mut form: Multipart,
) -> Result<(StatusCode, axum::Json<Transcription>), ApiError> {
    let max = state.audit.max_upload_bytes;
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // Multipart framing adds a little; refuse at once what cannot fit.
    if announced.is_some_and(|n| n > max + 64 * 1024) {
        return Err(too_large(max));
    }
    let mut file: Option<(String, Option<String>, Vec<u8>)> = None;
    let mut meta = TranscriptionMeta::default();
    let mut site_field: Option<Uuid> = None;
    let bad_form = |e: axum::extract::multipart::MultipartError| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_multipart", e.body_text())
    };
    while let Some(mut field) = form.next_field().await.map_err(bad_form)? {
        match field.name().unwrap_or("") {
            "file" => {
                let name = field.file_name().unwrap_or("recording").to_string();
                let content_type = field.content_type().map(str::to_string);
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(bad_form)? {
                    if (bytes.len() + chunk.len()) as u64 > max {
                        return Err(too_large(max));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                file = Some((name, content_type, bytes));
            }
            "metadata" => {
                let text = field.text().await.map_err(bad_form)?;
                if text.len() > 64 * 1024 {
                    return Err(unprocessable(
                        "validation_failed",
                        "metadata: larger than 64 KiB",
                    ));
                }
                meta = serde_json::from_str(&text)
                    .map_err(|e| unprocessable("invalid_metadata", format!("metadata: {e}")))?;
            }
            "site_id" => {
                let text = field.text().await.map_err(bad_form)?;
                site_field = Some(
                    text.trim()
                        .parse()
                        .map_err(|_| unprocessable("validation_failed", "site_id: not a UUID"))?,
                );
            }
            other => {
                return Err(unprocessable(
                    "unknown_field",
                    format!(
                        "unknown form field {other:?}: send `file`, `metadata` and (admin) `site_id`"
                    ),
                ));
            }
        }
    }
    let site_id = match (&caller, site_field) {
        (Principal::SiteKey { site_id, .. }, None) => *site_id,
        (Principal::SiteKey { site_id, .. }, Some(s)) if s == *site_id => s,
        (Principal::SiteKey { .. }, Some(_)) => return Err(ApiError::not_found("site")),
        (Principal::Admin, Some(s)) => s,
        (Principal::Admin, None) => {
            return Err(unprocessable(
                "validation_failed",
                "site_id: required with the admin token",
            ));
        }
    };
    let site = state
        .store
        .sites()
        .get(site_id)
        .await?
        .ok_or_else(|| ApiError::not_found("site"))?;
    let (file_name, content_type, bytes) = file.ok_or_else(|| {
        unprocessable(
            "missing_file",
            "the form has no `file` part with the recording",
        )
    })?;
    meta.validate()?;
    if meta.callback_url.is_some() && site.settings.webhook_secret.is_none() {
        return Err(unprocessable(
            "webhook_secret_missing",
            "metadata.callback_url: the site has no settings.webhook_secret to sign callbacks with; set one first",
        ));
    }
    if let Some(ext) = std::path::Path::new(&file_name)
        .extension()
        .and_then(|e| e.to_str())
        && !AUDIO_EXTENSIONS.contains(&ext.to_ascii_lowercase().as_str())
    {
        return Err(unprocessable(
            "unsupported_file_type",
            format!(
                "{file_name:?}: .{ext} is not an audio file type (send WAV, MP3, OGG, FLAC or M4A)"
            ),
        ));
    }
    // Decode now so a bad file is refused with its reason instead of failing later.
    let decode_cfg = state.audit.decode.clone();
    let probe = bytes.clone();
    let decoded = tokio::task::spawn_blocking(move || {
        vaarta_speech::decode::decode_bytes(probe, &decode_cfg).map(|a| a.duration_ms())
    })
    .await
    .map_err(|_| ApiError::internal())?;
    if let Err(e) = decoded {
        if e.is_bad_input() {
            return Err(unprocessable(e.code(), format!("{file_name:?}: {e}")));
        }
        tracing::error!(error = %e, "decoding an upload failed");
        return Err(ApiError::internal());
    }
    let new = NewTranscription {
        site_id,
        file_name,
        content_type,
        meta,
    };
    let t = state.store.transcriptions().create(&new, &bytes).await?;
    tracing::info!(transcription_id = %t.id, site_id = %site_id, bytes = bytes.len(), "recording queued for transcription");
    Ok((StatusCode::ACCEPTED, axum::Json(t)))
}

/// One transcription: status, progress, and the report once completed.
#[utoipa::path(get, path = "/v1/transcriptions/{transcription_id}", tag = "transcriptions", security(("bearer" = [])),
    params(("transcription_id" = Uuid, Path)),
    responses((status = 200, body = Transcription), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_transcription(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<Transcription>, ApiError> {
    let t = state
        .store
        .transcriptions()
        .get(caller.site_id(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("transcription"))?;
    Ok(axum::Json(t))
}

/// Transcriptions, newest first, without their reports.
#[utoipa::path(get, path = "/v1/transcriptions", tag = "transcriptions", security(("bearer" = [])),
    params(TranscriptionFilter),
    responses((status = 200, body = Vec<Transcription>), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_transcriptions(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Query(f): Query<TranscriptionFilter>,
) -> Result<axum::Json<Vec<Transcription>>, ApiError> {
    let site = match (&caller, f.site_id) {
        (Principal::Admin, s) => s,
        (Principal::SiteKey { site_id, .. }, Some(s)) if s != *site_id => {
            return Err(ApiError::not_found("site"));
        }
        (Principal::SiteKey { site_id, .. }, _) => Some(*site_id),
    };
    if let Some(s) = &f.status
        && !["queued", "processing", "completed", "failed"].contains(&s.as_str())
    {
        return Err(unprocessable(
            "validation_failed",
            format!("status: {s:?} is not one of queued, processing, completed, failed"),
        ));
    }
    if f.limit.is_some_and(|l| !(1..=200).contains(&l)) {
        return Err(unprocessable("validation_failed", "limit: must be 1..=200"));
    }
    Ok(axum::Json(
        state.store.transcriptions().list(site, &f).await?,
    ))
}

/// Deletes a transcription: its audio, checkpoints and report (a running job stops).
#[utoipa::path(delete, path = "/v1/transcriptions/{transcription_id}", tag = "transcriptions", security(("bearer" = [])),
    params(("transcription_id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_transcription(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(id): Path<Uuid>,
) -> Result<StatusCode, ApiError> {
    if state
        .store
        .transcriptions()
        .delete(caller.site_id(), id)
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("transcription"))
    }
}

/// The audit of one of Vaarta's own calls: the report a recording gets (bot = `agent`,
/// caller = `customer`), with the site's QA checklist.
#[utoipa::path(get, path = "/v1/calls/{call_id}/audit", tag = "calls", security(("bearer" = [])),
    params(("call_id" = Uuid, Path)),
    responses((status = 200, body = AuditReport), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn call_audit(
    State(state): State<AppState>,
    Caller(caller): Caller,
    Path(call_id): Path<Uuid>,
) -> Result<axum::Json<AuditReport>, ApiError> {
    state.calls.flush().await;
    let detail = state
        .store
        .calls()
        .detail(caller.site_id(), call_id)
        .await?
        .ok_or_else(|| ApiError::not_found("call"))?;
    let checks = state
        .store
        .sites()
        .get(detail.call.site_id)
        .await?
        .map(|s| s.settings.audit.checklist)
        .unwrap_or_default();
    Ok(axum::Json(call_audit::audit_call(&detail, &checks)))
}

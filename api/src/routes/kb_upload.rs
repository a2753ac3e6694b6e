//! `POST /v1/sites/{site_id}/kb/documents/upload`: a knowledge-base document as a file
//! (multipart `file`, optional `title`, `type`, `metadata`). The type comes from `type`, else
//! the file name's extension, else the part's content type, else the bytes (`%PDF-`). PDFs
//! are stored as their extracted text (`type` `text`, `metadata.source_type` `pdf`), so a
//! re-index works from stored content like any other document.

use axum::extract::{DefaultBodyLimit, Multipart, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use utoipa::ToSchema;
use vaarta_orchestrator::kb::ingest::{self, DocKind};
use vaarta_orchestrator::storage::kb::KbDocument;

use super::kb::{DocumentInput, IndexMode, MAX_CONTENT_BYTES, store_doc};
use crate::auth::SiteScope;
use crate::error::{ApiError, ErrorBody};
use crate::state::AppState;

/// Largest uploaded file (a PDF is much bigger than its text; the text is then held to the
/// 5 MB document limit).
pub const MAX_UPLOAD_BYTES: usize = 20 * 1024 * 1024;

/// The upload form (for the OpenAPI document).
#[derive(serde::Deserialize, ToSchema)]
#[allow(dead_code)]
pub struct KbUpload {
    /// The document: .txt, .md, .html/.htm, .csv (FAQ with `question`/`answer` columns) or .pdf
    /// (with a text layer); at most 20 MiB.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// Default: the file name.
    title: Option<String>,
    /// `text`, `markdown`, `html`, `faq_csv` or `pdf`; default: from the file name or type.
    #[serde(rename = "type")]
    kind: Option<String>,
    /// JSON object stored with the document.
    metadata: Option<String>,
}

/// What a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Doc(DocKind),
    Pdf,
}

/// Body limit for the upload route: off, because the handler enforces [`MAX_UPLOAD_BYTES`]
/// itself (413 before reading a body that announces more, and while streaming one that does
/// not), whatever `[limits] max_body_bytes` is.
pub fn upload_limit() -> DefaultBodyLimit {
    DefaultBodyLimit::disable()
}

fn too_large() -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        format!("the file is larger than the limit of {MAX_UPLOAD_BYTES} bytes (20 MiB)"),
    )
}

fn unprocessable(code: &'static str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
}

fn unsupported(message: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_file_type",
        message,
    )
}

fn by_name(kind: &str) -> Option<FileKind> {
    Some(match kind {
        "text" => FileKind::Doc(DocKind::Text),
        "markdown" => FileKind::Doc(DocKind::Markdown),
        "html" => FileKind::Doc(DocKind::Html),
        "faq_csv" => FileKind::Doc(DocKind::FaqCsv),
        "pdf" => FileKind::Pdf,
        _ => return None,
    })
}

/// The file's type from its name, else its content type, else its first bytes.
fn infer(file_name: &str, content_type: Option<&str>, bytes: &[u8]) -> Result<FileKind, ApiError> {
    let ext = std::path::Path::new(file_name)
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    if let Some(ext) = ext {
        return match ext.as_str() {
            "txt" | "text" => Ok(FileKind::Doc(DocKind::Text)),
            "md" | "markdown" => Ok(FileKind::Doc(DocKind::Markdown)),
            "html" | "htm" => Ok(FileKind::Doc(DocKind::Html)),
            "csv" => Ok(FileKind::Doc(DocKind::FaqCsv)),
            "pdf" => Ok(FileKind::Pdf),
            other => Err(unsupported(format!(
                "{file_name:?}: .{other} files are not supported (send .txt, .md, .html, .csv or .pdf)"
            ))),
        };
    }
    let ct = content_type
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match ct.as_str() {
        "text/plain" => return Ok(FileKind::Doc(DocKind::Text)),
        "text/markdown" | "text/x-markdown" => return Ok(FileKind::Doc(DocKind::Markdown)),
        "text/html" => return Ok(FileKind::Doc(DocKind::Html)),
        "text/csv" => return Ok(FileKind::Doc(DocKind::FaqCsv)),
        "application/pdf" => return Ok(FileKind::Pdf),
        _ => {}
    }
    if bytes.starts_with(b"%PDF-") {
        return Ok(FileKind::Pdf);
    }
    Err(unsupported(format!(
        "{file_name:?}: cannot tell the file type (content type {:?}); name it .txt, .md, .html, .csv or .pdf, or send `type`",
        if ct.is_empty() { "none" } else { &ct }
    )))
}

/// Adds a document from an uploaded file; indexed like `POST …/kb/documents` (201 now, or 202
/// with a job for `?async=true` and large files).
#[utoipa::path(post, path = "/v1/sites/{site_id}/kb/documents/upload", tag = "kb", security(("bearer" = [])),
    params(("site_id" = uuid::Uuid, Path), IndexMode), request_body(content = KbUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = KbDocument), (status = 202, body = KbDocument), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 415, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn upload_document(
    State(state): State<AppState>,
    scope: SiteScope,
    Query(mode): Query<IndexMode>,
    headers: HeaderMap,
    mut form: Multipart,
) -> Result<(StatusCode, axum::Json<KbDocument>), ApiError> {
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    // Multipart framing adds a little; refuse at once what cannot fit.
    if announced.is_some_and(|n| n > MAX_UPLOAD_BYTES + 64 * 1024) {
        return Err(too_large());
    }
    let bad_form = |e: axum::extract::multipart::MultipartError| {
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_multipart", e.body_text())
    };
    let (mut file, mut title, mut kind, mut metadata) = (None, None, None, serde_json::Value::Null);
    while let Some(mut field) = form.next_field().await.map_err(bad_form)? {
        match field.name().unwrap_or("") {
            "file" => {
                let name = field.file_name().unwrap_or("document").to_string();
                let content_type = field.content_type().map(str::to_string);
                let mut bytes = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(bad_form)? {
                    if bytes.len() + chunk.len() > MAX_UPLOAD_BYTES {
                        return Err(too_large());
                    }
                    bytes.extend_from_slice(&chunk);
                }
                file = Some((name, content_type, bytes));
            }
            "title" => title = Some(field.text().await.map_err(bad_form)?.trim().to_string()),
            "type" => {
                let t = field.text().await.map_err(bad_form)?.trim().to_string();
                kind = Some(by_name(&t).ok_or_else(|| {
                    unprocessable(
                        "validation_failed",
                        format!("type: {t:?} is not one of text, markdown, html, faq_csv, pdf"),
                    )
                })?);
            }
            "metadata" => {
                let text = field.text().await.map_err(bad_form)?;
                metadata = serde_json::from_str(&text)
                    .map_err(|e| unprocessable("invalid_metadata", format!("metadata: {e}")))?;
            }
            other => {
                return Err(unprocessable(
                    "unknown_field",
                    format!(
                        "unknown form field {other:?}: send `file` and optionally `title`, `type`, `metadata`"
                    ),
                ));
            }
        }
    }
    let (name, content_type, bytes) =
        file.ok_or_else(|| unprocessable("missing_file", "the form has no `file` part"))?;
    if bytes.is_empty() {
        return Err(unprocessable(
            "document_invalid",
            format!("{name:?}: the file is empty"),
        ));
    }
    let kind = match kind {
        Some(k) => k,
        None => infer(&name, content_type.as_deref(), &bytes)?,
    };
    let (doc_kind, content) = match kind {
        FileKind::Pdf => {
            let text = tokio::task::spawn_blocking(move || ingest::pdf_text(&bytes))
                .await
                .map_err(|_| ApiError::internal())?;
            let text =
                text.map_err(|e| unprocessable("document_invalid", format!("{name:?}: {e}")))?;
            if let serde_json::Value::Object(m) = &mut metadata {
                m.entry("source_type").or_insert_with(|| "pdf".into());
            } else if metadata.is_null() {
                metadata = serde_json::json!({"source_type": "pdf"});
            }
            (DocKind::Text, text)
        }
        FileKind::Doc(k) => {
            let text = String::from_utf8(bytes).map_err(|_| {
                unprocessable(
                    "document_invalid",
                    format!("{name:?}: not UTF-8 text (binary data?)"),
                )
            })?;
            (k, text)
        }
    };
    if content.len() > MAX_CONTENT_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "document_too_large",
            format!(
                "{name:?}: {} bytes of text; at most {MAX_CONTENT_BYTES}",
                content.len()
            ),
        ));
    }
    if let serde_json::Value::Object(m) = &mut metadata {
        m.entry("file_name").or_insert_with(|| name.clone().into());
    } else if metadata.is_null() {
        metadata = serde_json::json!({"file_name": name});
    }
    let title = title
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| name.clone());
    let doc = DocumentInput {
        title,
        kind: doc_kind,
        content,
        metadata,
    };
    // Content errors name the file.
    let (status, doc) = store_doc(&state, scope.site_id(), None, doc, mode.queued)
        .await
        .map_err(|e| {
            if e.code == "document_invalid" {
                ApiError::new(e.status, e.code, format!("{name:?}: {}", e.message))
            } else {
                e
            }
        })?;
    Ok((status, axum::Json(doc)))
}

//! Knowledge base per site: documents (text, Markdown, HTML, FAQ CSV) and hybrid search — the
//! search endpoint is the contract the existing chatbot calls (docs/knowledge-base.md).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use vaarta_orchestrator::kb::ingest::DocKind;
use vaarta_orchestrator::kb::{Filters, Hit, KbError, KnowledgeBase};
use vaarta_orchestrator::storage::kb::KbDocument;

use crate::auth::SiteScope;
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::state::AppState;

/// Largest document content, in bytes (bigger bodies are refused by the body limit first).
const MAX_CONTENT_BYTES: usize = 5 * 1024 * 1024;
const MAX_BULK: usize = 200;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentInput {
    pub title: String,
    /// `text`, `markdown`, `html` or `faq_csv` (header row with `question` and `answer`).
    #[serde(rename = "type")]
    pub kind: DocKind,
    pub content: String,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SearchRequest {
    pub query: String,
    /// 1..=50, default 5.
    #[serde(default)]
    pub top_k: Option<usize>,
    #[serde(default)]
    pub filters: Filters,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SearchResponse {
    pub passages: Vec<Hit>,
    pub took_ms: u64,
}

fn kb(state: &AppState) -> Result<&KnowledgeBase, ApiError> {
    state.kb.as_deref().ok_or_else(|| {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "kb_unavailable", "the embedding model is not installed on this node (scripts/install-models)")
    })
}

fn invalid(m: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", m)
}

fn kb_error(e: KbError) -> ApiError {
    match e {
        KbError::Ingest(i) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "document_invalid", i.to_string()),
        KbError::Storage(s) => s.into(),
        other => {
            tracing::error!(error = %other, "KB indexing failed");
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "kb_unavailable", other.to_string())
        }
    }
}

fn check(doc: &DocumentInput) -> Result<(), ApiError> {
    vaarta_orchestrator::tenancy::validation::text("title", &doc.title, 300)?;
    if doc.content.len() > MAX_CONTENT_BYTES {
        return Err(ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "document_too_large", format!("content: {} bytes; at most {MAX_CONTENT_BYTES}", doc.content.len())));
    }
    if !(doc.metadata.is_null() || doc.metadata.is_object()) {
        return Err(invalid("metadata: must be an object"));
    }
    Ok(())
}

async fn store_doc(state: &AppState, site: Uuid, id: Option<Uuid>, doc: DocumentInput) -> Result<KbDocument, ApiError> {
    check(&doc)?;
    let meta = if doc.metadata.is_null() { serde_json::json!({}) } else { doc.metadata };
    kb(state)?.put(site, id, &doc.title, doc.kind, &doc.content, &meta).await.map_err(kb_error)
}

/// Adds a document; it is chunked, embedded and indexed before the response (status `ready`).
#[utoipa::path(post, path = "/v1/sites/{site_id}/kb/documents", tag = "kb", security(("bearer" = [])),
    params(("site_id" = Uuid, Path)), request_body = DocumentInput,
    responses((status = 201, body = KbDocument), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn create_document(State(state): State<AppState>, scope: SiteScope, ApiJson(doc): ApiJson<DocumentInput>) -> Result<(StatusCode, axum::Json<KbDocument>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(store_doc(&state, scope.site_id(), None, doc).await?)))
}

/// Adds several documents at once (each indexed; the first bad one stops with its index).
#[utoipa::path(post, path = "/v1/sites/{site_id}/kb/documents/bulk", tag = "kb", security(("bearer" = [])),
    params(("site_id" = Uuid, Path)), request_body = Vec<DocumentInput>,
    responses((status = 201, body = Vec<KbDocument>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn bulk_documents(State(state): State<AppState>, scope: SiteScope, ApiJson(docs): ApiJson<Vec<DocumentInput>>) -> Result<(StatusCode, axum::Json<Vec<KbDocument>>), ApiError> {
    if docs.is_empty() || docs.len() > MAX_BULK {
        return Err(invalid(format!("documents: 1..={MAX_BULK} per request")));
    }
    for (i, d) in docs.iter().enumerate() {
        check(d).map_err(|e| ApiError::new(e.status, e.code, format!("documents[{i}]: {}", e.message)))?;
        vaarta_orchestrator::kb::ingest::chunks(d.kind, &d.content).map_err(|e| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "document_invalid", format!("documents[{i}]: {e}")))?;
    }
    let mut out = Vec::new();
    for d in docs {
        out.push(store_doc(&state, scope.site_id(), None, d).await?);
    }
    Ok((StatusCode::CREATED, axum::Json(out)))
}

/// The site's documents (without content).
#[utoipa::path(get, path = "/v1/sites/{site_id}/kb/documents", tag = "kb", security(("bearer" = [])),
    params(("site_id" = Uuid, Path)),
    responses((status = 200, body = Vec<KbDocument>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_documents(State(state): State<AppState>, scope: SiteScope) -> Result<axum::Json<Vec<KbDocument>>, ApiError> {
    Ok(axum::Json(state.store.kb().list(scope.site_id()).await?))
}

/// One document with its content and index status.
#[utoipa::path(get, path = "/v1/sites/{site_id}/kb/documents/{document_id}", tag = "kb", security(("bearer" = [])),
    params(("site_id" = Uuid, Path), ("document_id" = Uuid, Path)),
    responses((status = 200, body = KbDocument), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_document(State(state): State<AppState>, scope: SiteScope, Path((_s, id)): Path<(Uuid, Uuid)>) -> Result<axum::Json<KbDocument>, ApiError> {
    Ok(axum::Json(state.store.kb().get(scope.site_id(), id).await?.ok_or_else(|| ApiError::not_found("document"))?))
}

/// Replaces a document (re-chunked and re-indexed before the response).
#[utoipa::path(put, path = "/v1/sites/{site_id}/kb/documents/{document_id}", tag = "kb", security(("bearer" = [])),
    params(("site_id" = Uuid, Path), ("document_id" = Uuid, Path)), request_body = DocumentInput,
    responses((status = 200, body = KbDocument), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn update_document(State(state): State<AppState>, scope: SiteScope, Path((_s, id)): Path<(Uuid, Uuid)>, ApiJson(doc): ApiJson<DocumentInput>) -> Result<axum::Json<KbDocument>, ApiError> {
    state.store.kb().get(scope.site_id(), id).await?.ok_or_else(|| ApiError::not_found("document"))?;
    Ok(axum::Json(store_doc(&state, scope.site_id(), Some(id), doc).await?))
}

/// Deletes a document and its passages (gone from search on return).
#[utoipa::path(delete, path = "/v1/sites/{site_id}/kb/documents/{document_id}", tag = "kb", security(("bearer" = [])),
    params(("site_id" = Uuid, Path), ("document_id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_document(State(state): State<AppState>, scope: SiteScope, Path((_s, id)): Path<(Uuid, Uuid)>) -> Result<StatusCode, ApiError> {
    let gone = match state.kb.as_deref() {
        Some(k) => k.delete(scope.site_id(), id).await.map_err(kb_error)?,
        None => state.store.kb().delete(scope.site_id(), id).await?,
    };
    if gone { Ok(StatusCode::NO_CONTENT) } else { Err(ApiError::not_found("document")) }
}

/// Hybrid search (vector similarity + keywords, fused by rank) over the site's passages.
#[utoipa::path(post, path = "/v1/sites/{site_id}/kb/search", tag = "kb", security(("bearer" = [])),
    params(("site_id" = Uuid, Path)), request_body = SearchRequest,
    responses((status = 200, body = SearchResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn search(State(state): State<AppState>, scope: SiteScope, ApiJson(req): ApiJson<SearchRequest>) -> Result<axum::Json<SearchResponse>, ApiError> {
    let q = req.query.trim();
    if q.is_empty() || q.chars().count() > 1000 {
        return Err(invalid("query: 1..=1000 characters"));
    }
    let top_k = req.top_k.unwrap_or(5);
    if !(1..=50).contains(&top_k) {
        return Err(invalid("top_k: 1..=50"));
    }
    let t = std::time::Instant::now();
    let passages = kb(&state)?.search(scope.site_id(), q, top_k, &req.filters).await.map_err(kb_error)?;
    Ok(axum::Json(SearchResponse { passages, took_ms: t.elapsed().as_millis() as u64 }))
}

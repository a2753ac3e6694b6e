//! Knowledge base per site: documents (text, Markdown, HTML, FAQ CSV; PDF and the rest as file
//! uploads in `kb_upload`) and hybrid search — the search endpoint is the contract the existing
//! chatbot calls (docs/knowledge-base.md). Small documents are indexed in the request; large
//! ones, `?async=true` and re-indexing go through the `kb.reindex` job (`kb_jobs`).

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;
use vaarta_orchestrator::kb::ingest::DocKind;
use vaarta_orchestrator::kb::{Filters, Hit, KbError, KnowledgeBase};
use vaarta_orchestrator::storage::kb::KbDocument;
use vaarta_orchestrator::storage::kb_jobs::KbJob;

use crate::auth::SiteScope;
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::state::AppState;

/// Largest document content, in bytes (bigger bodies are refused by the body limit first).
pub(crate) const MAX_CONTENT_BYTES: usize = 5 * 1024 * 1024;
const MAX_BULK: usize = 200;
/// Content above this is indexed by a background job even without `?async=true`: embedding
/// runs at roughly 25 passages/s per core, so 256 KiB (~400 passages) would hold a request
/// for many seconds.
pub(crate) const INLINE_MAX_BYTES: usize = 256 * 1024;

/// `?async=true`: queue the indexing and answer 202 at once.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IndexMode {
    /// Index in a background job (status `indexing`, then `ready`; see `job_id`) instead of
    /// in the request. Content over 256 KiB always goes through a job.
    #[serde(rename = "async", default)]
    pub queued: bool,
}

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

pub(crate) fn kb(state: &AppState) -> Result<&KnowledgeBase, ApiError> {
    state.kb.as_deref().ok_or_else(|| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "kb_unavailable",
            "the embedding model is not installed on this node (scripts/install-models)",
        )
    })
}

fn invalid(m: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", m)
}

pub(crate) fn kb_error(e: KbError) -> ApiError {
    match e {
        KbError::Ingest(i) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "document_invalid",
            i.to_string(),
        ),
        KbError::Storage(s) => s.into(),
        other => {
            tracing::error!(error = %other, "KB indexing failed");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "kb_unavailable",
                other.to_string(),
            )
        }
    }
}

fn check(doc: &DocumentInput) -> Result<(), ApiError> {
    vaarta_orchestrator::tenancy::validation::text("title", &doc.title, 300)?;
    if doc.content.len() > MAX_CONTENT_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "document_too_large",
            format!(
                "content: {} bytes; at most {MAX_CONTENT_BYTES}",
                doc.content.len()
            ),
        ));
    }
    if !(doc.metadata.is_null() || doc.metadata.is_object()) {
        return Err(invalid("metadata: must be an object"));
    }
    Ok(())
}

/// Stores a checked document: indexed now (`201`/`200`), or with status `indexing` and a
/// queued job (`202`) when asked to or when it is large. Bad content is refused either way
/// before anything is stored (chunking is cheap; embedding is what takes time).
pub(crate) async fn store_doc(
    state: &AppState,
    site: Uuid,
    id: Option<Uuid>,
    doc: DocumentInput,
    queued: bool,
) -> Result<(StatusCode, KbDocument), ApiError> {
    check(&doc)?;
    let meta = if doc.metadata.is_null() {
        serde_json::json!({})
    } else {
        doc.metadata
    };
    if queued || doc.content.len() > INLINE_MAX_BYTES {
        vaarta_orchestrator::kb::ingest::chunks(doc.kind, &doc.content)
            .map_err(|e| kb_error(e.into()))?;
        let id = id.unwrap_or_else(Uuid::now_v7);
        let jobs = state.store.kb_jobs();
        let job = jobs.create(site, Some(&[id])).await?;
        let stored = state
            .store
            .kb()
            .put_pending(site, id, &doc.title, doc.kind, &doc.content, &meta, job.id)
            .await?;
        jobs.push(job.id).await?;
        return Ok((StatusCode::ACCEPTED, stored));
    }
    let stored = kb(state)?
        .put(site, id, &doc.title, doc.kind, &doc.content, &meta)
        .await
        .map_err(kb_error)?;
    Ok((
        if id.is_some() {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        },
        stored,
    ))
}

/// Adds a document: chunked, embedded and indexed before the response (201, status `ready`),
/// or, with `?async=true` or content over 256 KiB, queued (202, status `indexing`, `job_id`).
#[utoipa::path(post, path = "/v1/sites/{site_id}/kb/documents", tag = "kb", security(("bearer" = [])),
    params(("site_id" = Uuid, Path), IndexMode), request_body = DocumentInput,
    responses((status = 201, body = KbDocument), (status = 202, body = KbDocument), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn create_document(
    State(state): State<AppState>,
    scope: SiteScope,
    Query(mode): Query<IndexMode>,
    ApiJson(doc): ApiJson<DocumentInput>,
) -> Result<(StatusCode, axum::Json<KbDocument>), ApiError> {
    let (status, doc) = store_doc(&state, scope.site_id(), None, doc, mode.queued).await?;
    Ok((status, axum::Json(doc)))
}

/// Adds several documents at once (each indexed; the first bad one stops with its index).
#[utoipa::path(post, path = "/v1/sites/{site_id}/kb/documents/bulk", tag = "kb", security(("bearer" = [])),
    params(("site_id" = Uuid, Path)), request_body = Vec<DocumentInput>,
    responses((status = 201, body = Vec<KbDocument>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn bulk_documents(
    State(state): State<AppState>,
    scope: SiteScope,
    ApiJson(docs): ApiJson<Vec<DocumentInput>>,
) -> Result<(StatusCode, axum::Json<Vec<KbDocument>>), ApiError> {
    if docs.is_empty() || docs.len() > MAX_BULK {
        return Err(invalid(format!("documents: 1..={MAX_BULK} per request")));
    }
    for (i, d) in docs.iter().enumerate() {
        check(d).map_err(|e| {
            ApiError::new(e.status, e.code, format!("documents[{i}]: {}", e.message))
        })?;
        vaarta_orchestrator::kb::ingest::chunks(d.kind, &d.content).map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "document_invalid",
                format!("documents[{i}]: {e}"),
            )
        })?;
    }
    let mut out = Vec::new();
    for d in docs {
        out.push(store_doc(&state, scope.site_id(), None, d, false).await?.1);
    }
    Ok((StatusCode::CREATED, axum::Json(out)))
}

/// The site's documents (without content).
#[utoipa::path(get, path = "/v1/sites/{site_id}/kb/documents", tag = "kb", security(("bearer" = [])),
    params(("site_id" = Uuid, Path)),
    responses((status = 200, body = Vec<KbDocument>), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_documents(
    State(state): State<AppState>,
    scope: SiteScope,
) -> Result<axum::Json<Vec<KbDocument>>, ApiError> {
    Ok(axum::Json(state.store.kb().list(scope.site_id()).await?))
}

/// One document with its content and index status.
#[utoipa::path(get, path = "/v1/sites/{site_id}/kb/documents/{document_id}", tag = "kb", security(("bearer" = [])),
    params(("site_id" = Uuid, Path), ("document_id" = Uuid, Path)),
    responses((status = 200, body = KbDocument), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_document(
    State(state): State<AppState>,
    scope: SiteScope,
    Path((_s, id)): Path<(Uuid, Uuid)>,
) -> Result<axum::Json<KbDocument>, ApiError> {
    Ok(axum::Json(
        state
            .store
            .kb()
            .get(scope.site_id(), id)
            .await?
            .ok_or_else(|| ApiError::not_found("document"))?,
    ))
}

/// Replaces a document: re-chunked and re-indexed before the response (200), or queued like
/// a create (202; its previous passages stay searchable until the job replaces them).
#[utoipa::path(put, path = "/v1/sites/{site_id}/kb/documents/{document_id}", tag = "kb", security(("bearer" = [])),
    params(("site_id" = Uuid, Path), ("document_id" = Uuid, Path), IndexMode), request_body = DocumentInput,
    responses((status = 200, body = KbDocument), (status = 202, body = KbDocument), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn update_document(
    State(state): State<AppState>,
    scope: SiteScope,
    Path((_s, id)): Path<(Uuid, Uuid)>,
    Query(mode): Query<IndexMode>,
    ApiJson(doc): ApiJson<DocumentInput>,
) -> Result<(StatusCode, axum::Json<KbDocument>), ApiError> {
    state
        .store
        .kb()
        .get(scope.site_id(), id)
        .await?
        .ok_or_else(|| ApiError::not_found("document"))?;
    let (status, doc) = store_doc(&state, scope.site_id(), Some(id), doc, mode.queued).await?;
    Ok((status, axum::Json(doc)))
}

/// Deletes a document and its passages (gone from search on return).
#[utoipa::path(delete, path = "/v1/sites/{site_id}/kb/documents/{document_id}", tag = "kb", security(("bearer" = [])),
    params(("site_id" = Uuid, Path), ("document_id" = Uuid, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_document(
    State(state): State<AppState>,
    scope: SiteScope,
    Path((_s, id)): Path<(Uuid, Uuid)>,
) -> Result<StatusCode, ApiError> {
    let gone = match state.kb.as_deref() {
        Some(k) => k.delete(scope.site_id(), id).await.map_err(kb_error)?,
        None => state.store.kb().delete(scope.site_id(), id).await?,
    };
    if gone {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("document"))
    }
}

/// Hybrid search (vector similarity + keywords, fused by rank) over the site's passages.
#[utoipa::path(post, path = "/v1/sites/{site_id}/kb/search", tag = "kb", security(("bearer" = [])),
    params(("site_id" = Uuid, Path)), request_body = SearchRequest,
    responses((status = 200, body = SearchResponse), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody), (status = 503, body = ErrorBody)))]
pub async fn search(
    State(state): State<AppState>,
    scope: SiteScope,
    ApiJson(req): ApiJson<SearchRequest>,
) -> Result<axum::Json<SearchResponse>, ApiError> {
    let q = req.query.trim();
    if q.is_empty() || q.chars().count() > 1000 {
        return Err(invalid("query: 1..=1000 characters"));
    }
    let top_k = req.top_k.unwrap_or(5);
    if !(1..=50).contains(&top_k) {
        return Err(invalid("top_k: 1..=50"));
    }
    let t = std::time::Instant::now();
    let passages = kb(&state)?
        .search(scope.site_id(), q, top_k, &req.filters)
        .await
        .map_err(kb_error)?;
    Ok(axum::Json(SearchResponse {
        passages,
        took_ms: t.elapsed().as_millis() as u64,
    }))
}

/// Body of `POST …/kb/reindex`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReindexRequest {
    /// Only these documents (default: every document of the site).
    #[serde(default)]
    pub document_ids: Option<Vec<Uuid>>,
}

/// Queues re-chunking and re-embedding of the site's documents from their stored content
/// (e.g. after `[kb] model` changed). The documents stay searchable meanwhile; each is
/// swapped to its new passages when done. Poll `GET …/kb/reindex/{job_id}`.
#[utoipa::path(post, path = "/v1/sites/{site_id}/kb/reindex", tag = "kb", security(("bearer" = [])),
    params(("site_id" = Uuid, Path)), request_body(content = ReindexRequest, description = "optional; an empty body means the whole site"),
    responses((status = 202, body = KbJob), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn reindex(
    State(state): State<AppState>,
    scope: SiteScope,
    body: axum::body::Bytes,
) -> Result<(StatusCode, axum::Json<KbJob>), ApiError> {
    let req: ReindexRequest = if body.iter().all(u8::is_ascii_whitespace) {
        ReindexRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_body",
                e.to_string(),
            )
        })?
    };
    let site = scope.site_id();
    let known = state.store.kb().ids(site).await?;
    let ids = match &req.document_ids {
        Some(ids) => {
            if ids.is_empty() || ids.len() > 10_000 {
                return Err(invalid(
                    "document_ids: 1..=10000 ids, or leave it out for every document",
                ));
            }
            let unknown: Vec<String> = ids
                .iter()
                .filter(|i| !known.contains(i))
                .map(Uuid::to_string)
                .collect();
            if !unknown.is_empty() {
                return Err(invalid(format!(
                    "document_ids: not documents of this site: {}",
                    unknown.join(", ")
                )));
            }
            ids.clone()
        }
        None => known,
    };
    let jobs = state.store.kb_jobs();
    let job = jobs.create(site, req.document_ids.as_deref()).await?;
    state.store.kb().mark_indexing(site, &ids, job.id).await?;
    jobs.push(job.id).await?;
    Ok((StatusCode::ACCEPTED, axum::Json(job)))
}

/// An indexing job: `queued`, `running`, `done` or `failed`, with documents done/total.
#[utoipa::path(get, path = "/v1/sites/{site_id}/kb/reindex/{job_id}", tag = "kb", security(("bearer" = [])),
    params(("site_id" = Uuid, Path), ("job_id" = Uuid, Path)),
    responses((status = 200, body = KbJob), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_reindex(
    State(state): State<AppState>,
    scope: SiteScope,
    Path((_s, id)): Path<(Uuid, Uuid)>,
) -> Result<axum::Json<KbJob>, ApiError> {
    Ok(axum::Json(
        state
            .store
            .kb_jobs()
            .get(Some(scope.site_id()), id)
            .await?
            .ok_or_else(|| ApiError::not_found("indexing job"))?,
    ))
}

//! Knowledge-base documents and chunks (with embeddings and the keyword index).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::calls::{from_text, to_text};
use super::sites::now;
use super::{Backend, StorageError, Store};
use crate::kb::ingest::DocKind;
use crate::with_pool;

/// A document as the API shows it (without its content in lists).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KbDocument {
    pub id: Uuid,
    pub title: String,
    pub kind: DocKind,
    /// `indexing` while its job runs (the previous passages, if any, are still searched),
    /// `ready` once chunked, embedded and indexed, `failed` with `error` otherwise.
    pub status: String,
    pub error: Option<String>,
    pub chunk_count: i64,
    /// The background job that indexes (or last indexed) it; `null` when indexed inline.
    pub job_id: Option<Uuid>,
    #[schema(value_type = Object)]
    pub metadata: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct DocRow {
    id: Uuid,
    title: String,
    kind: String,
    status: String,
    error: Option<String>,
    chunk_count: i64,
    job_id: Option<Uuid>,
    metadata: Json<serde_json::Value>,
    content: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl DocRow {
    fn into_doc(self, with_content: bool) -> Result<KbDocument, StorageError> {
        Ok(KbDocument {
            id: self.id,
            title: self.title,
            kind: from_text(&self.kind)?,
            status: self.status,
            error: self.error,
            chunk_count: self.chunk_count,
            job_id: self.job_id,
            metadata: self.metadata.0,
            content: with_content.then_some(self.content),
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

/// A chunk with what search needs.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChunkRow {
    pub id: Uuid,
    pub document_id: Uuid,
    pub text: String,
    pub embedding: Vec<u8>,
}

/// What a job needs to (re)index a document: its content as of `revision`.
#[derive(Debug, Clone)]
pub struct DocSource {
    pub kind: DocKind,
    pub content: String,
    pub revision: i64,
}

/// Changes when any document of a site is written or deleted (the search cache's key).
pub type Stamp = (i64, i64, Option<DateTime<Utc>>);

const DOC_COLUMNS: &str = "id, title, kind, status, error, chunk_count, job_id, metadata, content, created_at, updated_at";

pub fn to_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn from_bytes(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// A document as written by `put`/`put_pending`.
struct NewDoc<'a> {
    site_id: Uuid,
    id: Uuid,
    title: &'a str,
    kind: DocKind,
    content: &'a str,
    metadata: &'a serde_json::Value,
}

/// Inserts or replaces a document row inside transaction `$tx` (same SQL on both backends),
/// bumping its revision; a replacement still `indexing` keeps its current chunk count.
macro_rules! upsert {
    ($tx:ident, $doc:expr, $status:expr, $job:expr, $count:expr) => {{
        let d = &$doc;
        let ts = now();
        sqlx::query(
            "INSERT INTO kb_documents (id, site_id, title, kind, content, metadata, status, error, chunk_count, job_id, revision, created_at, updated_at) \
             VALUES ($1,$2,$3,$4,$5,$6,$7,NULL,$8,$9,1,$10,$10) \
             ON CONFLICT (id) DO UPDATE SET title = excluded.title, kind = excluded.kind, content = excluded.content, \
             metadata = excluded.metadata, status = excluded.status, error = NULL, \
             chunk_count = CASE WHEN excluded.status = 'indexing' THEN kb_documents.chunk_count ELSE excluded.chunk_count END, \
             job_id = excluded.job_id, revision = kb_documents.revision + 1, updated_at = excluded.updated_at",
        )
        .bind(d.id)
        .bind(d.site_id)
        .bind(d.title)
        .bind(to_text(&d.kind))
        .bind(d.content)
        .bind(Json(d.metadata))
        .bind($status)
        .bind($count)
        .bind($job)
        .bind(ts)
        .execute(&mut *$tx)
        .await?;
    }};
}

/// Replaces the chunks of document `$id` inside `$tx`; `$fts`: also the SQLite FTS5 rows
/// (PostgreSQL's keyword index is a generated column of the chunk).
macro_rules! replace_chunks {
    ($tx:ident, $fts:expr, $site_id:expr, $id:expr, $chunks:expr) => {{
        if $fts {
            let old: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM kb_chunks WHERE document_id = $1").bind($id).fetch_all(&mut *$tx).await?;
            for o in old {
                sqlx::query("DELETE FROM kb_fts WHERE chunk_id = $1").bind(o.to_string()).execute(&mut *$tx).await?;
            }
        }
        sqlx::query("DELETE FROM kb_chunks WHERE document_id = $1").bind($id).execute(&mut *$tx).await?;
        for (i, (text, emb)) in $chunks.iter().enumerate() {
            let cid = Uuid::now_v7();
            sqlx::query("INSERT INTO kb_chunks (id, document_id, site_id, ord, text, embedding) VALUES ($1,$2,$3,$4,$5,$6)")
                .bind(cid)
                .bind($id)
                .bind($site_id)
                .bind(i as i64)
                .bind(text)
                .bind(to_bytes(emb))
                .execute(&mut *$tx)
                .await?;
            if $fts {
                sqlx::query("INSERT INTO kb_fts (text, chunk_id, site_id) VALUES ($1, $2, $3)")
                    .bind(text)
                    .bind(cid.to_string())
                    .bind($site_id.to_string())
                    .execute(&mut *$tx)
                    .await?;
            }
        }
    }};
}

/// `store.kb()`.
pub struct KbRepo<'a> {
    store: &'a Store,
}

impl<'a> KbRepo<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    /// Stores a document (new or replacing `id`) with its chunks in one transaction.
    #[allow(clippy::too_many_arguments)] // the document's columns
    pub async fn put(
        &self,
        site_id: Uuid,
        id: Uuid,
        title: &str,
        kind: DocKind,
        content: &str,
        metadata: &serde_json::Value,
        chunks: &[(String, Vec<f32>)],
    ) -> Result<KbDocument, StorageError> {
        let doc = NewDoc {
            site_id,
            id,
            title,
            kind,
            content,
            metadata,
        };
        match self.store.backend() {
            Backend::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                upsert!(tx, doc, "ready", None::<Uuid>, chunks.len() as i64);
                replace_chunks!(tx, true, site_id, id, chunks);
                tx.commit().await?;
            }
            Backend::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                upsert!(tx, doc, "ready", None::<Uuid>, chunks.len() as i64);
                replace_chunks!(tx, false, site_id, id, chunks);
                tx.commit().await?;
            }
        }
        Ok(self.get(site_id, id).await?.expect("just stored"))
    }

    /// Stores a document's new content with status `indexing` for job `job_id`; its previous
    /// passages (if any) stay searchable until the job replaces them.
    #[allow(clippy::too_many_arguments)]
    pub async fn put_pending(
        &self,
        site_id: Uuid,
        id: Uuid,
        title: &str,
        kind: DocKind,
        content: &str,
        metadata: &serde_json::Value,
        job_id: Uuid,
    ) -> Result<KbDocument, StorageError> {
        let doc = NewDoc {
            site_id,
            id,
            title,
            kind,
            content,
            metadata,
        };
        with_pool!(self.store, |pool| {
            // One statement (no read first: on SQLite a read that turns into a write can fail
            // with SQLITE_BUSY instead of waiting).
            let mut tx = pool.begin().await?;
            upsert!(tx, doc, "indexing", Some(job_id), 0i64);
            tx.commit().await?;
        });
        Ok(self.get(site_id, id).await?.expect("just stored"))
    }

    /// Marks documents as being (re)indexed by job `job_id` (their content is unchanged).
    pub async fn mark_indexing(
        &self,
        site_id: Uuid,
        ids: &[Uuid],
        job_id: Uuid,
    ) -> Result<(), StorageError> {
        for id in ids {
            with_pool!(self.store, |pool| {
                sqlx::query("UPDATE kb_documents SET status = 'indexing', error = NULL, job_id = $3 WHERE site_id = $1 AND id = $2")
                    .bind(site_id)
                    .bind(id)
                    .bind(job_id)
                    .execute(pool)
                    .await
                    .map(|_| ())
            })?;
        }
        Ok(())
    }

    /// The content of a document to index, with its revision.
    pub async fn source(&self, site_id: Uuid, id: Uuid) -> Result<Option<DocSource>, StorageError> {
        let row: Option<(String, String, i64)> = with_pool!(self.store, |pool| {
            sqlx::query_as(
                "SELECT kind, content, revision FROM kb_documents WHERE site_id = $1 AND id = $2",
            )
            .bind(site_id)
            .bind(id)
            .fetch_optional(pool)
            .await
        })?;
        row.map(|(kind, content, revision)| {
            Ok(DocSource {
                kind: from_text(&kind)?,
                content,
                revision,
            })
        })
        .transpose()
    }

    /// Replaces the chunks of a document whose content is still at `revision` and marks it
    /// `ready`; `false` (nothing written) when it was changed or deleted meanwhile — the write
    /// that changed it indexes it.
    pub async fn replace_chunks(
        &self,
        site_id: Uuid,
        id: Uuid,
        revision: i64,
        chunks: &[(String, Vec<f32>)],
    ) -> Result<bool, StorageError> {
        let sql = "UPDATE kb_documents SET status = 'ready', error = NULL, chunk_count = $4, revision = revision + 1, updated_at = $5 \
                   WHERE site_id = $1 AND id = $2 AND revision = $3";
        macro_rules! body {
            ($pool:ident, $fts:expr) => {{
                let mut tx = $pool.begin().await?;
                let n = sqlx::query(sql)
                    .bind(site_id)
                    .bind(id)
                    .bind(revision)
                    .bind(chunks.len() as i64)
                    .bind(now())
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n == 0 {
                    return Ok(false);
                }
                replace_chunks!(tx, $fts, site_id, id, chunks);
                tx.commit().await?;
            }};
        }
        match self.store.backend() {
            Backend::Sqlite(pool) => body!(pool, true),
            Backend::Postgres(pool) => body!(pool, false),
        }
        Ok(true)
    }

    /// Marks a document at `revision` as `failed` (its content cannot be indexed).
    pub async fn fail(
        &self,
        site_id: Uuid,
        id: Uuid,
        revision: i64,
        error: &str,
    ) -> Result<(), StorageError> {
        with_pool!(self.store, |pool| {
            sqlx::query("UPDATE kb_documents SET status = 'failed', error = $4 WHERE site_id = $1 AND id = $2 AND revision = $3")
                .bind(site_id)
                .bind(id)
                .bind(revision)
                .bind(error)
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(())
    }

    /// Ids of the site's documents, oldest first.
    pub async fn ids(&self, site_id: Uuid) -> Result<Vec<Uuid>, StorageError> {
        Ok(with_pool!(self.store, |pool| {
            sqlx::query_scalar(
                "SELECT id FROM kb_documents WHERE site_id = $1 ORDER BY created_at, id",
            )
            .bind(site_id)
            .fetch_all(pool)
            .await
        })?)
    }

    /// A value that changes whenever a document of the site is written or deleted, so every
    /// node's search cache notices writes made by other nodes and by background jobs.
    pub async fn stamp(&self, site_id: Uuid) -> Result<Stamp, StorageError> {
        Ok(with_pool!(self.store, |pool| {
            sqlx::query_as("SELECT COUNT(*), CAST(COALESCE(SUM(revision), 0) AS BIGINT), MAX(updated_at) FROM kb_documents WHERE site_id = $1")
                .bind(site_id)
                .fetch_one(pool)
                .await
        })?)
    }

    pub async fn get(&self, site_id: Uuid, id: Uuid) -> Result<Option<KbDocument>, StorageError> {
        let sql = format!("SELECT {DOC_COLUMNS} FROM kb_documents WHERE site_id = $1 AND id = $2");
        let row: Option<DocRow> = with_pool!(self.store, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(site_id)
                .bind(id)
                .fetch_optional(pool)
                .await
        })?;
        row.map(|r| r.into_doc(true)).transpose()
    }

    pub async fn list(&self, site_id: Uuid) -> Result<Vec<KbDocument>, StorageError> {
        let sql = format!(
            "SELECT {DOC_COLUMNS} FROM kb_documents WHERE site_id = $1 ORDER BY created_at, id"
        );
        let rows: Vec<DocRow> = with_pool!(self.store, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(site_id)
                .fetch_all(pool)
                .await
        })?;
        rows.into_iter().map(|r| r.into_doc(false)).collect()
    }

    pub async fn delete(&self, site_id: Uuid, id: Uuid) -> Result<bool, StorageError> {
        match self.store.backend() {
            Backend::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                let old: Vec<Uuid> = sqlx::query_scalar(
                    "SELECT id FROM kb_chunks WHERE document_id = $1 AND site_id = $2",
                )
                .bind(id)
                .bind(site_id)
                .fetch_all(&mut *tx)
                .await?;
                for o in old {
                    sqlx::query("DELETE FROM kb_fts WHERE chunk_id = $1")
                        .bind(o.to_string())
                        .execute(&mut *tx)
                        .await?;
                }
                let n = sqlx::query("DELETE FROM kb_documents WHERE site_id = $1 AND id = $2")
                    .bind(site_id)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                tx.commit().await?;
                Ok(n > 0)
            }
            Backend::Postgres(pool) => {
                let n = sqlx::query("DELETE FROM kb_documents WHERE site_id = $1 AND id = $2")
                    .bind(site_id)
                    .bind(id)
                    .execute(pool)
                    .await?
                    .rows_affected();
                Ok(n > 0)
            }
        }
    }

    /// Every chunk of a site (for the vector scan).
    pub async fn chunks(&self, site_id: Uuid) -> Result<Vec<ChunkRow>, StorageError> {
        Ok(with_pool!(self.store, |pool| {
            sqlx::query_as("SELECT id, document_id, text, embedding FROM kb_chunks WHERE site_id = $1 ORDER BY document_id, ord")
                .bind(site_id)
                .fetch_all(pool)
                .await
        })?)
    }

    /// Keyword matches of any of `words`, best first: chunk ids.
    pub async fn keyword(
        &self,
        site_id: Uuid,
        words: &[String],
        limit: i64,
    ) -> Result<Vec<Uuid>, StorageError> {
        if words.is_empty() {
            return Ok(Vec::new());
        }
        match self.store.backend() {
            Backend::Sqlite(pool) => {
                let q = words
                    .iter()
                    .map(|w| format!("\"{w}\""))
                    .collect::<Vec<_>>()
                    .join(" OR ");
                let ids: Vec<String> = sqlx::query_scalar("SELECT chunk_id FROM kb_fts WHERE kb_fts MATCH $1 AND site_id = $2 ORDER BY rank LIMIT $3")
                    .bind(q)
                    .bind(site_id.to_string())
                    .bind(limit)
                    .fetch_all(pool)
                    .await?;
                Ok(ids.iter().filter_map(|s| s.parse().ok()).collect())
            }
            Backend::Postgres(pool) => {
                let q = words.join(" | ");
                Ok(sqlx::query_scalar(
                    "SELECT id FROM kb_chunks WHERE site_id = $1 AND tsv @@ to_tsquery('simple', $2) \
                     ORDER BY ts_rank(tsv, to_tsquery('simple', $2)) DESC LIMIT $3",
                )
                .bind(site_id)
                .bind(q)
                .bind(limit)
                .fetch_all(pool)
                .await?)
            }
        }
    }

    /// Document titles by id (for passages).
    pub async fn titles(&self, site_id: Uuid) -> Result<Vec<(Uuid, String)>, StorageError> {
        Ok(with_pool!(self.store, |pool| {
            sqlx::query_as("SELECT id, title FROM kb_documents WHERE site_id = $1")
                .bind(site_id)
                .fetch_all(pool)
                .await
        })?)
    }
}

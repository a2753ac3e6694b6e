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
    /// `ready` once chunked, embedded and indexed; `failed` with `error` otherwise.
    pub status: String,
    pub error: Option<String>,
    pub chunk_count: i64,
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

const DOC_COLUMNS: &str = "id, title, kind, status, error, chunk_count, metadata, content, created_at, updated_at";

pub fn to_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

pub fn from_bytes(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect()
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
        let ts = now();
        let kind_s = to_text(&kind);
        let n = chunks.len() as i64;
        macro_rules! body {
            ($tx:ident, $fts:expr) => {{
                sqlx::query("DELETE FROM kb_chunks WHERE document_id = $1").bind(id).execute(&mut *$tx).await?;
                sqlx::query(
                    "INSERT INTO kb_documents (id, site_id, title, kind, content, metadata, status, error, chunk_count, created_at, updated_at) \
                     VALUES ($1,$2,$3,$4,$5,$6,'ready',NULL,$7,$8,$8) \
                     ON CONFLICT (id) DO UPDATE SET title = excluded.title, kind = excluded.kind, content = excluded.content, \
                     metadata = excluded.metadata, status = 'ready', error = NULL, chunk_count = excluded.chunk_count, updated_at = excluded.updated_at",
                )
                .bind(id)
                .bind(site_id)
                .bind(title)
                .bind(&kind_s)
                .bind(content)
                .bind(Json(metadata))
                .bind(n)
                .bind(ts)
                .execute(&mut *$tx)
                .await?;
                for (i, (text, emb)) in chunks.iter().enumerate() {
                    let cid = Uuid::now_v7();
                    sqlx::query("INSERT INTO kb_chunks (id, document_id, site_id, ord, text, embedding) VALUES ($1,$2,$3,$4,$5,$6)")
                        .bind(cid)
                        .bind(id)
                        .bind(site_id)
                        .bind(i as i64)
                        .bind(text)
                        .bind(to_bytes(emb))
                        .execute(&mut *$tx)
                        .await?;
                    if $fts {
                        sqlx::query("INSERT INTO kb_fts (text, chunk_id, site_id) VALUES ($1, $2, $3)")
                            .bind(text)
                            .bind(cid.to_string())
                            .bind(site_id.to_string())
                            .execute(&mut *$tx)
                            .await?;
                    }
                }
                $tx.commit().await?;
            }};
        }
        match self.store.backend() {
            Backend::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                // Keyword rows of the chunks being replaced.
                let old: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM kb_chunks WHERE document_id = $1").bind(id).fetch_all(&mut *tx).await?;
                for o in old {
                    sqlx::query("DELETE FROM kb_fts WHERE chunk_id = $1").bind(o.to_string()).execute(&mut *tx).await?;
                }
                body!(tx, true);
            }
            Backend::Postgres(pool) => {
                let mut tx = pool.begin().await?;
                body!(tx, false);
            }
        }
        Ok(self.get(site_id, id).await?.expect("just stored"))
    }

    pub async fn get(&self, site_id: Uuid, id: Uuid) -> Result<Option<KbDocument>, StorageError> {
        let sql = format!("SELECT {DOC_COLUMNS} FROM kb_documents WHERE site_id = $1 AND id = $2");
        let row: Option<DocRow> = with_pool!(self.store, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(site_id).bind(id).fetch_optional(pool).await
        })?;
        row.map(|r| r.into_doc(true)).transpose()
    }

    pub async fn list(&self, site_id: Uuid) -> Result<Vec<KbDocument>, StorageError> {
        let sql = format!("SELECT {DOC_COLUMNS} FROM kb_documents WHERE site_id = $1 ORDER BY created_at, id");
        let rows: Vec<DocRow> = with_pool!(self.store, |pool| { sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(site_id).fetch_all(pool).await })?;
        rows.into_iter().map(|r| r.into_doc(false)).collect()
    }

    pub async fn delete(&self, site_id: Uuid, id: Uuid) -> Result<bool, StorageError> {
        match self.store.backend() {
            Backend::Sqlite(pool) => {
                let mut tx = pool.begin().await?;
                let old: Vec<Uuid> = sqlx::query_scalar("SELECT id FROM kb_chunks WHERE document_id = $1 AND site_id = $2")
                    .bind(id)
                    .bind(site_id)
                    .fetch_all(&mut *tx)
                    .await?;
                for o in old {
                    sqlx::query("DELETE FROM kb_fts WHERE chunk_id = $1").bind(o.to_string()).execute(&mut *tx).await?;
                }
                let n = sqlx::query("DELETE FROM kb_documents WHERE site_id = $1 AND id = $2").bind(site_id).bind(id).execute(&mut *tx).await?.rows_affected();
                tx.commit().await?;
                Ok(n > 0)
            }
            Backend::Postgres(pool) => {
                let n = sqlx::query("DELETE FROM kb_documents WHERE site_id = $1 AND id = $2").bind(site_id).bind(id).execute(pool).await?.rows_affected();
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
    pub async fn keyword(&self, site_id: Uuid, words: &[String], limit: i64) -> Result<Vec<Uuid>, StorageError> {
        if words.is_empty() {
            return Ok(Vec::new());
        }
        match self.store.backend() {
            Backend::Sqlite(pool) => {
                let q = words.iter().map(|w| format!("\"{w}\"")).collect::<Vec<_>>().join(" OR ");
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
            sqlx::query_as("SELECT id, title FROM kb_documents WHERE site_id = $1").bind(site_id).fetch_all(pool).await
        })?)
    }
}

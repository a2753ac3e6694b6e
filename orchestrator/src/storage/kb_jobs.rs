//! Knowledge-base indexing jobs: the row the API shows (status, documents done/total) while the
//! `kb.reindex` apalis job re-chunks and re-embeds documents from their stored content.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use utoipa::ToSchema;
use uuid::Uuid;

use super::calls::{from_text, to_text};
use super::jobs::{self, PushOptions};
use super::sites::now;
use super::{StorageError, Store};
use crate::with_pool;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KbJobStatus {
    Queued,
    Running,
    Done,
    Failed,
}

/// A (re)indexing job as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct KbJob {
    pub id: Uuid,
    pub site_id: Uuid,
    pub status: KbJobStatus,
    /// The documents it indexes; `null`: every document of the site (as of its start).
    pub document_ids: Option<Vec<Uuid>>,
    pub documents_total: i64,
    /// Documents finished so far, failed ones included.
    pub documents_done: i64,
    /// Documents whose content could not be indexed (each has its own `error`).
    pub documents_failed: i64,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    site_id: Uuid,
    status: String,
    document_ids: Option<Json<Vec<Uuid>>>,
    documents_total: i64,
    documents_done: i64,
    documents_failed: i64,
    error: Option<String>,
    created_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    finished_at: Option<DateTime<Utc>>,
}

impl Row {
    fn into_job(self) -> Result<KbJob, StorageError> {
        Ok(KbJob {
            id: self.id,
            site_id: self.site_id,
            status: from_text(&self.status)?,
            document_ids: self.document_ids.map(|j| j.0),
            documents_total: self.documents_total,
            documents_done: self.documents_done,
            documents_failed: self.documents_failed,
            error: self.error,
            created_at: self.created_at,
            started_at: self.started_at,
            finished_at: self.finished_at,
        })
    }
}

const COLUMNS: &str = "id, site_id, status, document_ids, documents_total, documents_done, documents_failed, error, created_at, started_at, finished_at";

/// Payload of [`jobs::KB_REINDEX`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KbReindexJob {
    pub job_id: Uuid,
}

/// `store.kb_jobs()`.
pub struct KbJobsRepo<'a> {
    store: &'a Store,
}

impl<'a> KbJobsRepo<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    /// Records a queued job (`document_ids: None` = the whole site); [`Self::push`] it once
    /// its documents are stored, so it never runs before them.
    pub async fn create(
        &self,
        site_id: Uuid,
        document_ids: Option<&[Uuid]>,
    ) -> Result<KbJob, StorageError> {
        let id = Uuid::now_v7();
        let total = document_ids.map(|d| d.len() as i64).unwrap_or(0);
        with_pool!(self.store, |pool| {
            sqlx::query("INSERT INTO kb_jobs (id, site_id, document_ids, status, documents_total, created_at) VALUES ($1,$2,$3,$4,$5,$6)")
                .bind(id)
                .bind(site_id)
                .bind(document_ids.map(Json))
                .bind(to_text(&KbJobStatus::Queued))
                .bind(total)
                .bind(now())
                .execute(pool)
                .await
                .map(|_| ())
        })?;
        Ok(self.get(Some(site_id), id).await?.expect("just stored"))
    }

    /// Pushes the queue job for `id` (a no-op when it was pushed before).
    pub async fn push(&self, id: Uuid) -> Result<(), StorageError> {
        let opts = PushOptions {
            idempotency_key: Some(format!("kb-reindex-{id}")),
            max_attempts: Some(3),
            ..Default::default()
        };
        self.store
            .jobs()
            .push(jobs::KB_REINDEX, &KbReindexJob { job_id: id }, opts)
            .await?;
        Ok(())
    }

    /// One job; `site_id` restricts it to that site.
    pub async fn get(
        &self,
        site_id: Option<Uuid>,
        id: Uuid,
    ) -> Result<Option<KbJob>, StorageError> {
        let sql =
            format!("SELECT {COLUMNS} FROM kb_jobs WHERE id = $1 AND ($2 IS NULL OR site_id = $2)");
        let row: Option<Row> = with_pool!(self.store, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .bind(site_id)
                .fetch_optional(pool)
                .await
        })?;
        row.map(Row::into_job).transpose()
    }

    /// Marks a queued (or, after a crash, running) job as running over `total` documents;
    /// `false` when it already finished.
    pub async fn start(&self, id: Uuid, total: usize) -> Result<bool, StorageError> {
        let n = with_pool!(self.store, |pool| {
            sqlx::query(
                "UPDATE kb_jobs SET status = 'running', documents_total = $2, documents_done = 0, documents_failed = 0, started_at = $3 \
                 WHERE id = $1 AND status IN ('queued', 'running')",
            )
            .bind(id)
            .bind(total as i64)
            .bind(now())
            .execute(pool)
            .await
            .map(|r| r.rows_affected())
        })?;
        Ok(n == 1)
    }

    pub async fn progress(&self, id: Uuid, done: usize, failed: usize) -> Result<(), StorageError> {
        with_pool!(self.store, |pool| {
            sqlx::query(
                "UPDATE kb_jobs SET documents_done = $2, documents_failed = $3 WHERE id = $1",
            )
            .bind(id)
            .bind(done as i64)
            .bind(failed as i64)
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }

    pub async fn finish(
        &self,
        id: Uuid,
        status: KbJobStatus,
        error: Option<&str>,
    ) -> Result<(), StorageError> {
        with_pool!(self.store, |pool| {
            sqlx::query(
                "UPDATE kb_jobs SET status = $2, error = $3, finished_at = $4 WHERE id = $1",
            )
            .bind(id)
            .bind(to_text(&status))
            .bind(error)
            .bind(now())
            .execute(pool)
            .await
            .map(|_| ())
        })?;
        Ok(())
    }

    /// Jobs not finished (their queue job is pushed again at worker start; a no-op if present).
    pub async fn unfinished(&self) -> Result<Vec<Uuid>, StorageError> {
        Ok(with_pool!(self.store, |pool| {
            sqlx::query_scalar(
                "SELECT id FROM kb_jobs WHERE status IN ('queued', 'running') ORDER BY created_at",
            )
            .fetch_all(pool)
            .await
        })?)
    }
}

//! Audit transcriptions: the job row (status, progress, report), the uploaded audio, and one
//! checkpoint per finished chunk so a restarted job resumes where it stopped.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::types::Json;
use utoipa::IntoParams;
use uuid::Uuid;
use vaarta_speech::file_transcribe::{ChunkResult, TranscriptionPlan};

use super::calls::{from_text, to_text};
use super::sites::now;
use super::{StorageError, Store};
use crate::audit::{
    AuditReport, NewTranscription, Transcription, TranscriptionMeta, TranscriptionProgress,
    TranscriptionStatus,
};
use crate::with_pool;

/// Filters of `GET /v1/transcriptions`.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(default, deny_unknown_fields)]
pub struct TranscriptionFilter {
    /// Admin only: restrict to one site.
    pub site_id: Option<Uuid>,
    /// `queued`, `processing`, `completed` or `failed`.
    pub status: Option<String>,
    pub agent_id: Option<String>,
    pub crm_call_id: Option<String>,
    /// Page size, 1..=200 (default 50).
    pub limit: Option<i64>,
    /// Transcriptions created before this one (the last id of the previous page).
    pub before: Option<Uuid>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    site_id: Uuid,
    status: String,
    file_name: String,
    content_type: Option<String>,
    size_bytes: i64,
    metadata: Json<TranscriptionMeta>,
    duration_ms: Option<i64>,
    chunks_total: Option<i64>,
    chunks_done: i64,
    chunks_resumed: i64,
    chunks_computed: i64,
    runs: i64,
    result: Option<Json<AuditReport>>,
    error_code: Option<String>,
    error_message: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    started_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, site_id, status, file_name, content_type, size_bytes, metadata, duration_ms, chunks_total, \
    chunks_done, chunks_resumed, chunks_computed, runs, result, error_code, error_message, created_at, updated_at, started_at, completed_at";
const LIST_COLUMNS: &str = "id, site_id, status, file_name, content_type, size_bytes, metadata, duration_ms, chunks_total, \
    chunks_done, chunks_resumed, chunks_computed, runs, NULL AS result, error_code, error_message, created_at, updated_at, started_at, completed_at";

impl Row {
    fn into_transcription(self) -> Result<Transcription, StorageError> {
        let total = self.chunks_total.map(|t| t.max(0) as u64);
        let done = self.chunks_done.max(0) as u64;
        let status: TranscriptionStatus = from_text(&self.status)?;
        let percent = match (status, total) {
            (TranscriptionStatus::Completed, _) => 100,
            (_, Some(t)) if t > 0 => ((done * 100) / t).min(99) as u8,
            _ => 0,
        };
        Ok(Transcription {
            id: self.id,
            site_id: self.site_id,
            status,
            file_name: self.file_name,
            content_type: self.content_type,
            size_bytes: self.size_bytes.max(0) as u64,
            metadata: self.metadata.0,
            duration_ms: self.duration_ms.map(|d| d.max(0) as u64),
            progress: TranscriptionProgress {
                chunks_total: total,
                chunks_done: done,
                chunks_resumed: self.chunks_resumed.max(0) as u64,
                chunks_computed: self.chunks_computed.max(0) as u64,
                runs: self.runs.max(0) as u64,
                percent,
            },
            result: self.result.map(|r| r.0),
            error_code: self.error_code,
            error: self.error_message,
            created_at: self.created_at,
            updated_at: self.updated_at,
            started_at: self.started_at,
            completed_at: self.completed_at,
        })
    }
}

/// `store.transcriptions()`.
pub struct TranscriptionsRepo<'a> {
    store: &'a Store,
}

impl<'a> TranscriptionsRepo<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    /// Stores a queued transcription with its audio, in one transaction.
    pub async fn create(
        &self,
        new: &NewTranscription,
        audio: &[u8],
    ) -> Result<Transcription, StorageError> {
        let id = Uuid::now_v7();
        let ts = now();
        let status = to_text(&TranscriptionStatus::Queued);
        with_pool!(self.store, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO transcriptions (id, site_id, status, file_name, content_type, size_bytes, metadata, created_at, updated_at) \
                 VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$8)",
            )
            .bind(id)
            .bind(new.site_id)
            .bind(&status)
            .bind(&new.file_name)
            .bind(&new.content_type)
            .bind(audio.len() as i64)
            .bind(Json(&new.meta))
            .bind(ts)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO transcription_audio (transcription_id, audio) VALUES ($1, $2)",
            )
            .bind(id)
            .bind(audio)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        // A failed push is repaired at the next worker start (`unfinished` + `enqueue`).
        if let Err(e) = self.enqueue(id).await {
            tracing::error!(transcription_id = %id, error = %e, "queueing the transcription failed; it is queued again at the next start");
        }
        self.get(Some(new.site_id), id)
            .await?
            .ok_or_else(|| StorageError::Corrupt("transcription vanished".into()))
    }

    /// Queues the job of transcription `id`; once per transcription (later calls are no-ops).
    pub async fn enqueue(&self, id: Uuid) -> Result<bool, StorageError> {
        let opts = super::jobs::PushOptions {
            idempotency_key: Some(format!("transcribe:{id}")),
            delay: None,
            max_attempts: Some(10),
        };
        self.store
            .jobs()
            .push(
                super::jobs::TRANSCRIBE,
                &super::jobs::TranscribeJob {
                    transcription_id: id,
                },
                opts,
            )
            .await
    }

    /// One transcription with its report; `site_id` restricts it to a tenant.
    pub async fn get(
        &self,
        site_id: Option<Uuid>,
        id: Uuid,
    ) -> Result<Option<Transcription>, StorageError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM transcriptions WHERE id = $1 AND ($2 IS NULL OR site_id = $2)"
        );
        let row: Option<Row> = with_pool!(self.store, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(id)
                .bind(site_id)
                .fetch_optional(pool)
                .await?
        });
        row.map(Row::into_transcription).transpose()
    }

    /// Newest first, without reports (fetch one for its report).
    pub async fn list(
        &self,
        site_id: Option<Uuid>,
        f: &TranscriptionFilter,
    ) -> Result<Vec<Transcription>, StorageError> {
        // `->>` reads a JSON field on both backends (SQLite ≥ 3.38 on TEXT, PostgreSQL on JSONB).
        let sql = format!(
            "SELECT {LIST_COLUMNS} FROM transcriptions WHERE ($1 IS NULL OR site_id = $1) AND ($2 IS NULL OR status = $2) \
             AND ($3 IS NULL OR id < $3) AND ($4 IS NULL OR metadata->>'agent_id' = $4) \
             AND ($5 IS NULL OR metadata->>'crm_call_id' = $5) ORDER BY id DESC LIMIT $6"
        );
        let rows: Vec<Row> = with_pool!(self.store, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(site_id)
                .bind(&f.status)
                .bind(f.before)
                .bind(&f.agent_id)
                .bind(&f.crm_call_id)
                .bind(f.limit.unwrap_or(50).clamp(1, 200))
                .fetch_all(pool)
                .await?
        });
        rows.into_iter().map(Row::into_transcription).collect()
    }

    /// Removes the transcription, its audio, checkpoints and report.
    pub async fn delete(&self, site_id: Option<Uuid>, id: Uuid) -> Result<bool, StorageError> {
        let n = with_pool!(self.store, |pool| {
            let mut tx = pool.begin().await?;
            let owned: Option<(Uuid,)> = sqlx::query_as(
                "SELECT id FROM transcriptions WHERE id = $1 AND ($2 IS NULL OR site_id = $2)",
            )
            .bind(id)
            .bind(site_id)
            .fetch_optional(&mut *tx)
            .await?;
            if owned.is_none() {
                return Ok(false);
            }
            sqlx::query("DELETE FROM transcription_chunks WHERE transcription_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM transcription_audio WHERE transcription_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let n = sqlx::query("DELETE FROM transcriptions WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            n
        });
        Ok(n > 0)
    }

    /// The uploaded audio.
    pub async fn audio(&self, id: Uuid) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(with_pool!(self.store, |pool| {
            sqlx::query_scalar("SELECT audio FROM transcription_audio WHERE transcription_id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// A job run begins: `processing`, one more run. False when the transcription is gone or
    /// already finished (nothing to do).
    pub async fn start_run(&self, id: Uuid) -> Result<bool, StorageError> {
        let ts = now();
        let n = with_pool!(self.store, |pool| {
            sqlx::query(
                "UPDATE transcriptions SET status = 'processing', runs = runs + 1, started_at = COALESCE(started_at, $2), updated_at = $2 \
                 WHERE id = $1 AND status IN ('queued', 'processing')",
            )
            .bind(id)
            .bind(ts)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n > 0)
    }

    /// The plan saved by an earlier run.
    pub async fn plan(&self, id: Uuid) -> Result<Option<TranscriptionPlan>, StorageError> {
        let plan: Option<Option<Json<TranscriptionPlan>>> = with_pool!(self.store, |pool| {
            sqlx::query_scalar("SELECT plan FROM transcriptions WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        Ok(plan.flatten().map(|p| p.0))
    }

    pub async fn save_plan(&self, id: Uuid, plan: &TranscriptionPlan) -> Result<(), StorageError> {
        let ts = now();
        with_pool!(self.store, |pool| {
            sqlx::query("UPDATE transcriptions SET plan = $2, duration_ms = $3, chunks_total = $4, updated_at = $5 WHERE id = $1")
                .bind(id)
                .bind(Json(plan))
                .bind(plan.duration_ms as i64)
                .bind(plan.chunks.len() as i64)
                .bind(ts)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(())
    }

    /// Chunks finished by earlier runs (checkpoints).
    pub async fn chunks(&self, id: Uuid) -> Result<Vec<ChunkResult>, StorageError> {
        let rows: Vec<Json<ChunkResult>> = with_pool!(self.store, |pool| {
            sqlx::query_scalar(
                "SELECT result FROM transcription_chunks WHERE transcription_id = $1 ORDER BY idx",
            )
            .bind(id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(|r| r.0).collect())
    }

    /// When each checkpoint was written (index, time): the evidence that a resumed job did not
    /// redo finished chunks.
    pub async fn chunk_times(&self, id: Uuid) -> Result<Vec<(i64, DateTime<Utc>)>, StorageError> {
        Ok(with_pool!(self.store, |pool| {
            sqlx::query_as("SELECT idx, computed_at FROM transcription_chunks WHERE transcription_id = $1 ORDER BY idx")
                .bind(id)
                .fetch_all(pool)
                .await?
        }))
    }

    /// Checkpoints one finished chunk and advances the progress. A chunk already saved is
    /// kept as it was.
    pub async fn save_chunk(&self, id: Uuid, chunk: &ChunkResult) -> Result<(), StorageError> {
        let ts = now();
        with_pool!(self.store, |pool| {
            let mut tx = pool.begin().await?;
            sqlx::query(
                "INSERT INTO transcription_chunks (transcription_id, idx, result, computed_at) VALUES ($1,$2,$3,$4) \
                 ON CONFLICT (transcription_id, idx) DO NOTHING",
            )
            .bind(id)
            .bind(chunk.index as i64)
            .bind(Json(chunk))
            .bind(ts)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE transcriptions SET chunks_done = (SELECT COUNT(*) FROM transcription_chunks WHERE transcription_id = $1), \
                 chunks_computed = chunks_computed + 1, \
                 updated_at = $2 WHERE id = $1",
            )
            .bind(id)
            .bind(ts)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Records how many chunks this run found already finished.
    pub async fn set_resumed(&self, id: Uuid, resumed: usize) -> Result<(), StorageError> {
        with_pool!(self.store, |pool| {
            sqlx::query(
                "UPDATE transcriptions SET chunks_resumed = $2, chunks_done = $2 WHERE id = $1",
            )
            .bind(id)
            .bind(resumed as i64)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    pub async fn complete(&self, id: Uuid, report: &AuditReport) -> Result<(), StorageError> {
        let ts = now();
        with_pool!(self.store, |pool| {
            sqlx::query(
                "UPDATE transcriptions SET status = 'completed', result = $2, error_code = NULL, error_message = NULL, \
                 updated_at = $3, completed_at = $3 WHERE id = $1",
            )
            .bind(id)
            .bind(Json(report))
            .bind(ts)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    pub async fn fail(&self, id: Uuid, code: &str, message: &str) -> Result<(), StorageError> {
        let ts = now();
        with_pool!(self.store, |pool| {
            sqlx::query(
                "UPDATE transcriptions SET status = 'failed', error_code = $2, error_message = $3, updated_at = $4, completed_at = $4 \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(code)
            .bind(message)
            .bind(ts)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(())
    }

    /// Transcriptions not finished (queued or processing), oldest first: what a starting
    /// node checks against the job queue.
    pub async fn unfinished(&self) -> Result<Vec<Uuid>, StorageError> {
        Ok(with_pool!(self.store, |pool| {
            sqlx::query_scalar("SELECT id FROM transcriptions WHERE status IN ('queued', 'processing') ORDER BY id")
                .fetch_all(pool)
                .await?
        }))
    }
}

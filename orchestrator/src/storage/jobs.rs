//! Durable job queues (apalis) in the service's own database: the apalis tables are migrated
//! with ours, and jobs are pushed here so the API can enqueue without knowing the workers.
//! The workers (`vaarta-workers`) consume them.
//!
//! Queue names carry a namespace: `vaarta` on SQLite (one file per deployment), the current
//! schema on PostgreSQL, so deployments (or test schemas) sharing one PostgreSQL database,
//! whose apalis tables live in the shared `apalis` schema, never take each other's jobs.

use std::time::Duration;

use serde::Serialize;

use super::{Backend, StorageError, Store};

/// Transcribes an uploaded recording (`TranscribeJob`).
pub const TRANSCRIBE: &str = "audit.transcribe";
/// Delivers one signed webhook (`WebhookJob`).
pub const WEBHOOK: &str = "webhook.deliver";

/// Re-chunks and re-embeds knowledge-base documents (`kb_jobs::KbReindexJob`).
pub const KB_REINDEX: &str = "kb.reindex";

/// Sends one notification email (`EmailJob`).
pub const EMAIL: &str = "email.send";

/// Payload of [`EMAIL`]: the rendered message, so sending needs nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct EmailJob {
    pub site_id: uuid::Uuid,
    /// `qualified_lead`, `transfer_failed`, `notify:<template>`.
    pub template: String,
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    /// Stable per email (idempotency of every attempt; `X-Vaarta-Email-Id`).
    pub key: String,
    /// 1-based; each retry is a new job with the next attempt number.
    pub attempt: u32,
}

/// Payload of [`TRANSCRIBE`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct TranscribeJob {
    pub transcription_id: uuid::Uuid,
}

/// Payload of [`WEBHOOK`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct WebhookJob {
    pub delivery_id: uuid::Uuid,
    /// 1-based; each retry is a new job with the next attempt number.
    pub attempt: u32,
}

/// Runs the apalis migrations. They keep their own migrations table, so neither migrator
/// mistakes the other's history for missing migrations.
pub(super) async fn migrate(backend: &Backend) -> Result<(), StorageError> {
    match backend {
        Backend::Sqlite(pool) => {
            let mut m = apalis_sqlite::SqliteStorage::<()>::migrations();
            m.dangerous_set_table_name("_apalis_migrations");
            m.run(pool).await?;
        }
        Backend::Postgres(pool) => {
            // apalis needs hstore; install it where every schema sees it (not in a test
            // schema that is dropped later).
            // Two nodes (or tests) starting together may race here; the loser's retry sees it.
            let create = "CREATE EXTENSION IF NOT EXISTS hstore SCHEMA public";
            if sqlx::query(create).execute(pool).await.is_err() {
                tokio::time::sleep(Duration::from_millis(200)).await;
                sqlx::query(create).execute(pool).await?;
            }
            let mut m = apalis_postgres::PostgresStorage::<()>::migrations();
            m.create_schema("apalis");
            m.dangerous_set_table_name("apalis._apalis_migrations");
            m.run(pool).await?;
        }
    }
    Ok(())
}

/// `store.jobs()`.
pub struct JobsRepo<'a> {
    store: &'a Store,
}

/// How a job is pushed.
#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    /// Only one job with this key per queue, ever: pushing it again is a no-op.
    pub idempotency_key: Option<String>,
    /// Run no earlier than this from now (whole seconds).
    pub delay: Option<Duration>,
    /// Attempts before apalis gives up on a failing job (default 5).
    pub max_attempts: Option<usize>,
}

impl<'a> JobsRepo<'a> {
    pub(super) fn new(store: &'a Store) -> Self {
        Self { store }
    }

    /// The full queue name of job kind `kind` in this database.
    pub async fn queue(&self, kind: &str) -> Result<String, StorageError> {
        let ns: String = match self.store.backend() {
            Backend::Sqlite(_) => "vaarta".into(),
            Backend::Postgres(pool) => {
                sqlx::query_scalar("SELECT current_schema()::text")
                    .fetch_one(pool)
                    .await?
            }
        };
        Ok(format!("{ns}::{kind}"))
    }

    /// Pushes one job; `Ok(false)` when its idempotency key was already used.
    pub async fn push<J: Serialize>(
        &self,
        kind: &str,
        job: &J,
        opts: PushOptions,
    ) -> Result<bool, StorageError> {
        let queue = self.queue(kind).await?;
        let args = serde_json::to_vec(job)
            .map_err(|e| StorageError::Corrupt(format!("job payload: {e}")))?;
        let mut b = apalis_core::task::builder::TaskBuilder::new(args)
            .max_attempts(opts.max_attempts.unwrap_or(5));
        if let Some(k) = &opts.idempotency_key {
            b = b.idempotency_key(k);
        }
        if let Some(d) = opts.delay {
            b = b.run_after(d);
        }
        let task = b.build();
        match self.store.backend() {
            Backend::Sqlite(pool) => {
                let mut conn = pool.acquire().await?;
                let before = self
                    .count_key(&queue, opts.idempotency_key.as_deref())
                    .await?;
                if before > 0 {
                    return Ok(false);
                }
                apalis_sqlite::queries::push_tasks(&mut *conn, &queue, &[task])
                    .await
                    .map_err(apalis_err)?;
                Ok(true)
            }
            Backend::Postgres(pool) => {
                let mut conn = pool.acquire().await?;
                match apalis_postgres::queries::push_tasks(&mut *conn, &queue, vec![task]).await {
                    Ok(()) => Ok(true),
                    Err(apalis_postgres::Error::Database(sqlx::Error::Database(e)))
                        if e.is_unique_violation() =>
                    {
                        Ok(false)
                    }
                    Err(e) => Err(apalis_err(e)),
                }
            }
        }
    }

    async fn count_key(&self, queue: &str, key: Option<&str>) -> Result<i64, StorageError> {
        let Some(key) = key else { return Ok(0) };
        Ok(match self.store.backend() {
            Backend::Sqlite(pool) => {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM Jobs WHERE job_type = $1 AND idempotency_key = $2",
                )
                .bind(queue)
                .bind(key)
                .fetch_one(pool)
                .await?
            }
            Backend::Postgres(pool) => {
                sqlx::query_scalar(
                    "SELECT COUNT(*) FROM apalis.jobs WHERE job_type = $1 AND idempotency_key = $2",
                )
                .bind(queue)
                .bind(key)
                .fetch_one(pool)
                .await?
            }
        })
    }

    /// Jobs of `kind` by status (`Pending`, `Queued`, `Running`, `Done`, `Failed`, `Killed`):
    /// queue depth for metrics and for tests that check nothing is left behind.
    pub async fn counts(&self, kind: &str) -> Result<Vec<(String, i64)>, StorageError> {
        let queue = self.queue(kind).await?;
        Ok(match self.store.backend() {
            Backend::Sqlite(pool) => {
                sqlx::query_as("SELECT status, COUNT(*) FROM Jobs WHERE job_type = $1 GROUP BY status ORDER BY status")
                    .bind(&queue)
                    .fetch_all(pool)
                    .await?
            }
            Backend::Postgres(pool) => {
                sqlx::query_as("SELECT status, COUNT(*) FROM apalis.jobs WHERE job_type = $1 GROUP BY status ORDER BY status")
                    .bind(&queue)
                    .fetch_all(pool)
                    .await?
            }
        })
    }
}

fn apalis_err(e: impl std::fmt::Display) -> StorageError {
    StorageError::Corrupt(format!("job queue: {e}"))
}

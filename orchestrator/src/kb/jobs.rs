//! Background indexing: the `kb.reindex` job re-chunks and re-embeds documents from their
//! stored content (after an embedding-model change, or for uploads queued instead of indexed
//! in the request), recording progress in `kb_jobs` for the API.

use uuid::Uuid;

use super::{KbError, KnowledgeBase, ingest};
use crate::storage::kb_jobs::KbJobStatus;

/// What indexing one stored document came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Indexed {
    /// Its chunks were replaced.
    Ready(usize),
    /// Deleted, or changed while it was embedded (the write that changed it indexes it).
    Skipped,
    /// Its content cannot be indexed; the document is marked `failed` with this reason.
    Failed(String),
}

impl KnowledgeBase {
    /// Re-chunks and re-embeds one stored document, unless it changed meanwhile.
    pub async fn reindex_document(&self, site_id: Uuid, id: Uuid) -> Result<Indexed, KbError> {
        let repo = self.store.kb();
        let Some(src) = repo.source(site_id, id).await? else {
            return Ok(Indexed::Skipped);
        };
        let chunks = match ingest::chunks(src.kind, &src.content) {
            Ok(c) => c,
            Err(e) => {
                repo.fail(site_id, id, src.revision, &e.to_string()).await?;
                return Ok(Indexed::Failed(e.to_string()));
            }
        };
        let vectors = self.embed(chunks.clone()).await?;
        let rows: Vec<(String, Vec<f32>)> = chunks.into_iter().zip(vectors).collect();
        let n = rows.len();
        let stored = repo
            .replace_chunks(site_id, id, src.revision, &rows)
            .await?;
        self.invalidate(site_id);
        Ok(if stored {
            Indexed::Ready(n)
        } else {
            Indexed::Skipped
        })
    }

    /// Runs (or, after a crash, runs again from the start — each document is idempotent) the
    /// indexing job `job_id`. Storage errors are returned so the queue retries; a broken
    /// embedding model fails the job at once (retrying cannot help).
    pub async fn run_job(&self, job_id: Uuid) -> Result<(), KbError> {
        let jobs = self.store.kb_jobs();
        let Some(job) = jobs.get(None, job_id).await? else {
            return Ok(());
        };
        if matches!(job.status, KbJobStatus::Done | KbJobStatus::Failed) {
            return Ok(());
        }
        let ids = match &job.document_ids {
            Some(ids) => ids.clone(),
            None => self.store.kb().ids(job.site_id).await?,
        };
        if !jobs.start(job_id, ids.len()).await? {
            return Ok(());
        }
        let started = std::time::Instant::now();
        let (mut done, mut failed, mut passages) = (0, 0, 0);
        for id in ids {
            match self.reindex_document(job.site_id, id).await {
                Ok(Indexed::Ready(n)) => passages += n,
                Ok(Indexed::Skipped) => {}
                Ok(Indexed::Failed(_)) => failed += 1,
                Err(KbError::Embed(e)) => {
                    tracing::error!(%job_id, error = %e, "KB indexing job failed: the embedding model");
                    jobs.finish(
                        job_id,
                        KbJobStatus::Failed,
                        Some(&format!("embedding failed: {e}")),
                    )
                    .await?;
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
            done += 1;
            jobs.progress(job_id, done, failed).await?;
        }
        let error = (failed > 0).then(|| {
            format!("{failed} document(s) could not be indexed; see each document's `error`")
        });
        jobs.finish(job_id, KbJobStatus::Done, error.as_deref())
            .await?;
        tracing::info!(%job_id, site_id = %job.site_id, documents = done, failed, passages, ms = started.elapsed().as_millis() as u64, "KB indexing job done");
        Ok(())
    }
}

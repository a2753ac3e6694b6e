//! The audit transcription job: decode the stored recording, plan VAD chunks (saved with the
//! job), transcribe each chunk on the shared STT pool and checkpoint it, then assemble the
//! report with the site's QA checklist and queue the callback. A run after a crash or restart
//! loads the saved plan and the finished chunks and only transcribes the rest.

use std::sync::Arc;
use std::time::Duration;

use tracing::{info, warn};
use uuid::Uuid;
use vaarta_orchestrator::audit::{AuditReport, Transcription, checklist};
use vaarta_orchestrator::storage::jobs::TranscribeJob;
use vaarta_orchestrator::{StorageError, Store};
use vaarta_speech::decode::decode_bytes;
use vaarta_speech::file_transcribe::{self as ft, FileTranscribeConfig, FileTranscribeError};
use vaarta_speech::onnx::OnnxRuntimeConfig;
use vaarta_speech::stt::SttPool;

/// What the job needs.
#[derive(Clone)]
pub struct TranscribeDeps {
    pub store: Store,
    pub stt: Arc<SttPool>,
    pub onnx: OnnxRuntimeConfig,
    pub config: FileTranscribeConfig,
    /// How long one chunk may wait for the STT pool.
    pub chunk_wait: Duration,
}

/// Failures that make apalis run the job again (the next run resumes from checkpoints).
/// Problems with the file itself end the transcription as `failed` instead.
#[derive(Debug, thiserror::Error)]
pub enum TranscribeJobError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("speech engines: {0}")]
    Engines(String),
}

/// Runs (or resumes) one transcription.
#[tracing::instrument(skip_all, fields(transcription_id = %job.transcription_id, site_id))]
pub async fn run(job: TranscribeJob, deps: &TranscribeDeps) -> Result<(), TranscribeJobError> {
    let id = job.transcription_id;
    let repo = deps.store.transcriptions();
    let Some(t) = repo.get(None, id).await? else {
        return Ok(());
    };
    tracing::Span::current().record("site_id", tracing::field::display(t.site_id));
    if !repo.start_run(id).await? {
        return Ok(());
    }
    let Some(bytes) = repo.audio(id).await? else {
        return Ok(());
    };
    let mut config = deps.config.clone();
    if let Some(m) = t.metadata.channel_mapping {
        config.channel_mapping = m;
    }
    if t.metadata.language.is_some() {
        config.language = t.metadata.language.clone();
    }
    let config = Arc::new(config);
    let started = std::time::Instant::now();

    let decode_cfg = config.decode.clone();
    let audio = match tokio::task::spawn_blocking(move || decode_bytes(bytes, &decode_cfg)).await {
        Ok(Ok(a)) => Arc::new(a),
        Ok(Err(e)) if e.is_bad_input() => {
            return finish_failed(deps, &t, e.code(), &e.to_string()).await;
        }
        Ok(Err(e)) => return Err(TranscribeJobError::Engines(e.to_string())),
        Err(e) => {
            return Err(TranscribeJobError::Engines(format!(
                "decoder panicked: {e}"
            )));
        }
    };

    let plan = match repo.plan(id).await? {
        Some(p) => p,
        None => {
            let (audio2, onnx, cfg) = (audio.clone(), deps.onnx.clone(), config.clone());
            let planned = tokio::task::spawn_blocking(move || -> Result<_, FileTranscribeError> {
                let mut vad = ft::open_vad(&onnx, &cfg)?;
                ft::plan(&audio2, &mut vad, &cfg)
            })
            .await
            .map_err(|e| TranscribeJobError::Engines(format!("VAD panicked: {e}")))?
            .map_err(|e| TranscribeJobError::Engines(e.to_string()))?;
            repo.save_plan(id, &planned).await?;
            planned
        }
    };

    let mut done = repo.chunks(id).await?;
    repo.set_resumed(id, done.len()).await?;
    if !done.is_empty() {
        info!(
            resumed = done.len(),
            total = plan.chunks.len(),
            "resuming from checkpoints"
        );
    }
    let finished: std::collections::HashSet<usize> = done.iter().map(|c| c.index).collect();
    for chunk in plan.chunks.iter().filter(|c| !finished.contains(&c.index)) {
        // Deleted while running: stop quietly.
        if repo.get(None, id).await?.is_none() {
            return Ok(());
        }
        let result = ft::transcribe_chunk_pooled(
            &deps.stt,
            audio.clone(),
            chunk.clone(),
            config.clone(),
            deps.chunk_wait,
        )
        .await
        .map_err(|e| TranscribeJobError::Engines(e.to_string()))?;
        repo.save_chunk(id, &result).await?;
        metrics::counter!("vaarta_audit_chunks_total").increment(1);
        done.push(result);
    }
    done.sort_by_key(|c| c.index);

    let transcript = ft::assemble(&plan, &done);
    let site = deps.store.sites().get(t.site_id).await?;
    let checks = site
        .as_ref()
        .map(|s| s.settings.audit.checklist.clone())
        .unwrap_or_default();
    let qa = checklist::evaluate(&checks, &transcript.segments);
    let lines: Vec<(String, String)> = transcript
        .segments
        .iter()
        .map(|s| (s.speaker.clone(), s.text.clone()))
        .collect();
    let summary = match vaarta_orchestrator::audit::summary::summarise(
        site.as_ref().and_then(|s| s.settings.brain.as_ref()),
        &lines,
    )
    .await
    {
        Ok(s) => s,
        Err(e) => {
            warn!(error = %e, "the site's LLM gave no summary; the report goes without one");
            None
        }
    };
    let report = AuditReport {
        transcript,
        qa,
        summary,
    };
    repo.complete(id, &report).await?;
    let audio_s = plan.duration_ms as f64 / 1000.0;
    let wall_s = started.elapsed().as_secs_f64();
    info!(
        audio_s,
        wall_s,
        chunks = plan.chunks.len(),
        "transcription completed"
    );
    metrics::histogram!("vaarta_audit_realtime_factor").record(wall_s / audio_s.max(0.001));
    callback(deps, id, "transcription.completed").await
}

async fn finish_failed(
    deps: &TranscribeDeps,
    t: &Transcription,
    code: &str,
    message: &str,
) -> Result<(), TranscribeJobError> {
    warn!(code, message, "transcription failed");
    deps.store
        .transcriptions()
        .fail(t.id, code, message)
        .await?;
    callback(deps, t.id, "transcription.failed").await
}

/// Queues the callback (if the CRM gave a URL) with the transcription as it now stands.
async fn callback(deps: &TranscribeDeps, id: Uuid, kind: &str) -> Result<(), TranscribeJobError> {
    let Some(t) = deps.store.transcriptions().get(None, id).await? else {
        return Ok(());
    };
    let Some(url) = t.metadata.callback_url.clone() else {
        return Ok(());
    };
    let payload = serde_json::json!({ "event": kind, "transcription": t });
    deps.store
        .webhooks()
        .enqueue(t.site_id, kind, t.id, &url, &payload)
        .await?;
    Ok(())
}

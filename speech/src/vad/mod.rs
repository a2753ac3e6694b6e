//! Voice activity detection: Silero VAD (ONNX) for speech probabilities, a sans-IO endpointer
//! that turns probabilities into speech start/end events, and a streaming wrapper that accepts
//! telephone-sized frames.

mod config;
mod endpoint;
mod model;
mod stream;

pub use config::VadConfig;
pub use endpoint::{Endpointer, EndpointerConfig, VadEvent};
pub use model::{SileroVad, VadRate};
pub use stream::VadStream;

use crate::onnx::OnnxError;

/// Errors from the VAD.
#[derive(Debug, thiserror::Error)]
pub enum VadError {
    #[error(transparent)]
    Onnx(#[from] OnnxError),
    #[error("Silero VAD supports 8000 and 16000 Hz, not {0} Hz")]
    UnsupportedRate(u32),
    #[error("VAD chunk must be {expected} samples at this rate, got {got}")]
    ChunkSize { expected: usize, got: usize },
    #[error("VAD model output is malformed: {0}")]
    BadOutput(String),
}

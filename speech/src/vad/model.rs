//! Silero VAD through ONNX Runtime, keeping the recurrent state and the audio context window
//! between chunks as the reference implementation does (without the context, 8 kHz degrades badly).

use std::path::Path;

use ort::session::Session;
use ort::value::Tensor;

use super::VadError;
use crate::onnx::{self, OnnxRuntimeConfig, SessionOptions};

/// The two rates Silero VAD is trained for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VadRate {
    Hz8000,
    Hz16000,
}

impl VadRate {
    pub fn from_hz(hz: u32) -> Result<Self, VadError> {
        match hz {
            8000 => Ok(Self::Hz8000),
            16000 => Ok(Self::Hz16000),
            other => Err(VadError::UnsupportedRate(other)),
        }
    }
    pub fn hz(self) -> u32 {
        match self {
            Self::Hz8000 => 8000,
            Self::Hz16000 => 16000,
        }
    }
    /// Samples the model consumes per step (32 ms).
    pub fn chunk_len(self) -> usize {
        match self {
            Self::Hz8000 => 256,
            Self::Hz16000 => 512,
        }
    }
    /// Trailing samples of the previous step prepended to each chunk.
    pub fn context_len(self) -> usize {
        match self {
            Self::Hz8000 => 32,
            Self::Hz16000 => 64,
        }
    }
}

const STATE_LEN: usize = 2 * 128;

/// One Silero VAD stream (one call leg): model session plus its per-stream state.
pub struct SileroVad {
    session: Session,
    rate: VadRate,
    state: Vec<f32>,
    context: Vec<f32>,
    input: Vec<f32>,
}

impl SileroVad {
    /// Opens the model for a stream at `rate`.
    pub fn open(
        runtime: &OnnxRuntimeConfig,
        model: &Path,
        rate: VadRate,
        threads: usize,
    ) -> Result<Self, VadError> {
        let session = onnx::open_session(
            runtime,
            model,
            SessionOptions {
                intra_threads: threads,
                device: runtime.device,
            },
        )?;
        let mut vad = Self {
            session,
            rate,
            state: Vec::new(),
            context: Vec::new(),
            input: Vec::new(),
        };
        vad.reset();
        Ok(vad)
    }

    pub fn rate(&self) -> VadRate {
        self.rate
    }

    /// Forgets the stream (new call or after a long pause).
    pub fn reset(&mut self) {
        self.state = vec![0.0; STATE_LEN];
        self.context = vec![0.0; self.rate.context_len()];
    }

    /// Speech probability of one chunk of exactly `rate.chunk_len()` samples in [-1, 1].
    pub fn predict(&mut self, chunk: &[f32]) -> Result<f32, VadError> {
        let n = self.rate.chunk_len();
        if chunk.len() != n {
            return Err(VadError::ChunkSize {
                expected: n,
                got: chunk.len(),
            });
        }
        self.input.clear();
        self.input.extend_from_slice(&self.context);
        self.input.extend_from_slice(chunk);
        let width = self.input.len();
        let input = Tensor::from_array(([1usize, width], self.input.clone())).map_err(onnx_err)?;
        let state = Tensor::from_array(([2usize, 1, 128], self.state.clone())).map_err(onnx_err)?;
        let sr = Tensor::from_array(((), vec![self.rate.hz() as i64])).map_err(onnx_err)?;
        let outputs = self
            .session
            .run(ort::inputs!["input" => input, "state" => state, "sr" => sr])
            .map_err(onnx_err)?;
        let (_, prob) = outputs["output"]
            .try_extract_tensor::<f32>()
            .map_err(onnx_err)?;
        let prob = *prob
            .first()
            .ok_or_else(|| VadError::BadOutput("empty output".into()))?;
        let (_, new_state) = outputs["stateN"]
            .try_extract_tensor::<f32>()
            .map_err(onnx_err)?;
        if new_state.len() != STATE_LEN {
            return Err(VadError::BadOutput(format!(
                "state has {} values",
                new_state.len()
            )));
        }
        self.state.copy_from_slice(new_state);
        let ctx = self.rate.context_len();
        self.context.copy_from_slice(&chunk[n - ctx..]);
        Ok(prob)
    }
}

fn onnx_err(e: impl Into<ort::Error>) -> VadError {
    VadError::Onnx(e.into().into())
}

//! Smart Turn v3.2 through ONNX Runtime: 16 kHz audio → Whisper features → P(turn complete).
//! One session per caller stream (or a small pool): a run takes ~0.1–0.2 s on one core (measured
//! 110–200 ms in a debug build on a loaded 2-core machine), so the shell runs it off the audio
//! thread.

use std::path::Path;

use ort::session::Session;
use ort::value::Tensor;

use super::features::{MelExtractor, N_FRAMES, N_MELS};
use crate::onnx::{self, OnnxError, OnnxRuntimeConfig, SessionOptions};

const INPUT: &str = "input_features";

/// Errors loading or running Smart Turn. Any of them means "decide on silence" for the caller.
#[derive(Debug, thiserror::Error)]
pub enum TurnModelError {
    #[error(transparent)]
    Onnx(#[from] OnnxError),
    #[error("{0} is not a Smart Turn v3 model: no `input_features` input")]
    NotSmartTurn(std::path::PathBuf),
    #[error("Smart Turn output is malformed: {0}")]
    BadOutput(String),
}

/// A loaded Smart Turn model.
pub struct SmartTurn {
    session: Session,
    features: MelExtractor,
}

impl SmartTurn {
    /// Opens the model at `path` on the process's ONNX Runtime with `threads` intra-op threads.
    pub fn load(
        runtime: &OnnxRuntimeConfig,
        path: &Path,
        threads: usize,
    ) -> Result<Self, TurnModelError> {
        let session = onnx::open_session(
            runtime,
            path,
            SessionOptions {
                intra_threads: threads,
                device: runtime.device,
            },
        )?;
        if !session.inputs().iter().any(|i| i.name() == INPUT) {
            return Err(TurnModelError::NotSmartTurn(path.to_path_buf()));
        }
        Ok(Self {
            session,
            features: MelExtractor::new(),
        })
    }

    /// P(the turn is complete) for a turn's audio: 16 kHz mono in [-1, 1], ending where the
    /// caller went silent (plus the short silence). Only the last 8 s are used.
    pub fn predict(&mut self, audio_16k: &[f32]) -> Result<f32, TurnModelError> {
        let features = self.features.compute(audio_16k);
        let input = Tensor::from_array(([1usize, N_MELS, N_FRAMES], features)).map_err(ort_err)?;
        let outputs = self
            .session
            .run(ort::inputs![INPUT => input])
            .map_err(ort_err)?;
        let (_, p) = outputs[0].try_extract_tensor::<f32>().map_err(ort_err)?;
        let p = *p
            .first()
            .ok_or_else(|| TurnModelError::BadOutput("empty output".into()))?;
        if !(0.0..=1.0).contains(&p) {
            return Err(TurnModelError::BadOutput(format!("probability {p}")));
        }
        Ok(p)
    }
}

fn ort_err(e: impl Into<ort::Error>) -> TurnModelError {
    TurnModelError::Onnx(OnnxError::Ort(e.into()))
}

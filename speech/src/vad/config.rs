use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::onnx::default_models_dir;

/// `[speech.vad]`: the Silero model and the endpointing thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VadConfig {
    /// Silero VAD ONNX file. Default: `<models>/vad/silero_vad.onnx`.
    pub model: PathBuf,
    /// Probability at or above which speech starts (and a pending end is cancelled).
    pub start_threshold: f32,
    /// Probability below which speech may end; between the two thresholds nothing changes
    /// (hysteresis keeps a dip in the middle of a word from ending the turn).
    pub end_threshold: f32,
    /// Speech shorter than this (ms) is ignored (clicks, coughs).
    pub min_speech_ms: u32,
    /// Silence must last this long (ms) before speech ends.
    pub min_silence_ms: u32,
    /// Reported bounds are widened by this much (ms) on each side.
    pub speech_pad_ms: u32,
    /// ONNX intra-op threads for the VAD session.
    pub threads: usize,
}

impl Default for VadConfig {
    fn default() -> Self {
        Self {
            model: default_models_dir().join("vad").join("silero_vad.onnx"),
            start_threshold: 0.5,
            end_threshold: 0.35,
            min_speech_ms: 250,
            min_silence_ms: 300,
            speech_pad_ms: 30,
            threads: 1,
        }
    }
}

//! A Piper VITS voice: its `.onnx.json` settings, phoneme → id mapping and ONNX inference.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use ort::session::Session;
use ort::value::Tensor;
use serde::Deserialize;

use super::TtsError;
use super::espeak::Clause;
use crate::onnx::{self, OnnxRuntimeConfig, SessionOptions};

/// The parts of a Piper `.onnx.json` that synthesis needs.
#[derive(Debug, Clone, Deserialize)]
pub struct PiperVoiceConfig {
    pub audio: AudioSettings,
    pub espeak: EspeakSettings,
    pub inference: InferenceSettings,
    pub phoneme_id_map: HashMap<String, Vec<i64>>,
    #[serde(default)]
    pub num_speakers: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AudioSettings {
    pub sample_rate: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EspeakSettings {
    pub voice: String,
}

#[derive(Debug, Clone, Copy, Deserialize)]
pub struct InferenceSettings {
    pub noise_scale: f32,
    pub length_scale: f32,
    pub noise_w: f32,
}

const PAD: &str = "_";
const BOS: &str = "^";
const EOS: &str = "$";

/// A loaded Piper voice.
pub struct PiperVoice {
    pub path: PathBuf,
    pub config: PiperVoiceConfig,
    session: Session,
    has_speaker_input: bool,
}

impl PiperVoice {
    /// Loads `voice.onnx` and `voice.onnx.json`.
    pub fn load(
        runtime: &OnnxRuntimeConfig,
        model: &Path,
        threads: usize,
    ) -> Result<Self, TtsError> {
        let json_path = PathBuf::from(format!("{}.json", model.display()));
        let json = std::fs::read_to_string(&json_path).map_err(|e| TtsError::VoiceConfig {
            path: json_path.clone(),
            message: format!(
                "{e} (run scripts/install-models, or put the .onnx.json next to the voice)"
            ),
        })?;
        let config: PiperVoiceConfig =
            serde_json::from_str(&json).map_err(|e| TtsError::VoiceConfig {
                path: json_path.clone(),
                message: e.to_string(),
            })?;
        for key in [PAD, BOS, EOS] {
            if !config.phoneme_id_map.contains_key(key) {
                return Err(TtsError::VoiceConfig {
                    path: json_path,
                    message: format!("phoneme_id_map lacks {key:?}"),
                });
            }
        }
        let session = onnx::open_session(
            runtime,
            model,
            SessionOptions {
                intra_threads: threads,
                device: runtime.device,
            },
        )?;
        let has_speaker_input = session.inputs().iter().any(|i| i.name() == "sid");
        Ok(Self {
            path: model.to_path_buf(),
            config,
            session,
            has_speaker_input,
        })
    }

    pub fn sample_rate(&self) -> u32 {
        self.config.audio.sample_rate
    }

    /// Phoneme ids as Piper builds them: BOS, then each phoneme followed by PAD, then EOS.
    /// Phonemes the voice does not know are skipped.
    pub fn phoneme_ids(&self, clauses: &[Clause]) -> Vec<i64> {
        let map = &self.config.phoneme_id_map;
        let pad = map[PAD].clone();
        let mut ids = map[BOS].clone();
        ids.extend(&pad);
        let push = |c: char, ids: &mut Vec<i64>| {
            if let Some(id) = map.get(c.encode_utf8(&mut [0; 4]) as &str) {
                ids.extend(id);
                ids.extend(&pad);
            }
        };
        for (i, clause) in clauses.iter().enumerate() {
            if i > 0 && !clause.phonemes.is_empty() {
                push(' ', &mut ids);
            }
            for c in clause.phonemes.chars() {
                push(c, &mut ids);
            }
            if let Some(t) = clause.terminator {
                push(t, &mut ids);
            }
        }
        ids.extend(&map[EOS]);
        ids
    }

    /// Runs the VITS model on phoneme ids; returns audio at [`Self::sample_rate`].
    pub fn infer(&mut self, ids: &[i64]) -> Result<Vec<f32>, TtsError> {
        let s = self.config.inference;
        let n = ids.len();
        let input = Tensor::from_array(([1usize, n], ids.to_vec())).map_err(ort_err)?;
        let lengths = Tensor::from_array(([1usize], vec![n as i64])).map_err(ort_err)?;
        let scales = Tensor::from_array(([3usize], vec![s.noise_scale, s.length_scale, s.noise_w]))
            .map_err(ort_err)?;
        let outputs = if self.has_speaker_input {
            let sid = Tensor::from_array(([1usize], vec![0i64])).map_err(ort_err)?;
            self.session.run(ort::inputs!["input" => input, "input_lengths" => lengths, "scales" => scales, "sid" => sid])
        } else {
            self.session.run(ort::inputs!["input" => input, "input_lengths" => lengths, "scales" => scales])
        }
        .map_err(ort_err)?;
        let (_, audio) = outputs[0].try_extract_tensor::<f32>().map_err(ort_err)?;
        Ok(audio.to_vec())
    }
}

fn ort_err(e: impl Into<ort::Error>) -> TtsError {
    TtsError::Onnx(crate::onnx::OnnxError::Ort(e.into()))
}

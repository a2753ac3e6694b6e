//! Typed configuration of the speech-to-text side (the app's `[speech.stt]` section).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::pool::PoolConfig;

/// Speech-to-text settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SttConfig {
    /// Root of the installed models (`scripts/install-models` fills `<dir>/whisper/...`).
    pub models_dir: PathBuf,
    /// Which Whisper model: a name under `<models_dir>/whisper/` (`tiny.en`, `base`), or a
    /// path to a CT2 model directory (converted once to `ggml-model.bin` next to it) or to a
    /// whisper.cpp GGML file (e.g. a user's own `ggml-large-v3-turbo.bin`).
    pub model: String,
    /// CPU threads per transcription. On a loaded 2-core host 1 beats 2.
    pub threads: usize,
    /// How much of Whisper's 30 s encoder window to run for short utterances.
    pub audio_ctx: AudioCtxPolicy,
    /// Fixed language code (`en`, `hi`...), or `None` to detect it per utterance.
    pub language: Option<String>,
    /// When detecting: the languages callers are expected to speak. A detection outside
    /// this set (e.g. Hindi heard as Urdu) is re-decided among them. Empty = any language.
    pub detect_languages: Vec<String>,
    /// Run on the GPU when built with the `cuda` feature.
    pub use_gpu: bool,
    /// Partial (interim) results while the caller is still speaking.
    pub partial: PartialConfig,
    /// Workers, queue and latency budget of the STT engine pool.
    pub pool: PoolConfig,
}

impl Default for SttConfig {
    fn default() -> Self {
        Self {
            models_dir: PathBuf::from("models"),
            model: "tiny.en".into(),
            threads: 1,
            audio_ctx: AudioCtxPolicy::default(),
            language: None,
            detect_languages: vec!["hi".into(), "en".into(), "pa".into()],
            use_gpu: false,
            partial: PartialConfig::default(),
            pool: PoolConfig::default(),
        }
    }
}

impl SttConfig {
    /// The model path this config points at (name under `models_dir/whisper`, or a path).
    pub fn model_path(&self) -> PathBuf {
        let p = Path::new(&self.model);
        if p.is_absolute() || self.model.contains('/') {
            p.to_path_buf()
        } else {
            self.models_dir.join("whisper").join(&self.model)
        }
    }
}

/// Encoder context policy. Whisper always encodes 30 s; a short utterance padded to 30 s
/// wastes most of that work, so `Reduced` encodes only the audio plus a margin.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "mode")]
pub enum AudioCtxPolicy {
    /// Always the model's full context (1500 frames = 30 s).
    Full,
    /// Audio frames (50 per second) + `margin_frames`, rounded up to 64, at least `min_frames`.
    Reduced { margin_frames: u32, min_frames: u32 },
}

impl Default for AudioCtxPolicy {
    fn default() -> Self {
        Self::Reduced {
            margin_frames: 64,
            min_frames: 256,
        }
    }
}

impl AudioCtxPolicy {
    /// The `audio_ctx` to pass to whisper.cpp for `n_samples` of 16 kHz audio
    /// (0 = the model's full context).
    pub fn frames_for(&self, n_samples: usize, model_ctx: u32) -> u32 {
        match *self {
            Self::Full => 0,
            Self::Reduced {
                margin_frames,
                min_frames,
            } => {
                let audio = n_samples.div_ceil(320) as u32; // 16 kHz / 50 frames per second
                let want = (audio + margin_frames).div_ceil(64) * 64;
                let want = want.max(min_frames);
                if want >= model_ctx { 0 } else { want }
            }
        }
    }
}

/// When to re-transcribe the growing utterance for partial results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PartialConfig {
    /// Off: only final results.
    pub enabled: bool,
    /// New audio (ms) between two partial transcriptions.
    pub interval_ms: u32,
    /// No partial before this much speech (ms).
    pub min_audio_ms: u32,
}

impl Default for PartialConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            interval_ms: 800,
            min_audio_ms: 600,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduced_ctx_covers_the_audio_with_margin() {
        let p = AudioCtxPolicy::Reduced {
            margin_frames: 64,
            min_frames: 256,
        };
        assert_eq!(p.frames_for(16_000, 1500), 256); // 1 s = 50 frames -> minimum
        assert_eq!(p.frames_for(16_000 * 5, 1500), 320); // 250 + 64 -> 320
        assert_eq!(p.frames_for(16_000 * 29, 1500), 0); // near 30 s -> full
        assert_eq!(AudioCtxPolicy::Full.frames_for(16_000, 1500), 0);
    }

    #[test]
    fn config_parses_from_toml_like_json_with_defaults() {
        let c: SttConfig =
            serde_json::from_str(r#"{"model":"base","threads":2,"audio_ctx":{"mode":"full"}}"#)
                .unwrap();
        assert_eq!(c.model, "base");
        assert_eq!(c.audio_ctx, AudioCtxPolicy::Full);
        assert_eq!(c.model_path(), PathBuf::from("models/whisper/base"));
        assert!(serde_json::from_str::<SttConfig>(r#"{"modle":"x"}"#).is_err());
        let abs = SttConfig {
            model: "/opt/ggml-large-v3.bin".into(),
            ..Default::default()
        };
        assert_eq!(abs.model_path(), PathBuf::from("/opt/ggml-large-v3.bin"));
    }
}

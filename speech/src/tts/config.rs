use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::onnx::default_models_dir;

/// `[speech.tts]`: which voice speaks which language. A language is spoken by its Piper voice
/// if it has one, else by its Kokoro voice, else by espeak-ng.
///
/// ```toml
/// [speech.tts.voices]
/// en = "models/piper/en_US-joe-medium.onnx"   # Piper voice; its .onnx.json sits next to it
/// hi = "/srv/voices/hi_IN-pratham-medium.onnx" # any Piper voice you have
///
/// [speech.tts.kokoro.voices]                   # Kokoro voices (models/kokoro/voices/*.bin)
/// hi = "hf_alpha"
/// pa = "hf_alpha"
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TtsConfig {
    /// Language code (`en`, `hi`, `pa`, `en-IN`…) → Piper voice `.onnx` (config `.onnx.json`
    /// next to it). A lookup tries the full code, then its primary subtag (`en-IN` → `en`).
    pub voices: BTreeMap<String, PathBuf>,
    /// Language code → espeak-ng voice used when no Piper voice is configured for it (robotic,
    /// logged as a warning on each use).
    pub espeak_fallback: BTreeMap<String, String>,
    /// espeak-ng data folder; default: the system one (`espeak-ng-data` package).
    pub espeak_data: Option<PathBuf>,
    /// ONNX intra-op threads per voice session.
    pub threads: usize,
    /// Rewrite numbers, ₹ amounts, phone numbers, dates and times as words before speaking.
    pub normalize: bool,
    /// Longest text accepted in one request (characters); longer text is an error, not a hang.
    pub max_chars: usize,
    /// `[speech.tts.kokoro]`: the Kokoro model and its voice per language.
    pub kokoro: KokoroConfig,
}

/// `[speech.tts.kokoro]`: Kokoro v1.0 (int8 ONNX, 24 kHz), installed by
/// `scripts/install-models` under `<models>/kokoro/`. By default it speaks Hindi and Punjabi
/// (Punjabi phonemised by espeak-ng `pa`, in the Hindi voice); English stays on Piper unless
/// `en` is mapped here and has no Piper voice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct KokoroConfig {
    /// Unset: used when the model file exists (a bare checkout falls back to espeak-ng);
    /// `true`: required, a missing file is an error at start; `false`: never used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `kokoro-v1.0.int8.onnx`.
    pub model: PathBuf,
    /// `vocab.json`: phoneme symbol → token id.
    pub vocab: PathBuf,
    /// Folder of voice style files, `<name>.bin`.
    pub voices_dir: PathBuf,
    /// Language code → voice name (`hf_alpha`, `hm_omega`, `af_heart`…).
    pub voices: BTreeMap<String, String>,
    /// Speaking rate, 1.0 = the voice's own (0.5–2.0).
    pub speed: f32,
}

impl KokoroConfig {
    /// The file paths, for relocating a models folder.
    pub fn paths_mut(&mut self) -> [&mut PathBuf; 3] {
        [&mut self.model, &mut self.vocab, &mut self.voices_dir]
    }
}

impl Default for KokoroConfig {
    fn default() -> Self {
        let dir = default_models_dir().join("kokoro");
        Self {
            enabled: None,
            model: dir.join("kokoro-v1.0.int8.onnx"),
            vocab: dir.join("vocab.json"),
            voices_dir: dir.join("voices"),
            voices: [("hi", "hf_alpha"), ("pa", "hf_alpha")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            speed: 1.0,
        }
    }
}

impl Default for TtsConfig {
    fn default() -> Self {
        let mut voices = BTreeMap::new();
        voices.insert(
            "en".to_string(),
            default_models_dir()
                .join("piper")
                .join("en_US-joe-medium.onnx"),
        );
        let espeak_fallback = [("en", "en-us"), ("hi", "hi"), ("pa", "pa")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Self {
            voices,
            espeak_fallback,
            espeak_data: None,
            threads: 1,
            normalize: true,
            max_chars: 20_000,
            kokoro: KokoroConfig::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onnx::OnnxRuntimeConfig;
    use crate::vad::VadConfig;

    #[test]
    fn partial_config_sections_fill_in_defaults_and_reject_typos() {
        let tts: TtsConfig =
            serde_json::from_str(r#"{"voices": {"hi": "/srv/hi_IN-x.onnx"}, "threads": 2}"#)
                .unwrap();
        assert_eq!(tts.voices.len(), 1);
        assert_eq!(tts.threads, 2);
        assert_eq!(tts.espeak_fallback["pa"], "pa");
        assert!(tts.normalize);
        assert!(serde_json::from_str::<TtsConfig>(r#"{"voice": {}}"#).is_err());
        assert_eq!(tts.kokoro.voices["hi"], "hf_alpha");
        assert_eq!(tts.kokoro.enabled, None);
        assert!(tts.kokoro.model.ends_with("kokoro/kokoro-v1.0.int8.onnx"));
        let k: TtsConfig = serde_json::from_str(
            r#"{"kokoro": {"enabled": true, "voices": {"en": "af_heart"}, "speed": 1.1}}"#,
        )
        .unwrap();
        assert_eq!((k.kokoro.enabled, k.kokoro.speed), (Some(true), 1.1));
        assert_eq!(k.kokoro.voices.len(), 1);
        assert!(k.kokoro.voices_dir.ends_with("kokoro/voices"));
        assert!(serde_json::from_str::<TtsConfig>(r#"{"kokoro": {"voice": {}}}"#).is_err());

        let vad: VadConfig = serde_json::from_str(r#"{"min_silence_ms": 500}"#).unwrap();
        assert_eq!((vad.min_silence_ms, vad.start_threshold), (500, 0.5));
        assert!(vad.model.ends_with("vad/silero_vad.onnx"));

        let ort: OnnxRuntimeConfig = serde_json::from_str(r#"{"device": "cuda"}"#).unwrap();
        assert_eq!(ort.device, crate::onnx::OnnxDevice::Cuda);
        assert!(ort.library.ends_with("onnxruntime/libonnxruntime.so"));
    }
}

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::onnx::default_models_dir;

/// `[speech.tts]`: which voice speaks which language.
///
/// ```toml
/// [speech.tts.voices]
/// en = "models/piper/en_US-joe-medium.onnx"   # Piper voice; its .onnx.json sits next to it
/// hi = "/srv/voices/hi_IN-pratham-medium.onnx" # any Piper voice you have
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

        let vad: VadConfig = serde_json::from_str(r#"{"min_silence_ms": 500}"#).unwrap();
        assert_eq!((vad.min_silence_ms, vad.start_threshold), (500, 0.5));
        assert!(vad.model.ends_with("vad/silero_vad.onnx"));

        let ort: OnnxRuntimeConfig = serde_json::from_str(r#"{"device": "cuda"}"#).unwrap();
        assert_eq!(ort.device, crate::onnx::OnnxDevice::Cuda);
        assert!(ort.library.ends_with("onnxruntime/libonnxruntime.so"));
    }
}

//! `[speech.turn]`: the Smart Turn model and the end-of-turn timings.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::onnx::default_models_dir;

/// `[speech.turn]`: semantic end of turn. With `enabled = false` (or a model that fails to
/// load) the decider falls back to silence only, so a missing model never breaks a call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TurnConfig {
    /// Use the Smart Turn model; false = end turns on silence alone.
    pub enabled: bool,
    /// Smart Turn ONNX file. Default: `<models>/turn/smart-turn-v3.2-cpu.onnx`.
    pub model: PathBuf,
    /// ONNX intra-op threads for the Smart Turn session (one inference is ~8 s of audio).
    pub threads: usize,
    /// Timings and threshold; sites may override them (see [`TurnOverrides`]).
    pub settings: TurnSettings,
}

impl Default for TurnConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            model: default_models_dir()
                .join("turn")
                .join("smart-turn-v3.2-cpu.onnx"),
            threads: 1,
            settings: TurnSettings::default(),
        }
    }
}

/// When a turn ends. Every field has a default, so a partial table is fine.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TurnSettings {
    /// P(turn complete) at or above which the turn ends at once.
    pub threshold: f32,
    /// Silence (ms after the VAD's end of speech) before the model is asked. Short: the model,
    /// not the silence, decides; Smart Turn is trained on audio cut ~200 ms after speech.
    pub short_silence_ms: u32,
    /// Silence (ms after speech) that ends the turn even when the model says "incomplete"
    /// (callers who trail off, or a model that keeps guessing wrong).
    pub max_wait_ms: u32,
    /// Silence (ms after speech) that ends the turn when the model is off, absent or failed:
    /// today's behaviour (VAD 300 ms + end-of-turn 400 ms).
    pub fallback_silence_ms: u32,
    /// Audio (ms) before the turn's first speech that the model also sees (Pipecat uses 500).
    pub pre_speech_ms: u32,
    /// After an "incomplete" verdict, ask again once the silence has grown by this much (ms),
    /// until `max_wait_ms`: the model is surer with more silence after the last word (a falling
    /// final syllable can read as unfinished 160 ms in, and as finished 400 ms in). 0 = ask once.
    pub reask_ms: u32,
}

impl Default for TurnSettings {
    fn default() -> Self {
        Self {
            threshold: 0.5,
            short_silence_ms: 160,
            max_wait_ms: 1500,
            fallback_silence_ms: 700,
            pre_speech_ms: 500,
            reask_ms: 200,
        }
    }
}

/// A site's overrides of [`TurnSettings`] (e.g. a slower max wait for elderly callers); unset
/// fields keep the deployment's value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TurnOverrides {
    pub threshold: Option<f32>,
    pub short_silence_ms: Option<u32>,
    pub max_wait_ms: Option<u32>,
    pub fallback_silence_ms: Option<u32>,
}

impl TurnSettings {
    /// These settings with a site's overrides applied.
    pub fn with_overrides(mut self, o: &TurnOverrides) -> Self {
        self.threshold = o.threshold.unwrap_or(self.threshold);
        self.short_silence_ms = o.short_silence_ms.unwrap_or(self.short_silence_ms);
        self.max_wait_ms = o.max_wait_ms.unwrap_or(self.max_wait_ms);
        self.fallback_silence_ms = o.fallback_silence_ms.unwrap_or(self.fallback_silence_ms);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_tables_keep_defaults_and_unknown_keys_fail() {
        let c: TurnConfig =
            serde_json::from_str(r#"{"threads": 2, "settings": {"max_wait_ms": 2000}}"#).unwrap();
        assert_eq!(c.threads, 2);
        assert!(c.enabled);
        assert_eq!(c.settings.max_wait_ms, 2000);
        assert_eq!(c.settings.threshold, 0.5);
        assert!(c.model.ends_with("turn/smart-turn-v3.2-cpu.onnx"));
        assert!(serde_json::from_str::<TurnConfig>(r#"{"treshold": 0.4}"#).is_err());
        assert!(serde_json::from_str::<TurnSettings>(r#"{"max_wait": 1}"#).is_err());
    }

    #[test]
    fn overrides_replace_only_what_they_set() {
        let o: TurnOverrides = serde_json::from_str(r#"{"threshold": 0.7}"#).unwrap();
        let s = TurnSettings::default().with_overrides(&o);
        assert_eq!(s.threshold, 0.7);
        assert_eq!(s.max_wait_ms, 1500);
        assert_eq!(
            TurnSettings::default().with_overrides(&TurnOverrides::default()),
            TurnSettings::default()
        );
    }
}

//! The speech engines a node shares between all its calls: loaded once at start, cheap to
//! clone into every session. STT runs on a bounded pool (overload is reported, never queued
//! without bound); VAD is per call (a small recurrent model); TTS is shared.

use std::sync::{Arc, Mutex};

use vaarta_speech::onnx::OnnxRuntimeConfig;
use vaarta_speech::stt::{SttPool, WhisperModel, stt_pool};
use vaarta_speech::tts::Tts;
use vaarta_speech::turn::{SmartTurn, TurnSettings};
use vaarta_speech::vad::{VadConfig, VadError, VadStream};

use super::phrase_cache::PhraseCache;
use crate::config::SpeechConfig;

/// Smart Turn when enabled and loadable; a missing or broken model leaves turns to silence.
fn load_turn_model(config: &SpeechConfig) -> Option<Arc<Mutex<SmartTurn>>> {
    if !config.turn.enabled {
        return None;
    }
    match SmartTurn::load(&config.onnx, &config.turn.model, config.turn.threads) {
        Ok(m) => {
            tracing::info!(model = %config.turn.model.display(), "Smart Turn loaded: semantic end of turn");
            Some(Arc::new(Mutex::new(m)))
        }
        Err(e) => {
            tracing::warn!(error = %e, "Smart Turn did not load: turns end on silence alone (run scripts/install-models)");
            None
        }
    }
}

/// Why the engines could not be loaded (the service then runs without voice calls).
#[derive(Debug, thiserror::Error)]
pub enum EnginesError {
    #[error("speech-to-text: {0}")]
    Stt(#[from] vaarta_speech::stt::SttError),
    #[error("text-to-speech: {0}")]
    Tts(#[from] vaarta_speech::tts::TtsError),
    #[error("voice activity detection: {0}")]
    Vad(#[from] VadError),
}

/// Engines shared by every call on this node.
#[derive(Clone)]
pub struct SpeechEngines {
    pub onnx: OnnxRuntimeConfig,
    pub vad: VadConfig,
    pub stt: Arc<SttPool>,
    pub stt_model: Arc<WhisperModel>,
    pub tts: Arc<Tts>,
    /// Partial transcripts while the caller speaks.
    pub partials: vaarta_speech::stt::PartialConfig,
    /// Fixed lines synthesised once and played from memory (holding, apology, prompts).
    pub phrases: Arc<PhraseCache>,
    /// Smart Turn (semantic end of turn), shared by the node's calls; `None`: silence decides.
    pub turn_model: Option<Arc<Mutex<SmartTurn>>>,
    /// `[speech.turn]` timings.
    pub turn: TurnSettings,
}

impl SpeechEngines {
    /// Loads Whisper (pool), the TTS voices, and checks the VAD model opens. Blocking: call
    /// from `spawn_blocking` in async code.
    pub fn load(config: &SpeechConfig) -> Result<SpeechEngines, EnginesError> {
        let model = WhisperModel::load(&config.stt)?;
        let stt = Arc::new(stt_pool(&model)?);
        let tts = Arc::new(Tts::new(&config.onnx, config.tts.clone())?);
        // Fail now, not at the first call, when the VAD model is missing.
        VadStream::open(&config.onnx, &config.vad, 8000)?;
        Ok(SpeechEngines {
            onnx: config.onnx.clone(),
            vad: config.vad.clone(),
            stt,
            stt_model: model,
            tts,
            partials: config.stt.partial,
            phrases: Arc::new(PhraseCache::new()),
            turn_model: load_turn_model(config),
            turn: config.turn.settings,
        })
    }

    /// The caller's VAD for a call. With the turn model, speech "ends" after the model's short
    /// silence, so the model (not 300 ms of silence) decides when the caller is done.
    pub fn open_call_vad(&self, rate: u32, semantic: bool) -> Result<VadStream, VadError> {
        if self.turn_model.is_none() || !semantic {
            return self.open_vad(rate);
        }
        let mut vad = self.vad.clone();
        vad.min_silence_ms = vad.min_silence_ms.min(self.turn.short_silence_ms);
        VadStream::open(&self.onnx, &vad, rate)
    }

    /// Synthesises the session's own lines (holding, filler, apology, callback offer) for
    /// `langs` at `rates` into the phrase cache, so the first calls hear them on time too.
    /// Blocking: run on a blocking thread.
    pub fn warm_default_phrases(&self, langs: &[&str], rates: &[u32]) -> usize {
        let mut made = 0;
        for lang in langs {
            let lines = crate::calls::session::phrases::fixed_lines(lang);
            for &rate in rates {
                made += self.phrases.warm(&self.tts, lang, rate, &lines);
            }
        }
        made
    }

    /// A fresh VAD for one call's inbound audio at `rate` Hz.
    pub fn open_vad(&self, rate: u32) -> Result<VadStream, VadError> {
        VadStream::open(&self.onnx, &self.vad, rate)
    }
}

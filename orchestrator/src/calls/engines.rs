//! The speech engines a node shares between all its calls: loaded once at start, cheap to
//! clone into every session. STT runs on a bounded pool (overload is reported, never queued
//! without bound); VAD is per call (a small recurrent model); TTS is shared.

use std::sync::Arc;

use vaarta_speech::onnx::OnnxRuntimeConfig;
use vaarta_speech::stt::{SttPool, WhisperModel, stt_pool};
use vaarta_speech::tts::Tts;
use vaarta_speech::vad::{VadConfig, VadError, VadStream};

use super::phrase_cache::PhraseCache;
use crate::config::SpeechConfig;

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
            partials: config.stt.partial.clone(),
            phrases: Arc::new(PhraseCache::new()),
        })
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

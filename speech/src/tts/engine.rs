//! The TTS engine: picks the voice for a language (Piper, else Kokoro, else espeak-ng) and
//! yields audio sentence by sentence.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use super::kokoro::{self, KokoroVoice};
use super::kokoro_g2p::{self, G2pLang};
use super::sentences::split_sentences;
use super::voice::PiperVoice;
use super::{KokoroConfig, TtsConfig, TtsError, espeak};
use crate::normalize::{self, Lang, Script};
use crate::onnx::OnnxRuntimeConfig;
use crate::resample::resample;

/// Which kind of voice speaks a language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VoiceKind {
    /// Neural Piper voice (file path).
    Piper(PathBuf),
    /// Kokoro voice (name, e.g. `hf_alpha`).
    Kokoro(String),
    /// espeak-ng's formant voice (name): intelligible but robotic.
    Espeak(String),
}

/// One sentence of synthesised speech.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioChunk {
    /// 0-based index of the sentence in the request.
    pub sentence: usize,
    /// The sentence text as spoken (after normalisation).
    pub text: String,
    /// Mono samples in [-1, 1] at `sample_rate`.
    pub samples: Vec<f32>,
    pub sample_rate: u32,
    /// True for the request's last sentence.
    pub last: bool,
}

/// Text to speech for all configured languages. Voices are loaded once; one synthesis per
/// voice runs at a time (the engine pool above decides how many requests wait).
pub struct Tts {
    config: TtsConfig,
    piper: HashMap<String, PiperSlot>,
    kokoro: Option<KokoroVoices>,
}

/// A loaded Piper voice and its file. The path sits outside the lock: naming a voice (a phrase
/// cache lookup on a call's loop) must never wait for another call's synthesis.
struct PiperSlot {
    path: PathBuf,
    voice: Arc<Mutex<PiperVoice>>,
}

/// The Kokoro model (shared by all its voices) and lower-cased language → voice name.
struct KokoroVoices {
    model: Arc<Mutex<KokoroVoice>>,
    voices: HashMap<String, String>,
}

impl Tts {
    /// Loads every configured Piper voice (a missing file is an error now, not mid-call).
    pub fn new(runtime: &OnnxRuntimeConfig, config: TtsConfig) -> Result<Self, TtsError> {
        let mut piper = HashMap::new();
        for (lang, path) in &config.voices {
            let voice = PiperVoice::load(runtime, path, config.threads)?;
            tracing::info!(lang, voice = %path.display(), rate = voice.sample_rate(), "Piper voice loaded");
            let slot = PiperSlot {
                path: path.clone(),
                voice: Arc::new(Mutex::new(voice)),
            };
            piper.insert(lang.to_lowercase(), slot);
        }
        let kokoro = load_kokoro(runtime, &config.kokoro, config.threads)?;
        for (lang, voice) in &config.espeak_fallback {
            let lang_key = lang.to_lowercase();
            let neural = piper.contains_key(&lang_key)
                || kokoro
                    .as_ref()
                    .is_some_and(|k| k.voices.contains_key(&lang_key));
            if !neural {
                tracing::warn!(lang, espeak_voice = %voice, "no Piper or Kokoro voice for this language: espeak-ng's robotic voice will speak it");
            }
        }
        Ok(Self {
            config,
            piper,
            kokoro,
        })
    }

    pub fn config(&self) -> &TtsConfig {
        &self.config
    }

    /// The voice that speaks `lang` (full code first, then its primary subtag).
    pub fn voice_for(&self, lang: &str) -> Result<VoiceKind, TtsError> {
        if let Some(slot) = self.piper_for(lang) {
            return Ok(VoiceKind::Piper(slot.path.clone()));
        }
        if let Some((_, name)) = self.kokoro_for(lang) {
            return Ok(VoiceKind::Kokoro(name.to_string()));
        }
        self.espeak_for(lang)
            .map(VoiceKind::Espeak)
            .ok_or_else(|| TtsError::UnsupportedLanguage(lang.to_string()))
    }

    fn piper_for(&self, lang: &str) -> Option<&PiperSlot> {
        lang_keys(lang).iter().find_map(|k| self.piper.get(k))
    }

    fn kokoro_for(&self, lang: &str) -> Option<(&Arc<Mutex<KokoroVoice>>, &str)> {
        let kokoro = self.kokoro.as_ref()?;
        lang_keys(lang)
            .iter()
            .find_map(|k| kokoro.voices.get(k))
            .map(|name| (&kokoro.model, name.as_str()))
    }

    fn espeak_for(&self, lang: &str) -> Option<String> {
        let wanted: Vec<String> = lang_keys(lang);
        wanted.iter().find_map(|k| {
            self.config
                .espeak_fallback
                .iter()
                .find(|(l, _)| l.to_lowercase() == *k)
                .map(|(_, v)| v.clone())
        })
    }

    /// Starts speaking `text` in `lang` at `output_rate` Hz. Nothing is synthesised until the
    /// stream is polled; each `next()` synthesises one sentence, so the caller can play the
    /// first sentence while asking for the second.
    pub fn stream(
        &self,
        text: &str,
        lang: &str,
        output_rate: u32,
    ) -> Result<SentenceStream, TtsError> {
        if !(4000..=192_000).contains(&output_rate) {
            return Err(TtsError::BadOutputRate(output_rate));
        }
        let chars = text.chars().count();
        if chars > self.config.max_chars {
            return Err(TtsError::TextTooLong {
                chars,
                max: self.config.max_chars,
            });
        }
        if text.trim().is_empty() {
            return Err(TtsError::EmptyText);
        }
        let voice = match (self.piper_for(lang), self.kokoro_for(lang)) {
            (Some(slot), _) => Voice::Piper(slot.voice.clone()),
            (None, Some((model, name))) => Voice::Kokoro {
                model: model.clone(),
                voice: name.to_string(),
                g2p: G2pLang::for_language(lang),
                speed: self.config.kokoro.speed,
            },
            (None, None) => {
                let name = self
                    .espeak_for(lang)
                    .ok_or_else(|| TtsError::UnsupportedLanguage(lang.to_string()))?;
                tracing::warn!(
                    lang,
                    espeak_voice = %name,
                    "no Piper or Kokoro voice configured for this language: using espeak-ng's robotic fallback voice"
                );
                Voice::Espeak(name)
            }
        };
        // Romanised text (English, Hinglish) gets number words in the Indian system; text in
        // Devanagari/Gurmukhi keeps plain numbers as digits for espeak-ng's own rules in that
        // language (which say lakh and crore) with phone numbers, ₹, dates and times made explicit.
        let text = match (self.config.normalize, Script::detect(text)) {
            (false, _) => text.to_string(),
            (true, Some(script)) => normalize::normalize_native(text, script),
            (true, None) if mostly_latin(text) => normalize::normalize(text, Lang::from_code(lang)),
            (true, None) => text.to_string(),
        };
        let sentences = split_sentences(&text);
        Ok(SentenceStream {
            espeak_data: self.config.espeak_data.clone(),
            voice,
            sentences,
            next: 0,
            output_rate,
        })
    }

    /// Speaks the whole text at once (for files and the CLI); sentences are concatenated.
    pub fn synthesize(
        &self,
        text: &str,
        lang: &str,
        output_rate: u32,
    ) -> Result<Vec<f32>, TtsError> {
        let mut out = Vec::new();
        for chunk in self.stream(text, lang, output_rate)? {
            out.extend(chunk?.samples);
        }
        Ok(out)
    }
}

/// True when most letters are Latin (or there are none).
fn mostly_latin(text: &str) -> bool {
    let (latin, other) = text
        .chars()
        .filter(|c| c.is_alphabetic())
        .fold((0, 0), |(l, o), c| {
            if c.is_ascii_alphabetic() || ('\u{00C0}'..='\u{024F}').contains(&c) {
                (l + 1, o)
            } else {
                (l, o + 1)
            }
        });
    latin >= other
}

/// `en-IN` → [`en-in`, `en`].
fn lang_keys(lang: &str) -> Vec<String> {
    let lower = lang.trim().to_lowercase().replace('_', "-");
    let primary = lower.split('-').next().unwrap_or("").to_string();
    if primary == lower {
        vec![lower]
    } else {
        vec![lower, primary]
    }
}

/// Loads Kokoro as `[speech.tts.kokoro]` says: skipped when switched off, or when left to
/// default and the model is not installed; otherwise a missing or bad file is an error now.
fn load_kokoro(
    runtime: &OnnxRuntimeConfig,
    config: &KokoroConfig,
    threads: usize,
) -> Result<Option<KokoroVoices>, TtsError> {
    match config.enabled {
        Some(false) => return Ok(None),
        None if !config.model.is_file() => {
            tracing::info!(model = %config.model.display(), "Kokoro is not installed (scripts/install-models): Hindi and Punjabi fall back to espeak-ng");
            return Ok(None);
        }
        _ => {}
    }
    if config.voices.is_empty() {
        return Ok(None);
    }
    if !(0.5..=2.0).contains(&config.speed) {
        return Err(TtsError::BadKokoroSpeed(config.speed));
    }
    let model = KokoroVoice::load(
        runtime,
        &config.model,
        &config.vocab,
        &config.voices_dir,
        config.voices.values().map(String::as_str),
        threads,
    )?;
    let voices: HashMap<String, String> = config
        .voices
        .iter()
        .map(|(lang, name)| (lang.to_lowercase(), name.clone()))
        .collect();
    tracing::info!(model = %config.model.display(), voices = ?config.voices, "Kokoro loaded");
    Ok(Some(KokoroVoices {
        model: Arc::new(Mutex::new(model)),
        voices,
    }))
}

enum Voice {
    Piper(Arc<Mutex<PiperVoice>>),
    Kokoro {
        model: Arc<Mutex<KokoroVoice>>,
        voice: String,
        g2p: G2pLang,
        speed: f32,
    },
    Espeak(String),
}

/// Sentence-by-sentence audio of one request (an iterator; each item is one sentence).
/// It owns what it needs (`Send + 'static`), so a call can move it to a blocking thread and
/// forward chunks to its media task while the next sentence is synthesised.
pub struct SentenceStream {
    espeak_data: Option<PathBuf>,
    voice: Voice,
    sentences: Vec<String>,
    next: usize,
    output_rate: u32,
}

impl SentenceStream {
    /// Sentences in this request (known before any synthesis).
    pub fn sentence_count(&self) -> usize {
        self.sentences.len()
    }

    fn speak(&self, sentence: &str) -> Result<(Vec<f32>, u32), TtsError> {
        let data = self.espeak_data.as_ref();
        match &self.voice {
            Voice::Piper(v) => {
                let mut voice = v.lock().unwrap_or_else(|p| p.into_inner());
                let clauses = espeak::phonemize(data, &voice.config.espeak.voice, sentence)?;
                if clauses.iter().all(|c| c.phonemes.is_empty()) {
                    return Ok((Vec::new(), voice.sample_rate()));
                }
                let ids = voice.phoneme_ids(&clauses);
                let audio = voice.infer(&ids)?;
                Ok((audio, voice.sample_rate()))
            }
            Voice::Kokoro {
                model,
                voice,
                g2p,
                speed,
            } => {
                let phonemes = kokoro_g2p::phonemize(data, g2p, sentence)?;
                let mut model = model.lock().unwrap_or_else(|p| p.into_inner());
                let audio = model.speak(&phonemes, voice, *speed)?;
                Ok((audio, kokoro::SAMPLE_RATE))
            }
            Voice::Espeak(name) => espeak::synthesize(data, name, sentence),
        }
    }
}

impl Iterator for SentenceStream {
    type Item = Result<AudioChunk, TtsError>;

    fn next(&mut self) -> Option<Self::Item> {
        let index = self.next;
        let sentence = self.sentences.get(index)?.clone();
        self.next += 1;
        let started = std::time::Instant::now();
        let result = self.speak(&sentence).and_then(|(mut audio, rate)| {
            normalize_level(&mut audio);
            super::trim::trim_leading_silence(&mut audio, rate);
            Ok(AudioChunk {
                sentence: index,
                text: sentence,
                samples: resample(&audio, rate, self.output_rate)?,
                sample_rate: self.output_rate,
                last: self.next == self.sentences.len(),
            })
        });
        if let Ok(chunk) = &result {
            tracing::debug!(
                sentence = index,
                synth_ms = started.elapsed().as_millis() as u64,
                audio_ms = (chunk.samples.len() as u64 * 1000) / u64::from(chunk.sample_rate),
                "sentence synthesised"
            );
        }
        Some(result)
    }
}

/// Peak-normalises like Piper does, with headroom for the resampler's ripple.
fn normalize_level(audio: &mut [f32]) {
    let peak = audio
        .iter()
        .fold(0f32, |m, v| if v.is_finite() { m.max(v.abs()) } else { m });
    if peak < 1e-6 {
        audio.iter_mut().for_each(|v| *v = 0.0);
        return;
    }
    let gain = 0.9 / peak;
    audio
        .iter_mut()
        .for_each(|v| *v = if v.is_finite() { *v * gain } else { 0.0 });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_keys_fall_back_to_primary_subtag() {
        assert_eq!(lang_keys("en-IN"), vec!["en-in", "en"]);
        assert_eq!(lang_keys("hi"), vec!["hi"]);
        assert_eq!(lang_keys("pa_IN"), vec!["pa-in", "pa"]);
    }

    #[test]
    fn engine_types_can_cross_threads() {
        fn send_sync<T: Send + Sync + 'static>() {}
        fn send<T: Send + 'static>() {}
        send_sync::<Tts>();
        send::<SentenceStream>();
        send::<crate::vad::VadStream>();
    }

    #[test]
    fn script_detection() {
        assert!(mostly_latin("Aapka total ₹2,50,000 hai"));
        assert!(mostly_latin("12345"));
        assert!(!mostly_latin("आपका टोटल ₹2,50,000 है"));
    }

    #[test]
    fn level_normalisation_handles_silence_and_nan() {
        let mut a = vec![0.0, 0.5, -2.0, f32::NAN];
        normalize_level(&mut a);
        assert_eq!(a, vec![0.0, 0.225, -0.9, 0.0]);
        let mut z = vec![0.0; 4];
        normalize_level(&mut z);
        assert_eq!(z, vec![0.0; 4]);
    }
}

//! whisper.cpp model and per-worker transcriber.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Once};
use std::time::Instant;

use tracing::{debug, info, warn};
use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState,
};

use super::input::{self, Prepared};
use super::{Segment, SttConfig, SttError, Transcript};
use crate::ggml;

/// A loaded Whisper model, shared (read-only) by every [`Transcriber`].
pub struct WhisperModel {
    ctx: WhisperContext,
    path: PathBuf,
    multilingual: bool,
    n_audio_ctx: u32,
    config: SttConfig,
}

impl std::fmt::Debug for WhisperModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WhisperModel")
            .field("path", &self.path)
            .field("multilingual", &self.multilingual)
            .finish()
    }
}

static LOG_HOOKS: Once = Once::new();

impl WhisperModel {
    /// Loads the model named by `config` (converting a CT2 directory on first use).
    pub fn load(config: &SttConfig) -> Result<Arc<Self>, SttError> {
        Self::load_path(&config.model_path(), config)
    }

    /// Loads a CT2 model directory or a GGML file, with `config`'s other settings.
    pub fn load_path(model: &Path, config: &SttConfig) -> Result<Arc<Self>, SttError> {
        LOG_HOOKS.call_once(super::whisper_log::install);
        validate_language_codes(config)?;
        let path = ggml::ensure_ggml(model)?;
        let mut params = WhisperContextParameters::default();
        params.use_gpu(cfg!(feature = "cuda") && config.use_gpu);
        let path_str = path
            .to_str()
            .ok_or_else(|| SttError::Whisper(format!("non UTF-8 path {}", path.display())))?;
        let ctx = WhisperContext::new_with_params(path_str, params)?;
        let multilingual = ctx.is_multilingual();
        let n_audio_ctx = ctx.model_n_audio_ctx().max(0) as u32;
        info!(model = %path.display(), multilingual, "loaded Whisper model");
        Ok(Arc::new(Self {
            ctx,
            path,
            multilingual,
            n_audio_ctx,
            config: config.clone(),
        }))
    }

    /// The GGML file in use.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True for multilingual models (language detection is possible).
    pub fn is_multilingual(&self) -> bool {
        self.multilingual
    }

    /// The settings this model was loaded with.
    pub fn config(&self) -> &SttConfig {
        &self.config
    }

    /// A transcriber with its own whisper.cpp state (one per worker thread).
    pub fn transcriber(self: &Arc<Self>) -> Result<Transcriber, SttError> {
        Ok(Transcriber {
            state: self.ctx.create_state()?,
            used: false,
            model: Arc::clone(self),
        })
    }
}

fn valid_code(code: &str) -> bool {
    (2..=3).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_lowercase())
        || code == "haw"
        || code == "yue"
}

fn validate_language_codes(config: &SttConfig) -> Result<(), SttError> {
    for code in config.language.iter().chain(&config.detect_languages) {
        if !valid_code(code) || whisper_rs::get_lang_id(code).is_none() {
            return Err(SttError::Language(code.clone()));
        }
    }
    Ok(())
}

/// Audio up to this long is one caller turn: decoded as one segment with a token budget.
const SHORT_UTTERANCE_S: f64 = 12.0;

/// Tokens a turn of `audio_s` can need: ~24 per second covers fast Hindi in Devanagari (one
/// token per one or two letters), English needs ~4.
fn max_tokens_for(audio_s: f64) -> i32 {
    (16.0 + 24.0 * audio_s).ceil() as i32
}

/// Per-call options (the per-site parts of a transcription).
#[derive(Debug, Clone, Default)]
pub struct TranscribeOptions {
    /// Override the configured language (`Some("hi")`), e.g. when the site is known.
    pub language: Option<String>,
    /// Domain words that bias recognition (product names, place names) for this site.
    pub initial_prompt: Option<String>,
    /// An interim result: one segment, no timestamps (faster).
    pub partial: bool,
    /// Raised when the result is no longer wanted (a partial overtaken by the final): a queued
    /// job does not start, a running one stops at whisper.cpp's next check (after the encoder,
    /// between decoder steps), so the worker is free sooner for the job that matters.
    pub cancel: Option<CancelFlag>,
}

/// A shared "stop now" switch for one transcription.
#[derive(Debug, Clone, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks the transcription to stop; it returns [`SttError::Cancelled`].
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// whisper.cpp's abort hook: polled after the encoder and after every decoder step.
unsafe extern "C" fn abort_requested(flag: *mut std::ffi::c_void) -> bool {
    // SAFETY: `run` passes a pointer to the AtomicBool of a CancelFlag it keeps alive for the
    // whole `full` call.
    unsafe { (*(flag as *const AtomicBool)).load(Ordering::Relaxed) }
}

/// Runs transcriptions; owns one whisper.cpp state, so use one per thread.
pub struct Transcriber {
    state: WhisperState,
    /// The state has run a transcription already.
    used: bool,
    model: Arc<WhisperModel>,
}

impl Transcriber {
    /// The model behind this transcriber.
    pub fn model(&self) -> &Arc<WhisperModel> {
        &self.model
    }

    /// Transcribes one utterance of 16 kHz mono samples in [-1, 1].
    pub fn transcribe(
        &mut self,
        samples: &[f32],
        sample_rate: u32,
        opts: &TranscribeOptions,
    ) -> Result<Transcript, SttError> {
        let audio_ms = samples.len() as u64 * 1000 / sample_rate.max(1) as u64;
        let audio = match input::prepare(samples, sample_rate)? {
            Prepared::Nothing => {
                return Ok(Transcript {
                    audio_ms,
                    ..Default::default()
                });
            }
            Prepared::Audio(a) => a,
        };
        if opts.cancel.as_ref().is_some_and(CancelFlag::is_cancelled) {
            return Err(SttError::Cancelled);
        }
        let model = Arc::clone(&self.model);
        let cfg = &model.config;
        let fixed = opts.language.as_ref().or(cfg.language.as_ref());
        if let Some(code) = &opts.language
            && (!valid_code(code) || whisper_rs::get_lang_id(code).is_none())
        {
            return Err(SttError::Language(code.clone()));
        }
        let prompt = opts.initial_prompt.as_deref().map(|p| p.replace('\0', " "));
        let audio_ctx = cfg
            .audio_ctx
            .frames_for(samples.len(), self.model.n_audio_ctx);
        let started = Instant::now();
        if audio_ctx != 0 && self.used {
            // whisper.cpp 1.8 leaves stale encoder data in a reused state when audio_ctx is
            // reduced (seen as wrong language / empty output on the next utterance), so a
            // reduced-context run gets a fresh state (~40-60 ms, still far below the saving).
            self.state = model.ctx.create_state()?;
        }
        self.used = true;
        let language = if !self.model.multilingual {
            "en".to_string()
        } else if let Some(code) = fixed {
            code.clone()
        } else {
            "auto".to_string()
        };
        self.run(&audio, &language, prompt.as_deref(), audio_ctx, opts)?;
        let mut detected = self.detected_language();
        let mut heard = None;
        if language == "auto"
            && !cfg.detect_languages.is_empty()
            && !detected
                .as_ref()
                .is_some_and(|d| cfg.detect_languages.contains(d))
        {
            // Re-decide among the expected languages with this audio's probabilities.
            let (_, probs) = self.state.lang_detect(0, cfg.threads.max(1))?;
            let best = cfg
                .detect_languages
                .iter()
                .filter_map(|c| {
                    whisper_rs::get_lang_id(c)
                        .map(|id| (c, probs.get(id as usize).copied().unwrap_or(0.0)))
                })
                .max_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((code, p)) = best {
                debug!(heard = ?detected, chosen = %code, p, "language outside the expected set, re-decoding");
                if audio_ctx != 0 {
                    self.state = model.ctx.create_state()?; // see the note above
                }
                self.run(&audio, code, prompt.as_deref(), audio_ctx, opts)?;
                heard = detected.take();
                detected = Some(code.clone());
            }
        }
        let compute_ms = started.elapsed().as_millis() as u64;
        let mut segments = self.segments()?;
        super::repeats::drop_past_audio(&mut segments, audio_ms);
        for s in &mut segments {
            // One segment spans the decoder's whole window: nothing ends after the audio.
            s.end_ms = s.end_ms.min(audio_ms);
            s.start_ms = s.start_ms.min(s.end_ms);
        }
        let text = segments
            .iter()
            .map(|s| s.text.trim())
            .filter(|t| !t.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let text = super::repeats::collapse_repeats(&text);
        Ok(Transcript {
            language: if text.is_empty() { None } else { detected },
            heard_language: heard,
            text,
            segments,
            audio_ms,
            compute_ms,
            audio_ctx: if audio_ctx == 0 {
                self.model.n_audio_ctx
            } else {
                audio_ctx
            },
        })
    }

    fn run(
        &mut self,
        audio: &[f32],
        language: &str,
        prompt: Option<&str>,
        audio_ctx: u32,
        opts: &TranscribeOptions,
    ) -> Result<(), SttError> {
        let cfg = &self.model.config;
        let mut p = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        p.set_n_threads(cfg.threads.max(1) as i32);
        p.set_language(Some(language));
        p.set_translate(false);
        p.set_no_context(true);
        p.set_print_special(false);
        p.set_print_progress(false);
        p.set_print_realtime(false);
        p.set_print_timestamps(false);
        p.set_suppress_blank(true);
        p.set_temperature(0.0);
        // No temperature fallback: it can multiply latency on noisy audio.
        p.set_temperature_inc(0.0);
        p.set_audio_ctx(audio_ctx as i32);
        if opts.partial {
            p.set_single_segment(true);
            p.set_no_timestamps(true);
        }
        let audio_s = audio.len() as f64 / 16_000.0;
        if audio_s <= SHORT_UTTERANCE_S {
            // A caller's turn: one segment with a token budget from its length, so a
            // repetition loop over the padding (see `repeats`) costs ~0.2 s, not ~1 s.
            p.set_single_segment(true);
            p.set_max_tokens(max_tokens_for(audio_s));
        }
        if let Some(prompt) = prompt.filter(|p| !p.trim().is_empty()) {
            p.set_initial_prompt(prompt);
        }
        if let Some(flag) = &opts.cancel {
            // SAFETY: the callback only reads the AtomicBool, which `opts` keeps alive until
            // `full` has returned.
            unsafe {
                p.set_abort_callback(Some(abort_requested));
                p.set_abort_callback_user_data(Arc::as_ptr(&flag.0) as *mut std::ffi::c_void);
            }
        }
        let res = self.state.full(p, audio);
        if opts.cancel.as_ref().is_some_and(CancelFlag::is_cancelled) {
            // An interrupted run leaves the state half-written: start the next from a fresh one.
            self.state = self.model.ctx.create_state()?;
            self.used = false;
            return Err(SttError::Cancelled);
        }
        res?;
        Ok(())
    }

    fn detected_language(&self) -> Option<String> {
        if !self.model.multilingual {
            return Some("en".into());
        }
        whisper_rs::get_lang_str(self.state.full_lang_id_from_state()).map(str::to_owned)
    }

    fn segments(&self) -> Result<Vec<Segment>, SttError> {
        let mut out = Vec::new();
        for seg in self.state.as_iter() {
            let text = match seg.to_str_lossy() {
                Ok(t) => t.trim().to_string(),
                Err(e) => {
                    warn!(error = %e, "unreadable segment text");
                    continue;
                }
            };
            out.push(Segment {
                start_ms: seg.start_timestamp().max(0) as u64 * 10,
                end_ms: seg.end_timestamp().max(0) as u64 * 10,
                text,
                no_speech_prob: seg.no_speech_probability(),
            });
        }
        Ok(out)
    }
}

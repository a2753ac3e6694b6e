//! Synthesised audio of the lines a session says again and again (greeting, holding lines,
//! fillers, apology, callback offer, goodbye, a flow's literal prompts), shared by every call on
//! the node. A cached line plays at once, with no synthesis and no wait for a busy voice, so a
//! holding line is heard on time even when every TTS worker is speaking for other calls.
//!
//! Entries are keyed by the exact text, the voice that speaks the language and the line rate:
//! a site that changes its holding messages or voice simply gets new keys (the old ones age out
//! of the bounded cache), so nothing has to be invalidated by hand.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use vaarta_speech::tts::Tts;

/// Most samples kept (≈ 40 minutes of 8 kHz audio, 40 MB).
const MAX_SAMPLES: usize = 20_000_000;
/// Longest text cached (longer lines are answers, not fixed phrases).
pub const MAX_CACHED_CHARS: usize = 240;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    voice: String,
    rate: u32,
    text: String,
}

struct Entry {
    pcm: Arc<[i16]>,
    last_used: u64,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<Key, Entry>,
    samples: usize,
    clock: u64,
}

/// The node's cache of fixed-phrase audio.
pub struct PhraseCache {
    inner: Mutex<Inner>,
}

impl Default for PhraseCache {
    fn default() -> Self {
        Self::new()
    }
}

impl PhraseCache {
    pub fn new() -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn key(tts: &Tts, lang: &str, rate: u32, text: &str) -> Option<Key> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > MAX_CACHED_CHARS {
            return None;
        }
        let voice = format!("{:?}", tts.voice_for(lang).ok()?);
        Some(Key {
            voice,
            rate,
            text: text.to_string(),
        })
    }

    /// The line's audio when it was synthesised before for this voice and rate.
    pub fn get(&self, tts: &Tts, lang: &str, rate: u32, text: &str) -> Option<Arc<[i16]>> {
        let key = Self::key(tts, lang, rate, text)?;
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        let hit = inner.entries.get_mut(&key).map(|e| {
            e.last_used = now;
            e.pcm.clone()
        });
        metrics::counter!("vaarta_phrase_cache_total", "result" => if hit.is_some() { "hit" } else { "miss" }).increment(1);
        hit
    }

    /// Whether the line is cached (no usage is recorded).
    pub fn contains(&self, tts: &Tts, lang: &str, rate: u32, text: &str) -> bool {
        Self::key(tts, lang, rate, text).is_some_and(|k| self.lock().entries.contains_key(&k))
    }

    /// Keeps a line's audio, evicting the least recently used lines beyond the size bound.
    pub fn insert(&self, tts: &Tts, lang: &str, rate: u32, text: &str, pcm: Arc<[i16]>) {
        let Some(key) = Self::key(tts, lang, rate, text) else {
            return;
        };
        if pcm.is_empty() || pcm.len() > MAX_SAMPLES / 8 {
            return;
        }
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        inner.samples += pcm.len();
        if let Some(old) = inner.entries.insert(
            key,
            Entry {
                pcm,
                last_used: now,
            },
        ) {
            inner.samples -= old.pcm.len();
        }
        while inner.samples > MAX_SAMPLES {
            let Some(oldest) = inner
                .entries
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(e) = inner.entries.remove(&oldest) {
                inner.samples -= e.pcm.len();
            }
        }
        metrics::gauge!("vaarta_phrase_cache_samples").set(inner.samples as f64);
    }

    /// Synthesises the lines not cached yet (blocking: run on a blocking thread). A line that
    /// fails to synthesise is skipped; the session will synthesise it when it is needed.
    pub fn warm(&self, tts: &Tts, lang: &str, rate: u32, lines: &[String]) -> usize {
        let mut made = 0;
        for line in lines {
            if self.contains(tts, lang, rate, line) || Self::key(tts, lang, rate, line).is_none() {
                continue;
            }
            match tts.synthesize(line, lang, rate) {
                Ok(samples) => {
                    let pcm: Arc<[i16]> = samples
                        .iter()
                        .map(|s| (s.clamp(-1.0, 1.0) * 32767.0) as i16)
                        .collect();
                    self.insert(tts, lang, rate, line, pcm);
                    made += 1;
                }
                Err(e) => tracing::warn!(error = %e, lang, "could not pre-synthesise a fixed line"),
            }
        }
        made
    }
}
